"""User-facing errors: each renders as one line that says what was wrong and what is allowed."""

from __future__ import annotations


class TheoryscopeError(Exception):
    """Base class for errors shown to a user as a single line (never a traceback)."""


class ConfigError(TheoryscopeError, ValueError):
    """A configuration value is outside its allowed range.

    ``str(err)`` reads ``"<field>: <what is wrong>; <what is allowed>"``.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class NotFoundError(TheoryscopeError, KeyError):
    """A run, sweep or experiment id that does not exist."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain line
        return str(self.args[0]) if self.args else "not found"


class StoreError(TheoryscopeError):
    """The run store cannot be opened or written."""


class SolveError(ConfigError):
    """A numerical solve (e.g. the modeling ODE) failed for this config: one line naming the
    fields to change, never a solver traceback or a raw SciPy / NumPy warning."""


class SolveBudgetError(SolveError):
    """A solve used up its budget (function evaluations or wall-clock seconds) and was stopped.

    ``budget`` names what ran out (``"evaluations"`` or ``"seconds"``) and ``limit`` its size.
    """

    def __init__(self, field: str, message: str, *, budget: str, limit: float) -> None:
        self.budget = budget
        self.limit = limit
        super().__init__(field, message)

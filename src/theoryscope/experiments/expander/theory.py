"""Expander Nets theory: the modeling ODE and its closed-form readouts (spec ``expander-nets.md`` 6).

The modeling ODE (spec 6), generalized from the page's unit coefficients to ``coef_j``::

    L(a, b) = sum_j 1/2 (coef_j - c_j prod_i a_i^{alpha_ji} b_j)^2,   c_j = sqrt(prod_i gamma_i^alpha_ji)
    da/dt = -grad_a L,   db/dt = -grad_b L,   a_i(0) = 1,   b_j(0) = b0

With ``coef_j = 1`` this is exactly the spec's ODE. A coefficient enters the target as
``coef_j * h_alpha_j`` (spec 2), so the ODE's j-th residual is ``coef_j - c_j P_j b_j``; this is the
natural extension and reduces to the spec for unit coefficients. ``a_i(t)`` models ``W1_ii(t)`` and
``sqrt(sum_j b_j^2)`` models ``sqrt(k) ||W2||``.

Per-term scalar readouts (spec 6), computed for each term on its own, for unit coefficient::

    d_rel = #{i : alpha_i > 0},   |alpha| = sum_i alpha_i,   ell = |alpha| + 1
    kappa = prod_{alpha_i > 0} alpha_i^{alpha_i / 2}
    beta  = ( sum_{alpha_i > 0} |a_i(0)| / sqrt(alpha_i) + |b(0)| ) / (d_rel + 1)
    r_i   = a_i(0)^2 / (alpha_i beta^2)  (alpha_i > 0),    r_b = b(0)^2 / beta^2
    F(r)  = (ell/2 - 1) int_0^inf (s + r_b)^{-1/2} prod_{alpha_i > 0} (s + r_i)^{-alpha_i/2} ds
    t_rise = 1 / c^2                                    (ell = 1)
           = -(1 / (kappa c)) ln( sqrt(kappa c) beta )  (ell = 2)
           = F(r) / ((ell - 2) kappa c beta^{ell - 2})  (ell > 2)

The page's errors are not repeated (spec 6): kappa is included, the ell = 2 logarithm is
ln(sqrt(kappa c) beta), beta divides by d_rel + 1 (finite when some alpha_i = 0) and r_b comes from
the actual b(0) (the integral is finite at r_b = 0). ``t_half_ode`` is the first time the term's
loss in the *joint* ODE falls to half its initial value (root-found on the solver's dense output).
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import integrate, optimize

from theoryscope.errors import ConfigError, SolveBudgetError, SolveError
from theoryscope.experiments.expander.config import Config

__all__ = [
    "OdeSolution",
    "TermReadout",
    "Theory",
    "ode_gradient",
    "ode_loss",
    "predict",
    "readouts",
    "readouts_for_config",
    "shape_integral",
    "solve_ode",
    "theory_to_dict",
]

#: Default safety cap on the automatic ODE horizon (reported as ``OdeSolution.capped``).
T_CAP = 1e12
#: A term counts as converged once its loss is below this fraction of its initial loss.
CONVERGED_FRACTION = 1e-3


def _json_float(x: float) -> float | None:
    x = float(x)
    return None if not math.isfinite(x) else x


# ------------------------------------------------------------------------------------------------
# closed-form readouts
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TermReadout:
    """Spec-6 readouts of one term (see the module docstring for every formula)."""

    alpha: tuple[int, ...]
    coef: float
    d_rel: int
    order: int
    ell: int
    c: float
    kappa: float
    beta: float
    r: tuple[float, ...]
    r_b: float
    F: float
    t_rise: float
    t_half_ode: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN / inf become ``None``)."""
        return {
            "alpha": [int(v) for v in self.alpha],
            "coef": _json_float(self.coef),
            "d_rel": int(self.d_rel),
            "order": int(self.order),
            "ell": int(self.ell),
            "c": _json_float(self.c),
            "kappa": _json_float(self.kappa),
            "beta": _json_float(self.beta),
            "r": [_json_float(v) for v in self.r],
            "r_b": _json_float(self.r_b),
            "F": _json_float(self.F),
            "t_rise": _json_float(self.t_rise),
            "t_half_ode": _json_float(self.t_half_ode),
        }


def shape_integral(
    r: Sequence[float], alpha: Sequence[int], r_b: float, *, rtol: float = 1e-12
) -> float:
    """F(r) = (ell/2 - 1) int_0^inf (s + r_b)^{-1/2} prod_i (s + r_i)^{-alpha_i/2} ds (spec 6).

    ``r`` and ``alpha`` list only the dimensions with alpha_i > 0; ell = sum(alpha) + 1 must be > 2
    (otherwise the integral diverges and NaN is returned). The range is split at s = 1 and each half
    mapped onto (0, 1] so that both integrands are smooth and bounded, also at r_b = 0:

        s = u^2     on [0, 1]:  2 u (u^2 + r_b)^{-1/2} prod (u^2 + r_i)^{-alpha_i/2}
        s = w^{-2}  on [1, oo): 2 w^{ell-3} (1 + r_b w^2)^{-1/2} prod (1 + r_i w^2)^{-alpha_i/2}
    """
    r_arr = np.asarray(r, dtype=float)
    al = np.asarray(alpha, dtype=float)
    ell = int(round(al.sum())) + 1
    if ell <= 2:
        return math.nan
    half = al / 2.0
    rb = float(r_b)

    def inner(u: float) -> float:  # s = u^2, 0 <= s <= 1
        u2 = u * u
        lead = 2.0 / math.sqrt(1.0 + rb / u2) if u > 0 else (2.0 if rb == 0.0 else 0.0)
        return lead * float(np.prod((u2 + r_arr) ** -half))

    def outer(w: float) -> float:  # s = 1/w^2, s >= 1
        w2 = w * w
        return (
            2.0
            * w ** (ell - 3)
            / math.sqrt(1.0 + rb * w2)
            * float(np.prod((1.0 + r_arr * w2) ** -half))
        )

    # break points where a factor changes scale inside (0, 1)
    pin = sorted({math.sqrt(v) for v in [*r_arr.tolist(), rb] if 0 < v < 1})
    pout = sorted({1 / math.sqrt(v) for v in [*r_arr.tolist(), rb] if v > 1})
    kw = {"epsabs": 0.0, "epsrel": rtol, "limit": 400}
    i1 = integrate.quad(inner, 0.0, 1.0, points=pin or None, **kw)[0]
    i2 = integrate.quad(outer, 0.0, 1.0, points=pout or None, **kw)[0]
    return (ell / 2.0 - 1.0) * (i1 + i2)


def readouts(
    alpha: Sequence[int],
    gamma: Sequence[float] | float,
    a0: Sequence[float] | float = 1.0,
    b0: float = 1e-10,
) -> dict[str, Any]:
    """Closed-form readouts of one term (spec 6); returns a dict with TermReadout's keys less
    ``coef`` and ``t_half_ode``."""
    al = tuple(int(v) for v in alpha)
    d = len(al)
    g = np.broadcast_to(np.asarray(gamma, dtype=float), (d,))
    a = np.broadcast_to(np.asarray(a0, dtype=float), (d,))
    rel = [i for i in range(d) if al[i] > 0]
    d_rel = len(rel)  # spec 6: d_rel = #{i : alpha_i > 0}
    order = int(sum(al))  # spec 6: |alpha| = sum_i alpha_i
    ell = order + 1  # spec 6: ell = |alpha| + 1
    c = math.sqrt(float(np.prod(g ** np.asarray(al, dtype=float))))  # spec 6: c = sqrt(prod g^a)
    kappa = float(np.prod([al[i] ** (al[i] / 2.0) for i in rel]))  # spec 6: prod a_i^{a_i/2}
    # spec 6: beta = (sum_{alpha_i>0} |a_i(0)|/sqrt(alpha_i) + |b(0)|) / (d_rel + 1)
    beta = (sum(abs(a[i]) / math.sqrt(al[i]) for i in rel) + abs(b0)) / (d_rel + 1)
    r = tuple(float(a[i] ** 2 / (al[i] * beta**2)) for i in rel)  # spec 6: r_i
    r_b = float(b0**2 / beta**2) if beta > 0 else math.inf  # spec 6: r_b = b(0)^2 / beta^2
    if ell == 1:
        F = math.nan
        t_rise = 1.0 / c**2  # spec 6: ell = 1
    elif ell == 2:
        F = math.nan
        t_rise = -math.log(math.sqrt(kappa * c) * beta) / (kappa * c)  # spec 6: ell = 2
    else:
        F = shape_integral(r, [al[i] for i in rel], r_b)  # spec 6: F(r)
        t_rise = F / ((ell - 2) * kappa * c * beta ** (ell - 2))  # spec 6: ell > 2
    return {
        "alpha": al,
        "d_rel": d_rel,
        "order": order,
        "ell": ell,
        "c": c,
        "kappa": kappa,
        "beta": float(beta),
        "r": r,
        "r_b": r_b,
        "F": float(F),
        "t_rise": float(t_rise),
    }


# ------------------------------------------------------------------------------------------------
# the modeling ODE
# ------------------------------------------------------------------------------------------------
@dataclass
class OdeSolution:
    """The joint modeling ODE sampled on ``t`` (t = 0 then a log-spaced grid up to ``t_end``).

    ``loss`` is the total L, ``term_loss[:, j] = 1/2 (coef_j - c_j prod a^alpha_j b_j)^2`` and
    ``b_norm = sqrt(sum_j b_j^2)``. ``t_half`` holds each term's first half-loss time (NaN if not
    reached), ``converged`` whether every term met the stopping rule before ``t_end`` and
    ``capped`` whether the horizon search hit the safety cap instead.
    """

    t: np.ndarray
    a: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    term_loss: np.ndarray
    b_norm: np.ndarray
    t_half: np.ndarray = field(default_factory=lambda: np.zeros(0))
    t_end: float = math.nan
    converged: bool = True
    capped: bool = False
    nfev: int = 0

    def to_dict(self) -> dict[str, Any]:
        def clean(x: np.ndarray) -> Any:
            arr = np.asarray(x, dtype=float)
            return np.where(np.isfinite(arr), arr, np.nan).tolist() if arr.size else []

        out = {
            k: _nan_to_none(clean(getattr(self, k)))
            for k in ("t", "a", "b", "loss", "term_loss", "b_norm", "t_half")
        }
        out.update(
            t_end=_json_float(self.t_end), converged=bool(self.converged), capped=bool(self.capped)
        )
        return out


def _nan_to_none(x: Any) -> Any:
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


class _Model:
    """L(a, b) = sum_j 1/2 (coef_j - c_j P_j(a) b_j)^2 with P_j = prod_i a_i^{alpha_ji} (spec 6)."""

    def __init__(self, alphas: np.ndarray, coefs: np.ndarray, cs: np.ndarray) -> None:
        self.A = np.asarray(alphas, dtype=float)  # (m, d)
        self.m, self.d = self.A.shape
        self.coefs = np.asarray(coefs, dtype=float)
        self.cs = np.asarray(cs, dtype=float)
        self.eye = np.eye(self.d)
        self.rel = [np.flatnonzero(row > 0) for row in self.A]

    def parts(self, y: np.ndarray) -> tuple[np.ndarray, ...]:
        a, b = y[: self.d], y[self.d :]
        P = np.prod(a[None, :] ** self.A, axis=1)  # (m,)
        # dP_j/da_i = alpha_ji a_i^{alpha_ji - 1} prod_{k != i} a_k^{alpha_jk}, safe at a_i = 0
        ex = self.A[:, None, :] - self.eye[None, :, :]  # (m, i, k)
        with np.errstate(divide="ignore", invalid="ignore"):
            full = np.prod(a[None, None, :] ** ex, axis=2)
        dP = np.where(self.A > 0, self.A * full, 0.0)
        e = self.coefs - self.cs * P * b  # residuals
        return a, b, P, dP, e

    def loss_terms(self, y: np.ndarray) -> np.ndarray:
        a, b = y[: self.d], y[self.d :]
        P = np.prod(a[None, :] ** self.A, axis=1)
        return 0.5 * (self.coefs - self.cs * P * b) ** 2

    def grad(self, y: np.ndarray) -> np.ndarray:
        """grad L = -sum_j e_j grad(c_j P_j b_j)."""
        _, b, P, dP, e = self.parts(y)
        ga = -((e * self.cs * b)[:, None] * dP).sum(axis=0)
        gb = -e * self.cs * P
        return np.concatenate([ga, gb])

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        return -self.grad(y)

    def jac(self, t: float, y: np.ndarray) -> np.ndarray:
        """d(rhs)/dy = -Hess L = -sum_j (g_j g_j^T - e_j Hess(u_j)), u_j = c_j P_j b_j."""
        a, b, P, dP, e = self.parts(y)
        d, m = self.d, self.m
        n = d + m
        H = np.zeros((n, n))
        for j in range(m):
            g = np.zeros(n)
            g[:d] = self.cs[j] * b[j] * dP[j]
            g[d + j] = self.cs[j] * P[j]
            Hu = np.zeros((n, n))
            # d^2 P_j / da_i da_k = alpha_i (alpha_k - delta_ik) prod_l a_l^{alpha_l - e_i - e_k}
            rel = self.rel[j]
            if rel.size:
                al = self.A[j]
                ex = al[None, None, :] - self.eye[rel][:, None, :] - self.eye[rel][None, :, :]
                coef = al[rel][:, None] * (al[rel][None, :] - np.eye(rel.size))
                with np.errstate(divide="ignore", invalid="ignore"):
                    mono = np.prod(a[None, None, :] ** ex, axis=2)
                block = np.where(coef != 0, coef * mono, 0.0)
                Hu[np.ix_(rel, rel)] = self.cs[j] * b[j] * block
            Hu[:d, d + j] = Hu[d + j, :d] = self.cs[j] * dP[j]
            H += np.outer(g, g) - e[j] * Hu
        return -H


def ode_loss(y: np.ndarray, alphas: Any, coefs: Any, cs: Any) -> float:
    """Total ODE loss at the state y = (a_1..a_d, b_1..b_m) (for tests)."""
    return float(_Model(np.asarray(alphas), coefs, cs).loss_terms(np.asarray(y, float)).sum())


def ode_gradient(y: np.ndarray, alphas: Any, coefs: Any, cs: Any) -> np.ndarray:
    """grad_(a, b) L at y (the ODE's right-hand side is minus this)."""
    return _Model(np.asarray(alphas), coefs, cs).grad(np.asarray(y, float))


def _half_times(model: _Model, sol: Any, init: np.ndarray, t_half: np.ndarray) -> None:
    """Fill still-missing ``t_half[j]``: the first t with term_loss_j(t) = init_j / 2.

    The crossing is bracketed between consecutive solver steps and then root-found (brentq, to
    machine precision in t) on the solver's dense interpolant, i.e. event location, not grid
    interpolation.
    """
    losses = np.array([model.loss_terms(y) for y in sol.y.T])  # (steps, m)
    for j in (int(v) for v in np.flatnonzero(np.isnan(t_half) & (init > 0))):
        target = 0.5 * init[j]
        below = np.flatnonzero(losses[:, j] <= target)
        if below.size == 0:
            continue
        k = int(below[0])
        if k == 0:
            t_half[j] = float(sol.t[0])
            continue
        lo, hi = float(sol.t[k - 1]), float(sol.t[k])

        def f(t: float, j: int = j, target: float = target) -> float:
            return float(model.loss_terms(sol.sol(t))[j] - target)

        flo, fhi = f(lo), f(hi)
        if flo > 0 >= fhi:
            t_half[j] = float(optimize.brentq(f, lo, hi, xtol=1e-15 * hi, rtol=1e-15))
        else:  # interpolant and step values disagree in sign (only at rounding level)
            t_half[j] = hi if fhi <= 0 else lo


def _unpack(config: Any, alphas: Any, gamma: Any, coefs: Any, b0: Any) -> tuple[Any, ...]:
    if config is not None:
        if isinstance(config, Mapping):
            config = Config.from_dict(config)
        alphas = config.alphas if alphas is None else alphas
        gamma = config.gamma if gamma is None else gamma
        coefs = config.coefs if coefs is None else coefs
        b0 = config.b0 if b0 is None else b0
    if alphas is None or gamma is None:
        raise ValueError("solve_ode needs a config or alphas and gamma")
    A = np.atleast_2d(np.asarray(alphas, dtype=int))
    m, d = A.shape
    g = np.broadcast_to(np.asarray(gamma, dtype=float), (d,))
    co = np.ones(m) if coefs is None else np.asarray(coefs, dtype=float).reshape(m)
    b0 = 1e-10 if b0 is None else float(b0)
    return A, g, co, b0


# ------------------------------------------------------------------------------------------------
# the solve budget: no config may keep a worker spinning
# ------------------------------------------------------------------------------------------------
#: Evaluations (right-hand side + Jacobian) one solve_ode call may use. Configs within the web
#: caps need at most ~6,000 (measured over random configs: d <= 8, up to 5 terms, gamma 1e-3..1).
SOLVE_MAX_EVALS = 100_000
#: Wall-clock seconds one solve_ode call may take (a budget, not a speed claim).
SOLVE_MAX_SECONDS = 10.0
#: The config fields that decide how hard the ODE is, named in every solve error.
SOLVE_FIELDS = "coef, gamma, alpha or b0"
#: warnings.catch_warnings swaps process-global state: one solve at a time may hold it.
_WARNINGS_LOCK = threading.RLock()


class _OverBudget(Exception):
    def __init__(self, budget: str, limit: float) -> None:
        super().__init__(budget)
        self.budget = budget
        self.limit = limit


class _Budget:
    """Charges every right-hand-side / Jacobian evaluation; raises _OverBudget past either limit.

    The check runs inside each evaluation, so it also stops an integrator that loops within a
    single step (LSODA does, on states near overflow), not only between steps.
    """

    def __init__(self, max_evals: int, max_seconds: float) -> None:
        self.max_evals = max_evals
        self.max_seconds = max_seconds
        self.started = time.monotonic()
        self.deadline = self.started + max_seconds
        self.evals = 0

    def charge(self, f: Callable[[float, np.ndarray], np.ndarray]) -> Callable[..., np.ndarray]:
        def charged(t: float, y: np.ndarray) -> np.ndarray:
            self.evals += 1
            if self.evals > self.max_evals:
                raise _OverBudget("evaluations", self.max_evals)
            if time.monotonic() > self.deadline:
                raise _OverBudget("seconds", self.max_seconds)
            return f(t, y)

        return charged

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


@contextmanager
def _quiet_numerics() -> Iterator[list[warnings.WarningMessage]]:
    """Record (never print) SciPy warnings and silence NumPy floating-point warnings."""
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        yield caught


def _solve_field(coefs: np.ndarray) -> str:
    """The field most likely to blame: coef when a coefficient is far from unit scale."""
    mags = np.abs(np.asarray(coefs, dtype=float))
    mags = mags[mags > 0]
    if mags.size and (mags.max() > 1e6 or mags.min() < 1e-6 or not np.all(np.isfinite(mags))):
        return "coef"
    return "gamma"


def _budget_error(over: _OverBudget, budget: _Budget, coefs: np.ndarray) -> SolveBudgetError:
    if over.budget == "evaluations":
        spent = f"{over.limit:,} right-hand-side evaluations (after {budget.seconds:.1f} s)"
    else:
        spent = f"{over.limit:g} s of wall-clock time (after {budget.evals:,} evaluations)"
    return SolveBudgetError(
        _solve_field(coefs),
        f"the modeling ODE did not settle within its budget of {spent}; allowed: a config it"
        f" solves within the budget (typical ones need < 10,000 evaluations): change {SOLVE_FIELDS}",
        budget=over.budget,
        limit=over.limit,
    )


def _failure_error(
    err: BaseException, caught: list[warnings.WarningMessage], coefs: np.ndarray
) -> SolveError:
    said = [str(w.message) for w in caught if "lsoda" in str(w.message).lower()]
    reason = said[0].split(":", 1)[-1].strip() if said else str(err)
    reason = " ".join(reason.split()).rstrip(".")
    return SolveError(
        _solve_field(coefs),
        f"the modeling ODE solver failed ({reason}); allowed: a config the solver can"
        f" integrate: change {SOLVE_FIELDS}",
    )


def solve_ode(
    config: Config | Mapping[str, Any] | None = None,
    *,
    alphas: Any = None,
    gamma: Any = None,
    coefs: Any = None,
    b0: float | None = None,
    n_points: int = 1000,
    t_min: float | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-14,
    t_cap: float | None = None,
    max_evals: int | None = None,
    max_seconds: float | None = None,
) -> OdeSolution:
    """Integrate the joint modeling ODE (spec 6) over an automatically chosen horizon.

    Give a :class:`Config` (or its dict), or ``alphas`` (m x d), ``gamma`` and optionally ``coefs``
    and ``b0``. The horizon starts at twice the largest positive t_rise and doubles (continuing
    from the last state) until every term's loss is below ``CONVERGED_FRACTION`` of its initial
    value (or negligible against the total), or until a stall is detected (the loss no longer moves
    on a log-time scale well past every t_rise), or the safety cap ``t_cap`` is hit (``capped=True``;
    default max(1e12, 1000 x the largest t_rise), so no physical horizon is ever cut short). LSODA with
    the analytic Jacobian at ``rtol`` integrates it; half-loss times are root-found as events on
    the dense output. The result is sampled at t = 0 and ``n_points - 1`` log-spaced times from
    ``t_min`` (default min(1e-2, 1e-6 t_end)) to ``t_end``.

    Every solve has a budget: at most ``max_evals`` evaluations of the right-hand side and its
    Jacobian (default :data:`SOLVE_MAX_EVALS`) and ``max_seconds`` of wall-clock time (default
    :data:`SOLVE_MAX_SECONDS`), checked inside every evaluation, so a config the integrator cannot
    settle (e.g. ``coef = 1e308``) stops there with :class:`~theoryscope.errors.SolveBudgetError`
    instead of spinning. A solver failure is a :class:`~theoryscope.errors.SolveError`; both are one
    line naming the fields to change, and SciPy / NumPy warnings never reach the terminal.
    """
    A, g, co, b0v = _unpack(config, alphas, gamma, coefs, b0)
    budget = _Budget(
        SOLVE_MAX_EVALS if max_evals is None else int(max_evals),
        SOLVE_MAX_SECONDS if max_seconds is None else float(max_seconds),
    )
    with _quiet_numerics() as caught:
        try:
            return _integrate(A, g, co, b0v, budget, n_points, t_min, rtol, atol, t_cap)
        except _OverBudget as over:
            raise _budget_error(over, budget, co) from None
        except ConfigError:
            raise
        except (ArithmeticError, ValueError, RuntimeError) as err:
            raise _failure_error(err, caught, co) from None


def _integrate(
    A: np.ndarray,
    g: Any,
    co: np.ndarray,
    b0v: float,
    budget: _Budget,
    n_points: int,
    t_min: float | None,
    rtol: float,
    atol: float,
    t_cap: float | None,
) -> OdeSolution:
    """The body of :func:`solve_ode` (see there); every evaluation is charged to ``budget``."""
    m, d = A.shape
    cs = np.sqrt(np.prod(g[None, :] ** A, axis=1))  # spec 6: c_j = sqrt(prod_i gamma_i^alpha_ji)
    model = _Model(A, co, cs)
    y0 = np.concatenate([np.ones(d), np.full(m, b0v)])  # spec 6: a_i(0) = 1, b_j(0) = b0
    init = model.loss_terms(y0)
    total0 = float(init.sum())
    floor = max(total0, 1e-300) * 1e-12

    t_rises = [readouts(A[j], g, 1.0, b0v)["t_rise"] for j in range(m)]
    finite = [t for t in t_rises if math.isfinite(t) and t > 0]
    T = 2.0 * max(finite) if finite else 1.0
    if t_cap is None:
        t_cap = max(T_CAP, 500.0 * T)
    T = min(max(T, 1e-6), t_cap)

    t_half = np.full(m, math.nan)
    segments: list[tuple[float, float, Any]] = []
    t0, y = 0.0, y0
    converged = capped = False
    nfev = 0
    last_loss = math.inf
    while True:
        sol = integrate.solve_ivp(
            budget.charge(model.rhs),
            (t0, T),
            y,
            method="LSODA",
            jac=budget.charge(model.jac),
            rtol=rtol,
            atol=atol,
            dense_output=True,
        )
        if sol.status < 0:
            raise RuntimeError(f"ODE solver failed: {sol.message}")
        if not np.all(np.isfinite(sol.y[:, -1])):
            raise FloatingPointError("the state a(t), b(t) overflowed")
        nfev += int(sol.nfev)
        segments.append((t0, T, sol.sol))
        _half_times(model, sol, init, t_half)
        y = sol.y[:, -1]
        tl = model.loss_terms(y)
        ok = (tl <= CONVERGED_FRACTION * init) | (tl <= floor)
        if ok.all():
            converged = True
            break
        total = float(tl.sum())
        # stall: past every t_rise, doubling the time changed the loss by < 1e-6 relative
        past = T > 10.0 * (max(finite) if finite else 1.0)
        if past and abs(last_loss - total) <= 1e-6 * max(total, 1e-300):
            break
        last_loss = total
        if T >= t_cap:
            capped = True
            break
        t0, T = T, min(2.0 * T, t_cap)

    t_end = T
    lo = t_min if t_min is not None else min(1e-2, 1e-6 * t_end)
    lo = min(lo, 0.5 * t_end)
    grid = np.concatenate([[0.0], np.geomspace(lo, t_end, max(n_points - 1, 2))])
    Y = np.empty((grid.size, d + m))
    starts = np.array([s[0] for s in segments])
    idx = np.clip(np.searchsorted(starts, grid, side="right") - 1, 0, len(segments) - 1)
    for k, (_, _, dense) in enumerate(segments):
        sel = idx == k
        if sel.any():
            Y[sel] = dense(grid[sel]).T
    Y[0] = y0
    a_t, b_t = Y[:, :d], Y[:, d:]
    P = np.prod(a_t[:, None, :] ** A[None, :, :].astype(float), axis=2)  # (n, m)
    term_loss = 0.5 * (co[None, :] - cs[None, :] * P * b_t) ** 2
    return OdeSolution(
        t=grid,
        a=a_t,
        b=b_t,
        loss=term_loss.sum(axis=1),
        term_loss=term_loss,
        b_norm=np.sqrt((b_t**2).sum(axis=1)),
        t_half=t_half,
        t_end=float(t_end),
        converged=converged,
        capped=capped,
        nfev=nfev,
    )


# ------------------------------------------------------------------------------------------------
# the experiment protocol's predict
# ------------------------------------------------------------------------------------------------
@dataclass
class Theory:
    """What :func:`predict` returns: per-term readouts, the joint ODE and the config dict."""

    terms: tuple[TermReadout, ...]
    ode: OdeSolution
    config: dict[str, Any]


def _as_config(config: Config | Mapping[str, Any]) -> Config:
    return Config.from_dict(config) if isinstance(config, Mapping) else config


def _term_readouts(cfg: Config, ode: OdeSolution) -> tuple[TermReadout, ...]:
    out = []
    for j, term in enumerate(cfg.terms):
        with _quiet_numerics():  # the same readouts solve_ode computed: no warning is news here
            ro = readouts(term.alpha, cfg.gamma, 1.0, cfg.b0)
        th = float(ode.t_half[j]) if ode.t_half.size > j else math.nan
        out.append(TermReadout(coef=float(term.coef), t_half_ode=th, **ro))
    return tuple(out)


def readouts_for_config(config: Config | Mapping[str, Any]) -> tuple[TermReadout, ...]:
    """Every term's readouts, with ``t_half_ode`` from one solve of the joint ODE."""
    cfg = _as_config(config)
    return _term_readouts(cfg, solve_ode(cfg))


def predict(config: Config | Mapping[str, Any]) -> Theory:
    """The experiment protocol's ``predict``: readouts per term and the joint ODE (pure)."""
    cfg = _as_config(config)
    ode = solve_ode(cfg)
    return Theory(terms=_term_readouts(cfg, ode), ode=ode, config=cfg.to_dict())


def theory_to_dict(theory: Theory) -> dict[str, Any]:
    """JSON-ready dict ``{"terms": [...], "ode": {...}, "config": {...}}`` with no NaN (None)."""
    return {
        "terms": [t.to_dict() for t in theory.terms],
        "ode": theory.ode.to_dict(),
        "config": theory.config,
    }

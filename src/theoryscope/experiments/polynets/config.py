"""Polynomial-network teacher-student configuration.

Declared with :func:`~theoryscope.spec.param`: every field's bounds, help, TeX symbol and source
live here; validation, the CLI options and the web form are derived from them. A bad value raises
:class:`~theoryscope.errors.ConfigError` naming the field and the allowed range.

Model (Arjevani, Bruna, Kileel, Polak, Trager 2025, arXiv 2501.06074, section 2): a shallow
polynomial network of width r and degree p, f_W(x) = sum_{i<=r} a_i (w_i . x)^p, with the outer
weights fixed to a_i = +1 (teacher and student), so that for p = 2, f_W(x) = x^T M x with
M = W^T W positive semi-definite of rank <= r (Du & Lee 2018; Soltanolkotabi, Javanmard & Lee
2019; Sarao Mannelli et al. 2020).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from theoryscope.errors import ConfigError
from theoryscope.spec import CliInput, ExperimentConfig, Float, Int, param

#: Degrees p with a closed-form Gaussian population loss (Hermite expansion, population.py).
DEGREES = (2, 3, 4)
#: ``orthogonal``: w*_j = sqrt(lambda_j) u_j with u_j orthonormal and lambda_j = decay^(j-1), so
#: for p = 2 the teacher matrix M* has the known eigenvalues lambda_j; ``gaussian``: w*_j i.i.d.
#: N(0, I_d / d).
TEACHERS = ("orthogonal", "gaussian")

MAX_D = 256
MAX_WIDTH = 256
MAX_STEPS = 10_000_000
MAX_SAMPLES = 1_000_000
#: Records kept per run when ``record_every`` is left as None.
DEFAULT_RECORDS = 500

PAPER = "Arjevani, Bruna, Kileel, Polak, Trager, arXiv 2501.06074"


class Config(ExperimentConfig):
    """Everything that defines one polynomial-network teacher-student run.

    ``d``: input dimension (x ~ N(0, I_d)); ``teacher_width`` r*; ``width`` r; ``degree`` p;
    ``init``: W_ij ~ N(0, init^2) (small init gives incremental learning); ``lr`` eta (time
    t = eta * step); ``samples``: None for GD on the exact population loss, n for full-batch GD on
    n fixed Gaussian inputs (the population loss is still recorded); ``teacher`` and
    ``teacher_decay`` (lambda_j = decay^(j-1) for ``orthogonal``); ``data_seed`` fixes the teacher
    and the training set (the student init uses the run seed); ``record_every`` (None: about 500
    records plus a log-spaced grid).
    """

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("population", "Train on the exact population loss (the default; refuses "
                 "--samples).", flag=True),
    )  # fmt: skip

    d: Int = param(
        10, ge=1, le=MAX_D, help="Input dimension d (x ~ N(0, I_d)).", tex="d", cite=PAPER,
        web_max=64, group="model",
    )  # fmt: skip
    teacher_width: Int = param(
        3, ge=1, le=MAX_WIDTH, help="Teacher width r* (neurons of f*).", tex="r^*", cite=PAPER,
        web_max=64, group="model",
    )  # fmt: skip
    width: Int = param(
        5, ge=1, le=MAX_WIDTH, help="Student width r (r >= r*: over-parameterized).", tex="r",
        cite=PAPER, web_max=64, group="model",
    )  # fmt: skip
    degree: Int = param(
        2, ge=2, le=4, help="Degree p of the monomial activation (w . x)^p.", tex="p",
        cite=PAPER, group="model",
    )  # fmt: skip
    init: Float = param(
        1e-3, gt=0, le=100.0, help="Student init scale: W_ij ~ N(0, init^2) (small: incremental "
        "learning).", tex=r"\sigma_0", cite="Saxe et al. 2014; Jacot et al. 2021",
        group="training", widget="log-slider",
    )  # fmt: skip
    lr: Float = param(
        0.01, gt=0, cap=1e6, help="GD step size eta (time t = eta * step).", tex=r"\eta",
        group="training", widget="log-slider",
    )  # fmt: skip
    steps: Int = param(
        5000, ge=1, le=MAX_STEPS, help="Number of GD steps.", web_max=200_000, group="training",
        widget="log-slider",
    )  # fmt: skip
    samples: Int | None = param(
        None, ge=1, le=MAX_SAMPLES, help="Train on n fixed Gaussian samples (none: the exact "
        "population loss).", tex="n", web_max=10_000, group="data",
    )  # fmt: skip
    teacher: Literal["orthogonal", "gaussian"] = param(
        "orthogonal", help="Teacher: orthogonal w*_j = sqrt(lambda_j) u_j, or Gaussian "
        "w*_j ~ N(0, I/d).", cite=PAPER, group="data",
    )  # fmt: skip
    teacher_decay: Float = param(
        0.5, gt=0, le=1.0, help="Orthogonal teacher: eigenvalues lambda_j = decay^(j-1).",
        tex=r"\lambda_j", group="data",
    )  # fmt: skip
    data_seed: Int = param(
        0, ge=0, le=2**31 - 1, help="Seed of the teacher and the samples (the student init uses "
        "--seed).", group="data", advanced=True,
    )  # fmt: skip
    record_every: Int | None = param(
        None, ge=1, le=MAX_STEPS, help="Record every this many steps (none: about 500 records "
        "plus a log-spaced grid).", group="recording", advanced=True, sweepable=False,
    )  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _population_flag(cls, data: Any) -> Any:
        """``population`` (the CLI's --population) means samples = None; it refuses samples."""
        if not isinstance(data, dict) or "population" not in data:
            return data
        data = dict(data)
        population = data.pop("population")
        if population and data.get("samples") is not None:
            raise ConfigError("samples", "given together with --population; allowed: one of them")
        return data

    @property
    def every(self) -> int:
        """Steps between records."""
        if self.record_every is not None:
            return int(self.record_every)
        return max(1, int(self.steps) // DEFAULT_RECORDS)

    @property
    def population(self) -> bool:
        """True when GD runs on the exact population loss."""
        return self.samples is None

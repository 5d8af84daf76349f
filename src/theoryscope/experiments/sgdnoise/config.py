"""SGD-noise configuration: which problem SGD runs on, its step, batch and noise.

Declared with :func:`~theoryscope.spec.param`; validation, the CLI options and the web form are
derived from it. Fields left as ``None`` take the default of the chosen ``mode``
(:data:`MODE_DEFAULTS`); rules that depend on the mode (linreg d <= 16, batch <= m, diagonal
m < d, steps a multiple of records, ...) are checked once the mode is known, each as one line
naming the field.

    linreg     SGD on noisy least squares (exact moment theory: both FDR sides, the stationary
               covariance, the equilibration step)                               (Yaida 2019)
    mlp        SGD on a small tanh MLP with label noise and weight decay (FDR1 exact, FDR2 up to
               O(eta^2) anharmonic terms)                                        (Yaida 2019)
    diagonal   SGD and GD on a diagonal linear net from the same init: SGD acts as a smaller
               init scale alpha_inf < alpha, closer to min-L1          (Pesme et al. 2021)
    manifold   label-noise SGD on f = a b: drift along the manifold ab = y towards smaller
               tr H                                     (Blanc et al. 2020; Damian et al. 2021)

Batches follow the lecture notes (seed 002, 11/16): each example is in B independently with
probability |B| / m and L_B = (1/|B|) sum_{k in B} l_k.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from theoryscope.errors import ConfigError
from theoryscope.spec import CliInput, ExperimentConfig, Float, Int, param

MODES = ("linreg", "mlp", "diagonal", "manifold")
DTYPES = ("float32", "float64")

MAX_STEPS = 10_000_000
MAX_RECORDS = 10_000
MAX_CHAINS = 4096
MAX_M = 4096
MAX_D = 1024
#: linreg: the exact moment theory tracks the d x d second moment (a (d^2+d+1)^2 operator).
MAX_D_LINREG = 16
MAX_WIDTH = 512

YAIDA = "Yaida, ICLR 2019 (arXiv:1810.00004), eq. FDR1/FDR2"
PESME = "Pesme, Pillaud-Vivien, Flammarion, NeurIPS 2021 (arXiv:2106.09524), thm 1"
BLANC = "Blanc, Gupta, Valiant, Valiant, COLT 2020 (arXiv:1904.09080)"
DAMIAN = "Damian, Ma, Lee, NeurIPS 2021 (arXiv:2106.06530)"
LECTURE = "seed 002, lecture 11/16 'SGD Implicit Bias'"

MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "linreg": {"lr": 0.05, "batch": 4, "steps": 20_000, "chains": 1, "d": 8, "m": 64,
               "noise": 0.5, "weight_decay": 0.0},
    "mlp": {"lr": 0.05, "batch": 8, "steps": 40_000, "chains": 1, "d": 4, "m": 128,
            "noise": 0.3, "weight_decay": 0.01},
    "diagonal": {"lr": 0.02, "batch": 1, "steps": 20_000, "chains": 1, "d": 100, "m": 40,
                 "noise": 0.0, "weight_decay": 0.0},
    "manifold": {"lr": 0.05, "batch": 1, "steps": 4_000, "chains": 256, "d": 1, "m": 1,
                 "noise": 1.0, "weight_decay": 0.0},
}  # fmt: skip

FDR_MODES = ("linreg", "mlp")


def mlp_parameters(d: int, width: int) -> int:
    """Parameters of f = w2 . tanh(W1 x + b1) + b2: h d + h + h + 1."""
    return width * d + 2 * width + 1


DATA_MODES = ("linreg", "mlp", "diagonal")


class Config(ExperimentConfig):
    """Everything that defines one SGD-noise run (see the module doc for the modes).

    ``lr`` eta, ``batch`` the expected batch size |B| (Bernoulli batches), ``steps`` SGD steps
    split into ``records`` equal blocks (one record per block: block means of the FDR
    observables, their half-running averages and error bars), ``chains`` independent SGD chains
    run side by side (vmapped). ``d``, ``m`` the dimension and number of samples; ``noise`` the
    label-noise std (fixed noisy labels in linreg/mlp, fresh each step in manifold);
    ``weight_decay`` lambda; ``width`` the MLP hidden width; ``alpha``, ``sparsity`` the diagonal
    net's init scale and planted support; ``target`` y and ``s0`` the manifold's target and start;
    ``center`` the point c of the FDR1 observable |theta - c|^2/2; ``tol`` the stationarity
    tolerance on the FDR ratio.
    """

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("float64", "Run in float64 (default float32).", flag=True,
                 sets={"dtype": "float64"}),
    )  # fmt: skip
    #: The data seed follows the run seed unless given (predict must see the same data).
    follows_seed: ClassVar[tuple[str, ...]] = ("data_seed",)

    mode: Literal["linreg", "mlp", "diagonal", "manifold"] = param(
        "linreg", help="linreg: noisy least squares (exact FDR theory); mlp: tanh MLP with label "
        "noise and weight decay; diagonal: SGD vs GD on a diagonal net (alpha_eff); manifold: "
        "label-noise drift along ab = y.", cite=LECTURE, group="model",
    )  # fmt: skip
    lr: Float | None = param(
        None, gt=0, cap=1e3, help="Step size eta (none: 0.05 linreg/mlp/manifold, 0.02 "
        "diagonal).", tex=r"\eta", cite=YAIDA, group="training", widget="log-slider",
    )  # fmt: skip
    batch: Int | None = param(
        None, ge=1, le=MAX_M, help="Expected batch size |B|: each example is in B with "
        "probability |B|/m (none: 4 linreg, 8 mlp, 1 diagonal).", tex="|B|", cite=LECTURE,
        group="training", modes=DATA_MODES,
    )  # fmt: skip
    steps: Int | None = param(
        None, ge=1, le=MAX_STEPS, help="SGD steps, a multiple of records (none: 20000 linreg/"
        "diagonal, 40000 mlp, 4000 manifold).", web_max=2_000_000, group="training",
        widget="log-slider",
    )  # fmt: skip
    records: Int = param(
        200, ge=2, le=MAX_RECORDS, help="Equal blocks of steps, one record each (block means "
        "give the batch-means error bars).", web_max=2000, group="recording",
    )  # fmt: skip
    chains: Int | None = param(
        None, ge=1, le=MAX_CHAINS, help="Independent SGD chains run side by side (none: 1; "
        "256 in manifold).", web_max=1024, group="training",
    )  # fmt: skip
    d: Int | None = param(
        None, ge=1, le=MAX_D, help="Dimension d (none: 8 linreg (at most 16), 4 mlp inputs, 100 "
        "diagonal).", tex="d", web_max=512, group="data", modes=DATA_MODES,
    )  # fmt: skip
    m: Int | None = param(
        None, ge=1, le=MAX_M, help="Samples m (none: 64 linreg, 128 mlp, 40 diagonal; linreg "
        "needs m > d unless weight_decay > 0, diagonal m < d).", tex="m", web_max=2048,
        group="data", modes=DATA_MODES,
    )  # fmt: skip
    noise: Float | None = param(
        None, ge=0, cap=1e3, help="Label-noise std: fixed noisy labels (linreg, mlp) or fresh "
        "each step (manifold) (none: 0.5 linreg, 0.3 mlp, 1 manifold).", tex=r"\sigma",
        cite=DAMIAN, group="data", modes=("linreg", "mlp", "manifold"),
    )  # fmt: skip
    weight_decay: Float | None = param(
        None, ge=0, cap=1e3, help="Weight decay lambda: L + lambda/2 |theta|^2 (none: 0 linreg, "
        "0.01 mlp).", tex=r"\lambda", cite=YAIDA, group="model", modes=FDR_MODES,
    )  # fmt: skip
    width: Int = param(
        16, ge=1, le=MAX_WIDTH, help="Hidden width of the tanh MLP.", tex="h", web_max=256,
        group="model", modes=("mlp",),
    )  # fmt: skip
    alpha: Float = param(
        0.1, ge=1e-6, le=10.0, help="Diagonal net init scale: u = v = alpha 1, beta = u*u - v*v.",
        tex=r"\alpha", cite=PESME, group="model", widget="log-slider", modes=("diagonal",),
    )  # fmt: skip
    sparsity: Int = param(
        5, ge=1, le=MAX_D, help="Nonzero entries (+-1) of the planted beta*, 1..d.", tex="k",
        group="data", modes=("diagonal",),
    )  # fmt: skip
    target: Float = param(
        1.0, gt=0, cap=1e3, help="Manifold target y: minima of 1/2 (ab - y)^2 form ab = y.",
        tex="y", cite=BLANC, group="model", modes=("manifold",),
    )  # fmt: skip
    s0: Float = param(
        1.0, ge=-5.0, le=5.0, help="Start on the manifold: (a, b) = sqrt(y) (e^s0, e^-s0).",
        tex="s_0", cite=DAMIAN, group="model", modes=("manifold",),
    )  # fmt: skip
    center: Literal["origin", "minimum"] = param(
        "origin", help="FDR1 observable O = |theta - c|^2/2: origin c = 0 (Yaida's <theta . grad "
        "L>) or minimum c = theta* (mlp: an L-BFGS minimiser); same relation, smaller error bars.",
        tex="c", cite=YAIDA, group="recording", modes=FDR_MODES,
    )  # fmt: skip
    tol: Float = param(
        0.05, gt=0, lt=1, help="Stationarity tolerance: equilibrated once the FDR1 ratio is "
        "within 1 +- tol.", cite=YAIDA, group="recording", modes=FDR_MODES,
    )  # fmt: skip
    data_seed: Int = param(
        0, ge=0, le=2**31 - 1, help="Seed of the data (follows --seed unless given).",
        group="data", advanced=True,
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = param(
        "float32", help="Arithmetic of the SGD chains.", group="numerics",
    )  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _mode_defaults(cls, data: Any) -> Any:
        """Fields left as None (or absent) take the default of the chosen mode."""
        if not isinstance(data, dict):
            return data
        mode = data.get("mode", "linreg")
        if not isinstance(mode, str) or mode not in MODE_DEFAULTS:
            return data  # the mode's own check names it
        data = dict(data)
        for name, value in MODE_DEFAULTS[mode].items():
            if data.get(name) is None:
                data[name] = value
        return data

    @model_validator(mode="after")
    def _mode_rules(self) -> Config:
        """Bounds that depend on the mode or on another field."""
        steps, records = int(self.steps or 0), int(self.records)
        if records > steps:
            raise ConfigError(
                "records", f"got {records:,}; allowed: an integer from 2 to steps ({steps:,})"
            )
        if steps % records != 0:
            raise ConfigError(
                "steps", f"got {steps:,}; allowed: a multiple of records ({records:,})"
            )
        d, m, batch = int(self.d or 0), int(self.m or 0), int(self.batch or 0)
        if self.mode in DATA_MODES and batch > m:
            raise ConfigError("batch", f"got {batch}; allowed: an integer from 1 to m = {m}")
        if self.mode == "linreg":
            if d > MAX_D_LINREG:
                raise ConfigError(
                    "d", f"got {d}; allowed: an integer from 1 to {MAX_D_LINREG} in mode linreg "
                    "(the exact theory tracks d^2 second moments)",
                )  # fmt: skip
            if m <= d and float(self.weight_decay or 0.0) == 0.0:
                raise ConfigError(
                    "m", f"got {m}; allowed: an integer > d = {d} (or weight_decay > 0): SGD on "
                    "underdetermined least squares has no stationary spread",
                )  # fmt: skip
        if self.mode == "diagonal":
            if m >= d:
                raise ConfigError(
                    "m", f"got {m}; allowed: an integer from 1 to d - 1 = {d - 1} (the diagonal "
                    "net must interpolate: m < d)",
                )  # fmt: skip
            if self.sparsity > d:
                raise ConfigError(
                    "sparsity", f"got {self.sparsity}; allowed: an integer from 1 to d = {d}"
                )
        return self

    @property
    def p(self) -> float:
        """Inclusion probability |B| / m of each example (1 in manifold: one data point)."""
        if self.mode not in DATA_MODES:
            return 1.0
        return float(self.batch or 1) / float(self.m or 1)

    @property
    def block(self) -> int:
        """Steps per recorded block."""
        return int(self.steps or 0) // int(self.records)

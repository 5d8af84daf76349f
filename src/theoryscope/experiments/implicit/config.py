"""Implicit-bias configuration: diagonal linear nets, max margin, deep linear nets.

Declared with :func:`~theoryscope.spec.param`: every field's bounds, help, TeX symbol and source
live here; validation, the CLI options and the web form are derived from them. A bad value raises
:class:`~theoryscope.errors.ConfigError` naming the field and the allowed range. Fields left as
``None`` take the default of the chosen ``mode`` (:data:`MODE_DEFAULTS`); rules that depend on
the mode (d, n >= 1 outside deeplinear, steps = 0 only in deeplinear, sparsity <= d, ...) are
checked once the mode is known.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from theoryscope.errors import ConfigError
from theoryscope.spec import Bool, ExperimentConfig, Float, FloatTuple, Int, param

#: ``diagonal``: beta = u*u - v*v on underdetermined least squares (Woodworth et al. 2020);
#: ``margin``: GD on the logistic loss of separable data (Soudry et al. 2018);
#: ``deeplinear``: W_L ... W_1 on a whitened linear regression (Saxe et al. 2014).
MODES = ("diagonal", "margin", "deeplinear")
#: Deep linear init: ``balanced`` aligns every layer with the target's singular vectors (each
#: mode then follows the closed form exactly); ``random`` draws small Gaussian layers.
INITS = ("balanced", "random")

MAX_D = 4096
MAX_N = 4096
MAX_STEPS = 10_000_000
MAX_DEPTH = 8
MAX_SWEEP = 64
MAX_MODES = 64
MIN_ALPHA = 1e-12
MAX_ALPHA = 1e6
#: Margin data keep |w* . x| >= gap by rejection from N(0, I): P(|z| >= 3) = 0.27 %, so gaps
#: above 3 would loop for ever.
MAX_GAP = 3.0

MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "diagonal": {"d": 100, "n": 40, "lr": 0.02, "steps": 20_000},
    "margin": {"d": 2, "n": 50, "lr": 1.0, "steps": 100_000},
    "deeplinear": {"d": 0, "n": 0, "lr": 0.005, "steps": 0},  # steps 0: auto (from the theory)
}

WOODWORTH = "Woodworth et al., COLT 2020, thm 1"
SOUDRY = "Soudry et al., JMLR 2018, thm 3"
SAXE = "Saxe, McClelland, Ganguli, ICLR 2014, eq. (6)-(7)"
ARORA = "Arora, Cohen, Hazan, ICML 2018, thm 1"
LECTURES = "seed 002, lectures 'Implicit Bias' 11/9, 11/14, 'Deep Linear Network'"


class Config(ExperimentConfig):
    """Everything that defines one implicit-bias run.

    ``mode``: diagonal, margin or deeplinear (:data:`MODES`). ``d``, ``n``, ``lr``, ``steps``
    default per mode (:data:`MODE_DEFAULTS`). Diagonal: ``sparsity`` (nonzeros +-1 of the planted
    beta*), ``alpha`` (init scale, u = v = alpha 1), or ``alpha_sweep`` over a geometric grid of
    ``sweep_points`` alphas from ``sweep_min`` to ``sweep_max``; the step at alpha is
    lr / max(1, alpha^2). Margin: ``gap`` (points with |w* . x| < gap dropped), ``flip`` (label
    noise; non-separable data are refused by the theory). Deeplinear: ``depth`` L,
    ``singular_values`` of the target, hidden ``width`` (0: one per mode), per-layer ``init``
    a_0, ``init_mode``; ``steps`` 0 = auto (1.5 x the theory's time for the weakest mode to reach
    99 %). ``data_seed`` fixes the data (it follows the run seed unless given); ``records`` the
    number of recorded points.
    """

    #: The data seed follows the run seed unless given (the CLI's --seed draws the data).
    follows_seed: ClassVar[tuple[str, ...]] = ("data_seed",)

    mode: Literal["diagonal", "margin", "deeplinear"] = param(
        "diagonal", help="diagonal: u*u - v*v on least squares (L1 vs L2); margin: logistic GD "
        "on separable data (SVM); deeplinear: W_L..W_1 (Saxe's sigmoids).", cite=LECTURES,
        group="model",
    )  # fmt: skip
    d: Int | None = param(
        None, ge=0, le=MAX_D, help="Input dimension d (none: 100 in diagonal, 2 in margin).",
        tex="d", web_max=1000, group="data", modes=("diagonal", "margin"),
    )  # fmt: skip
    n: Int | None = param(
        None, ge=0, le=MAX_N, help="Samples n (none: 40 in diagonal, 50 in margin; diagonal "
        "needs n < d to be underdetermined).", tex="n", web_max=500, group="data",
        modes=("diagonal", "margin"),
    )  # fmt: skip
    sparsity: Int = param(
        5, ge=1, le=MAX_D, help="Nonzero entries (+-1) of the planted beta*, 1..d.", tex="k",
        cite=WOODWORTH, web_max=1000, group="data", modes=("diagonal",),
    )  # fmt: skip
    alpha: Float = param(
        0.01, ge=MIN_ALPHA, le=MAX_ALPHA, help="Init scale alpha: u = v = alpha 1 (small: rich, "
        "min-L1; large: kernel, min-L2).", tex=r"\alpha", cite=WOODWORTH, group="model",
        widget="log-slider", modes=("diagonal",),
    )  # fmt: skip
    alpha_sweep: Bool = param(
        False, help="Train a geometric grid of alphas side by side instead of one alpha.",
        group="model", modes=("diagonal",),
    )  # fmt: skip
    sweep_min: Float = param(
        1e-3, ge=MIN_ALPHA, le=MAX_ALPHA, help="Smallest alpha of the sweep.", tex=r"\alpha",
        group="model", widget="log-slider", modes=("diagonal",), advanced=True,
    )  # fmt: skip
    sweep_max: Float = param(
        10.0, ge=MIN_ALPHA, le=MAX_ALPHA, help="Largest alpha of the sweep (> sweep_min).",
        tex=r"\alpha", group="model", widget="log-slider", modes=("diagonal",), advanced=True,
    )  # fmt: skip
    sweep_points: Int = param(
        9, ge=2, le=MAX_SWEEP, help="Alphas in the sweep.", group="model", modes=("diagonal",),
        advanced=True,
    )  # fmt: skip
    lr: Float | None = param(
        None, gt=0, cap=1e6, help="Step size eta (none: 0.02 diagonal, 1 margin, 0.005 "
        "deeplinear; diagonal steps lr / max(1, alpha^2)).", tex=r"\eta", group="training",
        widget="log-slider",
    )  # fmt: skip
    steps: Int | None = param(
        None, ge=0, le=MAX_STEPS, help="GD steps (none: 20000 diagonal, 100000 margin, 0 = auto "
        "in deeplinear).", web_max=1_000_000, group="training", widget="log-slider",
    )  # fmt: skip
    gap: Float = param(
        0.1, ge=0, le=MAX_GAP, help="Margin data: points with |w* . x| < gap are dropped.",
        tex=r"\gamma", cite=SOUDRY, group="data", modes=("margin",),
    )  # fmt: skip
    flip: Float = param(
        0.0, ge=0, le=0.5, help="Fraction of labels flipped (the data must stay separable).",
        group="data", modes=("margin",),
    )  # fmt: skip
    depth: Int = param(
        2, ge=2, le=MAX_DEPTH, help="Layers L of the deep linear network.", tex="L", cite=SAXE,
        group="model", modes=("deeplinear",),
    )  # fmt: skip
    singular_values: FloatTuple = param(
        (3.0, 2.0, 1.0), item_gt=0, item_cap=1e3, min_items=1, max_items=MAX_MODES,
        help="Singular values s_i of the target (comma-separated; d_in = d_out = their count).",
        tex="s_i", cite=SAXE, group="data", modes=("deeplinear",),
    )  # fmt: skip
    width: Int = param(
        0, ge=0, le=MAX_D, help="Hidden width (0: the number of singular values).",
        web_max=512, group="model", modes=("deeplinear",),
    )  # fmt: skip
    init: Float = param(
        1e-3, gt=0, le=1.0, help="Per-layer init scale a_0 (balanced: u_0 = a_0^L per mode).",
        tex="a_0", cite=SAXE, group="model", widget="log-slider", modes=("deeplinear",),
    )  # fmt: skip
    init_mode: Literal["balanced", "random"] = param(
        "balanced", help="balanced: layers aligned with the target (exact sigmoids); random: "
        "small Gaussian layers.", cite=ARORA, group="model", modes=("deeplinear",),
    )  # fmt: skip
    data_seed: Int = param(
        0, ge=0, le=2**31 - 1, help="Seed of the data (follows --seed unless given).",
        group="data", advanced=True,
    )  # fmt: skip
    records: Int = param(
        200, ge=2, le=100_000, help="Recorded points of the training curves.", web_max=5000,
        group="recording", advanced=True, sweepable=False,
    )  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _mode_defaults(cls, data: Any) -> Any:
        """Fields left as None (or absent) take the default of the chosen mode."""
        if not isinstance(data, dict):
            return data
        mode = data.get("mode", "diagonal")
        if not isinstance(mode, str) or mode not in MODE_DEFAULTS:
            return data  # the mode's own check names it
        data = dict(data)
        for name, value in MODE_DEFAULTS[mode].items():
            if data.get(name) is None:
                data[name] = value
        return data

    @model_validator(mode="after")
    def _mode_rules(self) -> Config:
        """Bounds that depend on the mode (the field bounds admit every mode's values)."""
        if self.mode != "deeplinear":
            for name, high in (("d", MAX_D), ("n", MAX_N)):
                if int(getattr(self, name) or 0) < 1:
                    raise ConfigError(
                        name, f"got {getattr(self, name)}; allowed: an integer from 1 to {high:,}"
                    )
            if int(self.steps or 0) < 1:
                raise ConfigError(
                    "steps", f"got {self.steps}; allowed: an integer from 1 to {MAX_STEPS:,} "
                    "(0 = auto only in mode deeplinear)",
                )  # fmt: skip
        if self.mode == "diagonal" and self.sparsity > int(self.d or 0):
            raise ConfigError(
                "sparsity", f"got {self.sparsity}; allowed: an integer from 1 to d = {self.d}"
            )
        if self.sweep_max <= self.sweep_min:
            raise ConfigError("sweep_max", f"got {self.sweep_max:g}; allowed: a number > sweep_min")
        if self.mode == "deeplinear" and 0 < self.width < len(self.singular_values):
            raise ConfigError(
                "width",
                f"got {self.width}; allowed: 0 (auto) or >= {len(self.singular_values)} "
                "(one per mode)",
            )
        return self

    @property
    def alphas(self) -> tuple[float, ...]:
        """The init scales trained side by side (one, or the geometric sweep grid)."""
        if not self.alpha_sweep:
            return (float(self.alpha),)
        import numpy as np

        grid = np.geomspace(self.sweep_min, self.sweep_max, int(self.sweep_points))
        return tuple(float(a) for a in grid)

    @property
    def hidden(self) -> int:
        """Deep linear hidden width (``width`` or the number of singular values)."""
        return int(self.width) or len(self.singular_values)

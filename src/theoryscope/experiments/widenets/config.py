"""Wide-networks configuration: the lazy-training run (the protocol experiment ``widenets``, spec 6)
and the parameters of every study (kernels, criticality, random ReLU nets, lazy-training sweeps).

Declared with :func:`~theoryscope.spec.param`: every field's bounds, help, TeX symbol and source
live here; validation, the CLI options and the web form are derived from them. A bad value
raises :class:`~theoryscope.errors.ConfigError` naming the field and what is allowed. Nothing
heavy (JAX) is imported here.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from theoryscope.errors import ConfigError
from theoryscope.spec import (
    Bool,
    CliInput,
    ExperimentConfig,
    Float,
    FloatTuple,
    Int,
    IntTuple,
    param,
)
from theoryscope.spec.fields import show_value

DTYPES = ("float32", "float64")
LABELS = ("sign", "gaussian")
#: Every built-in activation (the same names as ``activations.ACTIVATIONS``; a test checks it).
ACTIVATION_NAMES = (
    "relu", "erf", "identity", "sqrt2cos", "cos", "tanh", "gelu", "softplus", "sin", "swish",
)  # fmt: skip
Activation = Literal[
    "relu", "erf", "identity", "sqrt2cos", "cos", "tanh", "gelu", "softplus", "sin", "swish"
]
METHODS = ("auto", "closed", "quadrature", "table")

SPEC = "shared/specs/wide-networks.md"
SPEC2 = f"{SPEC} section 2 (NNGP)"
SPEC3 = f"{SPEC} section 3 (criticality)"
SPEC4 = f"{SPEC} section 4 (NTK)"
SPEC5 = f"{SPEC} section 5 (random ReLU networks)"
SPEC6 = f"{SPEC} section 6 (lazy training)"
SPEC7 = f"{SPEC} section 7 (learning rate in the kernel regime)"
DU = "Du, Zhai, Poczos, Singh, 'Gradient descent provably optimizes over-parameterized neural networks', ICLR 2019"  # noqa: E501
CHIZAT = "Chizat, Oyallon, Bach, 'On lazy training in differentiable programming', NeurIPS 2019"

ACT_HELP = (
    "Activation sigma: relu, erf, identity, sqrt2cos, cos (closed forms); tanh, gelu, softplus, "
    "sin, swish (quadrature)."
)

#: Resource ceilings (the CLI's; the web server's tighter caps are each field's ``web_max``,
#: the values of web/routers/widenets.py ``caps()``).
MAX_N = 5000
MAX_D = 100_000
MAX_WIDTH = 10_000_000
MAX_STEPS = 10_000_000
MAX_N_TEST = 100_000
MAX_CHUNK = 100_000
MAX_DEPTH = 10_000
MAX_SEED = 2**31 - 1
#: (C_w, C_b) ceiling: the variance map is clipped at 1e8 beyond; no initialization needs more.
MAX_VARIANCE = 1000.0


def _float64_inputs() -> tuple[CliInput, ...]:
    return (
        CliInput("float64", "Compute in float64 (sets --dtype float64).", flag=True,
                 sets={"dtype": "float64"}),
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# the lazy-training run
# ------------------------------------------------------------------------------------------------
def _n() -> Any:
    return param(
        20, ge=1, le=MAX_N, help="Training points n on the unit sphere S^(d-1).", tex="n",
        cite=SPEC6, web_max=200, group="data", widget="log-slider",
    )  # fmt: skip


def _d() -> Any:
    return param(
        10, ge=2, le=MAX_D, help="Input dimension d.", tex="d", cite=SPEC6, web_max=1000,
        group="data", widget="log-slider",
    )  # fmt: skip


def _width(default: int) -> Any:
    return param(
        default, ge=1, le=MAX_WIDTH, help="Hidden width m.", tex="m", cite=SPEC6,
        web_max=200_000, group="model", widget="log-slider",
    )  # fmt: skip


def _lr() -> Any:
    return param(
        0.5, gt=0, allowed="a number > 0",
        help="GD step size eta (the linearized model converges iff eta < 2 / lambda_max).",
        tex=r"\eta", cite=SPEC7, group="training", widget="log-slider",
    )  # fmt: skip


def _steps(default: int, help: str = "GD steps per run.") -> Any:
    return param(
        default, ge=1, le=MAX_STEPS, help=help, tex="k", web_max=20_000, group="training",
        widget="log-slider",
    )  # fmt: skip


def _kappa() -> Any:
    return param(
        1.0, gt=0, cap=1e6, help="Initial weight scale: w_r(0) ~ N(0, kappa^2 I).",
        tex=r"\kappa", cite=SPEC6, group="model", widget="log-slider",
    )  # fmt: skip


def _labels() -> Any:
    return param(
        "sign", help="Labels: sign (y = +-1 at random) or gaussian (y ~ N(0, 1)).", tex="y",
        group="data",
    )  # fmt: skip


def _data_seed() -> Any:
    return param(
        0, ge=0, le=MAX_SEED, help="Seed of the data set (the run's --seed draws the network).",
        group="data", advanced=True,
    )  # fmt: skip


def _dtype(default: str = "float32") -> Any:
    return param(default, help="Arithmetic of the training loop.", group="numerics")


class LazyConfig(ExperimentConfig):
    """Two-layer ReLU network f(x) = m^(-1/2) sum_r a_r relu(w_r . x), W trained by GD (spec 6).

    Data: ``n`` training and ``n_test`` test points uniform on the unit sphere S^(d-1) drawn from
    ``data_seed``; the run's seed draws the network (w_r(0) ~ N(0, kappa^2 I), a_r = +-1 fixed).
    With ``alpha > 0`` the model is alpha (f(x; W) - f(x; W(0))) and the loss is divided by
    alpha^2 (the lazy/rich study, Chizat et al. 2019).
    """

    cli_inputs: ClassVar[tuple[CliInput, ...]] = _float64_inputs()

    n: Int = _n()
    d: Int = _d()
    width: Int = _width(20000)
    lr: Float = _lr()
    steps: Int = _steps(500, "GD steps (one record per step k = 0..steps).")
    kappa: Float = _kappa()
    n_test: Int = param(
        50, ge=1, le=MAX_N_TEST, help="Test points for the linearized-model comparison.",
        tex="n_*", cite=SPEC6, web_max=200, group="data", advanced=True,
    )  # fmt: skip
    labels: Literal["sign", "gaussian"] = _labels()
    data_seed: Int = _data_seed()
    alpha: Float = param(
        0.0, ge=0, cap=1e6, help="Output scale: 0 trains f itself; alpha > 0 trains "
        "alpha (f - f_0) with the loss / alpha^2 (lazy as alpha grows).", tex=r"\alpha",
        cite=CHIZAT, group="model", advanced=True,
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = _dtype()
    chunk: Int = param(
        250, ge=1, le=MAX_CHUNK, help="GD steps per streamed chunk (one compiled scan).",
        group="numerics", advanced=True, sweepable=False,
    )  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _step_size_as_given(cls, data: Any) -> Any:
        """A step size <= 0 is refused showing the value as the user gave it (``got 0``, not the
        parsed ``0.0``)."""
        if isinstance(data, dict) and "lr" in data:
            _refuse_non_positive("lr", data["lr"])
        return data


def _refuse_non_positive(name: str, value: Any) -> None:
    if isinstance(value, bool):
        return  # refused by the field's type check
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return  # refused by the field's type check
    if number <= 0:
        raise ConfigError(name, f"got {show_value(value)}; allowed: a number > 0")


#: The experiment's Config under the name every declared experiment uses.
Config = LazyConfig


# ------------------------------------------------------------------------------------------------
# study parameters
# ------------------------------------------------------------------------------------------------
def _per_layer(name: str, values: tuple[float, ...], depth: int) -> None:
    """(C_w, C_b): one value for every layer, or one per layer (spec 2)."""
    if len(values) not in (1, depth):
        raise ConfigError(name, f"has {len(values)} values; allowed: 1 or depth = {depth}")


def scalar_or_list(values: tuple[float, ...]) -> float | list[float]:
    """One value as a number, per-layer values as a list (what the kernel functions take)."""
    return float(values[0]) if len(values) == 1 else [float(v) for v in values]


class _Network(ExperimentConfig):
    """A fully connected network at initialization: activation, depth, (C_w, C_b) (spec 1, 2)."""

    activation: Activation = param("relu", help=ACT_HELP, tex=r"\sigma", cite=SPEC2,
                                   group="network")  # fmt: skip
    depth: Int = param(
        3, ge=1, le=MAX_DEPTH, help="Weight layers L (the output is z^(L)).", tex="L",
        cite=SPEC2, web_max=500, group="network",
    )  # fmt: skip
    cw: FloatTuple = param(
        (2.0,), item_gt=0, item_le=MAX_VARIANCE, min_items=1, max_items=MAX_DEPTH,
        help="Weight variance C_w (one value, or one per layer, comma-separated).", tex="C_w",
        cite=SPEC2, group="network",
    )  # fmt: skip
    cb: FloatTuple = param(
        (0.0,), item_ge=0, item_le=MAX_VARIANCE, min_items=1, max_items=MAX_DEPTH,
        help="Bias variance C_b (one value, or one per layer, comma-separated).", tex="C_b",
        cite=SPEC2, group="network",
    )  # fmt: skip

    @model_validator(mode="after")
    def _per_layer_lengths(self) -> Any:
        _per_layer("cw", self.cw, self.depth)
        _per_layer("cb", self.cb, self.depth)
        return self


class PropagateParams(_Network):
    """Depth propagation of the variance q and correlation rho of two inputs (spec 2, 3)."""

    depth: Int = param(
        10, ge=1, le=MAX_DEPTH, help="Layers l = 1..depth to propagate through.", tex="L",
        cite=SPEC2, web_max=500, group="network",
    )  # fmt: skip
    q0: Float = param(
        1.0, gt=0, cap=1e6, help="Layer-1 pre-activation variance q^(1) = K^(1)(x, x).",
        tex="q_0", cite=SPEC2, group="inputs",
    )  # fmt: skip
    rho0: Float = param(
        0.0, ge=-1, le=1, help="Layer-1 correlation of the two inputs.", tex=r"\rho_0",
        cite=SPEC3, group="inputs", widget="slider",
    )  # fmt: skip


class KernelsParams(_Network):
    """NNGP K^(L) and NTK Theta^(L) of random inputs (spec 2, 4)."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("float32", "Compute in float32 (sets --dtype float32).", flag=True,
                 sets={"dtype": "float32"}),
        CliInput("float64", "Compute in float64 (the default).", flag=True,
                 sets={"dtype": "float64"}),
    )  # fmt: skip

    inputs: Int = param(
        4, ge=1, le=20_000, help="Number of random inputs x ~ N(0, I_(n_0)).", tex="N",
        web_max=500, group="inputs", widget="log-slider",
    )  # fmt: skip
    dim: Int = param(
        3, ge=1, le=MAX_D, help="Input dimension n_0.", tex="n_0", cite=SPEC2, web_max=1000,
        group="inputs",
    )  # fmt: skip
    normalize: Bool = param(
        True, help="Scale every input to |x|^2 = n_0 (equal norms enable the table path).",
        group="inputs",
    )  # fmt: skip
    method: Literal["auto", "closed", "quadrature", "table", "mehler"] = param(
        "auto", help="Kernel maps: closed forms, per-pair quadrature, or a theta table "
        "(auto picks the fastest exact one).", group="numerics",
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = param(
        "float64", help="Arithmetic of the recursions.", group="numerics",
    )  # fmt: skip


class ConvergenceParams(_Network):
    """Finite-width Monte Carlo against the infinite-width kernels (spec 2, 4)."""

    widths: IntTuple = param(
        (16, 32, 64, 128, 256), item_ge=1, item_le=65_536, min_items=2, max_items=16,
        help="Hidden widths n, comma-separated.", tex="n", cite=SPEC4, group="sampling",
    )  # fmt: skip
    nets: Int = param(
        64, ge=2, le=100_000, help="Random networks per width.", web_max=512, group="sampling",
        widget="log-slider",
    )  # fmt: skip
    inputs: Int = param(
        4, ge=1, le=1000, help="Number of random unit-norm inputs.", tex="N", web_max=64,
        group="inputs",
    )  # fmt: skip
    dim: Int = param(
        3, ge=1, le=MAX_D, help="Input dimension n_0.", tex="n_0", web_max=1000, group="inputs",
    )  # fmt: skip


class CriticalParams(ExperimentConfig):
    """The critical initialization of one activation (spec 3)."""

    activation: Activation = param("tanh", help=ACT_HELP, tex=r"\sigma", cite=SPEC3)
    grid: Int = param(
        41, ge=0, le=400, help="Points per axis of the phase diagram drawn around the critical "
        "point (0: none).", web_max=121, advanced=True, sweepable=False,
    )  # fmt: skip


class PhaseParams(ExperimentConfig):
    """Order/chaos phase diagram: chi_perp at the fixed point over a (C_w, C_b) grid (spec 3)."""

    activation: Activation = param("tanh", help=ACT_HELP, tex=r"\sigma", cite=SPEC3)
    cw_min: Float = param(0.5, gt=0, le=MAX_VARIANCE, help="Smallest C_w.", tex="C_w",
                          group="grid")  # fmt: skip
    cw_max: Float = param(4.0, gt=0, le=MAX_VARIANCE, help="Largest C_w (> cw_min).",
                          tex="C_w", group="grid")  # fmt: skip
    cb_min: Float = param(0.0, ge=0, le=MAX_VARIANCE, help="Smallest C_b.", tex="C_b",
                          group="grid")  # fmt: skip
    cb_max: Float = param(0.5, gt=0, le=MAX_VARIANCE, help="Largest C_b (> cb_min).",
                          tex="C_b", group="grid")  # fmt: skip
    n: Int = param(61, ge=2, le=1000, help="Grid points per axis.", web_max=201, group="grid")

    @model_validator(mode="after")
    def _ordered(self) -> Any:
        if not self.cw_max > self.cw_min:
            raise ConfigError(
                "cw_max", f"got {self.cw_max:g}; allowed: a number > cw_min = {self.cw_min:g}"
            )
        if not self.cb_max > self.cb_min:
            raise ConfigError(
                "cb_max", f"got {self.cb_max:g}; allowed: a number > cb_min = {self.cb_min:g}"
            )
        return self


class JacobianParams(ExperimentConfig):
    """Moments of dz/dx_p for He-initialized ReLU nets: exact theory and Monte Carlo (spec 5)."""

    widths: IntTuple = param(
        (3, 20, 20, 1), item_ge=1, item_le=4096, min_items=2, max_items=64,
        help="Widths n_0, n_1..n_L (hidden), n_out, comma-separated.", tex="n_l", cite=SPEC5,
    )  # fmt: skip
    nets: Int = param(
        20000, ge=2, le=10_000_000, help="Random networks for the Jacobian moments.",
        web_max=200_000, widget="log-slider",
    )  # fmt: skip
    ntk_nets: Int = param(
        500, ge=0, le=1_000_000, help="Networks for E[Theta(x, x)] (0 = skip).", web_max=5000,
        allowed="0 (skip) or an integer from 2 to 1,000,000",
    )  # fmt: skip
    growth_nets: Int = param(
        0, ge=0, le=1_000_000, help="Networks per point of the 4th-moment growth curve against "
        "sum 1/n_l (widths 10, 20, 40 x depths 1..8; 0 = skip).", web_max=20_000,
        allowed="0 (skip) or an integer from 2 to 1,000,000", advanced=True,
    )  # fmt: skip

    @model_validator(mode="after")
    def _not_one(self) -> Any:
        for name in ("ntk_nets", "growth_nets"):
            if getattr(self, name) == 1:
                raise ConfigError(name, f"got 1; allowed: {type(self).field(name).allowed()}")
        return self


class _LazyStudy(ExperimentConfig):
    """The lazy-training settings a study shares with :class:`LazyConfig` (spec 6)."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = _float64_inputs()

    n: Int = _n()
    d: Int = _d()
    kappa: Float = _kappa()
    labels: Literal["sign", "gaussian"] = _labels()
    data_seed: Int = _data_seed()
    dtype: Literal["float32", "float64"] = _dtype()

    def lazy_config(self, **fields: Any) -> LazyConfig:
        """The :class:`LazyConfig` of one training run of the study (one test point: the
        studies read the training residual and the weights only)."""
        shared = {k: getattr(self, k) for k in ("n", "d", "kappa", "labels", "data_seed", "dtype")}
        return LazyConfig(**shared, n_test=1, **fields)


class LazyWidthParams(_LazyStudy):
    """Maximum weight movement and kernel drift against the width m (spec 6: both O(m^-1/2))."""

    widths: IntTuple = param(
        (500, 2000, 8000, 32000), item_ge=1, item_le=MAX_WIDTH, min_items=2, max_items=16,
        help="Widths m, comma-separated.", tex="m", cite=SPEC6, group="model",
    )  # fmt: skip
    lr: Float = _lr()
    steps: Int = _steps(200)
    seeds: Int = param(1, ge=1, le=100, help="Networks per width (seeds seed, seed+1, ...); the "
                       "movements are averaged.", web_max=10, group="training")  # fmt: skip


class LazyRichParams(_LazyStudy):
    """Kernel and weight movement against the output scale alpha (Chizat et al. 2019)."""

    alphas: FloatTuple = param(
        (0.1, 0.3, 1.0, 3.0, 10.0, 30.0), item_gt=0, item_le=1e6, min_items=1, max_items=32,
        help="Output scales alpha, comma-separated.", tex=r"\alpha", cite=CHIZAT, group="model",
    )  # fmt: skip
    width: Int = _width(2000)
    lr: Float = _lr()
    steps: Int = _steps(300)


class LrBoundaryParams(_LazyStudy):
    """Runs on both sides of eta = 2 / lambda_max(H(0)) (spec 7)."""

    factors: FloatTuple = param(
        (0.9, 1.1), item_gt=0, item_le=100, min_items=1, max_items=16,
        help="Step sizes eta as multiples of 2 / lambda_max(H(0)), comma-separated.",
        tex=r"\eta \lambda_{max} / 2", cite=SPEC7, group="training",
    )  # fmt: skip
    width: Int = _width(20000)
    steps: Int = _steps(100)

"""Deep linear networks at initialization: the run's Config and every study's parameters.

Declared with :func:`~theoryscope.spec.param` (bounds, help, TeX, source); validation, the CLI
options and the web form are derived. A bad value raises ConfigError naming the field. Nothing
heavy is imported here.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from theoryscope.errors import ConfigError
from theoryscope.spec import (
    CliInput,
    ExperimentConfig,
    Float,
    FloatTuple,
    Int,
    IntTuple,
    param,
)

NOTES = "lecture notes (seed 002), 12/7 'Bayesian Interpolation w/ Linear Nets'"
HZ = "Hanin & Zlokapa, 'Bayesian interpolation with deep linear networks', PNAS 2023, arXiv:2212.14457"  # noqa: E501
MP = "Marchenko & Pastur 1967; notes 12/7 'Ex 1'"
FC = "Penson & Zyczkowski, PRE 83, 061118 (2011); Haagerup & Moller 2013"
LYAP = "Newman 1986; Akemann, Burda, Kieburg 2014; Liu, Wang, Wang 2018"

MAX_DEPTH = 4096
MAX_WIDTH = 4096
MAX_NETS = 1_000_000
MAX_RECORDS = 10_000
MAX_SEED = 2**31 - 1


class Config(ExperimentConfig):
    """One Monte Carlo run: ``records`` batches of ``nets`` random deep linear networks; each
    record updates the running moments of ``||theta||^2`` and the Kolmogorov-Smirnov distance
    of all nets so far to the exact law ``prod_{l=0}^{L} chi^2_{n_l}/n_l``."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("float64", "Multiply the matrices in float64 (default float32).", flag=True,
                 sets={"dtype": "float64"}),
    )  # fmt: skip

    depth: Int = param(
        16, ge=0, le=MAX_DEPTH, help="Hidden layers L (L + 1 weight matrices).", tex="L",
        cite=NOTES, web_max=1024, group="network", widget="log-slider",
    )  # fmt: skip
    width: Int = param(
        32, ge=1, le=MAX_WIDTH, help="Width n of every hidden layer.", tex="n", cite=NOTES,
        web_max=1024, group="network", widget="log-slider",
    )  # fmt: skip
    input_dim: Int = param(
        32, ge=1, le=MAX_WIDTH, help="Input dimension n_0 (theta lives in R^{n_0}).",
        tex="n_0", cite=NOTES, web_max=1024, group="network", widget="log-slider",
    )  # fmt: skip
    widths: IntTuple | None = param(
        None, item_ge=1, item_le=MAX_WIDTH, min_items=1, max_items=MAX_DEPTH,
        help="Hidden widths n_1,...,n_L one by one (overrides depth and width).", tex="n_l",
        cite=HZ, group="network", advanced=True, sweepable=False,
    )  # fmt: skip
    sampler: Literal["matrices", "exact"] = param(
        "matrices", help="matrices: multiply Gaussian weight matrices (the simulation); exact: "
        "draw the product of chi^2 laws directly.", cite=NOTES, group="sampling",
    )  # fmt: skip
    nets: Int = param(
        1000, ge=2, le=MAX_NETS, help="Networks per record.", tex="B", web_max=100_000,
        group="sampling", widget="log-slider",
    )  # fmt: skip
    records: Int = param(
        20, ge=1, le=MAX_RECORDS, help="Records (batches of nets); the series' axis.",
        web_max=1000, group="sampling",
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = param(
        "float32", help="Arithmetic of the matrix products (the exact sampler is float64).",
        group="numerics", advanced=True,
    )  # fmt: skip

    def hidden(self) -> tuple[int, ...]:
        """``(n_1, ..., n_L)``."""
        if self.widths is not None:
            return tuple(int(n) for n in self.widths)
        return (int(self.width),) * int(self.depth)

    def all_widths(self) -> tuple[int, ...]:
        """``(n_0, n_1, ..., n_L)``: the widths whose chi^2 factors make ``||theta||^2``."""
        return (int(self.input_dim),) + self.hidden()

    @property
    def steps(self) -> int:
        """Nets drawn in all (the ``step`` axis ends here; progress uses it)."""
        return int(self.nets) * int(self.records)


# ------------------------------------------------------------------------------------------------
# study parameters
# ------------------------------------------------------------------------------------------------
def _int_list(default: tuple[int, ...], low: int, high: int, help: str, **kw: Any) -> Any:
    return param(default, item_ge=low, item_le=high, min_items=1, max_items=32, distinct=True,
                 help=help, sweepable=False, **kw)  # fmt: skip


class NormLawParams(ExperimentConfig):
    """The exact law against its log-normal limit as n grows at fixed ``tau = L/n``."""

    tau: Float = param(1.0, gt=0, le=64.0, help="Depth-to-width ratio tau = L/n.", tex=r"\tau",
                       cite=NOTES)  # fmt: skip
    widths: IntTuple = _int_list((4, 8, 16, 32, 64, 128, 256), 1, MAX_WIDTH,
                                 "Widths n (L = round(tau n), n_0 = n).", tex="n")  # fmt: skip
    nets: Int = param(20000, ge=100, le=MAX_NETS, help="Monte Carlo nets per width (exact "
                      "sampler).", web_max=100_000)  # fmt: skip


class CollapseParams(ExperimentConfig):
    """Monte Carlo of Gaussian-matrix products over a grid of (L, n)."""

    depths: IntTuple = _int_list((1, 3, 7, 15, 31, 63), 1, 1024, "Depths L (2^k - 1 make "
                                 "(L+1)/n repeat across widths).", tex="L")  # fmt: skip
    widths: IntTuple = _int_list((4, 8, 16, 32, 64), 1, 1024, "Widths n (n_0 = n).", tex="n")
    nets: Int = param(1000, ge=100, le=MAX_NETS, help="Nets per (L, n) point.",
                      web_max=20_000)  # fmt: skip
    sampler: Literal["matrices", "exact"] = param("matrices", help="How the nets are drawn.")


class MarchenkoPasturParams(ExperimentConfig):
    """Eigenvalues of (1/n_0) X X^T for several alpha = P / n_0."""

    alphas: FloatTuple = param(
        (0.25, 0.5, 1.0, 2.0, 4.0), item_gt=0, item_le=16.0, min_items=1, max_items=12,
        distinct=True, help="Aspect ratios alpha = P/n_0.", tex=r"\alpha", cite=MP,
        sweepable=False,
    )  # fmt: skip
    input_dim: Int = param(400, ge=2, le=4000, help="n_0 (P = round(alpha n_0)).", tex="n_0",
                           web_max=1000)  # fmt: skip
    draws: Int = param(4, ge=1, le=1000, help="Matrices X per alpha.", web_max=50)


class FussCatalanParams(ExperimentConfig):
    """Squared singular values of products of L square Gaussian matrices at large n."""

    depths: IntTuple = _int_list((1, 2, 3, 4), 1, 16, "Depths L (matrices in the product).",
                                 tex="L", cite=FC)  # fmt: skip
    width: Int = param(300, ge=2, le=2000, help="Matrix size n.", tex="n", web_max=600)
    draws: Int = param(4, ge=1, le=1000, help="Products per depth.", web_max=50)


class LyapunovParams(ExperimentConfig):
    """Log singular values of long products at fixed L/n."""

    taus: FloatTuple = param(
        (0.0625, 0.25, 1.0, 4.0), item_gt=0, item_le=16.0, min_items=1, max_items=8,
        distinct=True, help="Ratios tau = L/n.", tex=r"\tau", cite=LYAP, sweepable=False,
    )  # fmt: skip
    widths: IntTuple = _int_list((8, 16, 32), 2, 128, "Matrix sizes n.", tex="n", cite=LYAP)
    draws: Int = param(100, ge=4, le=5000, help="Products per (tau, n).", web_max=400)

    @model_validator(mode="after")
    def _range(self) -> LyapunovParams:
        """The stable product keeps log s_i within double range: L |log s_n| < 600."""
        import math

        from scipy.special import digamma

        for n in self.widths:
            for tau in self.taus:
                depth = max(1, round(tau * n))
                low = -0.5 * depth * (float(digamma(0.5)) + math.log(2.0 / n))
                if low > 600.0:
                    raise ConfigError("taus", f"tau {tau} with n {n} spans e^{low:.0f}; allowed: "
                                      "L |log s_min| <= 600 (smaller tau or n)")  # fmt: skip
        return self


class BayesCheckParams(ExperimentConfig):
    """The exact posterior against samplers of whole networks."""

    follows_seed: ClassVar[tuple[str, ...]] = ("data_seed",)

    input_dim: Int = param(4, ge=2, le=256, help="Input dimension N_0.", tex="N_0", cite=HZ)
    points: Int = param(2, ge=1, le=255, help="Training points P < N_0.", tex="P", cite=HZ)
    depth: Int = param(2, ge=0, le=64, help="Hidden layers L.", tex="L", cite=HZ)
    width: Int = param(3, ge=1, le=256, help="Hidden width N.", tex="N", cite=HZ)
    sigma2: Float = param(1.0, gt=0, le=1e4, help="First-layer prior variance sigma^2.",
                          tex=r"\sigma^2", cite=HZ)  # fmt: skip
    teacher_norm2: Float = param(1.0, gt=0, le=1e4, help="||theta_teacher||^2 of the data.",
                                 tex=r"\|\theta_t\|^2")  # fmt: skip
    nets: Int = param(200_000, ge=1000, le=5_000_000, help="Importance-sampled networks.",
                      web_max=1_000_000)  # fmt: skip
    rejection_nets: Int = param(4_000_000, ge=0, le=20_000_000, help="Networks drawn by the "
                                "rejection sampler (0: skip it).", web_max=4_000_000)  # fmt: skip
    eps: Float = param(0.02, gt=0, le=1.0, help="Rejection box half-width on each data point "
                       "(bias O(eps^2)).",
                       tex=r"\epsilon")  # fmt: skip
    data_seed: Int = param(0, ge=0, le=MAX_SEED, help="Seed of the data and test point "
                           "(follows --seed unless given).", advanced=True)  # fmt: skip

    @model_validator(mode="after")
    def _points(self) -> BayesCheckParams:
        if self.points >= self.input_dim:
            raise ConfigError("points", f"got {self.points} with input_dim {self.input_dim}; "
                              "allowed: P < N_0 (interpolation)")  # fmt: skip
        return self


class BayesDepthParams(ExperimentConfig):
    """Evidence, posterior and predictions against the effective depth ``P L / N``."""

    follows_seed: ClassVar[tuple[str, ...]] = ("data_seed",)

    input_dim: Int = param(128, ge=2, le=4096, help="Input dimension N_0.", tex="N_0", cite=HZ)
    points: Int = param(64, ge=1, le=4095, help="Training points P < N_0.", tex="P", cite=HZ)
    teacher_norm2: Float = param(
        4.0, gt=0, le=1e4, help="||theta_teacher||^2: the data's scale against the prior's "
        "sigma^2 (the mismatch a data-agnostic prior must learn).", tex=r"\|\theta_t\|^2",
        cite=HZ,
    )  # fmt: skip
    sigma2: Float = param(1.0, gt=0, le=1e4, help="Data-agnostic prior variance sigma^2.",
                          tex=r"\sigma^2", cite=HZ)  # fmt: skip
    widths: IntTuple = _int_list((16, 64, 256), 1, MAX_WIDTH, "Hidden widths N.", tex="N",
                                 cite=HZ)  # fmt: skip
    depths: IntTuple = _int_list((0, 1, 2, 4, 8, 16, 32, 64, 128), 0, MAX_DEPTH,
                                 "Depths L (0: the Gaussian prior).", tex="L")  # fmt: skip
    tests: Int = param(2000, ge=10, le=100_000, help="Test points for the predictive density.")
    data_seed: Int = param(0, ge=0, le=MAX_SEED, help="Seed of the data and test points "
                           "(follows --seed unless given).", advanced=True)  # fmt: skip

    @model_validator(mode="after")
    def _points(self) -> BayesDepthParams:
        if self.points >= self.input_dim:
            raise ConfigError("points", f"got {self.points} with input_dim {self.input_dim}; "
                              "allowed: P < N_0 (interpolation)")  # fmt: skip
        return self

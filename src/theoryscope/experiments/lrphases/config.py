"""Learning-rate phases configuration: the catapult (uv model), edge-of-stability (MLP) and ReLU
catapult (wide two-layer ReLU network) modes.

Declared with :func:`~theoryscope.spec.param`: every field's bounds, help, TeX symbol and source
live here; validation, the CLI options and the web form are derived from them. A bad value raises
:class:`~theoryscope.errors.ConfigError` naming the field and the allowed range. Fields left as
``None`` take the default of the chosen ``mode`` (see :data:`MODE_DEFAULTS`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from theoryscope.core.validation import as_int
from theoryscope.errors import ConfigError
from theoryscope.spec import CliInput, ExperimentConfig, Float, Int, param

#: ``catapult``: two-layer linear net f = v^T U x / sqrt(m) (Lewkowycz et al. 2020, section 2);
#: ``eos``: full-batch GD on a small MLP with its sharpness tracked (Cohen et al. 2021);
#: ``relu``: the catapult of a wide two-layer ReLU network (Lewkowycz et al. 2020, section 3).
MODES = ("catapult", "eos", "relu")
#: Activations of the ``eos`` MLP (the catapult model is linear by definition).
ACTIVATIONS = ("tanh", "relu")
#: ``zero``: y = 0 (the paper's section-2 setting); ``random``: y_a ~ N(0, target_scale^2)
#: i.i.d. (a random-label teacher, fixed by ``data_seed``); ``teacher``: a fixed random tanh
#: network of width 16, its outputs normalized to standard deviation ``target_scale``.
TARGETS = ("zero", "random", "teacher")
DTYPES = ("float32", "float64")

MAX_WIDTH = 1_000_000
MAX_D = 1024
MAX_N = 4096
MAX_DEPTH = 8
MAX_STEPS = 10_000_000
#: relu mode computes the exact n x n NTK at every step.
MAX_RELU_N = 512

#: Defaults per mode for the fields left as None.
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "catapult": {
        "width": 1000,
        "d": 4,
        "n": 1,
        "steps": 200,
        "depth": 1,
        "target": "zero",
        "target_scale": 1.0,
    },
    "eos": {
        "width": 64,
        "d": 4,
        "n": 64,
        "steps": 3000,
        "depth": 3,
        "target": "random",
        "target_scale": 2.0,
    },
    "relu": {
        "width": 1024,
        "d": 32,
        "n": 16,
        "steps": 1000,
        "depth": 1,
        "target": "random",
        "target_scale": 1.0,
    },
}
#: Modes whose step is set by lr_scale / lambda_0 (or lr).
SCALED_MODES = ("catapult", "relu")
DEFAULT_LR_SCALE = 3.0
DEFAULT_EOS_LR = 0.02

LEWKOWYCZ = "Lewkowycz, Bahri, Dyer, Sohl-Dickstein, Gur-Ari 2020, section 2"
COHEN = "Cohen, Kaur, Li, Kolter, Talwalkar, ICLR 2021"
LECTURES = "seed 002, lectures 'Sharpness', 'Large learning rates'"
LEWKOWYCZ_RELU = (
    "Lewkowycz, Bahri, Dyer, Sohl-Dickstein, Gur-Ari 2020, section 3 (wide ReLU networks: "
    "eta_max ~ 12 / lambda_0, against 4 / lambda_0 for the uv model)"
)
ARCCOS = "Cho & Saul 2009 (arc-cosine kernels); Jacot, Gabriel, Hongler 2018 (NTK)"


class Config(ExperimentConfig):
    """Everything that defines one learning-rate-phases run.

    ``mode``: catapult (the uv model), eos (an MLP with its sharpness tracked) or relu (a wide
    two-layer ReLU network). ``width``, ``depth``, ``d``, ``n``, ``steps``, ``target``,
    ``target_scale`` default per mode (:data:`MODE_DEFAULTS`). Catapult and relu take either
    ``lr`` or ``lr_scale`` (eta = lr_scale / lambda_0, lambda_0 the NTK top eigenvalue of the
    initialized network; default 3.0); eos takes ``lr`` (default 0.02). relu also takes
    ``input_mean`` (a common component of the inputs) and ``converge_tol``. ``data_seed`` fixes
    the data; ``init_seed`` the network init (it follows the run seed unless given, so the theory
    sees the very lambda_0 the run starts from; None: the run seed draws the init and the theory
    uses the infinite-width lambda_0).
    """

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("float64", "Compute in float64 (default float32).", flag=True,
                 sets={"dtype": "float64"}),
        CliInput("every", "eos: the same as --sharpness-every (its short name)."),
    )  # fmt: skip
    #: The init seed follows the run seed unless given (predict must see the run's lambda_0).
    follows_seed: ClassVar[tuple[str, ...]] = ("init_seed",)

    mode: Literal["catapult", "eos", "relu"] = param(
        "catapult", help="catapult: the uv model f = v^T U x / sqrt(m) (lazy / catapult / "
        "divergent in eta lambda_0); eos: a tanh/relu MLP whose sharpness meets 2 / eta; relu: "
        "a wide two-layer ReLU net f = v^T relu(U x) / sqrt(m) (its catapult reaches further).",
        cite=f"{LEWKOWYCZ}; {COHEN}; {LEWKOWYCZ_RELU}", group="model",
    )  # fmt: skip
    width: Int | None = param(
        None, ge=1, le=MAX_WIDTH, help="Hidden width m (none: 1000 catapult, 64 eos, 1024 relu).",
        tex="m",
        cite=LEWKOWYCZ, web_max=100_000, group="model", widget="log-slider",
    )  # fmt: skip
    depth: Int | None = param(
        None, ge=1, le=MAX_DEPTH, help="Hidden layers of the eos MLP (none: 3; catapult and "
        "relu: 1, the two-layer nets).", tex="L", group="model", modes=("eos",),
    )  # fmt: skip
    d: Int | None = param(
        None, ge=1, le=MAX_D, help="Input dimension (none: 4, relu 32; inputs on the unit "
        "sphere, |x| = sqrt(d) in eos).", tex="d", web_max=256, group="data",
    )  # fmt: skip
    n: Int | None = param(
        None, ge=1, le=MAX_N, help="Training samples (none: 1 catapult, 64 eos, 16 relu; relu: "
        f"at most {MAX_RELU_N}).", tex="n",
        web_max=1024, group="data",
    )  # fmt: skip
    activation: Literal["tanh", "relu"] = param(
        "tanh", help="Nonlinearity of the eos MLP.", tex=r"\phi", cite=COHEN, group="model",
        modes=("eos",),
    )  # fmt: skip
    lr: Float | None = param(
        None, gt=0, cap=1e6, help="Step size eta (eos: none = 0.02; catapult, relu: instead of "
        "lr_scale).", tex=r"\eta", group="training", widget="log-slider",
    )  # fmt: skip
    lr_scale: Float | None = param(
        None, gt=0, cap=1e3, help="Catapult, relu: eta = lr_scale / lambda_0 (sets the phase; "
        "none: 3.0 unless lr is given).", tex=r"\eta\lambda_0", cite=LEWKOWYCZ,
        group="training", modes=SCALED_MODES,
    )  # fmt: skip
    steps: Int | None = param(
        None, ge=1, le=MAX_STEPS, help="Full-batch GD steps (none: 200 catapult, 3000 eos).",
        web_max=200_000, group="training", widget="log-slider",
    )  # fmt: skip
    target: Literal["zero", "random", "teacher"] | None = param(
        None, help="Labels: zero, random N(0, scale^2) or a tanh teacher (none: zero catapult, "
        "random eos and relu).", group="data",
    )  # fmt: skip
    target_scale: Float | None = param(
        None, ge=0, cap=1e3, help="Size of the labels (none: 1 catapult and relu, 2 eos).",
        group="data",
    )  # fmt: skip
    data_seed: Int = param(
        0, ge=0, le=2**31 - 1, help="Seed of the data set and labels.", group="data",
        advanced=True,
    )  # fmt: skip
    init_seed: Int | None = param(
        None, ge=0, le=2**31 - 1, help="Seed of the network init (follows --seed unless given; "
        "the theory computes lambda_0 from this very init).", group="model", advanced=True,
    )  # fmt: skip
    sharpness_every: Int = param(
        10, ge=1, le=100_000, help="eos: record loss and sharpness every this many steps.",
        group="recording", modes=("eos",), sweepable=False,
    )  # fmt: skip
    lanczos_iters: Int = param(
        10, ge=2, le=1000, help="eos: Lanczos steps (Hessian-vector products) per sharpness "
        "estimate.", web_max=100, group="numerics", modes=("eos",), advanced=True,
    )  # fmt: skip
    input_mean: Float = param(
        0.0, ge=0, cap=100.0, help="relu: inputs x = (z + input_mean sqrt(d) e_1) normalized, "
        "z ~ N(0, I_d) (0: isotropic on the sphere; > 0: a common component, as natural images "
        "have, which makes the top NTK mode dominant).", tex=r"\mu", group="data",
        modes=("relu",),
    )  # fmt: skip
    converge_tol: Float = param(
        0.01, gt=0, lt=1, help="relu: a run has converged when its final loss is below "
        "converge_tol x L_0 (else it is divergent: blown up or stalled).", group="numerics",
        modes=("relu",), advanced=True,
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = param(
        "float32", help="Arithmetic of the run.", group="numerics",
    )  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _mode_defaults(cls, data: Any) -> Any:
        """Fields left as None take the mode's default; catapult and relu take lr or lr_scale
        (default lr_scale 3), eos takes lr only (default 0.02); ``every`` is
        ``sharpness_every``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "every" in data:
            every = data.pop("every")
            if every is not None:
                if data.get("sharpness_every") is not None:
                    raise ConfigError(
                        "every", "given together with sharpness_every; allowed: one of them"
                    )
                data["sharpness_every"] = as_int("every", every, low=1, high=100_000)
        mode = data.get("mode", "catapult")
        if not isinstance(mode, str) or mode not in MODE_DEFAULTS:
            return data  # the mode's own check names it
        for name, value in MODE_DEFAULTS[mode].items():
            if data.get(name) is None:
                data[name] = value
        lr, lr_scale = data.get("lr"), data.get("lr_scale")
        if mode in SCALED_MODES:
            if lr is not None and lr_scale is not None:
                raise ConfigError(
                    "lr_scale", "given together with lr; allowed: one of lr, lr_scale"
                )
            if lr is None and lr_scale is None:
                data["lr_scale"] = DEFAULT_LR_SCALE
        else:
            if lr_scale is not None:
                raise ConfigError(
                    "lr_scale", "only for modes catapult and relu; allowed: lr in mode eos"
                )
            if lr is None:
                data["lr"] = DEFAULT_EOS_LR
        return data

    @model_validator(mode="after")
    def _mode_rules(self) -> Config:
        if self.mode in SCALED_MODES and self.depth != 1:
            net = "the uv model" if self.mode == "catapult" else "the two-layer ReLU net"
            raise ConfigError("depth", f"got {self.depth} in mode {self.mode}; allowed: 1 ({net})")
        if self.mode == "relu" and (self.n or 0) > MAX_RELU_N:
            raise ConfigError(
                "n", f"got {self.n} in mode relu; allowed: an integer from 1 to {MAX_RELU_N} "
                "(the exact NTK at every step)",
            )  # fmt: skip
        return self

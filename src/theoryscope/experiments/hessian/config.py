"""Loss-Hessian configuration: a small MLP classifier, its data, its training and what is recorded.

Declared with :func:`~theoryscope.spec.param`: every field's bounds, help, TeX symbol and source
live here; validation, the CLI options and the web form are derived from them. A bad value
raises :class:`~theoryscope.errors.ConfigError` naming the field and the allowed range.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from theoryscope.errors import ConfigError
from theoryscope.spec import CliInput, ExperimentConfig, Float, Int, param

MAX_CLASSES = 10
MAX_PER_CLASS = 2000
#: The smallest class of scikit-learn's digits has 174 images (digit 5 has 182, digit 8 174...).
DIGITS_PER_CLASS = 174
DIGITS_DIM = 64
MAX_DIM = 256
MAX_WIDTH = 1024
MAX_DEPTH = 4
MAX_STEPS = 10_000_000
MAX_RECORDS = 2000
MAX_TOP_K = 256
MAX_ITERS = 2048

NOTES = "seed 002, lectures 'Loss Hessian' (10/3) and 'Classifiers' (10/5)"
SAGUN = "Sagun, Evci, Guney, Dauphin, Bottou, arXiv:1706.04454"
PAPYAN19 = "Papyan, arXiv:1901.08244 (ICML 2019)"
PAPYAN20 = "Papyan, arXiv:2008.11865 (JMLR 2020)"
GURARI = "Gur-Ari, Roberts, Dyer, arXiv:1812.04754"
PHD = "Papyan, Han, Donoho, PNAS 117 (2020), arXiv:2008.08186"


class Config(ExperimentConfig):
    """One run: an MLP ``x -> h_1 -> ... -> h_depth -> W h + b`` (C logits) trained by full-batch
    GD or SGD on cross-entropy or MSE, on a C-class Gaussian mixture or scikit-learn's digits.

    ``records`` log-spaced records carry the loss, the accuracy and the neural-collapse metrics
    NC1-NC4; every ``hessian_every``-th record (and the last) also the top ``top_k`` Hessian
    eigenvalues by Lanczos (``lanczos_iters`` steps), the gradient's fraction in the top-C
    eigenspace and the overlaps of that eigenspace. ``data_seed`` follows the run seed unless
    given.
    """

    follows_seed: ClassVar[tuple[str, ...]] = ("data_seed",)
    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("float64", "Train and analyse in float64 (default float32).", flag=True,
                 sets={"dtype": "float64"}),
    )  # fmt: skip

    data: Literal["gaussian", "digits"] = param(
        "gaussian", help="gaussian: a C-class Gaussian mixture; digits: scikit-learn's 8x8 digits "
        "(classes 0..C-1, standardized pixels).", group="data", cite=NOTES,
    )  # fmt: skip
    classes: Int = param(
        4, ge=2, le=MAX_CLASSES, help="Number of classes C.", tex="C", group="data", cite=NOTES,
    )  # fmt: skip
    per_class: Int = param(
        50, ge=2, le=MAX_PER_CLASS, help="Training examples per class n (digits: at most 174).",
        tex="n", group="data", web_max=500,
    )  # fmt: skip
    dim: Int = param(
        10, ge=1, le=MAX_DIM, help="Input dimension d of the Gaussian mixture (digits: 64).",
        tex="d", group="data",
    )  # fmt: skip
    means: Literal["orthogonal", "random"] = param(
        "orthogonal", help="Class means of the mixture: orthogonal (s e_c, all pairs equally far "
        "apart; needs d >= C) or random directions.", tex=r"\mu_c", group="data",
    )  # fmt: skip
    separation: Float = param(
        3.0, ge=0, cap=1e3, help="Norm of each class mean mu_c (random directions).",
        tex=r"\|\mu_c\|", group="data",
    )  # fmt: skip
    noise: Float = param(
        1.0, gt=0, cap=1e3, help="Within-class standard deviation sigma of the mixture.",
        tex=r"\sigma", group="data", cite=NOTES,
    )  # fmt: skip
    width: Int = param(
        32, ge=1, le=MAX_WIDTH, help="Hidden width of every layer.", tex="m", group="model",
        web_max=256, widget="log-slider",
    )  # fmt: skip
    depth: Int = param(
        2, ge=1, le=MAX_DEPTH, help="Number of hidden layers.", tex="L", group="model",
    )  # fmt: skip
    activation: Literal["tanh", "relu"] = param(
        "tanh", help="Hidden nonlinearity.", group="model",
    )  # fmt: skip
    loss: Literal["ce", "mse"] = param(
        "ce", help="ce: softmax cross-entropy; mse: 1/2 ||f - e_y||^2 on one-hot targets.",
        group="training", cite=PAPYAN19,
    )  # fmt: skip
    optimizer: Literal["gd", "sgd"] = param(
        "gd", help="gd: full-batch gradient descent; sgd: minibatches drawn without replacement "
        "each epoch.", group="training",
    )  # fmt: skip
    batch: Int = param(
        32, ge=1, le=MAX_CLASSES * MAX_PER_CLASS, help="SGD minibatch size (at most C n).",
        tex="B", group="training",
    )  # fmt: skip
    lr: Float = param(
        0.5, gt=0, cap=1e4, help="Step size eta.", tex=r"\eta", group="training",
        widget="log-slider",
    )  # fmt: skip
    weight_decay: Float = param(
        0.0, ge=0, cap=10.0, help="L2 penalty lambda/2 ||theta||^2 added to the training "
        "objective (the analysed Hessian is the data loss's).", tex=r"\lambda", group="training",
        cite=PHD,
    )  # fmt: skip
    steps: Int = param(
        3000, ge=1, le=MAX_STEPS, help="Training steps.", group="training", web_max=200_000,
        widget="log-slider",
    )  # fmt: skip
    records: Int = param(
        40, ge=2, le=MAX_RECORDS, help="Recorded points (log-spaced in the step).",
        group="recording", web_max=400,
    )  # fmt: skip
    hessian_every: Int = param(
        4, ge=1, le=MAX_RECORDS, help="Lanczos on the Hessian at every k-th record (and the "
        "last).", group="recording",
    )  # fmt: skip
    top_k: Int | None = param(
        None, ge=1, le=MAX_TOP_K, help="Top Hessian eigenvalues recorded (none: 2C, at most the "
        "parameter count).", tex="k", group="recording", advanced=True,
    )  # fmt: skip
    lanczos_iters: Int | None = param(
        None, ge=2, le=MAX_ITERS, help="Lanczos steps of every Hessian record and of the final "
        "analysis (none: max(3k, 2(C^2 + C) + 40), at most the parameter count).",
        group="recording", advanced=True, cite=GURARI,
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = param(
        "float32", help="Arithmetic of training and of the recorded Hessian analysis.",
        group="numerics",
    )  # fmt: skip
    data_seed: Int = param(
        0, ge=0, le=2**31 - 1, help="Seed of the data (follows --seed unless given).",
        group="data", advanced=True,
    )  # fmt: skip

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        if self.data == "digits" and self.per_class > DIGITS_PER_CLASS:
            raise ConfigError(
                "per_class", f"got {self.per_class} with digits; allowed: 2 to {DIGITS_PER_CLASS}"
            )
        if self.data == "gaussian" and self.means == "orthogonal" and self.dim < self.classes:
            raise ConfigError(
                "dim", f"got {self.dim} with orthogonal means; allowed: at least C = {self.classes}"
            )
        n = self.classes * self.per_class
        if self.optimizer == "sgd" and self.batch > n:
            raise ConfigError("batch", f"got {self.batch}; allowed: 1 to C n = {n}")
        return self

    # -- derived sizes ------------------------------------------------------------------------
    @property
    def input_dim(self) -> int:
        return DIGITS_DIM if self.data == "digits" else self.dim

    @property
    def examples(self) -> int:
        return self.classes * self.per_class

    @property
    def dims(self) -> tuple[int, ...]:
        """Layer sizes ``(d, m, ..., m, C)``."""
        return (self.input_dim, *([self.width] * self.depth), self.classes)

    @property
    def params(self) -> int:
        """Parameter count P (weights and biases)."""
        d = self.dims
        return sum(a * b + b for a, b in zip(d[:-1], d[1:], strict=True))

    @property
    def k(self) -> int:
        """Recorded top eigenvalues: ``top_k`` or 2C, at most P."""
        return min(self.top_k if self.top_k is not None else 2 * self.classes, self.params)

    @property
    def iters(self) -> int:
        """Lanczos steps (records and the final analysis): ``lanczos_iters`` or
        max(3k, 2(C^2 + C) + 40), at most P (one length: one compiled Lanczos per run)."""
        c = self.classes
        default = max(3 * self.k, 2 * (c * c + c) + 40)
        chosen = self.lanczos_iters if self.lanczos_iters is not None else default
        return max(min(chosen, self.params), self.k)


def as_dict(config: Config) -> dict[str, Any]:
    """JSON form with the derived sizes the theory and the figures read."""
    out = config.to_dict()
    out.update({"params": config.params, "examples": config.examples, "k": config.k})
    return out

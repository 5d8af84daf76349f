"""The experiment's studies: the full spectrum at a checkpoint (dense or SLQ), the spectrum
against the number of classes, and the same on scikit-learn's digits.

spectrum   train to ``steps``, then at that point
           dense (P <= dense_max, float64): eigvalsh of H, G (Hessian of the linearized model's
           loss) and E (Hessian of the residual term), the check ||G + E - H|| / ||H||, the rank
           of G against min(P, N(C-1)) (ce) or min(P, N C) (mse), the Lanczos top eigenvalues
           against the dense ones (relative error) and the SLQ density against the dense
           spectrum (Wasserstein-1 distance over the spectral range, and the density's integral);
           slq (larger nets): the SLQ densities of H and G;
           both: the three-level hierarchy of :func:`.analysis.hierarchy`.
classes    the hierarchy for each C of a list (Gaussian mixture): outlier counts against C and
           the ranks C(C-2) / Papyan's C(C-1) of the cross-class term.
digits     ``spectrum`` with digits defaults (10 classes, 30 images each, one hidden layer).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import jax
import numpy as np
from scipy.integrate import trapezoid
from scipy.stats import wasserstein_distance

from theoryscope.experiments.hessian.config import MAX_CLASSES, Config
from theoryscope.spec import Float, Int, IntTuple, StudyContext, param

MAX_DENSE = 6000
MAX_PROBES = 64


class SpectrumParams(Config):
    """The run's fields (training up to the checkpoint) plus how the spectrum is computed."""

    method: Literal["auto", "dense", "slq"] = param(
        "auto", help="dense: exact eigvalsh (P <= dense_max); slq: stochastic Lanczos quadrature; "
        "auto: dense when P <= dense_max.", group="spectrum",
    )  # fmt: skip
    dense_max: Int = param(
        2500, ge=2, le=MAX_DENSE, help="Largest parameter count P for the dense Hessian.",
        group="spectrum",
    )  # fmt: skip
    probes: Int = param(
        8, ge=1, le=MAX_PROBES, help="SLQ random probe vectors.", group="spectrum",
    )  # fmt: skip
    slq_iters: Int = param(
        80, ge=2, le=1024, help="Lanczos steps per SLQ probe (at most P).", group="spectrum",
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = param(
        "float64", help="Arithmetic of training and of the spectrum (dense needs float64 for the "
        "1e-6 check).", group="numerics",
    )  # fmt: skip

    @property
    def use_dense(self) -> bool:
        return self.method == "dense" or (self.method == "auto" and self.params <= self.dense_max)


class DigitsParams(SpectrumParams):
    """``spectrum`` on scikit-learn's digits (defaults: 10 classes x 30 images, width 32, depth 1)."""

    data: Literal["gaussian", "digits"] = param(
        "digits", help="digits (scikit-learn's 8x8 images, shipped with the package) or gaussian.",
        group="data",
    )  # fmt: skip
    classes: Int = param(10, ge=2, le=MAX_CLASSES, help="Number of classes C.", tex="C")
    per_class: Int = param(30, ge=2, le=174, help="Images per class (at most 174).", tex="n")
    width: Int = param(32, ge=1, le=1024, help="Hidden width.", tex="m")
    depth: Int = param(1, ge=1, le=4, help="Hidden layers.", tex="L")
    lr: Float = param(0.1, gt=0, cap=1e4, help="Step size eta.", tex=r"\eta")
    steps: Int = param(300, ge=1, le=10_000_000, help="Training steps before the spectrum.")


class ClassesParams(Config):
    """The hierarchy for each C in ``class_list`` (every other field as in a run)."""

    follows_seed: ClassVar[tuple[str, ...]] = ("data_seed",)

    class_list: IntTuple = param(
        (2, 3, 4, 6, 8), item_ge=2, item_le=MAX_CLASSES, min_items=1, max_items=9, distinct=True,
        help="Numbers of classes C to compare.", tex="C", group="study",
    )  # fmt: skip
    dim: Int = param(64, ge=1, le=256, help="Input dimension d (>= every C for orthogonal means).",
                     tex="d", group="data")  # fmt: skip


def _checkpoint(params: Config, seed: int) -> tuple[Any, str, str | None]:
    from theoryscope.experiments.hessian.engine import train

    return train(params, seed)


def run_spectrum(params: SpectrumParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """The spectrum at the checkpoint (module docstring)."""
    from theoryscope.experiments.hessian.analysis import hierarchy
    from theoryscope.experiments.hessian.curvature import linearized_loss, residual_loss
    from theoryscope.experiments.hessian.linalg import dense_hessian, slq

    rng = np.random.default_rng([seed, 41])
    out: dict[str, Any] = {"params": params.to_dict(), "P": params.params,
                           "N": params.examples, "C": params.classes, "one": 1.0}  # fmt: skip
    with jax.enable_x64(params.dtype == "float64"):
        context.progress(0.02, "training")
        trainer, status, message = _checkpoint(params, seed)
        out["status"], out["message"] = status, message
        if status != "finished":
            return out
        rec = trainer.measure()
        out["loss"], out["accuracy"] = rec["loss"], rec["accuracy"]
        point = trainer.point()
        context.progress(0.3, "Lanczos hierarchy")
        hier = hierarchy(point, rng)
        out["hierarchy"] = hier
        if context.should_stop():
            return out
        loss_fn, logit_fn = point.loss_fn(), point.logit_fn()
        per_example = params.classes - 1 if params.loss == "ce" else params.classes
        out["g_rank_bound"] = min(params.params, params.examples * per_example)
        h_mv = _hvp_closure(loss_fn, point.theta)
        probes = np.stack([_unit(rng, params.params) for _ in range(params.probes)])
        slq_iters = min(params.slq_iters, params.params)
        if params.use_dense:
            out["method"] = "dense"
            context.progress(0.45, f"dense Hessian (P = {params.params})")
            h = dense_hessian(loss_fn, point.theta)
            g = dense_hessian(linearized_loss(logit_fn, point.theta, point.onehot, point.kind),
                              point.theta)  # fmt: skip
            e = dense_hessian(residual_loss(logit_fn, point.theta, point.onehot, point.kind),
                              point.theta)  # fmt: skip
            context.progress(0.7, "eigendecompositions")
            h_eigs = np.linalg.eigvalsh(h)[::-1]
            g_eigs = np.linalg.eigvalsh(g)[::-1]
            e_eigs = np.linalg.eigvalsh(e)[::-1]
            out["eigenvalues"] = {"H": h_eigs.tolist(), "G": g_eigs.tolist(), "E": e_eigs.tolist()}
            out["ge_residual"] = float(np.linalg.norm(g + e - h) / np.linalg.norm(h))
            tol = 1e-10 * max(abs(g_eigs[0]), 1e-300)
            out["g_rank"] = int(np.sum(g_eigs > tol))
            c = params.classes
            lanczos_top = np.asarray(hier["h_top"][:c])
            out["lanczos_rel_error"] = float(np.max(np.abs(lanczos_top - h_eigs[:c])
                                                    / np.abs(h_eigs[:c])))  # fmt: skip
            context.progress(0.85, "stochastic Lanczos quadrature")
            density = slq(h_mv, probes, slq_iters, dtype=point.dtype)
            out["density"] = density.to_dict()
            out["slq_integral"] = float(trapezoid(density.density, density.grid))
            span = float(h_eigs[0] - h_eigs[-1])
            out["slq_w1"] = float(
                wasserstein_distance(density.nodes.ravel(), h_eigs,
                                     u_weights=density.weights.ravel()) / span
            ) if span > 0 else None  # fmt: skip
        else:
            out["method"] = "slq"
            context.progress(0.5, "stochastic Lanczos quadrature of H")
            density = slq(h_mv, probes, slq_iters, dtype=point.dtype)
            out["density"] = density.to_dict()
            out["slq_integral"] = float(trapezoid(density.density, density.grid))
            context.progress(0.75, "stochastic Lanczos quadrature of G")
            from theoryscope.experiments.hessian.curvature import gn_matvec

            g_density = slq(gn_matvec(logit_fn, point.theta, point.kind), probes, slq_iters,
                            dtype=point.dtype)  # fmt: skip
            out["density_g"] = g_density.to_dict()
    context.progress(1.0, "done")
    return out


def _unit(rng: np.random.Generator, p: int) -> np.ndarray:
    v = rng.standard_normal(p)
    return v / np.linalg.norm(v)


def _hvp_closure(loss_fn: Any, theta: Any) -> Any:
    from theoryscope.experiments.hessian.linalg import hvp

    return lambda v: hvp(loss_fn, theta, v)


def run_classes(params: ClassesParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """The hierarchy at the end of training for each C in ``class_list``."""
    from theoryscope.experiments.hessian.analysis import hierarchy

    rows = []
    status, message = "finished", None
    base = {k: v for k, v in params.to_dict().items() if k != "class_list"}
    for i, c in enumerate(params.class_list):
        if context.should_stop():
            break
        context.progress(i / len(params.class_list), f"C = {c}")
        cfg = Config.from_dict({**base, "classes": c})
        rng = np.random.default_rng([seed, 43, c])
        with jax.enable_x64(cfg.dtype == "float64"):
            trainer, st, msg = _checkpoint(cfg, seed)
            if st != "finished":
                status, message = st, f"C = {c}: {msg}"
                break
            rec = trainer.measure()
            hier = hierarchy(trainer.point(), rng, iters=cfg.iters)
        rows.append({
            "classes": c, "params": cfg.params, "loss": rec["loss"], "accuracy": rec["accuracy"],
            "n_class": hier["n_class"], "n_cross": hier["n_cross"],
            "n_outliers": hier["n_outliers"], "predicted_class": c,
            "rank_cross": c * (c - 2), "papyan_cross": c * (c - 1),
            "h_top": hier["h_top"], "class_eigs": hier["class_eigs"],
            "cross_eigs": hier["cross_eigs"], "bulk_edge": hier["bulk_edge"],
            "overlap_class_means": hier["overlap_class_means"],
        })  # fmt: skip
    context.progress(1.0, "done")
    return {"params": params.to_dict(), "rows": rows, "status": status, "message": message}

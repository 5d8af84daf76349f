"""Training a small classifier and recording its Hessian and its collapse (JAX).

Full-batch GD ``theta <- theta - eta (grad L(theta) + lambda theta)`` or SGD on minibatches of B
examples drawn without replacement within each epoch (the permutation of epoch e comes from
``fold_in(PRNGKey(seed), e)``: a fresh key per epoch, never reused). Records at log-spaced steps:

    step, loss, accuracy, nc1, nc2_equinorm, nc2_cos_mean, nc2_cos_std, nc2_cos_dev, nc3, nc4
    (:mod:`.collapse`), and at every ``hessian_every``-th record (NaN elsewhere):
    top_eigs (k)        top-k Hessian eigenvalues, Lanczos with full reorthogonalization
    class_eigs (C)      the spectrum of G_class = sum_c w_c g_c g_c^T at that point (:mod:`.curvature`)
    grad_frac           ||P_C grad L||^2 / ||grad L||^2, P_C the projector on the top-C Ritz vectors
                        (Gur-Ari, Roberts, Dyer 2018, eq. (1)-(2))
    overlap_class       ||Q_H^T Q_g||_F^2 / C: top-C eigenspace against span{g_c} (Papyan 2019)
    overlap_prev        top-C eigenspace against the previous Hessian record's (Gur-Ari et al.)

At the end, the overlap of every recorded top-C eigenspace with the final one (``summary.
overlap_final``) and the three-level hierarchy at the final point (``summary.final``, see
:mod:`.analysis`). A non-finite loss or parameter stops the run as ``diverged`` with its records.
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.core.recording import log_steps
from theoryscope.experiments.hessian.analysis import Point, hierarchy, ritz
from theoryscope.experiments.hessian.collapse import NC_KEYS, collapse_metrics
from theoryscope.experiments.hessian.config import Config
from theoryscope.experiments.hessian.data import make_data
from theoryscope.experiments.hessian.linalg import random_unit, subspace_overlap
from theoryscope.experiments.hessian.model import (
    classifier,
    features,
    init_params,
    logits,
    loss_of_logits,
)
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

#: Records per streamed chunk.
CHUNK_RECORDS = 8

Array = Any


def record_steps(steps: int, records: int) -> np.ndarray:
    """Recorded steps: 0, then log-spaced integers up to ``steps`` (:func:`.core.recording.log_steps`)."""
    return log_steps(steps, records)


def hessian_records(count: int, every: int) -> np.ndarray:
    """Indices of the records that run Lanczos: every ``every``-th and the last."""
    return np.unique(np.concatenate([np.arange(0, count, every), [count - 1]]))


@functools.partial(jax.jit, static_argnames=("dims", "activation", "kind", "optimizer", "batch"))
def advance(
    theta: Array, x: Array, onehot: Array, key: Array, start: Array, count: Array, lr: Array,
    wd: Array, *, dims: tuple[int, ...], activation: str, kind: str, optimizer: str, batch: int,
) -> Array:  # fmt: skip
    """``count`` steps of GD or SGD from global step ``start`` (count traced: one compile)."""
    n = x.shape[0]
    per_epoch = max(n // batch, 1)

    def loss(th: Array, xb: Array, yb: Array) -> Array:
        return loss_of_logits(logits(th, xb, dims, activation), yb, kind)

    grad = jax.grad(loss)

    def step(j: Array, th: Array) -> Array:
        if optimizer == "gd":
            g = grad(th, x, onehot)
        else:
            s = start + j
            perm = jax.random.permutation(jax.random.fold_in(key, s // per_epoch), n)
            idx = jax.lax.dynamic_slice(perm, ((s % per_epoch) * batch,), (batch,))
            g = grad(th, x[idx], onehot[idx])
        return th - lr * (g + wd * th)

    return jax.lax.fori_loop(0, count, step, theta)


@functools.partial(jax.jit, static_argnames=("dims", "activation", "kind"))
def measure(
    theta: Array, x: Array, onehot: Array, *, dims: tuple[int, ...], activation: str, kind: str
) -> tuple[Array, ...]:
    """Loss, logits, features, the classifier and whether theta is finite."""
    z = logits(theta, x, dims, activation)
    w, b = classifier(theta, dims)
    finite = jnp.all(jnp.isfinite(theta))
    return loss_of_logits(z, onehot, kind), z, features(theta, x, dims, activation), w, b, finite


class Trainer:
    """The data, theta_0 and the jitted steps of one config (shared by runs and studies)."""

    def __init__(self, config: Config, seed: int) -> None:
        self.config = config
        self.dtype = jnp.float64 if config.dtype == "float64" else jnp.float32
        x, y = make_data(config)
        self.x_np, self.y = x, y
        self.x = jnp.asarray(x, self.dtype)
        self.onehot = jnp.asarray(np.eye(config.classes)[y], self.dtype)
        self.theta = jnp.asarray(init_params(seed, config.dims), self.dtype)
        self.key = jax.random.PRNGKey(seed)
        self.static = {"dims": config.dims, "activation": config.activation,
                       "kind": config.loss}  # fmt: skip
        self.lr = jnp.asarray(config.lr, self.dtype)
        self.wd = jnp.asarray(config.weight_decay, self.dtype)
        self.done = 0

    def step_to(self, target: int) -> None:
        count = int(target) - self.done
        if count > 0:
            self.theta = advance(
                self.theta, self.x, self.onehot, self.key, jnp.asarray(self.done), jnp.asarray(count),
                self.lr, self.wd, optimizer=self.config.optimizer, batch=self.config.batch,
                **self.static,
            )  # fmt: skip
        self.done = int(target)

    def measure(self) -> dict[str, Any]:
        loss, z, h, w, b, finite = measure(self.theta, self.x, self.onehot, **self.static)
        loss_f = float(loss)
        out: dict[str, Any] = {"loss": loss_f, "finite": bool(finite) and math.isfinite(loss_f)}
        if out["finite"]:
            z_np = np.asarray(z, dtype=np.float64)
            out["accuracy"] = float(np.mean(np.argmax(z_np, axis=1) == self.y))
            out.update(collapse_metrics(np.asarray(h), self.y, np.asarray(w), np.asarray(b),
                                        self.config.classes))  # fmt: skip
        return out

    def point(self) -> Point:
        return Point(self.theta, self.x_np, self.y, self.config.dims, self.config.activation,
                     self.config.loss, self.dtype)  # fmt: skip


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """Train and record (module docstring); ``seed`` draws theta_0, the SGD batches and the
    Lanczos start vectors, ``config.data_seed`` the data."""
    steps = record_steps(config.steps, config.records)
    with_hessian = set(hessian_records(len(steps), config.hessian_every).tolist())
    c, k = config.classes, config.k
    rng = np.random.default_rng([seed, 31])  # Lanczos start vectors
    status, message = "finished", None
    rows: dict[str, list[Any]] = {key: [] for key in _SERIES}
    pending: dict[str, list[Any]] = {key: [] for key in _SERIES}
    subspaces: list[tuple[int, np.ndarray]] = []
    summary: dict[str, Any] = {"params": config.params, "examples": config.examples}

    def flush() -> None:
        if pending["step"] and on_chunk is not None:
            on_chunk(_stack(pending, k, c))
        for key in pending:
            pending[key].clear()

    started = time.perf_counter()
    with jax.enable_x64(config.dtype == "float64"):
        trainer = Trainer(config, seed)
        last_good = 0
        for index, target in enumerate(steps.tolist()):
            if should_stop is not None and should_stop():
                status, message = "interrupted", f"stopped at step {trainer.done}"
                break
            trainer.step_to(target)
            rec = trainer.measure()
            if not rec["finite"]:
                status = "diverged"
                message = (
                    f"non-finite loss or parameters by step {target} (last finite {last_good})"
                )
                summary["diverged_at_step"] = int(target)
                break
            last_good = int(target)
            row: dict[str, Any] = {"step": int(target), **{key: rec[key] for key in
                                   ("loss", "accuracy", *NC_KEYS)}}  # fmt: skip
            row.update(_nan_hessian(k, c))
            if index in with_hessian:
                row.update(_hessian_row(trainer, rng, config, subspaces))
            for key, value in row.items():
                rows[key].append(value)
                pending[key].append(value)
            if len(pending["step"]) >= CHUNK_RECORDS:
                flush()
        flush()
        if rows["step"] and status != "diverged":
            summary["final"] = hierarchy(trainer.point(), rng, iters=config.iters)
        summary["steps"] = trainer.done
    wall = time.perf_counter() - started
    if subspaces:
        final = subspaces[-1][1]
        summary["overlap_final"] = {
            "step": [s for s, _ in subspaces],
            "value": [subspace_overlap(v, final) for _, v in subspaces],
        }
    series = _stack(rows, k, c)
    if len(series["loss"]):
        summary["final_loss"] = float(series["loss"][-1])
        summary["final_accuracy"] = float(series["accuracy"][-1])
    summary["steps_per_second"] = trainer.done / wall if wall > 0 else None
    return Run(
        experiment="hessian",
        config=config.to_dict(),
        seed=int(seed),
        status=status,
        series=series,
        summary=summary,
        message=message,
        timings={"simulate_seconds": wall},
    )


_SCALARS = ("loss", "accuracy", *NC_KEYS, "grad_frac", "overlap_class", "overlap_grad_means",
            "overlap_prev")  # fmt: skip
_SERIES = ("step", *_SCALARS, "top_eigs", "class_eigs")


def _nan_hessian(k: int, c: int) -> dict[str, Any]:
    nan = float("nan")
    return {"grad_frac": nan, "overlap_class": nan, "overlap_grad_means": nan,
            "overlap_prev": nan, "top_eigs": np.full(k, nan), "class_eigs": np.full(c, nan)}  # fmt: skip


def _hessian_row(
    trainer: Trainer, rng: np.random.Generator, config: Config,
    subspaces: list[tuple[int, np.ndarray]],
) -> dict[str, Any]:  # fmt: skip
    """Lanczos at the current point: top eigenvalues, gradient fraction, overlaps."""
    c = config.classes
    point = trainer.point()
    evals, vecs = ritz(*point.run("H", random_unit(rng, config.params), config.iters), config.k)
    top_c = vecs[:, : min(c, vecs.shape[1])]
    q, _ = np.linalg.qr(top_c)  # Ritz vectors are orthonormal up to round-off
    g, structure = point.info()
    g2 = float(g @ g)
    row = {
        "top_eigs": evals,
        "class_eigs": structure.class_eigenvalues(),
        "grad_frac": float(np.sum((q.T @ g) ** 2) / g2) if g2 > 0 else float("nan"),
        "overlap_class": subspace_overlap(top_c, structure.g_c.T),
        "overlap_grad_means": subspace_overlap(top_c, structure.loss_grad_means.T),
        "overlap_prev": subspace_overlap(top_c, subspaces[-1][1]) if subspaces else float("nan"),
    }
    subspaces.append((trainer.done, q))
    return row


def _stack(rows: dict[str, list[Any]], k: int, c: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"step": np.asarray(rows["step"], dtype=np.int64)}
    for key in _SCALARS:
        out[key] = np.asarray(rows[key], dtype=np.float64)
    out["top_eigs"] = np.asarray(rows["top_eigs"], dtype=np.float64).reshape(-1, k)
    out["class_eigs"] = np.asarray(rows["class_eigs"], dtype=np.float64).reshape(-1, c)
    return out


def train(config: Config, seed: int) -> tuple[Trainer, str, str | None]:
    """Train to ``config.steps`` without records (studies): the trainer, status, message.

    Advances in log-spaced stretches so a divergence is caught near where it happens."""
    trainer = Trainer(config, seed)
    for target in record_steps(config.steps, min(config.records, 30)).tolist():
        trainer.step_to(target)
        rec = trainer.measure()
        if not rec["finite"]:
            return trainer, "diverged", f"non-finite loss or parameters by step {target}"
    return trainer, "finished", None

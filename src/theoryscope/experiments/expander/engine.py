"""Online-SGD simulation of Expander Nets (spec ``expander-nets.md`` sections 1-4).

Model (spec 1): ``f_hat(x) = W2 . sigma(W_froz W1 x)`` with W1(0) = I_d, W_froz ~ N(0, 1) (k x d,
frozen), W2(0) = 0. Data (spec 2): x ~ N(0, diag gamma), a fresh batch every step; target
``f_*(x) = sum_j coef_j h_{alpha_j}(x / sqrt(gamma))``.

SGD (spec 3), step n with batch X_n (B x d) and targets y_n:

    U = W_froz W1 (k x d),  Z = X U^T (B x k),  (sigma, sigma') = fused pair of Z
    f = sigma W2,  e = y - f,  L_B = 1/2 mean e^2               (recorded before the update)
    g2 = -(1/B) sigma^T e
    g1 = W_froz^T (dZ^T X),  dZ = -(1/B) e W2 * sigma'(Z)
       = -(1/B) ((P * W2) W_froz)^T  with  P = (e X)^T sigma'  (d x k)
    W1 <- W1 - eta g1,   W2 <- W2 - (eta / k) g2

Implementation: the whole step is one jitted computation written by hand. For ``sqrt2cos`` one
pass over the |B| x k pre-activations computes one range reduction and one sin/cos pair each and
writes sigma + i sigma' (see :func:`activations`); the three products with sigma and sigma' then
read it. Steps run inside a jitted ``lax.while_loop`` whose
end step is a runtime argument, so one compilation serves every chunk length. The loop carries
the gradient of the current state, so the loss recorded at a record step is exactly the one the
next update uses and the EMA (spec 5) runs over every step.

PRNG: ``key(seed)`` splits into (init, holdout, data); the batch of step n uses
``fold_in(data, n)``. The same seed gives a bit-identical run on the same platform.

Records: step 0 and ``config.records`` log-spaced steps up to ``steps`` (deduplicated). At each
record: the exact population loss and term overlaps of spec 4 for ``sqrt2cos`` (Monte Carlo on
a fixed held-out sample otherwise), in float64; the O(k^2) quadratic form W2 K W2^T by Taylor
moments of K in float64 when their proven error bound is below 1e-10 of it (O(k F),
:mod:`.kernel_sum`), else directly over K's upper triangle in the run's dtype (relative error
~1e-7 in float32). For ``sqrt2cos`` the per-term half time is tracked exactly at
step resolution inside the loop (term overlaps cost O(k d m) per step).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from theoryscope.core.hermite import hermite_terms
from theoryscope.core.recording import exact_log_steps
from theoryscope.experiments.expander import kernel_sum
from theoryscope.experiments.expander import population as pop
from theoryscope.experiments.expander.config import Config
from theoryscope.experiments.expander.nonlinearities import complex_pair, shares_work, sigma_pair
from theoryscope.protocol import Run

SERIES = (
    "step",
    "t_eff",
    "loss_batch",
    "loss_ema",
    "loss_population",
    "W1",
    "w2_scaled_norm",
    "overlap",
    "term_loss",
)
#: Work (B * k activations times steps) per sub-chunk between polls of ``should_stop``.
SUBCHUNK_WORK = 2.0e8
#: Below this d the pre-activations are built as d broadcast products (fused with the sin/cos).
_BROADCAST_D = 8
#: Steps whose batches are sampled together (vectorized) inside the loop.
BATCH_BLOCK = 32
#: Activations per batch tile in one SGD step (|B| x k above this is tiled over rows).
TILE_ENTRIES = 1 << 18
#: Compiled (make_consts, advance, record) by config shape; a new seed reuses them.
_COMPILED: OrderedDict[tuple[Any, ...], tuple[Any, Any, Any]] = OrderedDict()
_CACHE_SIZE = 16


def _x64_enabled() -> bool:
    """jax_enable_x64, read by name: jax's Config stub declares no attributes for its flags."""
    return bool(getattr(jax.config, "jax_enable_x64"))  # noqa: B009


def record_steps(steps: int, records: int) -> np.ndarray:
    """Step 0, then ``records`` distinct log-spaced steps in [1, steps], the last being ``steps``
    (the shared schedule :func:`theoryscope.core.recording.exact_log_steps`)."""
    return exact_log_steps(steps, records)


class Carry(NamedTuple):
    """Loop state at step n: parameters W(n), the loss and gradient on batch n, EMA, half times."""

    n: Any
    W1: Any
    W2: Any
    g1: Any
    g2: Any
    loss: Any
    ema: Any
    t_half_step: Any  # (m,) int32, -1 while the term has not reached half its initial loss


class Consts(NamedTuple):
    W_froz: Any
    gamma: Any
    coefs: Any
    data_key: Any
    half: Any  # (m,) half of the initial term losses
    X_hold: Any
    y_hold: Any
    H_hold: Any
    lr: Any  # eta (W1 step)
    lr2: Any  # eta / k (W2 step)
    ema_a: Any  # 1 / W, or 1 when the EMA is off (then the EMA equals the batch loss)


def preactivations(X: Any, UT: Any) -> Any:
    """Z = X U^T from UT = U^T (d x k); for small d as d broadcast products over contiguous rows
    of UT, which XLA fuses with the sin/cos."""
    d = X.shape[1]
    if d <= _BROADCAST_D:
        Z = X[:, 0:1] * UT[0][None, :]
        for i in range(1, d):
            Z = Z + X[:, i : i + 1] * UT[i][None, :]
        return Z
    return X @ UT


def activations(X: Any, UT: Any, pair: Callable[[Any], tuple[Any, Any]], gate: Any) -> Any:
    """(sigma(Z), sigma'(Z)) for Z = X U^T, in ONE pass over the |B| x k entries.

    XLA fuses elementwise code into each consumer: the sigma and sigma' arrays, each read by a
    matrix product, would each get their own loop recomputing the shared range reduction and
    polynomials. For a pair that shares its work (:func:`~.nonlinearities.shares_work`), the pass
    writes sigma + i sigma' as one complex array inside ``lax.cond(gate, f, f)``: both branches
    are the same function, so the result never depends on ``gate``, but a conditional is a
    boundary XLA does not fuse across, so the pass runs once. ``gate`` is any runtime boolean
    that is not batched under ``vmap`` (a batched one turns the conditional into a select).
    """
    if not shares_work(pair):
        return pair(preactivations(X, UT))

    def packed(X: Any, UT: Any) -> Any:
        return complex_pair(pair, preactivations(X, UT))

    E = lax.cond(gate, packed, packed, X, UT)
    return jnp.real(E), jnp.imag(E)


def _tile_sums(
    X: Any, y: Any, UT: Any, W2: Any, pair: Callable[[Any], tuple[Any, Any]], gate: Any
) -> tuple[Any, Any, Any]:
    """(sum_b e_b^2, e @ sigma, (e X)^T @ sigma') over the rows of one batch tile."""
    s, ds = activations(X, UT, pair, gate)
    e = y - s @ W2
    # Contractions over the batch are written with the batch axis leading on the left
    # (e @ s, (e X)^T @ ds): XLA CPU runs the transposed forms (s^T e) several times slower.
    return jnp.sum(e * e), e @ s, (e[:, None] * X).T @ ds


def loss_and_grads(
    W1: Any,
    W2: Any,
    W_froz: Any,
    X: Any,
    y: Any,
    pair: Callable[[Any], tuple[Any, Any]],
    gate: Any = None,
) -> tuple[Any, Any, Any]:
    """(L_B, dL_B/dW1, dL_B/dW2) for one batch, written out by hand (spec 3).

    When |B| k exceeds TILE_ENTRIES the batch is processed in row tiles (every quantity is a
    sum over rows), so sigma and sigma' of a tile stay in cache instead of streaming |B| x k
    arrays through memory. ``gate``: see :func:`activations` (default: a runtime boolean made
    from X, which is batched under ``vmap``; the engine passes an unbatched one).
    """
    B = X.shape[0]
    k = W_froz.shape[0]
    if gate is None:
        gate = jnp.isfinite(X[0, 0]) | jnp.isnan(X[0, 0])
    UT = W1.T @ W_froz.T  # U^T, (d, k)
    rows = max(1, TILE_ENTRIES // k)
    if B <= rows:
        sq, es, P = _tile_sums(X, y, UT, W2, pair, gate)
    else:
        n_tiles = -(-B // rows)
        pad = n_tiles * rows - B
        Xt = jnp.pad(X, ((0, pad), (0, 0))).reshape(n_tiles, rows, X.shape[1])
        yt = jnp.pad(y, (0, pad)).reshape(n_tiles, rows)
        mask = (jnp.arange(n_tiles * rows) < B).reshape(n_tiles, rows).astype(X.dtype)

        def tile(acc: tuple[Any, Any, Any], args: tuple[Any, Any, Any]) -> Any:
            x_t, y_t, m_t = args
            s, ds = activations(x_t, UT, pair, gate)
            e = (y_t - s @ W2) * m_t  # padded rows contribute nothing
            part = (jnp.sum(e * e), e @ s, (e[:, None] * x_t).T @ ds)
            return tuple(a + b for a, b in zip(acc, part, strict=True)), None

        zero = (
            jnp.zeros((), X.dtype),
            jnp.zeros((k,), X.dtype),
            jnp.zeros((X.shape[1], k), X.dtype),
        )
        (sq, es, P), _ = lax.scan(tile, zero, (Xt, yt, mask))
    inv_b = 1.0 / B
    loss = 0.5 * sq * inv_b
    g2 = -es * inv_b
    g1 = -((P * W2[None, :]) @ W_froz).T * inv_b  # W_froz^T (dZ^T X), P = (e X)^T sigma'
    return loss, g1, g2


def batch_loss(W1: Any, W2: Any, W_froz: Any, X: Any, y: Any, sigma: Callable[[Any], Any]) -> Any:
    """L_B = 1/2 mean (y - sigma(X W1^T W_froz^T) W2)^2, the plain form (for jax.grad checks)."""
    e = y - sigma(X @ (W_froz @ W1).T) @ W2
    return 0.5 * jnp.mean(e * e)


def _t_half_from_records(t: np.ndarray, term_loss: np.ndarray) -> list[float | None]:
    """First t at which term_loss_j <= term_loss_j(0) / 2, linear interpolation between records."""
    out: list[float | None] = []
    for j in range(term_loss.shape[1]):
        tl = term_loss[:, j]
        half = tl[0] / 2
        hit = np.nonzero(tl <= half)[0]
        if hit.size == 0:
            out.append(None)
            continue
        i = int(hit[0])
        if i == 0:
            out.append(float(t[0]))
            continue
        t0, t1, l0, l1 = t[i - 1], t[i], tl[i - 1], tl[i]
        frac = (l0 - half) / (l0 - l1) if l0 != l1 else 1.0
        out.append(float(t0 + frac * (t1 - t0)))
    return out


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: Callable[[Mapping[str, np.ndarray]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Run:
    """Run online SGD for ``config`` and return a :class:`~theoryscope.protocol.Run`.

    Series (first axis = record): step, t_eff, loss_batch, loss_ema, loss_population, W1 (d x d),
    w2_scaled_norm = sqrt(k) ||W2||, overlap (m) = E[f_hat h_alpha_j], term_loss (m) =
    1/2 (coef_j - overlap_j)^2. Status ``diverged`` when the loss turns non-finite (records up to
    the last finite one kept), ``interrupted`` on ``should_stop()`` or KeyboardInterrupt.
    """
    return _simulate(config, seed, on_chunk=on_chunk, should_stop=should_stop)


def _simulate(
    config: Config,
    seed: int,
    *,
    on_chunk: Callable[[Mapping[str, np.ndarray]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    track_t_half: bool | None = None,
) -> Run:
    # x64 is on for every run so that records are evaluated in float64 (the exact population
    # loss is a difference of O(1) terms); the stepping uses config.dtype throughout.
    with jax.enable_x64(True):
        return _Simulation(config, seed, track_t_half).run(on_chunk, should_stop)


class _Simulation:
    def __init__(self, config: Config, seed: int, track_t_half: bool | None) -> None:
        self.config = config
        self.seed = int(seed)
        self.dt = jnp.float64 if config.dtype == "float64" else jnp.float32
        self.exact = config.uses_default_nonlinearity
        self.track = self.exact if track_t_half is None else (bool(track_t_half) and self.exact)
        self.alphas = np.asarray(config.alphas, dtype=np.int64)
        self.pair = sigma_pair(config.nonlinearity)

    # -- jitted pieces ------------------------------------------------------------------------
    def _batch(self, c: Consts, n: Any) -> tuple[Any, Any]:
        cfg = self.config
        key = jax.random.fold_in(c.data_key, n)
        sg = jnp.sqrt(c.gamma)
        X = jax.random.normal(key, (cfg.batch, cfg.d), self.dt) * sg
        y = hermite_terms(self.alphas, X / sg) @ c.coefs
        return X, y

    def _term_loss(self, W1: Any, W2: Any, c: Consts) -> Any:
        ov = pop.term_overlaps(c.W_froz @ W1, self.alphas, c.gamma) @ W2
        return 0.5 * (c.coefs - ov) ** 2

    def _initial_carry(self) -> Carry:
        """The state before step 0 (n = -1, zero gradient): one loop iteration reaches step 0."""
        cfg = self.config
        dt = np.float64 if cfg.dtype == "float64" else np.float32
        m = len(cfg.terms)
        return Carry(
            n=np.asarray(-1, np.int32),
            W1=np.eye(cfg.d, dtype=dt),
            W2=np.zeros((cfg.k,), dt),
            g1=np.zeros((cfg.d, cfg.d), dt),
            g2=np.zeros((cfg.k,), dt),
            loss=np.asarray(0.0, dt),
            ema=np.asarray(0.0, dt),
            t_half_step=np.full((m,), -1, np.int32),
        )

    def _advance(self, carry: Carry, end: Any, c: Consts) -> Carry:
        """Steps until ``end`` (or a non-finite loss). Batches are drawn BATCH_BLOCK steps at a
        time (the same numbers as one by one: step n always uses ``fold_in(data, n)``), so the
        sampling is materialized once instead of being fused into the |B| x k sin/cos loop."""
        lr, lr2, a = c.lr, c.lr2, c.ema_a
        T = BATCH_BLOCK
        gate = end >= 0  # a runtime boolean, unbatched when the sweep vmaps over seeds

        def running(s: Carry) -> Any:
            return (s.n < end) & jnp.isfinite(s.loss)

        def block(s: Carry) -> Carry:
            Xs, ys = jax.vmap(lambda t: self._batch(c, s.n + 1 + t))(jnp.arange(T))

            def step(st: tuple[Any, Carry]) -> tuple[Any, Carry]:
                t, s = st
                W1 = s.W1 - lr * s.g1
                W2 = s.W2 - lr2 * s.g2
                n = s.n + 1
                loss, g1, g2 = loss_and_grads(W1, W2, c.W_froz, Xs[t], ys[t], self.pair, gate)
                ema = jnp.where((n == 0) | (a == 1), loss, a * loss + (1 - a) * s.ema)
                t_half = s.t_half_step
                if self.track:
                    reached = (self._term_loss(W1, W2, c) <= c.half) & (t_half < 0)
                    t_half = jnp.where(reached, n, t_half)
                return t + 1, Carry(n, W1, W2, g1, g2, loss, ema, t_half)

            return lax.while_loop(lambda st: (st[0] < T) & running(st[1]), step, (0, s))[1]

        return lax.while_loop(running, block, carry)

    def _record(self, carry: Carry, c: Consts, degree: int | None = None) -> dict[str, Any]:
        # Evaluated in float64 whatever the run's dtype (the state is cast up exactly).
        # ``degree``: None for the direct quadratic form, else the Taylor degree (then
        # "taylor_ok" says whether its proven error bound was met).
        cfg = self.config
        f64 = jnp.float64 if _x64_enabled() else self.dt  # float64 unless x64 is off
        W1, W2, W_froz, gamma, coefs = (
            jnp.asarray(x, f64) for x in (carry.W1, carry.W2, c.W_froz, c.gamma, c.coefs)
        )
        if self.exact:
            # spec 4: L = 1/2 (sum coef^2 - 2 sum_j coef_j <f_hat, h_j> + W2 K W2^T), all in
            # float64; the quadratic form by Taylor moments when their proven relative error is
            # below 1e-10, else directly over the upper triangle of K (kernel_sum).
            ov = pop.term_overlaps(W_froz @ W1, self.alphas, gamma) @ W2
            V = (W_froz @ W1) * jnp.sqrt(gamma)
            if degree is None:  # direct: in the run's dtype, as the stepping (float32: ~1e-7)
                v_run = (c.W_froz @ carry.W1) * jnp.sqrt(c.gamma)
                quad = jnp.asarray(kernel_sum.direct_quadratic(v_run, carry.W2), f64)
                ok = jnp.asarray(True)
            else:
                quad, ok = kernel_sum.taylor_quadratic(W2, V, degree)
            lp = 0.5 * (jnp.sum(coefs * coefs) - 2.0 * jnp.dot(coefs, ov) + quad)
        else:
            sig = lambda z: self.pair(z)[0]  # noqa: E731
            X, y, H = (jnp.asarray(x, f64) for x in (c.X_hold, c.y_hold, c.H_hold))
            lp, ov = pop.mc_population(W1, W2, W_froz, X, y, H, sig)
            ok = jnp.asarray(True)
        return {
            "taylor_ok": ok,
            "loss_batch": carry.loss,
            "loss_ema": carry.ema,
            "loss_population": lp,
            "W1": carry.W1,
            "w2_scaled_norm": math.sqrt(cfg.k) * jnp.linalg.norm(W2),
            "overlap": ov,
            "term_loss": 0.5 * (coefs - ov) ** 2,
        }

    # -- driver -------------------------------------------------------------------------------
    def _cache_key(self) -> tuple[Any, ...]:
        """Everything the compiled code depends on (not the seed, gamma, coefs, lr, EMA, steps)."""
        cfg = self.config
        nl = cfg.nonlinearity if callable(cfg.nonlinearity) else str(cfg.nonlinearity)
        return (
            cfg.d, cfg.k, cfg.batch, cfg.dtype, cfg.holdout,
            self.alphas.tobytes(), self.alphas.shape, nl, self.track, jax.default_backend(),
            _x64_enabled(),
        )  # fmt: skip

    def _compiled(self) -> tuple[Any, Any, Any]:
        """AOT-compiled (make_consts, advance, record), reused across seeds of the same config."""
        key = self._cache_key()
        hit = _COMPILED.get(key)
        if hit is not None:
            _COMPILED.move_to_end(key)
            return hit
        scalars = self._scalars()
        make = jax.jit(self._consts).lower(scalars).compile()
        consts = jax.eval_shape(self._consts, scalars)
        carry = jax.eval_shape(lambda: self._initial_carry())
        end = jax.ShapeDtypeStruct((), jnp.int32)
        advance = jax.jit(self._advance).lower(carry, end, consts).compile()
        record = _Recorder(self, carry, consts)
        _COMPILED[key] = (make, advance, record)
        while len(_COMPILED) > _CACHE_SIZE:
            _COMPILED.popitem(last=False)
        return make, advance, record

    def _scalars(self) -> dict[str, np.ndarray]:
        """The per-run numbers passed to the compiled code as arguments (not baked in)."""
        cfg = self.config
        dt = np.float64 if cfg.dtype == "float64" else np.float32
        w = cfg.ema_window
        return {
            "seed": np.asarray(self.seed % 2**32, np.uint32),
            "gamma": np.asarray(cfg.gamma, dt),
            "coefs": np.asarray(cfg.coefs, dt),
            "lr": np.asarray(cfg.lr, dt),
            "lr2": np.asarray(cfg.lr / cfg.k, dt),
            "ema_a": np.asarray(1.0 / w if w > 1 else 1.0, dt),
        }

    def _consts(self, p: dict[str, Any]) -> Consts:
        """Frozen layer, data key and held-out sample from the seed (a uint32 scalar)."""
        cfg = self.config
        k_init, k_hold, k_data = jax.random.split(jax.random.key(p["seed"]), 3)
        W_froz = jax.random.normal(k_init, (cfg.k, cfg.d), self.dt)
        gamma, coefs = p["gamma"], p["coefs"]
        half = 0.25 * coefs * coefs  # term_loss(0) = coef^2 / 2 since W2(0) = 0
        if self.exact:
            X_hold = y_hold = H_hold = jnp.zeros((0,), self.dt)
        else:
            X_hold = pop.holdout_sample(k_hold, cfg.holdout, gamma, self.dt)
            y_hold, H_hold = pop.holdout_targets(X_hold, gamma, self.alphas, coefs)
        return Consts(
            W_froz, gamma, coefs, k_data, half, X_hold, y_hold, H_hold,
            lr=p["lr"], lr2=p["lr2"], ema_a=p["ema_a"],
        )  # fmt: skip

    def run(
        self,
        on_chunk: Callable[[Mapping[str, np.ndarray]], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> Run:
        cfg = self.config
        t_start = time.perf_counter()
        make, advance, record = self._compiled()
        compile_seconds = time.perf_counter() - t_start
        consts = make(self._scalars())
        carry = advance(self._initial_carry(), np.asarray(0, np.int32), consts)

        schedule = record_steps(cfg.steps, cfg.records)
        sub = max(1, int(SUBCHUNK_WORK // (cfg.batch * cfg.k)))
        counts0 = dict(getattr(record, "counts", {}))
        rows: list[dict[str, np.ndarray]] = []
        status, message = "finished", None
        summary: dict[str, Any] = {}
        step_seconds = record_seconds = 0.0

        def take_record(state: Carry) -> bool:
            nonlocal record_seconds
            t0 = time.perf_counter()
            out = {key: np.asarray(v, dtype=np.float64) for key, v in record(state, consts).items()}
            record_seconds += time.perf_counter() - t0
            step = int(state.n)
            if not all(np.all(np.isfinite(out[key])) for key in ("loss_batch", "loss_population")):
                return False
            row = {"step": np.asarray(step, np.int64), "t_eff": np.asarray(cfg.lr * step)}
            row.update(out)
            rows.append(row)
            if on_chunk is not None:
                on_chunk({key: row[key][None] for key in SERIES})
            return True

        loop_start = time.perf_counter()
        try:
            n = 0
            if not take_record(carry):
                status, message = "diverged", "loss non-finite at step 0"
                summary["diverged_at_step"] = 0
            for target in schedule[1:]:
                if status != "finished":
                    break
                while n < target:
                    end = min(int(target), n + sub)
                    t0 = time.perf_counter()
                    carry = advance(carry, jnp.asarray(end, jnp.int32), consts)
                    n = int(carry.n)
                    finite = bool(np.isfinite(np.asarray(carry.loss)))
                    step_seconds += time.perf_counter() - t0
                    if not finite:
                        status = "diverged"
                        message = f"loss became non-finite at step {n}"
                        summary["diverged_at_step"] = n
                        break
                    if should_stop is not None and should_stop():
                        status, message = "interrupted", f"stopped at step {n}"
                        break
                if status == "diverged":
                    break
                if n > int(rows[-1]["step"]) and not take_record(carry):
                    status, message = "diverged", f"non-finite population loss at step {n}"
                    summary["diverged_at_step"] = n
        except KeyboardInterrupt:
            status, message = "interrupted", "keyboard interrupt"
            summary["keyboard_interrupt"] = True
        loop_seconds = time.perf_counter() - loop_start

        series = (
            {key: np.stack([r[key] for r in rows]) for key in SERIES} if rows else self._empty()
        )
        done = int(rows[-1]["step"]) if rows else 0
        if status == "diverged":
            done = max(0, int(summary["diverged_at_step"]) - 1)
        elif status == "interrupted" and not summary.get("keyboard_interrupt"):
            done = int(carry.n)
        summary["steps"] = done
        summary["steps_per_second"] = done / step_seconds if step_seconds > 0 else None
        summary["steps_per_second_wall"] = done / loop_seconds if loop_seconds > 0 else None
        summary["t_half_sim"] = self._t_half(carry, series)
        summary["exact_population"] = self.exact
        if self.exact:  # how the records' W2 K W2^T was taken (kernel_sum): cost shown by the UI
            counts = getattr(record, "counts", {})
            summary["record_methods"] = {m: counts[m] - counts0.get(m, 0) for m in counts}
        return Run(
            experiment="expander",
            config=cfg.to_dict(),
            seed=self.seed,
            status=status,
            series=series,
            summary=summary,
            message=message,
            timings={
                "compile_seconds": compile_seconds,
                "step_seconds": step_seconds,
                "record_seconds": record_seconds,
                "loop_seconds": loop_seconds,
            },
        )

    def _empty(self) -> dict[str, np.ndarray]:
        """Every series with zero records (a run that diverged at step 0)."""
        d, m = self.config.d, len(self.config.terms)
        shapes = {"W1": (0, d, d), "overlap": (0, m), "term_loss": (0, m)}
        return {
            key: np.zeros(shapes.get(key, (0,)), np.int64 if key == "step" else np.float64)
            for key in SERIES
        }

    def _t_half(self, carry: Carry, series: dict[str, np.ndarray]) -> list[float | None]:
        m = len(self.config.terms)
        if self.track:
            steps = np.asarray(carry.t_half_step)
            return [float(self.config.lr * int(s)) if s >= 0 else None for s in steps]
        if not len(series["step"]):
            return [None] * m
        return _t_half_from_records(series["t_eff"], series["term_loss"])


class _Recorder:
    """``record(carry, consts)`` -> the record's series (device arrays).

    For the exact population loss the quadratic form W2 K W2^T takes Taylor moments of a degree
    chosen here from the state (``kernel_sum.choose_degree``, O(k d) on the host), or the direct
    sum; a Taylor result whose proven bound fails (relative error above 1e-10) is recomputed
    directly. One executable per degree used, compiled on first use and kept.
    """

    def __init__(self, sim: _Simulation, carry: Any, consts: Any) -> None:
        self.sim = sim
        self.shapes = (carry, consts)
        self.compiled: dict[int | None, Any] = {}
        self.counts = {"taylor": 0, "direct": 0}  # records by method, over this recorder's life

    def _get(self, degree: int | None) -> Any:
        hit = self.compiled.get(degree)
        if hit is None:
            fn = jax.jit(lambda s, c: self.sim._record(s, c, degree))
            hit = self.compiled[degree] = fn.lower(*self.shapes).compile()
        return hit

    def __call__(self, carry: Carry, consts: Consts) -> dict[str, Any]:
        degree = None
        if self.sim.exact:
            W1 = np.asarray(carry.W1, np.float64)
            V = (np.asarray(consts.W_froz, np.float64) @ W1) * np.sqrt(
                np.asarray(consts.gamma, np.float64)
            )
            degree = kernel_sum.choose_degree(V, np.asarray(carry.W2, np.float64))
        out = dict(self._get(degree)(carry, consts))
        if degree is not None and not bool(out["taylor_ok"]):
            degree = None
            out = dict(self._get(None)(carry, consts))
        out.pop("taylor_ok")
        if self.sim.exact:
            self.counts["taylor" if degree is not None else "direct"] += 1
        return out

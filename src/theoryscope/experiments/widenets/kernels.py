"""NNGP and NTK recursions of a fully connected network at infinite width (spec sections 2 and 4).

    K^(1)(x, x')     = C_b^(1) + (C_w^(1) / n_0) x . x'                         (spec 2)
    K^(l+1)(x, x')   = C_b^(l+1) + C_w^(l+1) F(K^(l)(x,x), K^(l)(x',x'), K^(l)(x,x'))
    Theta^(1)        = K^(1)                                                    (spec 4)
    Theta^(l+1)      = K^(l+1) + C_w^(l+1) G(K^(l)(x,x), K^(l)(x',x'), K^(l)(x,x')) Theta^(l)

with F = E[sigma(u) sigma(v)] and G = E[sigma'(u) sigma'(v)] from :mod:`.activations`. Layer l is
the pre-activation z^(l); ``depth`` L counts weight layers, so the network output is z^(L).
(C_w, C_b) may be scalars or one value per layer (layer 1 first).

For activations without a closed form the diagonals K^(l)(x, x), a one-dimensional map, are
computed first for every input by the line rule of :mod:`.quadrature`; their maximum over inputs
and layers fixes the node counts of the polar rule, which adapts to the variance.

Four evaluation paths, vectorized over pairs and jit-compiled:

* ``closed``: the exact maps of :mod:`.closed_forms`, one ``lax.scan`` over layers.
* ``quadrature``: the polar rule for every pair and layer (any activation, any inputs).
* ``table``: when all inputs share one norm (each side), every layer has a single pair of
  diagonal variances, so F and G are one-dimensional functions of theta = arccos rho. They are
  tabulated by quadrature on a uniform theta grid (``TABLE_POINTS``; reflected at 0 and pi,
  where F and G are even in theta) and read off by 4-point Lagrange interpolation (error
  ~ 3/128 h^4 max|d^4 F / d theta^4|; the tests check 1e-10 against ``quadrature``).
* ``mehler``: any norms. The Hermite series F = sum_k alpha_k(q1) alpha_k(q2) rho^k of
  :mod:`.mehler`, whose coefficients belong to one input each, with a truncation bound
  certified per pair; the pairs it does not reach within 1e-13 (|rho| near 1, the diagonal)
  are computed exactly, by the line rule at |rho| = 1 and the polar rule otherwise.

``auto`` picks ``closed`` when there is a closed form; else, above ``TABLE_MIN_PAIRS`` pairs
and depth > 1, ``table`` for equal norms and ``mehler`` otherwise; else ``quadrature``.
``kernels(x)`` (one set of inputs against itself) returns exactly symmetric matrices: the upper
triangle is copied onto the lower one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.core.validation import as_choice, as_float, as_int
from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets import mehler
from theoryscope.experiments.widenets.activations import Activation, fast_arccos, get_activation
from theoryscope.experiments.widenets.quadrature import (
    line_expect,
    line_maps,
    polar_maps,
    polar_rule,
)

METHODS = ("auto", "closed", "quadrature", "table", "mehler")
DTYPES = ("float32", "float64")
#: Theta grid size of the ``table`` path.
TABLE_POINTS = 2049
#: ``auto`` uses the table or series paths only above this many pairs.
TABLE_MIN_PAIRS = 4 * TABLE_POINTS
#: Pairs x quadrature points per jit call on the per-pair path (bounds memory).
CHUNK_POINTS = 512 * 6144
#: Pairs per jit call on the per-pair path, at most.
CHUNK = 512


@dataclass(frozen=True)
class KernelResult:
    """NNGP and NTK matrices: shape (n1, n2) for the output layer, or (depth, n1, n2) per layer."""

    nngp: np.ndarray
    ntk: np.ndarray
    method: str
    depth: int


def layer_variances(
    cw: float | Sequence[float] | np.ndarray,
    cb: float | Sequence[float] | np.ndarray,
    depth: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate (C_w, C_b), scalars or one per layer, into two arrays of length ``depth``."""
    depth = as_int("depth", depth, low=1)
    out = []
    for name, value, low_open in (("cw", cw, True), ("cb", cb, False)):
        vals = [value] if np.isscalar(value) or isinstance(value, str) else list(value)  # type: ignore[arg-type]
        vals = [as_float(name, v, low=0.0, low_open=low_open) for v in vals]
        if len(vals) == 1:
            vals = vals * depth
        if len(vals) != depth:
            raise ConfigError(name, f"has {len(vals)} values; allowed: 1 or depth = {depth}")
        out.append(np.asarray(vals, dtype=float))
    return out[0], out[1]


def _bound(q: float) -> float:
    """A static variance bound >= q: 4, 32 (the polar rule's first tiers) or a power of 4.

    Capped at 4^20 ~ 1e12 (a diverging run's variances overflow; the rule is tested to 1e5).
    """
    if not math.isfinite(q) or q > 4.0**20:
        return 4.0**20
    if q <= 4.0:
        return 4.0
    if q <= 32.0:
        return 32.0
    return 4.0 ** math.ceil(math.log(q, 4.0))


# -- closed path -------------------------------------------------------------------------------
def _layer_step(maps, all_layers):
    """One layer of spec 2 (NNGP, diagonals included) and spec 4 (NTK) as a lax.scan step."""

    def step(carry, xs):
        q1, q2, c, t = carry
        cw, cb = xs
        f, g = maps(q1, q2, c)
        nq1 = cb + cw * maps(q1, q1, q1)[0]
        nq2 = cb + cw * maps(q2, q2, q2)[0]
        nc = cb + cw * f
        nt = nc + cw * g * t
        return (nq1, nq2, nc, nt), ((nc, nt) if all_layers else None)

    return step


@partial(jax.jit, static_argnames=("act", "all_layers"))
def _run_closed(act, all_layers, q1, q2, c, cws, cbs):
    step = _layer_step(lambda a, b, d: act.maps(a, b, d, method="closed"), all_layers)
    c = jnp.broadcast_to(c, jnp.broadcast_shapes(q1.shape, q2.shape, c.shape))
    carry, ys = jax.lax.scan(step, (q1, q2, c, c), (cws, cbs))
    if all_layers:
        return jnp.concatenate([c[None], ys[0]]), jnp.concatenate([c[None], ys[1]])
    return carry[2], carry[3]


# -- diagonals ---------------------------------------------------------------------------------
@partial(jax.jit, static_argnames=("act", "bound"))
def _diag_scan(act, bound, q0, cws, cbs):
    closed = act.closed_maps

    def step(q, xs):
        cw, cb = xs
        if closed is not None:
            m = closed(q, q, q)[0]
        else:
            m = line_expect(lambda z: act.fn(z) ** 2, q, qmax=bound)
        nq = cb + cw * m
        return nq, nq

    _, qs = jax.lax.scan(step, q0, (cws, cbs))
    return jnp.concatenate([q0[None], qs])


def diagonal_sequences(
    activation: Any, q0: Any, cws: np.ndarray, cbs: np.ndarray, dtype: str = "float64"
) -> np.ndarray:
    """K^(l)(x, x) for l = 1..L and every entry of q0 = K^(1)(x, x): shape (L, *q0.shape).

    Closed-form activations use their exact map; others the line rule, whose node count is
    raised until it covers the largest variance the sequence reaches.
    """
    act = get_activation(activation)
    q0 = np.asarray(q0, dtype=float)
    uniq, inv = np.unique(q0.ravel(), return_inverse=True)
    depth = len(cws)
    if uniq.size == 0:
        return np.zeros((depth, *q0.shape))
    with jax.enable_x64(dtype == "float64"):
        jd = jnp.float64 if dtype == "float64" else jnp.float32
        bound = _bound(float(uniq.max()))
        for _ in range(40):
            qs = np.asarray(
                _diag_scan(
                    act,
                    bound,
                    jnp.asarray(uniq, jd),
                    jnp.asarray(cws[1:], jd),
                    jnp.asarray(cbs[1:], jd),
                ),
                dtype=float,
            )
            top = float(np.max(qs, initial=0.0)) if np.all(np.isfinite(qs)) else math.inf
            if act.closed_form or top <= bound or bound >= 4.0**20:
                break
            bound = _bound(top)
    return qs[:, inv].reshape(depth, *q0.shape)


def diagonal_sequence(
    activation: Any, q0: float, cws: np.ndarray, cbs: np.ndarray, dtype: str = "float64"
) -> np.ndarray:
    """K^(l)(x, x) for l = 1..L from K^(1)(x, x) = q0 (spec 2 on the diagonal)."""
    return diagonal_sequences(activation, np.asarray([float(q0)]), cws, cbs, dtype)[:, 0]


# -- per-pair quadrature path ------------------------------------------------------------------
@partial(jax.jit, static_argnames=("act", "bound", "all_layers"))
def _run_quad(act, bound, all_layers, c, q1s, q2s, cws, cbs):
    """Scan over layers with the diagonals given (q1s, q2s: (L, ...)); polar rule for the pairs."""

    def step(carry, xs):
        c, t = carry
        q1, q2, cw, cb = xs
        f, g = act.maps(q1, q2, c, method="quadrature", qmax=bound)
        nc = cb + cw * f
        nt = nc + cw * g * t
        return (nc, nt), ((nc, nt) if all_layers else None)

    carry, ys = jax.lax.scan(step, (c, c), (q1s[:-1], q2s[:-1], cws, cbs))
    if all_layers:
        return jnp.concatenate([c[None], ys[0]]), jnp.concatenate([c[None], ys[1]])
    return carry


def _chunk(bound: float) -> int:
    pts = polar_rule(bound).points
    return int(max(8, min(CHUNK, 2 ** int(math.log2(max(CHUNK_POINTS // pts, 1))))))


@partial(jax.jit, static_argnames=("act", "bound"))
def _polar_pairs(act, bound, q1, q2, c):
    return polar_maps(act.fn, act.d1, q1, q2, c, qmax=bound)


@partial(jax.jit, static_argnames=("act", "bound"))
def _line_pairs(act, bound, q1, q2, sign):
    return line_maps(act.fn, act.d1, q1, q2, sign, qmax=bound)


def _bucket(count: int, cap: int) -> int:
    """A power of two >= count (at least 8, at most cap): few distinct shapes, few compilations."""
    return int(min(cap, max(8, 1 << max(0, int(count - 1).bit_length()))))


def exact_pairs(
    act: Activation,
    q1: np.ndarray,
    q2: np.ndarray,
    c: np.ndarray,
    rho: np.ndarray,
    bound: float,
    dtype: str,
) -> tuple[np.ndarray, np.ndarray]:
    """(F, G) for a flat list of pairs: the line rule where |rho| = 1, the polar rule elsewhere."""
    jd = np.float64 if dtype == "float64" else np.float32
    f = np.empty(q1.size, dtype=jd)
    g = np.empty(q1.size, dtype=jd)
    unit = np.abs(rho) >= 1.0
    for mask, kind in ((unit, "line"), (~unit, "polar")):
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            continue
        size = _bucket(idx.size, _chunk(bound) if kind == "polar" else 4 * CHUNK)
        for start in range(0, idx.size, size):
            sl = idx[start : start + size]
            take = np.concatenate([sl, np.full(size - sl.size, sl[0])])
            a, b = q1[take].astype(jd), q2[take].astype(jd)
            if kind == "line":
                fo, go = _line_pairs(act, bound, a, b, np.sign(rho[take]).astype(jd))
            else:
                fo, go = _polar_pairs(act, bound, a, b, c[take].astype(jd))
            f[sl] = np.asarray(fo)[: sl.size]
            g[sl] = np.asarray(go)[: sl.size]
    return f, g


def _quadrature_path(act, all_layers, bound, cn, s1, s2, cws, cbs, dtype, shape):
    jd = jnp.float64 if dtype == "float64" else jnp.float32
    depth = len(cws)
    lead = (depth,) if all_layers else ()
    n = int(np.prod(shape))
    cw_j, cb_j = jnp.asarray(cws[1:], jd), jnp.asarray(cbs[1:], jd)
    full = [np.broadcast_to(a, (depth, *shape)).reshape(depth, n) for a in (s1, s2)]
    flat_c = np.broadcast_to(cn, shape).ravel()
    size = min(_chunk(bound), max(n, 1))
    pad = (-n) % size
    if pad:
        flat_c = np.concatenate([flat_c, np.full(pad, flat_c[0])])
        full = [np.concatenate([a, np.repeat(a[:, :1], pad, axis=1)], axis=1) for a in full]
    ks, ts = [], []
    for start in range(0, n + pad, size):
        sl = slice(start, start + size)
        k, t = _run_quad(
            act,
            bound,
            all_layers,
            jnp.asarray(flat_c[sl], jd),
            jnp.asarray(full[0][:, sl], jd),
            jnp.asarray(full[1][:, sl], jd),
            cw_j,
            cb_j,
        )
        ks.append(np.asarray(k))
        ts.append(np.asarray(t))
    k = np.concatenate(ks, axis=-1)[..., :n]
    t = np.concatenate(ts, axis=-1)[..., :n]
    return k.reshape(lead + shape), t.reshape(lead + shape)


# -- table path --------------------------------------------------------------------------------
def _lagrange4(table: jax.Array, theta: jax.Array, h: float) -> jax.Array:
    """4-point Lagrange interpolation on a uniform grid with one reflected ghost point each end."""
    n = table.shape[0]  # includes 2 ghosts on each side
    s = theta / h + 2.0  # position in the padded table
    i = jnp.clip(jnp.floor(s).astype(jnp.int32), 1, n - 3)
    t = s - i
    p0, p1, p2, p3 = table[i - 1], table[i], table[i + 1], table[i + 2]
    w0 = -t * (t - 1.0) * (t - 2.0) / 6.0
    w1 = (t + 1.0) * (t - 1.0) * (t - 2.0) / 2.0
    w2 = -(t + 1.0) * t * (t - 2.0) / 2.0
    w3 = (t + 1.0) * t * (t - 1.0) / 6.0
    return w0 * p0 + w1 * p1 + w2 * p2 + w3 * p3


def _pad_reflect(v: jax.Array) -> jax.Array:
    return jnp.concatenate([v[2:0:-1], v, v[-2:-4:-1]], axis=-1)


@partial(jax.jit, static_argnames=("act", "points", "bound"))
def _build_tables(act, points, bound, q1s, q2s):
    """F and G on the theta grid for each layer's (q1, q2): arrays (layers, points + 4).

    The grid is evaluated in chunks of at most CHUNK_POINTS quadrature points (memory).
    """
    size = _chunk(bound)
    count = -(-points // size)
    theta = jnp.linspace(0.0, jnp.pi, points, dtype=q1s.dtype)
    theta = jnp.concatenate([theta, jnp.zeros(count * size - points, theta.dtype)])
    rho = jnp.cos(theta).reshape(count, size)

    def one(q1, q2):
        def part(r):
            c = r * jnp.sqrt(q1 * q2)
            return act.maps(q1 + 0 * c, q2 + 0 * c, c, method="quadrature", qmax=bound)

        f, g = jax.lax.map(part, rho)
        return _pad_reflect(f.reshape(-1)[:points]), _pad_reflect(g.reshape(-1)[:points])

    return jax.lax.map(lambda qq: one(qq[0], qq[1]), (q1s, q2s))


@partial(jax.jit, static_argnames=("all_layers", "points"))
def _run_table(all_layers, points, c, q1s, q2s, cws, cbs, tab_f, tab_g):
    h = np.pi / (points - 1)

    def step(carry, xs):
        c, t = carry
        q1, q2, cw, cb, tf, tg = xs
        s = jnp.sqrt(q1 * q2)
        rho = jnp.clip(jnp.where(s > 0, c / jnp.where(s > 0, s, 1.0), 0.0), -1.0, 1.0)
        theta = fast_arccos(rho)
        f = _lagrange4(tf, theta, h)
        g = _lagrange4(tg, theta, h)
        nc = cb + cw * f
        nt = nc + cw * g * t
        return (nc, nt), ((nc, nt) if all_layers else None)

    xs = (q1s[:-1], q2s[:-1], cws, cbs, tab_f, tab_g)
    carry, ys = jax.lax.scan(step, (c, c), xs)
    if all_layers:
        return jnp.concatenate([c[None], ys[0]]), jnp.concatenate([c[None], ys[1]])
    return carry


# -- series path -------------------------------------------------------------------------------
def _mehler_path(act, all_layers, bound, cn, s1, s2, cws, cbs, dtype, shape):
    """Layer loop of the Hermite-series path (module docstring); returns the output or all layers."""
    jd = jnp.float64 if dtype == "float64" else jnp.float32
    c = jnp.asarray(np.broadcast_to(cn, shape), jd)
    t = c
    ks, ts = [c], [t]

    def exact(q1, q2, cc, rho):
        return exact_pairs(act, q1, q2, cc, rho, bound, dtype)

    for layer in range(len(cws) - 1):
        f, g, _ = mehler.layer_maps(
            act, s1[layer], s2[layer], c, qmax=bound, dtype=dtype, exact=exact
        )
        c, t = _affine(c, t, jnp.asarray(f), jnp.asarray(g), cws[layer + 1], cbs[layer + 1])
        if all_layers:
            ks.append(c)
            ts.append(t)
    if all_layers:
        return np.stack([np.asarray(a) for a in ks]), np.stack([np.asarray(a) for a in ts])
    return np.asarray(c), np.asarray(t)


@jax.jit
def _affine(c, t, f, g, cw, cb):
    nc = cb + cw * f
    return nc, nc + cw * g * t


def _nearly_constant(v: np.ndarray) -> bool:
    v = np.asarray(v, dtype=float).ravel()
    scale = max(float(np.max(np.abs(v))), 1e-300)
    return bool(np.ptp(v) <= 1e-12 * scale)


def propagate_pairs(
    q1: Any,
    q2: Any,
    c: Any,
    *,
    activation: Any = "relu",
    cw: float | Sequence[float] | np.ndarray = 1.0,
    cb: float | Sequence[float] | np.ndarray = 0.0,
    depth: int = 1,
    method: str = "auto",
    dtype: str = "float32",
    all_layers: bool = False,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Run the recursions from layer-1 values (q1, q2, c) = (K(x,x), K(x',x'), K(x,x')).

    Arrays broadcast against each other (batched over pairs). Returns (NNGP, NTK, method used):
    the layer-L values, or every layer's stacked on a leading axis with ``all_layers``.
    Layer 1 uses ``cw[0]``/``cb[0]`` only through the given values; layers 2..L use the rest.
    """
    act = get_activation(activation)
    as_choice("method", method, METHODS)
    as_choice("dtype", dtype, DTYPES)
    cws, cbs = layer_variances(cw, cb, depth)
    q1n, q2n, cn = (np.asarray(a, dtype=float) for a in (q1, q2, c))
    if np.any(q1n < 0) or np.any(q2n < 0):
        raise ConfigError("q", "a variance is negative; allowed: K(x, x) >= 0")
    shape = np.broadcast_shapes(q1n.shape, q2n.shape, cn.shape)
    pairs = int(np.prod(shape))
    equal = _nearly_constant(q1n) and _nearly_constant(q2n)
    if method == "auto":
        if act.closed_form:
            method = "closed"
        elif depth > 1 and pairs > TABLE_MIN_PAIRS:
            method = "table" if equal else "mehler"
        else:
            method = "quadrature"
    if method == "closed" and not act.closed_form:
        raise ConfigError(
            "method", f"no closed form for {act.name!r}; allowed: quadrature, table, mehler"
        )
    if method == "table" and not equal:
        raise ConfigError("method", "table needs inputs of equal norm; allowed: quadrature, mehler")
    with jax.enable_x64(dtype == "float64"):
        jd = jnp.float64 if dtype == "float64" else jnp.float32
        if depth == 1:
            out = np.broadcast_to(cn, shape).astype(dtype)
            return (out[None], out[None], method) if all_layers else (out, out.copy(), method)
        cw_j, cb_j = jnp.asarray(cws[1:], jd), jnp.asarray(cbs[1:], jd)
        if method == "closed":
            # q1, q2 keep their own (broadcastable) shapes: the diagonal maps stay cheap
            jargs = [jnp.asarray(a.astype(dtype)) for a in (q1n, q2n, cn)]
            k, t = _run_closed(act, all_layers, *jargs, cw_j, cb_j)
            return np.asarray(k), np.asarray(t), method
        s1 = diagonal_sequences(act, q1n, cws, cbs, dtype)  # (L, *q1.shape)
        s2 = diagonal_sequences(act, q2n, cws, cbs, dtype)
        top = max(float(np.max(s1, initial=0.0)), float(np.max(s2, initial=0.0)))
        bound = _bound(top if math.isfinite(top) else math.inf)
        if method == "table":
            d1 = s1.reshape(depth, -1)[:, 0]
            d2 = s2.reshape(depth, -1)[:, 0]
            tf, tg = _build_tables(
                act, TABLE_POINTS, bound, jnp.asarray(d1[:-1], jd), jnp.asarray(d2[:-1], jd)
            )
            res = _run_table(
                all_layers,
                TABLE_POINTS,
                jnp.asarray(np.broadcast_to(cn, shape), jd),
                jnp.asarray(d1, jd),
                jnp.asarray(d2, jd),
                cw_j,
                cb_j,
                tf,
                tg,
            )
            return np.asarray(res[0]), np.asarray(res[1]), method
        if method == "mehler":
            k, t = _mehler_path(act, all_layers, bound, cn, s1, s2, cws, cbs, dtype, shape)
            return k, t, method
        k, t = _quadrature_path(act, all_layers, bound, cn, s1, s2, cws, cbs, dtype, shape)
        return k, t, method


def _mirror(a: np.ndarray) -> np.ndarray:
    """Copy the upper triangle of the last two axes onto the lower one (exact symmetry)."""
    upper = np.triu(a)
    return upper + np.swapaxes(np.triu(a, 1), -1, -2)


def kernels(
    x1: Any,
    x2: Any = None,
    *,
    activation: Any = "relu",
    depth: int = 1,
    cw: float | Sequence[float] = 1.0,
    cb: float | Sequence[float] = 0.0,
    method: str = "auto",
    dtype: str = "float32",
    all_layers: bool = False,
) -> KernelResult:
    """NNGP K^(L)(x1, x2) and NTK Theta^(L)(x1, x2) of a depth-L fully connected net (spec 2, 4).

    ``x1`` is (n1, n0) and ``x2`` (n2, n0) (default x1). The layer-1 kernel is
    C_b + (C_w / n_0) x . x' (spec 2). When x2 is omitted or equal to x1, both matrices are
    exactly symmetric (upper triangle mirrored).
    """
    x1 = np.atleast_2d(np.asarray(x1, dtype=float))
    same = x2 is None
    x2 = x1 if x2 is None else np.atleast_2d(np.asarray(x2, dtype=float))
    if x1.shape[1] != x2.shape[1]:
        raise ConfigError("x2", f"has dimension {x2.shape[1]}; allowed: n_0 = {x1.shape[1]}")
    same = same or (x1.shape == x2.shape and np.array_equal(x1, x2))
    cws, cbs = layer_variances(cw, cb, depth)
    n0 = x1.shape[1]
    q1 = cbs[0] + cws[0] / n0 * np.sum(x1 * x1, axis=1)[:, None]
    q2 = q1.T if same else cbs[0] + cws[0] / n0 * np.sum(x2 * x2, axis=1)[None, :]
    c = cbs[0] + cws[0] / n0 * (x1 @ x2.T)
    if same:
        c = _mirror(c)
    k, t, used = propagate_pairs(
        q1,
        q2,
        c,
        activation=activation,
        cw=cws,
        cb=cbs,
        depth=depth,
        method=method,
        dtype=dtype,
        all_layers=all_layers,
    )
    if same:
        k, t = _mirror(np.asarray(k)), _mirror(np.asarray(t))
    return KernelResult(nngp=k, ntk=t, method=used, depth=depth)


def propagate_correlation(
    q0: float,
    rho0: float,
    *,
    activation: Any = "relu",
    cw: float | Sequence[float] = 1.0,
    cb: float | Sequence[float] = 0.0,
    depth: int = 10,
    dtype: str = "float64",
) -> list[dict[str, float]]:
    """Depth propagation of (q, rho) for two inputs of equal variance (spec 2 and 3).

    Layer 1 holds (q0, rho0); each later layer applies the NNGP map once:
    q' = C_b + C_w F(q, q, q), c' = C_b + C_w F(q, q, rho q), rho' = c' / q'.
    """
    q0 = as_float("q0", q0, low=0.0, low_open=True)
    rho0 = as_float("rho0", rho0, low=-1.0, high=1.0)
    depth = as_int("depth", depth, low=1)
    cws, cbs = layer_variances(cw, cb, depth)
    qs = diagonal_sequence(activation, q0, cws, cbs, dtype)
    k, _, _ = propagate_pairs(
        q0,
        q0,
        rho0 * q0,
        activation=activation,
        cw=cws,
        cb=cbs,
        depth=depth,
        dtype=dtype,
        all_layers=True,
        method="auto" if get_activation(activation).closed_form else "quadrature",
    )
    k = np.asarray(k, dtype=float).reshape(depth)
    out = []
    for l in range(depth):
        q = float(qs[l])
        rho = float(np.clip(k[l] / q, -1.0, 1.0)) if q > 0 else 1.0
        out.append({"l": l + 1, "q": q, "rho": rho})
    return out

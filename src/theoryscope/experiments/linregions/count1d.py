"""Exact count of the linear regions of a ReLU net along a segment of input space.

Along ``x(t) = x_0 + t (x_1 - x_0)``, t in [0, 1], every pre-activation is piecewise affine in t
(seed 002, lecture 12/5: on a cell of constant activation pattern the net is affine). The counter
follows the path layer by layer:

    pieces of constant pattern of layers < l    ->    on each piece z^(l)(t) = A + B t exactly
    zeros t* = -A_i / B_i of each neuron inside the piece    ->    split there, go to layer l + 1

so after the last hidden layer the pieces are exactly the intervals of constant activation
pattern (``activation_regions = 1 + #breakpoints``: each breakpoint is a strict sign change of an
affine pre-activation). The *linear regions* of the function (maximal intervals on which the
input gradient of the output is constant; lecture 12/5, Def.) merge adjacent pieces whose
gradients agree, which happens where a neuron flips while no active path joins it to the output.

Numerics (float64): a zero is kept if it lies more than ``tol`` (default 1e-12, relative to the
segment) inside its piece; two zeros closer than ``tol`` are one breakpoint (e.g. the coincident
kinks of a bias-free net). Gradients are compared along the basis directions of input space
(n_0 <= 4) or along the segment and three fixed random directions (n_0 > 4; equal projections of
two different gradients on random directions have probability zero), with relative tolerance
``grad_rtol`` (1e-9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theoryscope.experiments.linregions.network import Net

#: Pieces x neurons evaluated at once (bounds the temporary memory to ~100 MB).
CHUNK_ENTRIES = 4_000_000


@dataclass(frozen=True)
class SegmentCount:
    """What :func:`count_segment` finds along one segment.

    ``breaks``: sorted t of every activation-pattern breakpoint in (0, 1); ``break_layers``: the
    (1-based) layer whose neuron vanishes there; ``knots``: the t where the output's gradient
    changes (a subset of ``breaks``); ``slopes``: d output / dt on each linear region (first
    output). ``regions = len(knots) + 1`` and ``activation_regions = len(breaks) + 1``.
    """

    breaks: np.ndarray
    break_layers: np.ndarray
    knots: np.ndarray
    slopes: np.ndarray
    length: float

    @property
    def activation_regions(self) -> int:
        return int(len(self.breaks)) + 1

    @property
    def regions(self) -> int:
        return int(len(self.knots)) + 1

    def per_layer(self, depth: int) -> np.ndarray:
        """Breakpoints made by each hidden layer (length ``depth``)."""
        return np.bincount(self.break_layers, minlength=depth + 1)[1 : depth + 1]


def _probe_directions(n0: int, u: np.ndarray) -> np.ndarray:
    """Directions (n_0, p) along which gradients are compared (exact basis for small n_0)."""
    if n0 <= 4:
        return np.eye(n0)
    rng = np.random.default_rng(0)  # fixed probes: the count must not depend on a seed
    extra = rng.normal(size=(n0, 3))
    return np.concatenate([u[:, None] / max(np.linalg.norm(u), 1e-300), extra], axis=1)


def _dedupe(t: np.ndarray, layer: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Sort ``t`` and merge entries closer than ``tol`` (the first one's layer is kept)."""
    order = np.argsort(t, kind="stable")
    t, layer = t[order], layer[order]
    if len(t) < 2:
        return t, layer
    keep = np.concatenate([[True], np.diff(t) > tol])
    return t[keep], layer[keep]


def count_segment(
    net: Net,
    x0: np.ndarray,
    x1: np.ndarray,
    *,
    tol: float = 1e-12,
    grad_rtol: float = 1e-9,
) -> SegmentCount:
    """Exact activation-pattern breakpoints and linear regions of ``net`` on [x0, x1]."""
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    x1 = np.asarray(x1, dtype=np.float64).reshape(-1)
    if x0.shape != (net.input_dim,) or x1.shape != (net.input_dim,):
        raise ValueError(f"segment ends must have {net.input_dim} coordinates")
    u = x1 - x0
    probes = _probe_directions(net.input_dim, u)
    edges = np.array([0.0, 1.0])  # piece boundaries in t
    edge_layers = np.zeros(0, dtype=np.int64)  # layer of each interior boundary
    h0 = x0[None, :]  # per piece: layer input h(t) = h0 + h1 t (affine extension)
    h1 = u[None, :]
    for index, (w, b) in enumerate(net.hidden):
        layer = index + 1
        m, width = h0.shape[0], w.shape[0]
        lo, hi = edges[:-1], edges[1:]
        found_t, found_piece = [], []
        step = max(1, CHUNK_ENTRIES // max(width, 1))
        for start in range(0, m, step):
            stop = min(m, start + step)
            a = h0[start:stop] @ w.T + b
            slope = h1[start:stop] @ w.T
            with np.errstate(divide="ignore", invalid="ignore"):
                root = -a / slope
            inside = (slope != 0) & (root > lo[start:stop, None] + tol)
            inside &= root < hi[start:stop, None] - tol
            rows, _ = np.nonzero(inside)
            found_t.append(root[inside])
            found_piece.append(rows + start)
        new_t = np.concatenate(found_t) if found_t else np.zeros(0)
        new_t, new_layers = _dedupe(new_t, np.full(len(new_t), layer, dtype=np.int64), tol)
        interior = np.concatenate([edges[1:-1], new_t])
        interior_layers = np.concatenate([edge_layers, new_layers])
        order = np.argsort(interior, kind="stable")
        edge_layers = interior_layers[order]
        edges = np.concatenate([[0.0], interior[order], [1.0]])
        mid = 0.5 * (edges[:-1] + edges[1:])
        parent = np.searchsorted(lo, mid, side="right") - 1
        # this layer's pre-activation on each new piece is its parent's affine form
        a = h0[parent] @ w.T + b
        slope = h1[parent] @ w.T
        active = (a + slope * mid[:, None]) > 0.0
        h0 = np.where(active, a, 0.0)
        h1 = np.where(active, slope, 0.0)
        if index == 0:
            masks = [active]
        else:
            masks = [m_[parent] for m_ in masks] + [active]
    # input gradients of the output along the probes, per piece: J_k probes
    pieces, p = len(edges) - 1, probes.shape[1]
    grads = np.broadcast_to(probes[:, None, :], (probes.shape[0], pieces, p))  # (n, pieces, p)
    for (w, _), active in zip(net.hidden, masks, strict=True):
        grads = (w @ grads.reshape(w.shape[1], -1)).reshape(w.shape[0], pieces, p)
        grads = grads * active.T[:, :, None]
    w_out, _ = net.readout
    grads = (w_out @ grads.reshape(w_out.shape[1], -1)).reshape(w_out.shape[0], pieces, p)
    slope_u = h1 @ w_out.T  # d output / dt per piece
    flat = grads.transpose(1, 0, 2).reshape(pieces, -1)
    scale = float(np.max(np.abs(flat))) if flat.size else 0.0
    diff = np.max(np.abs(np.diff(flat, axis=0)), axis=1) if len(flat) > 1 else np.zeros(0)
    changes = diff > grad_rtol * max(scale, 1e-300)
    knots = edges[1:-1][changes]
    starts = np.concatenate([[0], np.nonzero(changes)[0] + 1])
    length = float(np.linalg.norm(u))
    return SegmentCount(
        breaks=edges[1:-1].copy(),
        break_layers=edge_layers.astype(np.int64),
        knots=knots,
        slopes=slope_u[starts, 0].copy(),
        length=length,
    )


def grid_count(net: Net, x0: np.ndarray, x1: np.ndarray, points: int) -> int:
    """Baseline: the activation regions seen on a grid of ``points`` equispaced t in [0, 1].

    One plus the number of consecutive grid points whose activation patterns differ: a region
    narrower than the spacing can be missed, and several changes between two neighbours count
    once, so on a random net this is a lower bound of :func:`count_segment`'s
    ``activation_regions`` that reaches it once the grid resolves every region. On a degenerate
    net whose neurons touch zero without changing sign (Telgarsky's), rounding can flip them at
    grid points and add spurious changes. Used only as a cross-check on small nets and as the
    benchmark's baseline.
    """
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    x1 = np.asarray(x1, dtype=np.float64).reshape(-1)
    step = max(2, CHUNK_ENTRIES // max(net.neurons, 1))
    changes = 0
    previous: np.ndarray | None = None
    for start in range(0, int(points), step):
        t = np.arange(start, min(int(points), start + step)) / max(int(points) - 1, 1)
        xs = x0[None, :] + t[:, None] * (x1 - x0)[None, :]
        pattern = np.concatenate([z > 0 for z in net.preactivations(xs)], axis=1)
        if previous is not None:
            pattern = np.concatenate([previous[None, :], pattern], axis=0)
        changes += int(np.any(pattern[1:] != pattern[:-1], axis=1).sum())
        previous = pattern[-1]
    return changes + 1

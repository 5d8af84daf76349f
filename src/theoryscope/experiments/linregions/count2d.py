"""Exact linear regions of a ReLU net in a square of a 2-D input plane, by polygon refinement.

The plane is ``x(s) = c + E s`` with ``s`` in the square ``[-r, r]^2`` (``E`` has orthonormal
columns; for n_0 = 2, c = 0 and E = I). Seed 002, lecture 12/5 (worst-case lemma): the set of
constant activation pattern is a convex polytope, built layer by layer: on a polygon of constant
pattern of layers < l, each neuron of layer l is affine, ``z_i(s) = a_i + B_i . s``, so cutting the
polygon along the lines ``z_i = 0`` of the neurons that change sign on it gives the cells of
layers <= l. After the last layer every polygon is one activation region (two polygons never share
a pattern: a pattern's set is convex, hence one polygon).

Clipping is exact convex-polygon clipping in float64: a vertex within ``tol * scale_i`` of neuron
i's line counts as on it (``scale_i = |a_i| + r |B_i|``, ``tol = 1e-12``, four orders above the rounding of float64
clipping), a polygon is cut only if
vertices lie strictly on both sides (so a piece always keeps a vertex farther than the tolerance
from the cut: no rounding slivers), and only pieces of zero area are dropped. Tiny cells are kept:
a global count over a box reaching far-away vertices needs cells of area ~1e-14 r^2.

Linear regions (constant input gradient of the output) merge adjacent polygons (sharing a
boundary segment of positive length) whose gradients agree to ``grad_rtol``; gradients are
compared on the basis of input space (n_0 <= 4) or on the plane's directions and three fixed random
directions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theoryscope.experiments.linregions.network import Net

#: Relative tolerance of "on the line" (see the module docstring).
TOL = 1e-12


@dataclass
class PlaneMap:
    """The activation regions of a net in a square of a plane.

    ``polygons[k]`` (m_k, 2) counter-clockwise vertices in plane coordinates; ``patterns`` (K, N) bool activation patterns; ``grads`` (K, q) the
    output's input gradient along the probe directions; ``regions`` the linear-region label of
    each polygon (polygons with one label form one linear region); ``layer_counts[l]`` the
    activation regions of layers 1..l+1 and, if kept, ``layers[l]`` their polygons.
    """

    polygons: list[np.ndarray]
    patterns: np.ndarray
    grads: np.ndarray
    half: float
    regions: np.ndarray | None = None
    adjacency: list[tuple[int, int]] | None = None
    layers: list[list[np.ndarray]] | None = None
    layer_counts: list[int] | None = None

    @property
    def activation_regions(self) -> int:
        return len(self.polygons)

    @property
    def linear_regions(self) -> int:
        if self.regions is None:
            raise ValueError("linear regions not computed")
        return int(len(np.unique(self.regions)))

    @property
    def area(self) -> float:
        return (2.0 * self.half) ** 2


def polygon_area(v: np.ndarray) -> float:
    """Signed area (shoelace; positive for counter-clockwise vertices)."""
    x, y = v[:, 0], v[:, 1]
    return 0.5 * float(x[:-1] @ y[1:] - y[:-1] @ x[1:] + x[-1] * y[0] - y[-1] * x[0])


def _split(v: np.ndarray, f: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Cut convex polygon ``v`` by the line ``f = 0`` (``f`` the affine values at the vertices).

    Returns the (positive, negative) pieces, or None if the line does not cross the interior.
    """
    sign = np.where(f > tol, 1, np.where(f < -tol, -1, 0))
    if not (np.any(sign > 0) and np.any(sign < 0)):
        return None
    pos: list[np.ndarray] = []
    neg: list[np.ndarray] = []
    k = len(v)
    for j in range(k):
        sj, sn = sign[j], sign[(j + 1) % k]
        if sj >= 0:
            pos.append(v[j])
        if sj <= 0:
            neg.append(v[j])
        if sj * sn < 0:
            fj, fn = f[j], f[(j + 1) % k]
            point = v[j] + (fj / (fj - fn)) * (v[(j + 1) % k] - v[j])
            pos.append(point)
            neg.append(point)
    return np.array(pos), np.array(neg)


def _probe_directions(n0: int, basis: np.ndarray) -> np.ndarray:
    if n0 <= 4:
        return np.eye(n0)
    rng = np.random.default_rng(0)
    return np.concatenate([basis, rng.normal(size=(n0, 3))], axis=1)


def plane_basis(n0: int, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The default plane: coordinates 1 and 2 of input space, shifted by ``offset`` along
    coordinate 3 (n_0 >= 3) -- returns (c, E)."""
    if n0 < 2:
        raise ValueError("a plane needs n_0 >= 2")
    e = np.zeros((n0, 2))
    e[0, 0] = e[1, 1] = 1.0
    c = np.zeros(n0)
    if n0 >= 3:
        c[2] = offset
    return c, e


def region_map(
    net: Net,
    half: float,
    *,
    center: np.ndarray | None = None,
    basis: np.ndarray | None = None,
    tol: float = TOL,
    grad_rtol: float = 1e-9,
    linear: bool = True,
    keep_layers: bool = False,
) -> PlaneMap:
    """Refine the square ``[-half, half]^2`` of the plane ``c + E s`` into activation regions."""
    n0 = net.input_dim
    if center is None or basis is None:
        c0, e0 = plane_basis(n0)
        center = c0 if center is None else center
        basis = e0 if basis is None else basis
    center = np.asarray(center, dtype=np.float64)
    basis = np.asarray(basis, dtype=np.float64)
    square = half * np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    polys: list[np.ndarray] = [square]
    h0 = center[None, :]  # per polygon: layer input h(s) = h0 + h1 s
    h1 = basis.T[None, :, :]  # (polygons, 2, n_prev)
    probes = _probe_directions(n0, basis)
    hp = probes.T[None, :, :]  # derivative of the layer input along the probes (polys, q, n)
    patterns: list[np.ndarray] = []
    kept: list[list[np.ndarray]] = []
    counts: list[int] = []
    for w, b in net.hidden:
        a_all = h0 @ w.T + b  # (P, n_l)
        b_all = h1 @ w.T  # (P, 2, n_l)
        new_polys: list[np.ndarray] = []
        parent: list[int] = []
        for k, v in enumerate(polys):
            a, slope = a_all[k], b_all[k]
            scale = np.abs(a) + half * np.sqrt(np.sum(slope * slope, axis=0))
            thr = tol * np.maximum(scale, 1e-300)
            # depth-first: each piece keeps only the neurons that still cut it (one vectorised
            # test per piece), so the cost grows with the pieces made, not neurons x pieces
            pieces: list[np.ndarray] = []
            stack = [(v, np.arange(len(a)))]
            while stack:
                piece, cand = stack.pop()
                vals = a[cand][None, :] + piece @ slope[:, cand]
                t = thr[cand]
                cand = cand[np.any(vals > t, axis=0) & np.any(vals < -t, axis=0)]
                if len(cand) == 0:
                    pieces.append(piece)
                    continue
                i = cand[0]
                parts = _split(piece, a[i] + piece @ slope[:, i], thr[i])
                if parts is None:  # only if rounding differs from the test above: not cut
                    pieces.append(piece)
                    continue
                for part in parts:
                    if len(part) >= 3 and polygon_area(part) > 0.0:
                        stack.append((part, cand[1:]))
            new_polys.extend(pieces)
            parent.extend([k] * len(pieces))
        idx = np.asarray(parent, dtype=np.int64)
        centroids = np.array([p.mean(axis=0) for p in new_polys])
        a = a_all[idx]
        slope = b_all[idx]
        active = (a + np.einsum("pd,pdn->pn", centroids, slope)) > 0.0
        patterns = [pat[idx] for pat in patterns] + [active]
        h0 = np.where(active, a, 0.0)
        h1 = slope * active[:, None, :]
        hp = (hp[idx] @ w.T) * active[:, None, :]
        polys = new_polys
        counts.append(len(polys))
        if keep_layers:
            kept.append(polys)
    w_out, _ = net.readout
    grads = (hp @ w_out.T).reshape(len(polys), -1)
    result = PlaneMap(
        polygons=polys,
        patterns=np.concatenate(patterns, axis=1) if patterns else np.zeros((1, 0), bool),
        grads=grads,
        half=float(half),
        layers=kept if keep_layers else None,
        layer_counts=counts,
    )
    if linear:
        label_linear_regions(result, grad_rtol=grad_rtol)
    return result


# ------------------------------------------------------------------------------------------------
# adjacency and linear regions
# ------------------------------------------------------------------------------------------------
def _bbox(polys: list[np.ndarray]) -> np.ndarray:
    return np.array([[p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()] for p in polys])


def candidate_pairs(polys: list[np.ndarray], eps: float) -> np.ndarray:
    """Index pairs (i < j) whose bounding boxes touch (within ``eps``)."""
    box = _bbox(polys)
    order = np.argsort(box[:, 0])
    sbox = box[order]
    out = []
    for pos in range(len(order)):
        stop = np.searchsorted(sbox[:, 0], sbox[pos, 2] + eps, side="right")
        if stop <= pos + 1:
            continue
        other = sbox[pos + 1 : stop]
        ok = (other[:, 1] <= sbox[pos, 3] + eps) & (other[:, 3] >= sbox[pos, 1] - eps)
        for j in np.nonzero(ok)[0]:
            a, b = order[pos], order[pos + 1 + j]
            out.append((min(a, b), max(a, b)))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def share_edge(p: np.ndarray, q: np.ndarray, eps: float) -> bool:
    """Whether convex polygons ``p`` and ``q`` share a boundary segment longer than ``eps``."""
    pa, pb = p, np.roll(p, -1, axis=0)
    qa, qb = q, np.roll(q, -1, axis=0)
    d = pb - pa  # (kp, 2)
    length = np.linalg.norm(d, axis=1)
    ok = length > eps
    if not np.any(ok):
        return False
    unit = d[ok] / length[ok, None]
    normal = np.stack([-unit[:, 1], unit[:, 0]], axis=1)
    base = pa[ok]
    # distances of q's edge endpoints to p's edge lines: (kp, kq)
    dist_b = np.abs(np.einsum("pqd,pd->pq", qb[None, :, :] - base[:, None, :], normal))
    dist_a = np.abs(np.einsum("pqd,pd->pq", qa[None, :, :] - base[:, None, :], normal))
    collinear = (dist_a < eps) & (dist_b < eps)
    if not np.any(collinear):
        return False
    ta = np.einsum("pqd,pd->pq", qa[None, :, :] - base[:, None, :], unit)
    tb = np.einsum("pqd,pd->pq", qb[None, :, :] - base[:, None, :], unit)
    lo = np.maximum(np.minimum(ta, tb), 0.0)
    hi = np.minimum(np.maximum(ta, tb), length[ok][:, None])
    return bool(np.any(collinear & (hi - lo > eps)))


def _padded(polys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (P, K, 2) padded by repeating the last vertex, and the edge mask (P, K)."""
    k = max(len(p) for p in polys)
    out = np.empty((len(polys), k, 2))
    mask = np.zeros((len(polys), k), dtype=bool)
    for i, p in enumerate(polys):
        out[i, : len(p)] = p
        out[i, len(p) :] = p[0]  # padding closes the polygon with zero-length edges
        mask[i, : len(p)] = True
    return out, mask


def shared_edges(polys: list[np.ndarray], pairs: np.ndarray, eps: float) -> np.ndarray:
    """For each pair (i, j), whether polygons i and j share a boundary segment longer than
    ``eps`` (an edge of i and an edge of j collinear within eps and overlapping), vectorised."""
    if len(pairs) == 0:
        return np.zeros(0, dtype=bool)
    verts, _ = _padded(polys)
    out = np.zeros(len(pairs), dtype=bool)
    chunk = 4096
    for start in range(0, len(pairs), chunk):
        pr = pairs[start : start + chunk]
        pa = verts[pr[:, 0]]  # (M, K, 2)
        pb = np.roll(pa, -1, axis=1)
        qa = verts[pr[:, 1]]
        qb = np.roll(qa, -1, axis=1)
        d = pb - pa
        length = np.linalg.norm(d, axis=2)  # (M, K)
        unit = d / np.maximum(length, 1e-300)[..., None]
        normal = np.stack([-unit[..., 1], unit[..., 0]], axis=2)
        ra = qa[:, None, :, :] - pa[:, :, None, :]  # (M, Kp, Kq, 2)
        rb = qb[:, None, :, :] - pa[:, :, None, :]
        dist_a = np.abs(np.einsum("mpqd,mpd->mpq", ra, normal))
        dist_b = np.abs(np.einsum("mpqd,mpd->mpq", rb, normal))
        ta = np.einsum("mpqd,mpd->mpq", ra, unit)
        tb = np.einsum("mpqd,mpd->mpq", rb, unit)
        lo = np.maximum(np.minimum(ta, tb), 0.0)
        hi = np.minimum(np.maximum(ta, tb), length[:, :, None])
        ok = (dist_a < eps) & (dist_b < eps) & (hi - lo > eps) & (length[:, :, None] > eps)
        out[start : start + len(pr)] = np.any(ok, axis=(1, 2))
    return out


def adjacency(result: PlaneMap) -> list[tuple[int, int]]:
    """Pairs of polygons sharing a boundary segment (cached on the map)."""
    if result.adjacency is None:
        eps = 1e-9 * result.half
        pairs = candidate_pairs(result.polygons, eps)
        keep = shared_edges(result.polygons, pairs, eps)
        result.adjacency = [(int(i), int(j)) for i, j in pairs[keep]]
    return result.adjacency


def label_linear_regions(result: PlaneMap, *, grad_rtol: float = 1e-9) -> np.ndarray:
    """Union adjacent polygons with equal output gradient; store and return the labels."""
    grads = result.grads
    k = len(result.polygons)
    parent = np.arange(k)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    scale = float(np.max(np.abs(grads))) if grads.size else 0.0
    thr = grad_rtol * max(scale, 1e-300)
    # only pairs with equal gradients can merge: find them by sorting on the first component
    order = np.argsort(grads[:, 0], kind="stable")
    g0 = grads[order, 0]
    eps = 1e-9 * result.half
    for pos in range(k):
        stop = np.searchsorted(g0, g0[pos] + thr, side="right")
        for other in range(pos + 1, stop):
            i, j = int(order[pos]), int(order[other])
            if np.max(np.abs(grads[i] - grads[j])) > thr:
                continue
            if share_edge(result.polygons[i], result.polygons[j], eps):
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    labels = np.array([find(i) for i in range(k)])
    result.regions = labels
    return labels


def line_count(result: PlaneMap, level: float, axis: int = 1) -> int:
    """Activation regions met by the line ``s_axis = level`` across the square (the polygons it
    crosses with positive length), for the 1-D cross-check."""
    hits = 0
    eps = 1e-12 * result.half
    other = 1 - axis
    for v in result.polygons:
        f = v[:, axis] - level
        if not (np.any(f > eps) and np.any(f < -eps)):
            continue
        nxt = np.roll(v, -1, axis=0)
        fn = np.roll(f, -1)
        cross = (f * fn) < 0
        pts = v[cross, other] + (f[cross] / (f[cross] - fn[cross])) * (
            nxt[cross, other] - v[cross, other]
        )
        on = np.abs(f) <= eps
        pts = np.concatenate([pts, v[on, other]])
        if len(pts) and pts.max() - pts.min() > eps:
            hits += 1
    return hits


def greedy_colours(result: PlaneMap, colours: int) -> np.ndarray:
    """A colour index per polygon, different from its neighbours' where ``colours`` allow
    (greedy in order of decreasing degree, a seeded random pick among the free colours; planar
    maps never need more than 4, so 8 always suffice in practice)."""
    k = len(result.polygons)
    neighbours: list[list[int]] = [[] for _ in range(k)]
    for i, j in adjacency(result):
        neighbours[i].append(j)
        neighbours[j].append(i)
    colour = np.full(k, -1, dtype=np.int64)
    rng = np.random.default_rng(0)  # a fixed choice among the free colours: a varied map
    for i in sorted(range(k), key=lambda n: -len(neighbours[n])):
        used = {int(colour[j]) for j in neighbours[i] if colour[j] >= 0}
        free = [c for c in range(colours) if c not in used]
        colour[i] = free[int(rng.integers(len(free)))] if free else i % colours
    return colour


# ------------------------------------------------------------------------------------------------
# depth one: Zaslavsky's count from the actual arrangement
# ------------------------------------------------------------------------------------------------
def intersections(
    w: np.ndarray, b: np.ndarray, *, tol: float = 1e-9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every crossing point of two lines ``w_i . x + b_i = 0`` in the plane (parallel pairs
    skipped), with the indices (i, j) of its two lines (Cramer's rule)."""
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ii, jj = np.triu_indices(len(b), k=1)
    det = w[ii, 0] * w[jj, 1] - w[ii, 1] * w[jj, 0]
    scale = np.linalg.norm(w[ii], axis=1) * np.linalg.norm(w[jj], axis=1)
    ok = np.abs(det) > tol * scale
    ii, jj, det = ii[ok], jj[ok], det[ok]
    px = (-b[ii] * w[jj, 1] + b[jj] * w[ii, 1]) / det
    py = (-w[ii, 0] * b[jj] + w[jj, 0] * b[ii]) / det
    return np.stack([px, py], axis=1), ii, jj


def arrangement_regions(w: np.ndarray, b: np.ndarray, *, tol: float = 1e-9) -> int:
    """Regions of R^{n_0} (n_0 = 1 or 2) cut by the hyperplanes ``w_i . x + b_i = 0``, counted from
    the arrangement itself (Zaslavsky 1975, via its characteristic polynomial): in 1-D, one plus
    the distinct points; in 2-D, ``1 + #lines + sum_p (m_p - 1)`` over intersection points p met by
    m_p lines (coincident lines counted once, parallel lines never meet). Valid in any position."""
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    keep = np.linalg.norm(w, axis=1) > 0
    w, b = w[keep], b[keep]
    norm = np.linalg.norm(w, axis=1)
    w, b = w / norm[:, None], b / norm
    if w.shape[1] == 1:
        pts = np.sort(-b / w[:, 0])
        return 1 + int(np.sum(np.diff(pts) > tol)) + (1 if len(pts) else 0)
    if w.shape[1] != 2:
        raise ValueError("arrangement_regions handles n_0 = 1 or 2")
    # canonical sign so that coincident lines compare equal, then drop repeated lines
    flip = (w[:, 0] < -tol) | ((np.abs(w[:, 0]) <= tol) & (w[:, 1] < 0))
    w[flip], b[flip] = -w[flip], -b[flip]
    same = (np.max(np.abs(w[:, None, :] - w[None, :, :]), axis=2) <= tol) & (
        np.abs(b[:, None] - b[None, :]) <= tol
    )
    first = np.array([not np.any(same[i, :i]) for i in range(len(b))], dtype=bool)
    w, b = w[first], b[first]
    n = len(b)
    pts, ii, jj = intersections(w, b, tol=tol)
    px = pts[:, 0]
    # cluster coincident intersection points (union-find over points closer than eps)
    m = len(pts)
    parent = np.arange(m)

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    eps = 100 * tol * np.maximum(1.0, np.max(np.abs(pts), axis=1)) if m else np.zeros(0)
    order = np.argsort(px, kind="stable")
    for pos, k in enumerate(order):
        stop = np.searchsorted(px[order], px[k] + eps[k], side="right")
        for other in order[pos + 1 : stop]:
            # linking each point to the next point of its cluster (in x order) chains the cluster
            if np.max(np.abs(pts[k] - pts[other])) <= eps[k]:
                ra, rb = find(int(k)), find(int(other))
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
                break
    members: dict[int, set[int]] = {}
    for k in range(m):
        members.setdefault(find(k), set()).update((int(ii[k]), int(jj[k])))
    return 1 + n + sum(len(v) - 1 for v in members.values())

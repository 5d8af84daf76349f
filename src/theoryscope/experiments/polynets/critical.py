"""Every critical point of the Gaussian quadratic teacher-student loss, with its Hessian signature.

Setting (quadratic.py): L(W, a) = ||M~ - M~*||_G^2 with M~ = Sigma^(1/2) W diag(a) W^T Sigma^(1/2),
||X||_G^2 = 2 ||X||_F^2 + (tr X)^2 (Gaussian data; Arjevani, Bruna, Kileel, Polak, Trager 2025,
arXiv 2501.06074, quadratic networks: an Eckart-Young theorem for the data-induced norm). lambda_1 >= ...
>= lambda_d are the eigenvalues of the transformed teacher M~*, u_i its eigenvectors; eigenvalues
equal to within :data:`GROUP_TOL` form groups (e.g. the zero eigenvalue of a teacher narrower
than d).

Critical points (derived here, checked in tests/test_polynets_critical.py). With
R = G(D) = 2 D~ + tr(D~) I the gradient is dL/dW = 4 Sigma^(1/2) R Sigma^(1/2) W diag(a) and
dL/da_j = 2 w~_j^T R w~_j, so (for a_j != 0) a critical point has R M~ = 0. Then M~* M~ =
M~^2 + (tr D~ / 2) M~ is symmetric, M~ commutes with M~* and

    M~_S = sum_{i in S} mu_i u_i u_i^T,   mu_i = lambda_i + tau_S,   tau_S = T_S / (k + 2),

for a set S of k <= min(r, d) eigen-directions, T_S = sum_{l not in S} lambda_l (the trace term
lifts every kept eigenvalue by the same tau_S; Frobenius Eckart-Young has tau = 0). Its loss is

    L_S = 2 sum_{l not in S} lambda_l^2 + 2 T_S^2 / (k + 2).

``signed`` outer weights (p of +1, q of -1) realize S iff #{mu_i > 0} <= p and #{mu_i < 0} <= q;
the critical set is then one orbit of the symmetry group O(p, q) acting on W (Witt's extension
theorem), so the Hessian signature is constant on it. At a representative (w_i = |mu_i|^(1/2)
Sigma^(-1/2) u_i on a neuron of the sign of mu_i, spare neurons w_j = 0) the Hessian decouples:

    kept i, dropped l:    eigenvalue 8 eps_i (lambda_i - lambda_l)    (Sigma = I; with Sigma the
    spare j, dropped l:   eigenvalue -8 eps_j (lambda_l + tau_S)        signs, by Sylvester's law)
    kept block:           2 ||dM~_S||_G^2 >= 0 with kernel the orbit's tangent space

    index  = #{(i in S, l not in S): eps_i (lambda_l - lambda_i) > 0}
             + (p - k_+) #{l not in S: lambda_l + tau_S > 0} + (q - k_-) #{l: lambda_l + tau_S < 0}
    nullity = r k - k (k + 1) / 2    (dim O(p, q) - dim O(p - k_+, q - k_-), the orbit)
              + sum_g k_g (m_g - k_g)    (Grassmannians of equal eigenvalues)
              + (r - k) #{l not in S: lambda_l + tau_S = 0}    (degenerate: on the discriminant)

``free`` outer weights: every S with k <= min(r, d) is realized; for k = r the set is the orbit
of the r (r + 1) / 2-dimensional group W -> W C, a -> C^-1 a C^-T (C diagonal x O(p, q)) and the
index is the cross count; for k < r the spare neurons (w_j = 0, a_j = c_j) contribute
#{l: c_j (lambda_l + tau_S) > 0} each, so the index varies along the (connected, non-orbit) set;
the canonical representatives are all c_j = +1 or all c_j = -1; nullity there
k (k + 1) / 2 + (r - k)(k + 1) + the Grassmannian and degenerate terms.

Sign of the new eigenvalue: mu_l(S + l) = (k + 2)(lambda_l + tau_S) / (k + 3), so the factor
F_{S,l} = (k + 2) lambda_l + T_S decides both whether S + l needs a positive or a negative
neuron and the curvature of S along l. Teacher-metric discriminant (Gaussian instance):

    Delta(lambda~) = prod_{i < j} (lambda_i - lambda_j) * prod_{|S| <= r - 1, l not in S} F_{S,l};

off Delta = 0 every signature above is locally constant in (M*, Sigma); crossing a zero of
F_{S,l}, the critical point S + l passes through S (mu_l = 0, an extra zero Hessian eigenvalue):
it changes the sign it needs (``signed``: it appears or disappears) and the indices of S and
S + l change.

Counts (generic teacher, distinct eigenvalues): ``free``: sum_{k <= min(r, d)} C(d, k) critical
sets; ``signed`` with a positive semi-definite teacher (every mu_i > 0):
sum_{k <= min(p, d)} C(d, k).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from theoryscope.experiments.polynets.quadratic import Problem

__all__ = [
    "CriticalSet",
    "count_formula",
    "decoupled_eigenvalues",
    "discriminant_factors",
    "distance_to_set",
    "enumerate_critical",
    "eigen_groups",
    "representative",
]

#: Eigenvalues within this x max(1, max |lambda|) are one group (one eigenspace).
GROUP_TOL = 1e-9
#: |lambda_l + tau_S| or |mu| below this x max(1, max |lambda|) counts as zero (degenerate).
ZERO_TOL = 1e-9


@dataclass
class CriticalSet:
    """One connected set of critical points (module docstring).

    ``counts``: directions kept from each eigen-group; ``kept``: the 1-based eigen-indices of the
    representative (the first k_g of group g); ``mu``: the kept eigenvalues of M~ (one per kept
    direction, in ``kept`` order); ``index``/``nullity`` at the canonical representative
    (``free`` with spare neurons: spare a_j = +1; ``index_minus``/``nullity_minus``: a_j = -1);
    ``index_min``/``index_max`` over the set; ``stable``: the set holds local minima of the
    parameter loss (None: degenerate, undecided at second order); ``degenerate``: on the
    discriminant (an extra zero Hessian eigenvalue).
    """

    label: str
    counts: list[int]
    kept: list[int]
    mu: list[float]
    rank: int
    positive: int
    negative: int
    tau: float
    loss: float
    index: int
    nullity: int
    index_minus: int | None
    nullity_minus: int | None
    index_min: int
    index_max: int
    cross: int
    spare: int
    n_params: int
    stable: bool | None
    degenerate: bool
    grassmann: int
    global_min: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out.pop("extras"))
        return out


def eigen_groups(lam: np.ndarray) -> list[list[int]]:
    """0-based indices of (decreasing) eigenvalues grouped where they are equal within tolerance."""
    tol = GROUP_TOL * max(1.0, float(np.max(np.abs(lam))) if lam.size else 1.0)
    groups: list[list[int]] = []
    for i, value in enumerate(lam):
        if groups and abs(float(lam[groups[-1][0]]) - float(value)) <= tol:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _label(kept: list[int], counts: list[int], groups: list[list[int]]) -> str:
    parts = []
    for g, k in zip(groups, counts, strict=True):
        if k == 0:
            continue
        if len(g) == 1:
            parts.append(str(g[0] + 1))
        else:
            parts.append(f"{k} of {g[0] + 1}-{g[-1] + 1}")
    return "{" + ",".join(parts) + "}"


def enumerate_critical(problem: Problem) -> list[CriticalSet]:
    """Every critical set of the problem (module docstring), sorted by loss then index."""
    lam = np.asarray(problem.lam, dtype=np.float64)
    d, r = lam.size, problem.width
    groups = eigen_groups(lam)
    vals = np.array([float(np.mean(lam[g])) for g in groups])
    mult = np.array([len(g) for g in groups])
    scale = max(1.0, float(np.max(np.abs(lam))))
    zero = ZERO_TOL * scale
    signed = problem.outer == "signed"
    p, q = problem.positive, problem.negative
    out: list[CriticalSet] = []
    for counts in itertools.product(*(range(int(m) + 1) for m in mult)):
        kv = np.asarray(counts)
        k = int(kv.sum())
        if k > min(r, d):
            continue
        rest = mult - kv
        t_s = float(np.sum(rest * vals))
        tau = t_s / (k + 2)
        mu_g = vals + tau
        chosen = kv > 0
        if np.any(np.abs(mu_g[chosen]) <= zero):
            continue  # mu = 0: the same matrix as the set without that direction
        k_pos = int(np.sum(kv[chosen & (mu_g > 0)]))
        k_neg = k - k_pos
        if signed and (k_pos > p or k_neg > q):
            continue
        eps_g = np.sign(mu_g)
        cross = 0
        for gi in np.flatnonzero(chosen):
            diff = eps_g[gi] * (vals - vals[gi])
            cross += int(kv[gi]) * int(np.sum(rest[diff > 0]))
        shift = vals + tau
        n_pos = int(np.sum(rest[shift > zero]))
        n_neg = int(np.sum(rest[shift < -zero]))
        n_zero = int(np.sum(rest)) - n_pos - n_neg
        grass = int(np.sum(kv * rest))
        spare = r - k
        if signed:
            s_pos, s_neg = p - k_pos, q - k_neg
            index = cross + s_pos * n_pos + s_neg * n_neg
            nullity = r * k - k * (k + 1) // 2 + grass + spare * n_zero
            index_minus = nullity_minus = None
            index_min = index_max = index
            degenerate = spare > 0 and n_zero > 0
            stable: bool | None = index == 0
        else:
            index = cross + spare * n_pos
            index_minus = cross + spare * n_neg if spare else None
            nullity = k * (k + 1) // 2 + spare * (k + 1) + grass + spare * n_zero
            nullity_minus = nullity if spare else None
            index_min = cross + spare * min(n_pos, n_neg)
            index_max = cross + spare * max(n_pos, n_neg)
            degenerate = spare > 0 and n_zero > 0
            stable = index_min == 0
        loss = float(2.0 * np.sum(rest * vals**2) + 2.0 * t_s**2 / (k + 2))
        if degenerate and stable:
            stable = True if loss <= 1e-12 * max(1.0, problem.teacher_norm) else None
        kept: list[int] = []
        mu: list[float] = []
        for members, value, kg in zip(groups, vals, counts, strict=True):
            kept.extend(i + 1 for i in members[:kg])
            mu.extend([float(value + tau)] * kg)
        out.append(CriticalSet(
            label=_label(kept, list(counts), groups), counts=[int(c) for c in counts], kept=kept,
            mu=mu, rank=k, positive=k_pos, negative=k_neg, tau=float(tau), loss=loss,
            index=int(index), nullity=int(nullity), index_minus=index_minus,
            nullity_minus=nullity_minus, index_min=int(index_min), index_max=int(index_max),
            cross=int(cross), spare=int(spare), n_params=problem.n_params, stable=stable,
            degenerate=bool(degenerate), grassmann=grass,
        ))  # fmt: skip
    out.sort(key=lambda c: (c.loss, c.index, c.kept))
    best = min((c.loss for c in out), default=math.inf)
    for c in out:
        c.global_min = c.loss <= best + 1e-12 * max(1.0, abs(best))
    return out


def count_formula(problem: Problem) -> int | None:
    """The closed-form number of critical sets where one is known (distinct eigenvalues):
    ``free``: sum_{k <= min(r, d)} C(d, k); ``signed`` with every eigenvalue of the transformed
    teacher >= 0 (then every mu > 0): sum_{k <= min(p, d)} C(d, k). None otherwise."""
    lam = np.asarray(problem.lam)
    d = lam.size
    if len(eigen_groups(lam)) != d:
        return None
    if problem.outer == "free":
        return sum(math.comb(d, k) for k in range(min(problem.width, d) + 1))
    if np.all(lam > ZERO_TOL * max(1.0, float(np.max(np.abs(lam))))):
        return sum(math.comb(d, k) for k in range(min(problem.positive, d) + 1))
    return None


def representative(
    problem: Problem, cset: CriticalSet, spare_sign: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """A point (W (d, r), a (r,)) of the critical set in the original coordinates:
    w = |mu_i|^(1/2) Sigma^(-1/2) u_i on a neuron of the sign of mu_i, spare neurons w_j = 0
    (``free``: a_j = sign(mu_i) on kept neurons, ``spare_sign`` on spare ones)."""
    d, r = problem.d, problem.width
    w = np.zeros((d, r))
    inv = 1.0 / problem.sqrt_cov
    if problem.outer == "signed":
        a = problem.signs.copy()
        free_pos = [j for j in range(r) if a[j] > 0]
        free_neg = [j for j in range(r) if a[j] < 0]
        for i, mu in zip(cset.kept, cset.mu, strict=True):
            col = free_pos.pop(0) if mu > 0 else free_neg.pop(0)
            w[:, col] = math.sqrt(abs(mu)) * inv * problem.vecs[:, i - 1]
        return w, a
    a = np.full(r, float(spare_sign))
    for j, (i, mu) in enumerate(zip(cset.kept, cset.mu, strict=True)):
        w[:, j] = math.sqrt(abs(mu)) * inv * problem.vecs[:, i - 1]
        a[j] = 1.0 if mu > 0 else -1.0
    return w, a


def decoupled_eigenvalues(
    problem: Problem, cset: CriticalSet, spare_sign: float = 1.0
) -> list[float]:
    """The Hessian eigenvalues at :func:`representative` that the module docstring writes in
    closed form, for Sigma = I (with another Sigma only their signs carry over):
    8 eps_i (lambda_i - lambda_l) for each kept direction i and dropped direction l, and
    -8 c_j (lambda_l + tau_S) for each spare neuron j (sign c_j) and dropped direction l.
    The rest of the spectrum is the kept block (>= 0, its kernel the orbit's tangent space)."""
    lam = np.asarray(problem.lam)
    d, r = lam.size, problem.width
    kept = [i - 1 for i in cset.kept]
    dropped = [l for l in range(d) if l not in kept]
    out: list[float] = []
    for i, mu in zip(kept, cset.mu, strict=True):
        eps = 1.0 if mu > 0 else -1.0
        out.extend(8.0 * eps * (float(lam[i]) - float(lam[l])) for l in dropped)
    if problem.outer == "signed":
        spare_signs = [1.0] * (problem.positive - cset.positive)
        spare_signs += [-1.0] * (problem.negative - cset.negative)
    else:
        spare_signs = [float(spare_sign)] * (r - cset.rank)
    for c in spare_signs:
        out.extend(-8.0 * c * (float(lam[l]) + cset.tau) for l in dropped)
    return out


def distance_to_set(problem: Problem, m_tilde: np.ndarray, cset: CriticalSet) -> float:
    """min ||M~ - X||_F over the set's matrices X (exact; groups: best projection per group).

    Each X is block diagonal in the eigen-groups with block c_g P_g, P_g a rank-k_g projection:
    the off-block part of M~ counts fully, and within a group with block eigenvalues e_i the best
    P_g takes the k_g largest of sign(c_g) e_i, leaving sum_chosen (e_i - c_g)^2 +
    sum_others e_i^2 (written as sums of squares: no cancellation near the set).
    """
    groups = eigen_groups(np.asarray(problem.lam))
    v = problem.vecs
    mt = v.T @ (0.5 * (m_tilde + m_tilde.T)) @ v
    off = mt.copy()
    total = 0.0
    for g, kg in zip(groups, cset.counts, strict=True):
        block = mt[np.ix_(g, g)]
        off[np.ix_(g, g)] = 0.0
        e = np.linalg.eigvalsh(block)
        if kg == 0:
            total += float(np.sum(e * e))
            continue
        c = float(np.mean(problem.lam[g])) + cset.tau
        order = np.argsort(np.sign(c) * e)[::-1]
        chosen, others = e[order[:kg]], e[order[kg:]]
        total += float(np.sum((chosen - c) ** 2) + np.sum(others * others))
    total += float(np.sum(off * off))
    return math.sqrt(total)


def discriminant_factors(lam: np.ndarray, width: int) -> list[dict[str, Any]]:
    """The factors of the teacher-metric discriminant (module docstring), each with its value:
    ``crossing`` lambda_i - lambda_j (i < j) and ``rank`` F_{S,l} = (|S| + 2) lambda_l + T_S for
    |S| <= r - 1, l not in S (1-based indices)."""
    lam = np.asarray(lam, dtype=np.float64)
    d = lam.size
    out: list[dict[str, Any]] = []
    for i in range(d):
        for j in range(i + 1, d):
            out.append({"kind": "crossing", "i": i + 1, "j": j + 1,
                        "value": float(lam[i] - lam[j])})  # fmt: skip
    total = float(np.sum(lam))
    for k in range(min(width - 1, d - 1) + 1):
        for s in itertools.combinations(range(d), k):
            t_s = total - float(np.sum(lam[list(s)]))
            for l in range(d):
                if l in s:
                    continue
                out.append({"kind": "rank", "S": [i + 1 for i in s], "l": l + 1,
                            "value": float((k + 2) * lam[l] + t_s)})  # fmt: skip
    return out


def fingerprint(sets: list[CriticalSet]) -> tuple[Any, ...]:
    """What the discriminant study watches: the multiset of (sign pattern, index range,
    stability) over the critical sets (invariant under relabelling the eigen-directions)."""
    return tuple(sorted((c.rank, c.positive, c.index_min, c.index_max, str(c.stable))
                        for c in sets))  # fmt: skip

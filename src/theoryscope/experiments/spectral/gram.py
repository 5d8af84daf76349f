"""ReLU features on [-1, 1] and their exact L2 Gram matrix (the talk's "G! G! G!").

Source: H. Zhao, "Numerical understanding of neural networks" (talk, seed 004), slides
"Two layer NN in 1D" and "Spectral analysis for the Gram matrix of ReLU basis: 1D"; paper
S. Zhang, H. Zhao, Y. Zhong, H. Zhou, arXiv:2306.17301.

A feature is a ramp ``sigma(w x - b)`` with ``sigma(t) = max(0, t)``, ``w != 0``, on the domain
``D = [-1, 1]`` with the Lebesgue measure (the talk's ``<u, v>_D = int_D u v dx``). The network is

    h(x) = n^{-1/2} sum_i a_i sigma(w_i x - b_i)                (NTK scaling of the talk's h)

so that the Gram matrix of the coefficients is ``G_ij = <sigma_i, sigma_j>_D / n``: the talk's
Gram matrix divided by n. The 1/n changes neither the condition number nor the decay exponent,
and makes the eigenvalues of ``G`` converge (as n -> infinity, biases with density rho) to those of
the integral operator with the talk's kernel, so the usable learning rate does not depend on n.

Exact Gram entries. On ``[lo_i, hi_i]`` (the part of D where ``w_i x - b_i > 0``) a ramp is linear;
the product of two ramps is a quadratic on the intersection ``[lo, hi]`` of their supports, and
for linear p, q the integral of p q over [lo, hi] is exact by

    int_lo^hi p q dx = (hi - lo)/6 * (2 p(lo) q(lo) + p(lo) q(hi) + p(hi) q(lo) + 2 p(hi) q(hi)),

with every term >= 0 (both ramps are >= 0 there), so no cancellation. For ``w_i = w_j = 1`` this is
the talk's piecewise-cubic kernel (slide "Spectral analysis ... 1D")

    G(x, y) = int_D sigma(z - x) sigma(z - y) dz
            = |x - y|^3 / 12 + (2 - x - y) (2 (1 - x)(1 - y) - (x - y)^2) / 12,

implemented separately as :func:`talk_kernel` and checked against it in the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "fourier_projection",
    "gram_matrix",
    "ramp_support",
    "relu_features",
    "talk_kernel",
]


def ramp_support(w: Any, b: Any, xp: Any = np) -> tuple[Any, Any]:
    """Where ``w x - b > 0`` inside [-1, 1]: ``[lo, hi]`` (empty when ``hi <= lo``); w != 0."""
    edge = xp.clip(b / w, -1.0, 1.0)
    lo = xp.where(w > 0, edge, -1.0)
    hi = xp.where(w > 0, 1.0, edge)
    return lo, hi


def gram_matrix(w1: Any, b1: Any, w2: Any = None, b2: Any = None, *, xp: Any = np) -> Any:
    """Exact ``<sigma(w1_i x - b1_i), sigma(w2_j x - b2_j)>_{L2[-1,1]}`` (not divided by n).

    Shapes (n,) and (m,) give (n, m). ``xp`` is ``numpy`` or ``jax.numpy`` (differentiable in b).
    """
    if w2 is None:
        w2, b2 = w1, b1
    lo1, hi1 = ramp_support(w1, b1, xp)
    lo2, hi2 = ramp_support(w2, b2, xp)
    lo = xp.maximum(lo1[:, None], lo2[None, :])
    hi = xp.minimum(hi1[:, None], hi2[None, :])
    length = xp.maximum(hi - lo, 0.0)
    hi = lo + length
    wi, bi = w1[:, None], b1[:, None]
    wj, bj = w2[None, :], b2[None, :]
    # both ramps are >= 0 on [lo, hi]; clamp tiny negatives from rounding at the kink
    pl, ph = xp.maximum(wi * lo - bi, 0.0), xp.maximum(wi * hi - bi, 0.0)
    ql, qh = xp.maximum(wj * lo - bj, 0.0), xp.maximum(wj * hi - bj, 0.0)
    # Simpson/trapezoid-exact rule for the product of two linear functions (module docstring)
    return length / 6.0 * (2.0 * pl * ql + pl * qh + ph * ql + 2.0 * ph * qh)


def talk_kernel(x: Any, y: Any) -> Any:
    """The talk's closed form ``G(x, y) = int_D sigma(z - x) sigma(z - y) dz`` for x, y in D."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return (
        np.abs(x - y) ** 3 / 12.0
        + (2.0 - x - y) * (2.0 * (1.0 - x) * (1.0 - y) - (x - y) ** 2) / 12.0
    )


def fourier_projection(w: Any, b: Any, freqs: Any, *, xp: Any = np) -> Any:
    """``P_ik = <sigma(w_i x - b_i), sin(pi k x)>_{L2[-1,1]}`` in closed form, shape (n, K).

    An antiderivative of ``(w x - b) sin(omega x)`` is
    ``w (sin(omega x)/omega^2 - x cos(omega x)/omega) + b cos(omega x)/omega`` (integration by
    parts); it is evaluated at the ends of the ramp's support. ``sin(pi k x)`` has unit L2 norm
    on [-1, 1], so the target ``f = sum_k A_k sin(pi k x)`` has ``<f, sin(pi k x)> = A_k``.
    """
    lo, hi = ramp_support(w, b, xp)
    hi = xp.maximum(hi, lo)
    omega = np.pi * xp.asarray(freqs)[None, :]
    wc, bc = w[:, None], b[:, None]

    def anti(x: Any) -> Any:
        s, c = xp.sin(omega * x), xp.cos(omega * x)
        return wc * (s / omega**2 - x * c / omega) + bc * c / omega

    return anti(hi[:, None]) - anti(lo[:, None])


def relu_features(
    neurons: int, *, bias: str, weights: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Feature parameters ``(w, b)`` (float64, shape (n,)), biases sorted ascending.

    ``bias``: ``uniform`` -- i.i.d. U(-1, 1) (the talk's theorem: density bounded above and below);
    ``grid`` -- equispaced midpoints ``b_i = -1 + (2 i - 1)/n``. ``weights``: ``plus`` -- w = 1 (the
    talk's 1-D network ``sum a_i sigma(x - b_i)``); ``sign`` -- w = +-1 at random (the sphere S^0,
    as in the talk's R^d setting ``w in S^{d-1}``), edges then at ``x = b / w``.
    """
    rng = np.random.default_rng(seed)
    if bias == "grid":
        b = -1.0 + (2.0 * np.arange(1, neurons + 1) - 1.0) / neurons
    else:
        b = np.sort(rng.uniform(-1.0, 1.0, size=neurons))
    if weights == "sign":
        w = rng.choice(np.array([-1.0, 1.0]), size=neurons)
        b = b * w  # keep the kink x = b/w where the bias rule put it
    else:
        w = np.ones(neurons)
    return w, b

"""Random ReLU networks: moments of the input-output Jacobian and the NTK diagonal (spec 5).

He initialization without biases, widths n_0, n_1, ..., n_L (hidden), n_{L+1} (output):
z^(1) = W^(1) x, z^(l+1) = W^(l+1) relu(z^(l)), W^(l)_ij ~ N(0, 2 / n_{l-1}).

Exact finite-width moments (derived here; the notes give only the large-width form). Write
dz/dx_p = W^(L+1) D^(L) v^(L) with v^(1) = W^(1) e_p, v^(l+1) = W^(l+1) D^(l) v^(l) and
D^(l) = diag(1{z^(l) > 0}). Flipping the sign of row i of W^(l) flips both z^(l)_i and v^(l)_i,
so D^(l)_ii is Bernoulli(1/2) and independent of (v^(l)_i)^2 and of everything before layer l
(the path-counting lemma of the notes). With S_l = |D^(l) v^(l)|^2:

    given S_l:  v^(l+1)_i iid N(0, 2 S_l / n_l),    S_{l+1} = (2 S_l / n_l) Y_{n_{l+1}},
    Y_n = sum_{i<=n} B_i g_i^2,  E[Y_n] = n/2,  E[Y_n^2] = (n^2 + 5 n) / 4,
    S_1 = (2 / n_0) Y_{n_1},     dz/dx_p | S_L ~ N(0, 2 S_L / n_L).

Hence E[S_L] = n_L / n_0 and E[S_L^2] = n_L^2 / n_0^2 prod_l (1 + 5/n_l), so

    E[(dz/dx_p)^2] = 2 / n_0,
    E[(dz/dx_p)^4] = 3 (2/n_L)^2 E[S_L^2] = (12 / n_0^2) prod_{l=1}^{L} (1 + 5 / n_l)
                   ~ (12 / n_0^2) exp(5 sum_l 1/n_l)           (the notes' large-width form).

The NTK diagonal (NTK parametrization W = sqrt(2/n_{l-1}) W_hat, W_hat ~ N(0, 1), L weight
layers): E[Theta(x, x)] = 2 L |x|^2 / n_0 (spec 5).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.core.validation import as_int, as_int_tuple
from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets.activations import get_activation
from theoryscope.experiments.widenets.montecarlo import empirical_ntk, init_params


def parse_widths(widths: Any) -> tuple[int, ...]:
    """Widths n_0, ..., n_{L+1} (at least 2 entries, each >= 1)."""
    w = as_int_tuple("widths", widths, low=1)
    if len(w) < 2:
        raise ConfigError("widths", f"has {len(w)} entry; allowed: at least 2 (input and output)")
    return w


def jacobian_theory(widths: Any) -> dict[str, float]:
    """Exact E[(dz/dx_p)^2], E[(dz/dx_p)^4] and the exp(5 sum 1/n_l) approximation (spec 5)."""
    w = parse_widths(widths)
    n0, hidden = w[0], w[1:-1]
    prod = float(np.prod([1.0 + 5.0 / n for n in hidden])) if hidden else 1.0
    beta = float(sum(1.0 / n for n in hidden))
    return {
        "m2": 2.0 / n0,
        "m4": 12.0 / n0**2 * prod,
        "m4_exp_approx": 12.0 / n0**2 * float(np.exp(5.0 * beta)),
        "sum_inv_width": beta,
    }


@partial(jax.jit, static_argnames=("widths",))
def _jacobians(keys, widths):
    """dz_0/dx (n_0,) for one random He net per key, at a random input x ~ N(0, I)."""

    n_w = [widths[l + 1] * widths[l] for l in range(len(widths) - 1)]

    def one(key):
        flat = jax.random.normal(key, (widths[0] + sum(n_w),))  # one draw: short compile
        x = flat[: widths[0]]
        at = widths[0]
        a = x
        jac = jnp.eye(widths[0])
        for l in range(len(widths) - 1):
            w = flat[at : at + n_w[l]].reshape(widths[l + 1], widths[l]) * jnp.sqrt(2.0 / widths[l])
            at += n_w[l]
            z = w @ a
            jac = w @ jac
            if l < len(widths) - 2:
                on = (z > 0).astype(z.dtype)
                a = z * on
                jac = jac * on[:, None]
        return jac[0]

    return jax.vmap(one)(keys)


def jacobian_moments(
    widths: Any,
    *,
    nets: int = 20000,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Monte Carlo m2, m4 of dz/dx_p (averaged over p within each net) with standard errors.

    ``progress(fraction)`` is told after each batch of networks.
    """
    w = parse_widths(widths)
    nets = as_int("nets", nets, low=2)
    seed = as_int("seed", seed, low=0)
    keys = jax.random.split(jax.random.PRNGKey(seed), nets)
    batch = max(
        1, min(nets, 2**24 // max(1, sum(a * b for a, b in zip(w[:-1], w[1:], strict=True))))
    )
    js = []
    for start in range(0, nets, batch):
        kb = keys[start : start + batch]
        take = kb.shape[0]
        if take < batch:
            kb = jnp.concatenate([kb, keys[: batch - take]])
        js.append(np.asarray(_jacobians(kb, w), dtype=np.float64)[:take])
        if progress is not None:
            progress(min(1.0, (start + take) / nets))
    j = np.concatenate(js)
    s2, s4 = np.mean(j**2, axis=1), np.mean(j**4, axis=1)
    return {
        "m2": float(s2.mean()),
        "se2": float(s2.std(ddof=1) / np.sqrt(nets)),
        "m4": float(s4.mean()),
        "se4": float(s4.std(ddof=1) / np.sqrt(nets)),
        "nets": nets,
    }


@partial(jax.jit, static_argnames=("widths",))
def _ntk_diag_batch(keys, widths):
    depth = len(widths) - 1
    act = get_activation("relu")
    cws, cbs = jnp.full((depth,), 2.0), jnp.zeros((depth,))
    x = jnp.ones((1, widths[0]))  # |x|^2 = n_0

    def one(key):
        return empirical_ntk(init_params(key, widths), x, act, cws, cbs)[0, 0]

    return jax.vmap(one)(keys)


def ntk_diagonal(widths: Any, *, nets: int = 2000, seed: int = 0) -> dict[str, float]:
    """E[Theta(x, x)] by Monte Carlo against 2 L |x|^2 / n_0 (spec 5), |x|^2 = n_0."""
    w = parse_widths(widths)
    nets = as_int("nets", nets, low=2)
    depth = len(w) - 1
    keys = jax.random.split(jax.random.PRNGKey(int(seed) + 1), nets)
    vals = np.asarray(_ntk_diag_batch(keys, w), dtype=np.float64)
    return {
        "theory": 2.0 * depth,
        "mc": float(vals.mean()),
        "se": float(vals.std(ddof=1) / np.sqrt(nets)),
        "weight_layers": depth,
    }


def fourth_moment_growth(
    n0: int = 3,
    widths: Sequence[int] = (10, 20, 40),
    depths: Sequence[int] = (1, 2, 4, 6, 8),
    *,
    nets: int = 20000,
    seed: int = 0,
) -> list[dict[str, float]]:
    """n_0^2 E[(dz/dx)^4] / 12 against beta = sum_l 1/n_l: exact product, exp(5 beta) and MC."""
    rows = []
    for i, n in enumerate(widths):
        for j, depth in enumerate(depths):
            ws = (n0,) + (n,) * depth + (1,)
            th = jacobian_theory(ws)
            mc = jacobian_moments(ws, nets=nets, seed=seed + 1000 * i + j)
            norm = n0**2 / 12.0
            rows.append(
                {
                    "width": n,
                    "depth": depth,
                    "beta": th["sum_inv_width"],
                    "exact": th["m4"] * norm,
                    "exp_approx": th["m4_exp_approx"] * norm,
                    "mc": mc["m4"] * norm,
                    "mc_se": mc["se4"] * norm,
                }
            )
    return rows

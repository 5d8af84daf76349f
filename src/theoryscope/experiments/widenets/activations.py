"""Activations and their Gaussian kernel maps (spec ``wide-networks.md`` section 2).

For a zero-mean Gaussian pair (u, v) with Var u = q1, Var v = q2, Cov(u, v) = c, the NNGP and NTK
recursions need the two maps

    F(q1, q2, c) = E[sigma(u) sigma(v)]          (NNGP, spec 2)
    G(q1, q2, c) = E[sigma'(u) sigma'(v)]        (NTK, spec 4)

Closed forms (:mod:`.closed_forms`, with their formulas and sources) exist for the built-ins
relu, erf, gelu, identity, cos, sin and sqrt2cos; for the names abs, leaky_relu (slope 0.01),
exp and gaussian (exp(-z^2/2)), which the Python API accepts besides the built-ins (the CLI and
web pages offer :data:`ACTIVATIONS`); and for the families made by :func:`leaky_relu`,
:func:`abrelu`, :func:`polynomial`, :func:`monomial` and :func:`rectified_monomial`. Every other
activation (tanh, softplus, swish or any user-supplied JAX function) goes through the adaptive
polar Gauss rule of :mod:`.quadrature`, accurate to ~1e-12 relative for variances from 0.01 to
1e5.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

import jax
import jax.numpy as jnp

from theoryscope.core.validation import as_float, as_int
from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets.closed_forms import (
    CLOSED_MAPS,
    Maps,
    abrelu_maps,
    fast_arccos,
    fast_arcsin,
    polynomial_maps,
    rectified_monomial_maps,
)
from theoryscope.experiments.widenets.quadrature import (
    DEFAULT_NODES,
    gauss_expect_1d,
    gauss_maps,
    hermite_rule,
    polar_maps,
    quad_maps,
)

Array = jax.Array

__all__ = [
    "ACTIVATIONS",
    "CLOSED_FORM",
    "DEFAULT_NODES",
    "EXTRA_FUNCTIONS",
    "FUNCTIONS",
    "Activation",
    "abrelu",
    "fast_arccos",
    "fast_arcsin",
    "gauss_expect_1d",
    "gauss_maps",
    "get_activation",
    "hermite_rule",
    "leaky_relu",
    "monomial",
    "polar_maps",
    "polynomial",
    "quad_maps",
    "rectified_monomial",
]


def _relu(z: Array) -> Array:
    return jnp.maximum(z, 0.0)


def _erf(z: Array) -> Array:
    return jax.scipy.special.erf(z)


def _identity(z: Array) -> Array:
    return z


def _sqrt2cos(z: Array) -> Array:
    return jnp.cos(z) - jnp.sin(z)


def _gelu(z: Array) -> Array:
    return jax.nn.gelu(z, approximate=False)


def _swish(z: Array) -> Array:
    return z * jax.nn.sigmoid(z)


def _gaussian(z: Array) -> Array:
    return jnp.exp(-z * z / 2.0)


def _abrelu(a: float, b: float, z: Array) -> Array:
    return jnp.where(z > 0, b * z, a * z)


def _polynomial(coefs: tuple[float, ...], z: Array) -> Array:
    acc = jnp.zeros_like(z) + coefs[-1]
    for a in coefs[-2::-1]:
        acc = acc * z + a
    return acc


def _rectified_monomial(n: int, z: Array) -> Array:
    return jnp.maximum(z, 0.0) ** n


#: Built-in activations by name.
FUNCTIONS: dict[str, Callable[[Array], Array]] = {
    "relu": _relu,
    "erf": _erf,
    "identity": _identity,
    "sqrt2cos": _sqrt2cos,
    "cos": jnp.cos,
    "tanh": jnp.tanh,
    "gelu": _gelu,
    "softplus": jax.nn.softplus,
    "sin": jnp.sin,
    "swish": _swish,
}
#: More names with closed forms, accepted by :func:`get_activation` (Python API).
EXTRA_FUNCTIONS: dict[str, Callable[[Array], Array]] = {
    "abs": jnp.abs,
    "leaky_relu": partial(_abrelu, 0.01, 1.0),
    "exp": jnp.exp,
    "gaussian": _gaussian,
}
#: Built-in activations with an exact closed-form kernel map.
CLOSED_FORM = tuple(name for name in FUNCTIONS if name in CLOSED_MAPS)
ACTIVATIONS = tuple(FUNCTIONS)
_ALL = {**FUNCTIONS, **EXTRA_FUNCTIONS}


# -- the activation object ---------------------------------------------------------------------
@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity with its derivatives and (if known) its closed-form maps.

    ``closed`` is the exact (F, G) map; for a built-in name it is looked up when not given.
    Activations are hashable and compared by their fields, so they are ``jit`` static arguments
    (the factories below cache their results, so equal parameters give the same object).
    """

    name: str
    fn: Callable[[Array], Array]
    closed: Maps | None = None

    @property
    def closed_maps(self) -> Maps | None:
        if self.closed is not None:
            return self.closed
        if self.name in CLOSED_MAPS and _ALL.get(self.name) is self.fn:
            return CLOSED_MAPS[self.name]
        return None

    @property
    def closed_form(self) -> bool:
        return self.closed_maps is not None

    @property
    def d1(self) -> Callable[[Array], Array]:
        """sigma' (elementwise, by autodiff)."""
        return _derivative(self.fn, 1)

    @property
    def d2(self) -> Callable[[Array], Array]:
        """sigma'' (elementwise, by autodiff)."""
        return _derivative(self.fn, 2)

    def maps(
        self,
        q1: Array,
        q2: Array,
        c: Array,
        *,
        method: str = "auto",
        rule: str = "polar",
        nodes: int | None = None,
        qmax: float | None = None,
    ) -> tuple[Array, Array]:
        """(F, G) = (E[sigma(u) sigma(v)], E[sigma'(u) sigma'(v)]) for arrays of pairs (spec 2, 4).

        ``method``: ``auto`` (closed form when known), ``closed`` or ``quadrature``.
        ``rule``: ``polar`` (default) or ``hermite``; ``nodes`` overrides the node count
        (angular nodes per sub-panel for polar, per dimension for hermite). ``qmax`` bounds the
        variances for the polar rule; by default it is read off concrete arrays (inside a
        caller's ``jit`` pass it, else the rule assumes variances up to 32).
        """
        if method not in ("auto", "closed", "quadrature"):
            raise ConfigError("method", f"got {method!r}; allowed: auto, closed, quadrature")
        closed = self.closed_maps
        if method == "closed" or (method == "auto" and closed is not None):
            if closed is None:
                raise ConfigError(
                    "method", f"no closed form for {self.name!r}; allowed: quadrature"
                )
            return closed(q1, q2, c)
        f, g = quad_maps(self.fn, self.d1, q1, q2, c, rule=rule, nodes=nodes, qmax=qmax)
        assert g is not None  # a derivative was passed
        return f, g


def _derivative(fn: Callable[[Array], Array], order: int) -> Callable[[Array], Array]:
    g = fn
    for _ in range(order):
        g = jax.grad(g)

    def elementwise(z: Array) -> Array:
        z = jnp.asarray(z)
        flat = z.reshape(-1)
        return jax.vmap(g)(flat).reshape(z.shape)

    return elementwise


def get_activation(activation: str | Callable[[Array], Array] | Activation) -> Activation:
    """Look up a built-in name or wrap a user-supplied JAX function (Python API only)."""
    if isinstance(activation, Activation):
        return activation
    if callable(activation):
        return Activation(f"custom:{getattr(activation, '__name__', 'fn')}", activation)
    if not isinstance(activation, str) or activation not in _ALL:
        raise ConfigError("activation", f"unknown {activation!r}; allowed: {', '.join(_ALL)}")
    return Activation(activation, _ALL[activation])


# -- parametrized families with closed forms ---------------------------------------------------
@lru_cache(maxsize=256)
def abrelu(a: float, b: float) -> Activation:
    """sigma(z) = a z for z < 0, b z for z > 0 (NT's ABRelu); closed form from relu."""
    a = as_float("a", a)
    b = as_float("b", b)
    return Activation(f"abrelu({a:g},{b:g})", partial(_abrelu, a, b), partial(abrelu_maps, a, b))


@lru_cache(maxsize=256)
def leaky_relu(alpha: float = 0.01) -> Activation:
    """sigma(z) = z for z > 0, alpha z for z < 0: :func:`abrelu` (alpha, 1)."""
    alpha = as_float("alpha", alpha)
    if alpha == 0.01:
        return get_activation("leaky_relu")
    return Activation(
        f"leaky_relu({alpha:g})", partial(_abrelu, alpha, 1.0), partial(abrelu_maps, alpha, 1.0)
    )


def polynomial(coefficients: Sequence[float]) -> Activation:
    """sigma(z) = sum_i coefficients[i] z^i; exact maps by the finite Hermite sum."""
    coefs = tuple(as_float("coefficients", a) for a in coefficients)
    if not coefs:
        raise ConfigError("coefficients", "is empty; allowed: at least one coefficient")
    while len(coefs) > 1 and coefs[-1] == 0.0:
        coefs = coefs[:-1]
    return _polynomial_activation(coefs, f"polynomial{coefs}")


@lru_cache(maxsize=256)
def _polynomial_activation(coefs: tuple[float, ...], name: str) -> Activation:
    return Activation(name, partial(_polynomial, coefs), partial(polynomial_maps, coefs))


def monomial(degree: int) -> Activation:
    """sigma(z) = z^degree (degree >= 0)."""
    n = as_int("degree", degree, low=0, high=40)
    return _polynomial_activation((0.0,) * n + (1.0,), f"monomial({n})")


@lru_cache(maxsize=64)
def rectified_monomial(degree: int) -> Activation:
    """sigma(z) = relu(z)^degree (degree >= 1; 1 is relu): arc-cosine kernel of that order."""
    n = as_int("degree", degree, low=1, high=20)
    return Activation(
        f"rectified_monomial({n})",
        partial(_rectified_monomial, n),
        partial(rectified_monomial_maps, n),
    )

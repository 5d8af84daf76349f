"""Random fully connected ReLU networks and Telgarsky's sawtooth network (NumPy, float64).

    z^(1)(x) = W^(1) x + b^(1),   z^(l+1)(x) = W^(l+1) sigma(z^(l)(x)) + b^(l+1),   sigma(t) = max(t, 0)

with widths n_0 (input), n_1..n_L (hidden) and a linear read-out ``z^(L+1)`` of width n_out.
Initialisation (seed 002, lecture 11/30; Hanin & Rolnick 2019, Sec. 2): hidden weights
``W_ij ~ N(0, C_w / n_{l-1})`` (He init at ``C_w = 2``), the read-out ``N(0, 1 / n_L)``, and
biases with variance ``C_b``: Gaussian ``N(0, C_b)``, uniform ``U(-sqrt(3 C_b), sqrt(3 C_b))`` or
zero. A net is a list of ``(W, b)`` pairs, the last one the read-out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BIASES = ("gaussian", "uniform", "zero")


@dataclass(frozen=True)
class Net:
    """A ReLU net: ``layers[l] = (W, b)`` for l = 0..L, the last pair the linear read-out."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def input_dim(self) -> int:
        return int(self.layers[0][0].shape[1])

    @property
    def widths(self) -> tuple[int, ...]:
        """Hidden widths n_1..n_L."""
        return tuple(int(w.shape[0]) for w, _ in self.layers[:-1])

    @property
    def neurons(self) -> int:
        return int(sum(self.widths))

    @property
    def hidden(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        return self.layers[:-1]

    @property
    def readout(self) -> tuple[np.ndarray, np.ndarray]:
        return self.layers[-1]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Outputs at inputs ``x`` of shape (..., n_0)."""
        h = np.asarray(x, dtype=np.float64)
        for w, b in self.hidden:
            h = np.maximum(h @ w.T + b, 0.0)
        w, b = self.readout
        return h @ w.T + b

    def preactivations(self, x: np.ndarray) -> list[np.ndarray]:
        """Pre-activations ``z^(l)(x)`` of every hidden layer at inputs ``x`` (..., n_0)."""
        h = np.asarray(x, dtype=np.float64)
        out = []
        for w, b in self.hidden:
            z = h @ w.T + b
            out.append(z)
            h = np.maximum(z, 0.0)
        return out


def bias_std(c_b: float) -> float:
    return math.sqrt(c_b)


def sample_bias(rng: np.random.Generator, n: int, c_b: float, kind: str) -> np.ndarray:
    """Biases of variance ``C_b``: N(0, C_b), U(-sqrt(3 C_b), sqrt(3 C_b)) or zero."""
    if kind == "gaussian":
        return rng.normal(0.0, math.sqrt(c_b), size=n)
    if kind == "uniform":
        half = math.sqrt(3.0 * c_b)
        return rng.uniform(-half, half, size=n)
    if kind == "zero":
        return np.zeros(n)
    raise ValueError(f"bias kind {kind!r} not in {BIASES}")


def random_net(
    rng: np.random.Generator,
    input_dim: int,
    widths: Sequence[int],
    *,
    c_w: float = 2.0,
    c_b: float = 0.1,
    bias: str = "gaussian",
    outputs: int = 1,
) -> Net:
    """A net with ``W ~ N(0, C_w / fan_in)`` (read-out ``N(0, 1 / fan_in)``) and biases of
    variance ``C_b`` (Hanin & Rolnick 2019, Sec. 2; seed 002, lecture 12/5)."""
    layers = []
    fan_in = int(input_dim)
    for width in widths:
        w = rng.normal(0.0, math.sqrt(c_w / fan_in), size=(int(width), fan_in))
        layers.append((w, sample_bias(rng, int(width), c_b, bias)))
        fan_in = int(width)
    w = rng.normal(0.0, math.sqrt(1.0 / fan_in), size=(outputs, fan_in))
    layers.append((w, sample_bias(rng, outputs, c_b, bias)))
    return Net(tuple(layers))


def net_rng(seed: int, index: int = 0) -> np.random.Generator:
    """The generator of net number ``index`` under ``seed`` (independent streams, never reused)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def telgarsky_net(depth: int) -> Net:
    """Telgarsky's sawtooth: ``f(x) = sigma(2 sigma(x) - 4 sigma(x - 1/2))`` composed ``depth``
    times (seed 002, lecture 12/5, Theorem A; Telgarsky 2015).

    Hidden widths (2, 1, 2, 1, ..., 2): 2 depth - 1 hidden layers, ``3 depth - 1`` neurons and a
    linear read-out (depth ``2 depth``); the last outer sigma is dropped because the tent map
    ``2 sigma(x) - 4 sigma(x - 1/2)`` already lies in [0, 1] on [0, 1]. On [0, 1] the output is
    the tent map iterated ``depth`` times: 2^depth linear pieces.
    """
    if depth < 1:
        raise ValueError("depth must be >= 1")
    pair_w = np.array([[1.0], [1.0]])
    pair_b = np.array([0.0, -0.5])
    tent_w = np.array([[2.0, -4.0]])
    layers: list[tuple[np.ndarray, np.ndarray]] = [(pair_w, pair_b)]
    for _ in range(depth - 1):
        layers.append((tent_w.copy(), np.zeros(1)))  # outer sigma of this f
        layers.append((pair_w.copy(), pair_b.copy()))  # inner pair of the next f
    layers.append((tent_w.copy(), np.zeros(1)))  # the last tent, linear
    return Net(tuple(layers))


def tent_power(x: np.ndarray, depth: int) -> np.ndarray:
    """The tent map ``T(x) = 2x`` on [0, 1/2], ``2 - 2x`` on [1/2, 1], iterated ``depth`` times."""
    y = np.asarray(x, dtype=np.float64)
    for _ in range(depth):
        y = np.where(y <= 0.5, 2.0 * y, 2.0 - 2.0 * y)
    return y

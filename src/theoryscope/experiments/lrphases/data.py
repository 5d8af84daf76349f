"""The fixed training set of a learning-rate-phases run: inputs on the unit sphere and labels.

Both are drawn with NumPy from ``config.data_seed`` (never from the run seed), so the theory,
which only sees the config, knows the data exactly.
"""

from __future__ import annotations

import numpy as np

from theoryscope.experiments.lrphases.config import Config

#: Width of the fixed random tanh teacher used by ``target="teacher"``.
TEACHER_WIDTH = 16


def make_data(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Inputs X (n, d) with unit-norm rows (norm sqrt(d) in mode eos) and labels y (n,), float64.

    Unit-norm rows make the single-sample NTK lambda = (|Ux|^2 + |v|^2) / m exactly as in
    Lewkowycz et al. (2020), section 2, where x is a unit vector. In mode relu the rows are
    z + input_mean sqrt(d) e_1 normalized (z the same Gaussian draw): input_mean = 0 gives the
    same isotropic inputs as catapult mode, input_mean > 0 a common component.
    """
    rng = np.random.default_rng(config.data_seed)
    n, d = int(config.n or 1), int(config.d or 1)
    x = rng.standard_normal((n, d))
    if config.mode == "relu" and config.input_mean > 0:
        x[:, 0] += float(config.input_mean) * np.sqrt(d)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    if config.mode == "eos":
        x *= np.sqrt(d)  # |x|^2 = d: O(1) coordinates, the usual scale for an MLP's inputs
    scale = float(config.target_scale or 0.0)
    if config.target == "zero":
        y = np.zeros(n)
    elif config.target == "random":
        y = scale * rng.standard_normal(n)
    else:
        w1 = rng.standard_normal((d, TEACHER_WIDTH)) * np.sqrt(d) / np.linalg.norm(x[0])
        w2 = rng.standard_normal(TEACHER_WIDTH)
        raw = np.tanh(x @ w1) @ w2
        std = float(np.std(raw))
        y = scale * (raw - raw.mean()) / std if n > 1 and std > 0 else scale * np.sign(raw)
    return x, y


def infinite_width_ntk(x: np.ndarray) -> float:
    """Top eigenvalue of Theta_inf / n for the uv model with N(0, 1) weights.

    Theta(x_a, x_b) = (|v|^2 x_a.x_b + (U x_a).(U x_b)) / m -> 2 x_a.x_b as m -> inf
    (E|v|^2 = m, E U^T U = m I), and the loss (1/2n) sum_a (f_a - y_a)^2 gives GD the kernel
    Theta / n (Lewkowycz et al. 2020, section 2 and appendix; lecture "LR in NTK/GP regime").
    """
    n = x.shape[0]
    return float(np.linalg.eigvalsh(2.0 * x @ x.T / n)[-1])

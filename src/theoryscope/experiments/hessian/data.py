"""The training set of a loss-Hessian run: a C-class Gaussian mixture or scikit-learn's digits.

Both are drawn with NumPy from ``config.data_seed`` (never from the run seed), sorted by class
(``y = 0, ..., 0, 1, ..., C-1``, n of each), so every class has exactly n examples and the class
means of the collapse metrics are plain averages.

    gaussian   mu_c = s u_c with u_c = e_c (orthogonal: every pair of classes equally far apart)
               or u_c uniform on the unit sphere of R^d (random);  x = mu_c + sigma z, z ~ N(0, I)
               (the lectures' bulk-and-outlier toy: clusters whose variance grows, seed 002, 10/3)
    digits     scikit-learn's 8x8 handwritten digits (1797 images shipped with the package, no
               download), classes 0..C-1, n images per class drawn without replacement, each
               pixel standardized over the whole set (constant pixels stay 0)
"""

from __future__ import annotations

import numpy as np

from theoryscope.experiments.hessian.config import Config


def gaussian_mixture(
    classes: int, per_class: int, dim: int, separation: float, noise: float, seed: int,
    means: str = "orthogonal",
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Inputs (C n, d) and labels (C n,) of the mixture above, float64, sorted by class."""
    rng = np.random.default_rng([seed, 11])
    if means == "orthogonal":
        u = np.eye(classes, dim)
    else:
        u = rng.standard_normal((classes, dim))
        u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-300)
    centres = separation * u
    y = np.repeat(np.arange(classes), per_class)
    x = centres[y] + noise * rng.standard_normal((classes * per_class, dim))
    return x, y


def digits(classes: int, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n standardized digit images of each class 0..C-1 (float64, sorted by class)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.data, dtype=np.float64)
    target = np.asarray(bunch.target, dtype=np.int64)
    mean = images.mean(axis=0)
    std = images.std(axis=0)
    images = (images - mean) / np.where(std > 0, std, 1.0)
    rng = np.random.default_rng([seed, 12])
    xs, ys = [], []
    for c in range(classes):
        pool = np.nonzero(target == c)[0]
        pick = np.sort(rng.choice(pool, size=per_class, replace=False))
        xs.append(images[pick])
        ys.append(np.full(per_class, c))
    return np.concatenate(xs), np.concatenate(ys)


def make_data(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """The run's inputs X (N, d) and labels y (N,), N = C n."""
    if config.data == "digits":
        return digits(config.classes, config.per_class, config.data_seed)
    return gaussian_mixture(
        config.classes, config.per_class, config.dim, config.separation, config.noise,
        config.data_seed, config.means,
    )  # fmt: skip

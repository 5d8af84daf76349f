"""Teacher, student initialization and training data of the polynomial-network experiment.

Teacher (Arjevani et al. 2025, arXiv 2501.06074, section 4 "teacher-student problems"):
f*(x) = sum_{j<=r*} (w*_j . x)^p. With ``teacher="orthogonal"``, w*_j = sqrt(lambda_j) u_j with
u_j orthonormal and lambda_j = decay^(j-1), so for p = 2, M* = W*^T W* has eigenvalues lambda_j.
"""

from __future__ import annotations

import numpy as np

from theoryscope.experiments.polynets.config import Config

#: Offsets of the independent streams drawn from ``data_seed``.
_TEACHER_STREAM = 0
_SAMPLE_STREAM = 1


def make_teacher(config: Config) -> np.ndarray:
    """Teacher weights W* (r*, d), fixed by ``data_seed``."""
    d, rs = int(config.d), int(config.teacher_width)
    rng = np.random.default_rng([int(config.data_seed), _TEACHER_STREAM])
    if config.teacher == "gaussian":
        return rng.standard_normal((rs, d)) / np.sqrt(d)
    g = rng.standard_normal((d, max(d, rs)))
    q, _ = np.linalg.qr(g)
    u = np.stack([q[:, j % d] for j in range(rs)])  # rows; repeats only when r* > d
    lam = float(config.teacher_decay) ** np.arange(rs)
    return np.sqrt(lam)[:, None] * u


def teacher_matrix(w_star: np.ndarray) -> np.ndarray:
    """M* = W*^T W* (p = 2: f*(x) = x^T M* x)."""
    return w_star.T @ w_star


def teacher_spectrum(w_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of M* in decreasing order (length d) and the eigenvectors as columns."""
    vals, vecs = np.linalg.eigh(teacher_matrix(w_star))
    order = np.argsort(vals)[::-1]
    return np.clip(vals[order], 0.0, None), vecs[:, order]


def init_students(config: Config, seeds: list[int]) -> np.ndarray:
    """Student weights (B, r, d), W_ij ~ N(0, init^2), one independent stream per seed."""
    r, d = int(config.width), int(config.d)
    return np.stack(
        [float(config.init) * np.random.default_rng(int(s)).standard_normal((r, d)) for s in seeds]
    )


def make_samples(config: Config) -> np.ndarray | None:
    """The fixed training inputs x_s ~ N(0, I_d) (None for population GD)."""
    if config.samples is None:
        return None
    rng = np.random.default_rng([int(config.data_seed), _SAMPLE_STREAM])
    return rng.standard_normal((int(config.samples), int(config.d)))

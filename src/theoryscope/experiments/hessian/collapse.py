"""Neural-collapse metrics of the penultimate features (Papyan, Han, Donoho, PNAS 2020).

For features h_i (N, m) with labels y_i, n_c examples of class c and classifier (W (m, C), b):

    mu_G = Ave_i h_i,  mu_c = Ave_{i in c} h_i,  M = [mu_c - mu_G]_c  (m x C)
    Sigma_W = Ave_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T,  Sigma_B = Ave_c (mu_c - mu_G)(mu_c - mu_G)^T

    NC1  tr(Sigma_W Sigma_B^+) / C                                       -> 0   (PHD fig. 6)
    NC2  equinorm  std_c ||mu_c - mu_G|| / mean_c ||mu_c - mu_G||        -> 0   (fig. 2)
         equiangular  cos_{c c'} = <mu_c - mu_G, mu_c' - mu_G> / norms, c != c':
         std of the cosines -> 0 (fig. 3), mean |cos + 1/(C-1)| -> 0 (fig. 4)
    NC3  || W^T / ||W||_F - M^T / ||M||_F ||_F^2                          -> 0   (fig. 5)
    NC4  fraction of examples with argmax_c (W^T h + b)_c != argmin_c ||h - mu_c||  -> 0 (fig. 7)

(the simplex equiangular tight frame is the limit: C equal-norm vectors with pairwise cosine
-1/(C-1), the most separated configuration; PHD definition 2). Pure NumPy float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def collapse_metrics(
    h: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray, classes: int
) -> dict[str, float]:
    """NC1-NC4 (module docstring) as plain floats; NaN where undefined (a degenerate class
    mean: zero norm)."""
    h = np.asarray(h, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    y = np.asarray(y)
    mu_g = h.mean(axis=0)
    mu = np.stack([h[y == c].mean(axis=0) for c in range(classes)])  # (C, m)
    centred = mu - mu_g  # rows mu_c - mu_G
    dev = h - mu[y]
    sigma_w = dev.T @ dev / len(h)
    sigma_b = centred.T @ centred / classes
    nc1 = float(np.trace(sigma_w @ np.linalg.pinv(sigma_b, rcond=1e-10, hermitian=True)) / classes)
    norms = np.linalg.norm(centred, axis=1)
    out: dict[str, float] = {"nc1": nc1}
    if np.all(norms > 0):
        out["nc2_equinorm"] = float(norms.std() / norms.mean())
        unit = centred / norms[:, None]
        cos = unit @ unit.T
        pairs = cos[~np.eye(classes, dtype=bool)]
        out["nc2_cos_mean"] = float(pairs.mean())
        out["nc2_cos_std"] = float(pairs.std())
        out["nc2_cos_dev"] = float(np.mean(np.abs(pairs + 1.0 / (classes - 1))))
    else:
        for key in ("nc2_equinorm", "nc2_cos_mean", "nc2_cos_std", "nc2_cos_dev"):
            out[key] = float("nan")
    wt = w.T  # (C, m): rows w_c
    w_norm, m_norm = np.linalg.norm(wt), np.linalg.norm(centred)
    out["nc3"] = (
        float(np.sum((wt / w_norm - centred / m_norm) ** 2))
        if w_norm > 0 and m_norm > 0
        else float("nan")
    )
    predicted = np.argmax(h @ w + b, axis=1)
    dist = np.sum((h[:, None, :] - mu[None, :, :]) ** 2, axis=2)
    out["nc4"] = float(np.mean(predicted != np.argmin(dist, axis=1)))
    return out


def simplex_etf(classes: int, dim: int, scale: float = 1.0, seed: int = 0) -> np.ndarray:
    """C vectors (C, dim) of a simplex ETF: ``scale sqrt(C/(C-1)) (I - 11^T/C)`` rotated into
    R^dim by a random partial orthogonal matrix (dim >= C); norms ``scale``, cosines -1/(C-1)."""
    if dim < classes:
        raise ValueError(f"dim {dim} < classes {classes}")
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((dim, classes)))
    base = np.sqrt(classes / (classes - 1)) * (np.eye(classes) - 1.0 / classes)
    return scale * base @ q.T


NC_KEYS = ("nc1", "nc2_equinorm", "nc2_cos_mean", "nc2_cos_std", "nc2_cos_dev", "nc3", "nc4")


def as_row(metrics: dict[str, Any]) -> list[float]:
    return [float(metrics[k]) for k in NC_KEYS]

"""Statistics of latent codes."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lcwbench.errors import LcwbenchError


def _array(x: Any) -> np.ndarray:
    if torch.is_tensor(x):
        x = x.detach().cpu().to(torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def offdiag_cov(z: Any) -> float:
    """Mean absolute off-diagonal entry of the unbiased sample covariance of ``z`` (N x D, N >= 2).

    0.0 when D = 1 (no off-diagonal entries).
    """
    a = _array(z)
    if a.ndim != 2:
        raise LcwbenchError(f"latent codes must be N x D, got shape {a.shape}")
    n, d = a.shape
    if n < 2:
        raise LcwbenchError(f"covariance needs at least 2 latent codes, got {n}")
    if d == 1:
        return 0.0
    cov = np.cov(a, rowvar=False)
    off = ~np.eye(d, dtype=bool)
    return float(np.abs(cov[off]).mean())


def active_dims(mask: Any, threshold: float = 0.1) -> int:
    """Number of entries of ``mask`` that are >= ``threshold``."""
    return int((_array(mask) >= threshold).sum())

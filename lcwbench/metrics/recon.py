"""Reconstruction metrics: PSNR, per-image squared error, MSE.

Inputs are torch tensors or numpy arrays of identical shape N x ... (images first); computations run
in float64 on the tensors' device and return Python floats.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lcwbench.errors import LcwbenchError

# per-image MSE floor for PSNR: an exact reconstruction scores 10*log10(data_range^2 / 1e-10)
# (100 dB for data_range 1) instead of infinity
PSNR_MSE_FLOOR = 1e-10


def _pair(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    tx = x.detach() if torch.is_tensor(x) else torch.from_numpy(np.asarray(x))
    ty = y.detach() if torch.is_tensor(y) else torch.from_numpy(np.asarray(y))
    if tx.shape != ty.shape:
        raise LcwbenchError(f"shapes differ: {tuple(tx.shape)} vs {tuple(ty.shape)}")
    if tx.dim() < 1 or tx.shape[0] == 0 or tx.numel() == 0:
        raise LcwbenchError(f"need a non-empty batch N x ..., got shape {tuple(tx.shape)}")
    tx = tx.to(torch.float64)
    ty = ty.to(device=tx.device, dtype=torch.float64)
    return tx, ty


def _per_image_sq(x: Any, y: Any) -> torch.Tensor:
    tx, ty = _pair(x, y)
    return (tx - ty).square().reshape(tx.shape[0], -1)


def psnr(x: Any, y: Any, data_range: float = 1.0) -> float:
    """Mean over images of 10*log10(data_range^2 / mse_i), mse_i the mean squared error of image i.

    mse_i is clamped below at ``PSNR_MSE_FLOOR`` = 1e-10, so identical images give a finite value
    (100 dB for ``data_range=1``) rather than infinity.
    """
    if not data_range > 0:
        raise LcwbenchError(f"PSNR data_range must be positive, got {data_range}")
    mse_i = _per_image_sq(x, y).mean(dim=1).clamp_min(PSNR_MSE_FLOOR)
    return float((10.0 * torch.log10(data_range**2 / mse_i)).mean())


def rec_error(x: Any, y: Any) -> float:
    """Per-image SUM of squared errors, averaged over images."""
    return float(_per_image_sq(x, y).sum(dim=1).mean())


def mse(x: Any, y: Any) -> float:
    """Mean squared error over all entries."""
    return float(_per_image_sq(x, y).mean())

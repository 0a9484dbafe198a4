"""Distance of points to a known data manifold (vector data sets whose generating curve is known).

For the swiss roll (:func:`lcwbench.data.synthetic.load_swissroll`) the manifold is the noise-free
curve ``x(t) = (t cos t, t sin t) / (4.5 pi)``, ``t in [1.5 pi, 4.5 pi]``. It is represented by a dense,
deterministic sample: ``DENSE_N`` = 100,000 points at evenly spaced ``t`` (consecutive points are at most
about 1e-4 apart in the data's units, so the discretisation adds at most about 5e-5 to a distance).

``manifold_distance(points, reference)`` is the mean over ``points`` of the Euclidean distance to the
nearest reference point. Distances are computed in float64 as matrix products
(``||a||^2 + ||b||^2 - 2 a.b``, :func:`torch.cdist`), a block of query rows at a time so that memory
stays bounded (``MAX_BLOCK_ENTRIES`` distances per block).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from lcwbench.data.synthetic import SWISSROLL_SCALE
from lcwbench.errors import LcwbenchError

DENSE_N = 100_000
SWISSROLL_T_RANGE = (1.5 * math.pi, 4.5 * math.pi)  # as lcwbench.data.synthetic.load_swissroll draws t
MAX_BLOCK_ENTRIES = 1 << 23  # distances held at once (64 MiB in float64)


def _as_float64(a: Any, what: str) -> torch.Tensor:
    t = a.detach() if torch.is_tensor(a) else torch.from_numpy(np.asarray(a))
    t = t.to(device="cpu", dtype=torch.float64)
    if t.dim() != 2 or t.shape[0] == 0:
        raise LcwbenchError(f"{what} must be a non-empty N x D array, got shape {tuple(t.shape)}")
    return t


def swissroll_curve(t: torch.Tensor) -> torch.Tensor:
    """Points of the noise-free swiss roll at parameters ``t`` (float64, shape N x 2)."""
    t = t.to(torch.float64)
    return torch.stack((t * torch.cos(t), t * torch.sin(t)), dim=1) / SWISSROLL_SCALE


def swissroll_dense(n: int = DENSE_N) -> torch.Tensor:
    """``n`` points of the noise-free swiss roll at evenly spaced t (deterministic), float64 N x 2."""
    if n < 2:
        raise LcwbenchError(f"the dense swiss-roll sample needs n >= 2, got {n}")
    return swissroll_curve(torch.linspace(*SWISSROLL_T_RANGE, n, dtype=torch.float64))


def nearest_distances(points: Any, reference: Any, max_block_entries: int = MAX_BLOCK_ENTRIES) -> torch.Tensor:
    """Euclidean distance from each row of ``points`` to its nearest row of ``reference`` (float64, CPU)."""
    p = _as_float64(points, "points")
    r = _as_float64(reference, "reference")
    if p.shape[1] != r.shape[1]:
        raise LcwbenchError(f"points have {p.shape[1]} dimensions but the reference has {r.shape[1]}")
    if not torch.isfinite(p).all():
        raise LcwbenchError("points contain NaN or infinite values; no distance to the manifold can be computed")
    block = max(1, int(max_block_entries) // r.shape[0])
    out = []
    for i in range(0, p.shape[0], block):
        d = torch.cdist(p[i : i + block], r, compute_mode="use_mm_for_euclid_dist")
        out.append(d.min(dim=1).values)
    return torch.cat(out)


def manifold_distance(points: Any, reference: Any, max_block_entries: int = MAX_BLOCK_ENTRIES) -> float:
    """Mean over ``points`` of the distance to the nearest ``reference`` point."""
    return float(nearest_distances(points, reference, max_block_entries).mean())


MANIFOLD_DATASETS = ("swissroll",)  # data sets whose noise-free manifold is known


def manifold_reference(dataset: str) -> tuple[torch.Tensor, str] | None:
    """The dense reference sample of ``dataset``'s noise-free manifold, or None when it has none."""
    if dataset == "swissroll":
        lo, hi = SWISSROLL_T_RANGE
        return swissroll_dense(DENSE_N), (
            f"noise-free swiss roll (t cos t, t sin t)/{SWISSROLL_SCALE:.6g}, {DENSE_N} points at evenly spaced"
            f" t in [{lo:.6g}, {hi:.6g}]"
        )
    return None

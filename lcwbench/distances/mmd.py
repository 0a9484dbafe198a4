r"""Maximum mean discrepancy with the inverse multiquadratic kernel (WAE-MMD, Tolstikhin et al. 2018).

For samples X = (x_i), i=1..n and Y = (y_j), j=1..m in R^D the unbiased (U-statistic) estimate is

    MMD^2 = 1/(n(n-1)) sum_{i != i'} k(x_i, x_i') + 1/(m(m-1)) sum_{j != j'} k(y_j, y_j')
            - 2/(nm) sum_{i,j} k(x_i, y_j),

with k(a, b) = sum_s C_s / (C_s + |a - b|^2) and C_s = 2 D s over the scales s. The diagonal terms
(i = i') are left out of the within-sample sums, so the estimate can be
slightly negative. Pairwise distances are matrix products (``pairwise_sq_dists``).
"""

from __future__ import annotations

import torch

from lcwbench.distances.cw import pairwise_sq_dists
from lcwbench.errors import LcwbenchError

IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def _imq(sq: torch.Tensor, dim: int, scales: tuple[float, ...]) -> torch.Tensor:
    total = torch.zeros_like(sq)
    for s in scales:
        c = 2.0 * dim * s
        total = total + c / (c + sq)
    return total


def mmd_imq(x: torch.Tensor, y: torch.Tensor, scales: tuple[float, ...] = IMQ_SCALES) -> torch.Tensor:
    """Unbiased MMD^2 between the rows of ``x`` (n x D) and ``y`` (m x D) with the multi-scale IMQ kernel."""
    if x.dim() < 2 or y.dim() < 2:
        raise LcwbenchError(f"mmd_imq needs batched samples, got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    x = x.reshape(x.shape[0], -1)
    y = y.reshape(y.shape[0], -1)
    n, m = x.shape[0], y.shape[0]
    if x.shape[1] != y.shape[1]:
        raise LcwbenchError(f"mmd_imq: samples differ in dimension ({x.shape[1]} vs {y.shape[1]})")
    if n < 2 or m < 2:
        raise LcwbenchError(f"mmd_imq needs at least 2 points per sample, got {n} and {m}")
    if not scales:
        raise LcwbenchError("mmd_imq needs at least one kernel scale")
    d = x.shape[1]
    kxx = _imq(pairwise_sq_dists(x, x), d, scales)
    kyy = _imq(pairwise_sq_dists(y, y), d, scales)
    kxy = _imq(pairwise_sq_dists(x, y), d, scales)
    # Leave the diagonal (i = i') out of the within-sample sums: the U-statistic.
    xx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return xx + yy - 2.0 * kxy.mean()

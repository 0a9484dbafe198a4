r"""Sliced Wasserstein distance (SW-Generator, Deshpande, Zhang and Schwing 2018).

Both samples are flattened to n x D and projected onto P random unit directions (one matrix
product). In one dimension the optimal coupling of two equal-size samples pairs them in sorted
order, so SW_2^2 is estimated as the mean over directions and sorted positions of the squared
difference of the sorted projections. Directions are drawn from ``generator`` (or the global torch
RNG, so seeded runs repeat) on the samples' device; they carry no gradient.
"""

from __future__ import annotations

import torch

from lcwbench.errors import LcwbenchError


def random_directions(
    dim: int, num: int, *, generator: torch.Generator | None = None, device=None, dtype=None
) -> torch.Tensor:
    """``num`` directions uniform on the unit sphere of R^dim, as the columns of a dim x num matrix."""
    theta = torch.randn(dim, num, generator=generator, device=device, dtype=dtype)
    return theta / theta.norm(dim=0, keepdim=True)


def sliced_wasserstein(
    x: torch.Tensor, y: torch.Tensor, num_projections: int = 5000, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Monte-Carlo SW_2^2 between the equal-size samples ``x`` and ``y`` over ``num_projections`` directions."""
    if x.dim() < 2 or y.dim() < 2:
        raise LcwbenchError(
            f"sliced_wasserstein needs batched samples, got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )
    x = x.reshape(x.shape[0], -1)
    y = y.reshape(y.shape[0], -1)
    if x.shape != y.shape:
        raise LcwbenchError(
            f"sliced_wasserstein needs two samples of equal size and dimension, got {tuple(x.shape)}"
            f" and {tuple(y.shape)}"
        )
    if num_projections < 1:
        raise LcwbenchError(f"sliced_wasserstein: num_projections must be >= 1, got {num_projections}")
    theta = random_directions(x.shape[1], num_projections, generator=generator, device=x.device, dtype=x.dtype)
    px = torch.sort(x @ theta, dim=0).values
    py = torch.sort(y @ theta, dim=0).values
    return (px - py).pow(2).mean()

r"""Cramer-Wold (CW) distances of Tabor et al. (2018) as used by Knop et al. (LCW paper, seed 001).

The formulas are the ones the authors' published code computes (reference/hyperparameters.md §1):

* ``cw_normality`` (001 L80-86): distance of a latent sample to N(0, I_D), *without* the
  1/(2 sqrt(pi)) prefactor the paper writes on the left-hand side,

      (1+g)^(-1/2) + 1/n^2 sum_ij (g + |z_i-z_j|^2/(2D-3))^(-1/2) - 2/n sum_i (g + 1/2 + |z_i|^2/(2D-3))^(-1/2)

  with Silverman's bandwidth g = (4/(3n))^(2/5) by default (diagonal terms i = j included).

* ``cw_sampling`` (001 L90-92): two-sample distance in data space,

      1/(2 sqrt(pi g)) [ mean_ij phi(|x_i-x_j|^2/(4g)) + mean_ij phi(|y_i-y_j|^2/(4g))
                         - 2 mean_ij phi(|x_i-y_j|^2/(4g)) ],   phi(s) = (1 + 4s/(2D-3))^(-1/2).

  The paper prints 2/n in front of the cross term; the code (and the only consistent reading) uses
  the mean over all n^2 pairs (reference/ambiguities.md A7).

The asymptotic formulas need 2D - 3 > 0, i.e. D >= 2 (the paper's Fig. 4 uses a 2-D latent); they are
meant for D >= 3. All pairwise distances are matrix products, never ``torch.cdist``.
"""

from __future__ import annotations

import math

import torch

from lcwbench.errors import LcwbenchError


def silverman_gamma(std: float | torch.Tensor, n: int) -> float | torch.Tensor:
    """Silverman's rule of thumb for the CW bandwidth: (1.06 * std * n^(-1/5))^2."""
    return (1.06 * std * n ** (-1.0 / 5.0)) ** 2


def pairwise_sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances between the rows of ``a`` (n x D) and ``b`` (m x D), clamped at 0."""
    aa = (a * a).sum(dim=1, keepdim=True)
    bb = (b * b).sum(dim=1, keepdim=True)
    return (aa + bb.T - 2.0 * (a @ b.T)).clamp_min(0.0)


def _flat(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.dim() < 2:
        raise LcwbenchError(f"CW distance: {name} must have a batch dimension, got shape {tuple(x.shape)}")
    x = x.reshape(x.shape[0], -1)
    if x.shape[1] < 2:
        raise LcwbenchError(f"CW distance: {name} has dimension {x.shape[1]}; the formula needs D >= 2")
    return x


def cw_normality(z: torch.Tensor, gamma: float | None = None) -> torch.Tensor:
    """CW distance (squared, no 2 sqrt(pi) prefactor) of the sample ``z`` (n x D) to N(0, I_D)."""
    z = _flat(z, "z")
    n, d = z.shape
    if gamma is None:
        gamma = (4.0 / (3.0 * n)) ** 0.4
    k = 2.0 * d - 3.0
    pair = (gamma + pairwise_sq_dists(z, z) / k).rsqrt().sum() / (n * n)
    norm = (gamma + 0.5 + (z * z).sum(dim=1) / k).rsqrt().sum() * (2.0 / n)
    return (1.0 + gamma) ** -0.5 + pair - norm


def cw_sampling(x: torch.Tensor, y: torch.Tensor, gamma: float | torch.Tensor) -> torch.Tensor:
    """Two-sample CW distance between ``x`` and ``y`` (equal sizes; flattened to n x D) at bandwidth gamma."""
    x = _flat(x, "x")
    y = _flat(y, "y")
    if x.shape != y.shape:
        raise LcwbenchError(f"cw_sampling needs two samples of equal shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    d = x.shape[1]
    scale = 1.0 / (gamma * (2.0 * d - 3.0))  # phi(|a-b|^2/(4g)) = (1 + |a-b|^2 / (g (2D-3)))^(-1/2)

    def mean_phi(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (1.0 + pairwise_sq_dists(a, b) * scale).rsqrt().mean()

    total = mean_phi(x, x) + mean_phi(y, y) - 2.0 * mean_phi(x, y)
    return total / (2.0 * torch.sqrt(torch.as_tensor(math.pi * gamma, dtype=x.dtype, device=x.device)))


def cw_sampling_silverman(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``cw_sampling`` with gamma from Silverman's rule on the std of all entries of ``y`` (no gradient)."""
    with torch.no_grad():
        std = y.detach().std().item()
    return cw_sampling(x, y, silverman_gamma(std, x.shape[0]))

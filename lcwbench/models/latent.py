"""Latent generator of the LCW paper's Latent Trick (001 L255).

``depth`` x [Linear(width), BatchNorm1d, ReLU], then a linear layer to the latent. The paper gives
five 512-unit ReLU layers "with batch normalization" and a final linear layer; it does not say where
the normalisation sits, so it goes between each linear layer and its ReLU.
"""

from __future__ import annotations

import torch
from torch import nn


class LatentGenerator(nn.Module):
    """Maps noise in R^noise_dim to codes in R^latent_dim."""

    def __init__(self, noise_dim: int, latent_dim: int, width: int = 512, depth: int = 5):
        super().__init__()
        layers: list[nn.Module] = []
        d = noise_dim
        for _ in range(depth):
            layers += [nn.Linear(d, width), nn.BatchNorm1d(width), nn.ReLU()]
            d = width
        layers.append(nn.Linear(d, latent_dim))
        self.net = nn.Sequential(*layers)
        self.noise_dim = noise_dim
        self.latent_dim = latent_dim

    def forward(self, eps: torch.Tensor) -> torch.Tensor:
        return self.net(eps)

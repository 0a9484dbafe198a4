"""Fully connected encoder/decoder of the LCW paper for MNIST and Fashion-MNIST (001 L235-239).

Encoder: ``depth`` x [Linear(width), ReLU], then a linear latent layer (the paper does not state the
latent layer's activation; linear is what a Gaussian prior needs). Decoder: ``depth`` x [Linear(width),
ReLU], then Linear to the image and a sigmoid, so outputs lie in [0, 1] like the data.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def mlp(sizes: list[int], act: type[nn.Module] = nn.ReLU, final_act: nn.Module | None = None) -> nn.Sequential:
    """Linear layers between consecutive ``sizes`` with ``act`` after all but the last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    if final_act is not None:
        layers.append(final_act)
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    def __init__(self, sample_shape: tuple[int, ...], latent_dim: int, width: int = 200, depth: int = 3):
        super().__init__()
        d_in = math.prod(sample_shape)
        self.net = mlp([d_in] + [width] * depth + [latent_dim])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(x.shape[0], -1))


class MLPDecoder(nn.Module):
    def __init__(
        self,
        sample_shape: tuple[int, ...],
        latent_dim: int,
        width: int = 200,
        depth: int = 3,
        out_act: str = "sigmoid",
    ):
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        final = {"sigmoid": nn.Sigmoid(), "linear": None}[out_act]
        self.net = mlp([latent_dim] + [width] * depth + [math.prod(sample_shape)], final_act=final)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).reshape(z.shape[0], *self.sample_shape)

"""Convolutional encoder/decoder of the LCW paper for CelebA (001 L241-253), sized by image side.

Encoder: four 4x4 convolutions, stride 2, padding 1, each followed by batch norm and ReLU, with
128, 256, 512, 1024 channels (001 L245), then a linear layer to the latent. The paper states neither
strides nor the latent projection; stride 2 with a linear head is the WAE/CWAE CelebA design the paper
follows. For 64x64 images the last feature map is 1024 x 4 x 4.

Decoder: a dense layer to 1024 x (s/8) x (s/8) (the paper's "dense 1024 neuron layer", read as WAE's
"FC 8x8x1024" for 64x64), three 4x4 transposed convolutions, stride 2, with batch norm and ReLU
(512, 256, 128 channels), and a final 3x3 transposed convolution to the image channels. The paper ends
with tanh; the harness keeps every image in [0, 1], so the output is (tanh(x) + 1) / 2 (``out_act =
"tanh01"``), the same function shifted and scaled. The same nets serve 32x32 (CIFAR-10) and 128x128.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvEncoder(nn.Module):
    def __init__(
        self,
        sample_shape: tuple[int, ...],
        latent_dim: int,
        channels: tuple[int, ...] = (128, 256, 512, 1024),
    ):
        super().__init__()
        c, h, w = sample_shape
        if h != w or h % (2 ** len(channels)) != 0:
            raise ValueError(f"conv encoder needs square images divisible by {2 ** len(channels)}, got {h}x{w}")
        layers: list[nn.Module] = []
        for out in channels:
            layers += [nn.Conv2d(c, out, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            c = out
        self.features = nn.Sequential(*layers)
        side = h // 2 ** len(channels)
        self.head = nn.Linear(c * side * side, latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    def __init__(
        self,
        sample_shape: tuple[int, ...],
        latent_dim: int,
        channels: tuple[int, ...] = (1024, 512, 256, 128),
        out_act: str = "tanh01",
    ):
        super().__init__()
        c_out, h, w = sample_shape
        n_up = len(channels) - 1
        if h != w or h % (2**n_up) != 0:
            raise ValueError(f"conv decoder needs square images divisible by {2**n_up}, got {h}x{w}")
        self.start = (channels[0], h // 2**n_up, w // 2**n_up)
        self.fc = nn.Sequential(nn.Linear(latent_dim, channels[0] * self.start[1] * self.start[2]), nn.ReLU())
        layers: list[nn.Module] = []
        for a, b in zip(channels[:-1], channels[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        layers.append(nn.ConvTranspose2d(channels[-1], c_out, 3, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        self.out_act = out_act

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(self.fc(z).reshape(z.shape[0], *self.start))
        if self.out_act == "tanh01":
            return (torch.tanh(x) + 1.0) / 2.0
        if self.out_act == "sigmoid":
            return torch.sigmoid(x)
        return x

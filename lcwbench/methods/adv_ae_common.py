"""Shared pieces of the Geng et al. baselines (AAE, IntroVAE, AGE, ALAE): networks, config, helpers.

Geng et al. (seed 004) compare their model with VAE, AAE and ALAE on a 2-D swiss roll, every method
with the architecture of their own model (004 L151), and with VAE, AAE, WAE, IntroVAE and AGE on CelebA
at 64x64, with networks after the Mimicry library (004 L169). So the baselines build their nets the way
:mod:`lcwbench.methods.geng` does:

* ``arch`` "mimicry" (square images of 32 or 64 px): :func:`~lcwbench.models.mimicry.mimicry_encoder`
  (image -> code) and :func:`~lcwbench.models.mimicry.mimicry_generator` (code -> image in [0, 1]),
  base width ``conv_width``;
* ``arch`` "mlp" (any sample shape, flattened): the encoder is
  ``latent_mlp(d_in, out, width, depth)`` (``depth`` x [Linear(width), LeakyReLU(0.2)], then linear);
  the decoder the same map from the code to ``d_in`` values, through a sigmoid for images (the harness
  keeps images in [0, 1]) and linear for vectors (the swiss roll is unbounded);
* ``arch`` "auto": "mlp" for vectors (sample shape of length 1), "mimicry" for images;
* nets on latent vectors (AAE's and ALAE's discriminators, ALAE's mapping F):
  ``latent_mlp(in, out, latent_width, depth)``, LeakyReLU(0.2), like Geng's latent D and g.

Shared defaults in :class:`BaselineConfig` (each method overrides what its own paper fixes):

* epochs 25 - every CelebA model of the comparison trains for 25 epochs (004 L169) [paper 004];
* batch_size 64, Adam - [harness choice]; the Geng paper states neither (004, ambiguities D3);
* width 128, depth 3 (MLP nets), conv_width 64 (Mimicry's DCGAN widths, a 512-channel generator start),
  latent_width 512, latent_depth 3 - the same sizes as :mod:`lcwbench.methods.geng` [harness choices;
  004 gives no sizes, only that the baselines share the architectures].
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.methods.base import MethodConfig
from lcwbench.models.mimicry import latent_mlp, mimicry_encoder, mimicry_generator, mimicry_geometry

ARCHS = ("auto", "mimicry", "mlp")


@dataclass
class BaselineConfig(MethodConfig):
    """Settings shared by the Geng et al. baselines (see the module docstring for their sources)."""

    latent_dim: int = 256
    lr: float = 2e-4
    batch_size: int = 64
    epochs: int = 25
    arch: str = "auto"  # "mimicry" (images), "mlp" (vectors, or flattened images), "auto" by sample shape
    width: int = 128  # MLP encoder/decoder hidden width (arch "mlp")
    depth: int = 3  # MLP encoder/decoder hidden layers (arch "mlp")
    conv_width: int = 64  # Mimicry base width (arch "mimicry")
    latent_width: int = 512  # hidden width of the nets on latent vectors
    latent_depth: int = 3  # hidden layers of the latent discriminator
    beta1: float = 0.5  # Adam betas of every optimiser
    beta2: float = 0.999

    def check(self) -> None:
        super().check()
        if self.arch not in ARCHS:
            raise LcwbenchError(f"method parameter arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        for name in ("width", "conv_width", "latent_width"):
            if getattr(self, name) < 1:
                raise LcwbenchError(f"method parameter {name} must be >= 1, got {getattr(self, name)}")
        for name in ("depth", "latent_depth"):
            if getattr(self, name) < 0:
                raise LcwbenchError(f"method parameter {name} must be >= 0, got {getattr(self, name)}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise LcwbenchError(f"method parameter {name} must be in [0, 1), got {getattr(self, name)}")


def check_nonnegative(cfg: MethodConfig, *names: str) -> None:
    for name in names:
        if getattr(cfg, name) < 0:
            raise LcwbenchError(f"method parameter {name} must be >= 0, got {getattr(cfg, name)}")


def check_positive_int(cfg: MethodConfig, *names: str) -> None:
    for name in names:
        if getattr(cfg, name) < 1:
            raise LcwbenchError(f"method parameter {name} must be >= 1, got {getattr(cfg, name)}")


# -- networks ---------------------------------------------------------------------------------------
def resolve_arch(arch: str, sample_shape: tuple[int, ...]) -> str:
    """The net family for ``arch``: "mlp" or "mimicry" ("auto" picks by sample shape)."""
    if arch not in ARCHS:
        raise LcwbenchError(f"unknown arch {arch!r}; valid: {', '.join(ARCHS)}")
    if arch == "auto":
        return "mlp" if len(sample_shape) == 1 else "mimicry"
    return arch


class MLPDecoder(nn.Module):
    """Code -> ``sample_shape``: ``latent_mlp`` then a sigmoid for images (values in [0, 1])."""

    def __init__(self, latent_dim: int, sample_shape: tuple[int, ...], width: int, depth: int):
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        self.image = len(self.sample_shape) > 1
        self.net = latent_mlp(latent_dim, math.prod(self.sample_shape), width, depth)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net(z)
        if self.image:
            out = torch.sigmoid(out)
        return out.reshape(z.shape[0], *self.sample_shape)


def build_encoder(cfg: BaselineConfig, sample_shape: tuple[int, ...], out_dim: int, method: str) -> nn.Module:
    """Data -> ``out_dim`` values per sample, in the net family ``cfg.arch`` picks."""
    if resolve_arch(cfg.arch, sample_shape) == "mimicry":
        c, s = mimicry_geometry(sample_shape, f"method {method!r}")
        return mimicry_encoder(c, s, out_dim, cfg.conv_width)
    return nn.Sequential(nn.Flatten(), latent_mlp(math.prod(sample_shape), out_dim, cfg.width, cfg.depth))


def build_decoder(cfg: BaselineConfig, sample_shape: tuple[int, ...], in_dim: int, method: str) -> nn.Module:
    """Code of size ``in_dim`` -> data of ``sample_shape`` (images in [0, 1])."""
    if resolve_arch(cfg.arch, sample_shape) == "mimicry":
        c, s = mimicry_geometry(sample_shape, f"method {method!r}")
        return mimicry_generator(c, s, in_dim, cfg.conv_width)
    return MLPDecoder(in_dim, sample_shape, cfg.width, cfg.depth)


# -- training helpers -------------------------------------------------------------------------------
def adam(params, cfg: BaselineConfig) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Inside the block the parameters of ``modules`` get no gradients (gradients still flow *through*
    the modules to their inputs); their previous ``requires_grad`` flags are restored afterwards."""
    params = [p for m in modules for p in m.parameters()]
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)



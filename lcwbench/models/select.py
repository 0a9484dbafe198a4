"""Pick the paper's architecture for a sample shape: MLP for 28x28 grayscale (and vectors), conv otherwise.

``mimicry`` (square images of 32 or 64 px, only when asked for) gives the DCGAN/SNGAN-style encoder and
generator of :mod:`lcwbench.models.mimicry`, the nets Geng et al.'s comparison shares between all its
methods, so the LCW-family baselines (VAE, WAE-MMD) can use them too."""

from __future__ import annotations

from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.models.conv import ConvDecoder, ConvEncoder
from lcwbench.models.mimicry import mimicry_encoder, mimicry_generator, mimicry_geometry
from lcwbench.models.mlp import MLPDecoder, MLPEncoder

ARCHS = ("auto", "mlp", "conv", "mimicry")


def resolve_arch(arch: str, sample_shape: tuple[int, ...]) -> str:
    if arch not in ARCHS:
        raise LcwbenchError(f"unknown arch {arch!r}; valid: {', '.join(ARCHS)}")
    if arch != "auto":
        return arch
    if len(sample_shape) == 1 or sample_shape[0] == 1:
        return "mlp"
    return "conv"


def build_autoencoder(
    sample_shape: tuple[int, ...],
    latent_dim: int,
    arch: str = "auto",
    width: int = 200,
    depth: int = 3,
    conv_width: int = 64,
) -> tuple[nn.Module, nn.Module]:
    """Return (encoder, decoder) for ``sample_shape`` with a ``latent_dim``-dimensional latent."""
    if latent_dim < 1:
        raise LcwbenchError(f"latent_dim must be >= 1, got {latent_dim}")
    kind = resolve_arch(arch, sample_shape)
    if kind == "mlp":
        out_act = "sigmoid" if len(sample_shape) > 1 else "linear"
        return (
            MLPEncoder(sample_shape, latent_dim, width, depth),
            MLPDecoder(sample_shape, latent_dim, width, depth, out_act=out_act),
        )
    if kind == "mimicry":
        c, size = mimicry_geometry(sample_shape)
        return mimicry_encoder(c, size, latent_dim, conv_width), mimicry_generator(c, size, latent_dim, conv_width)
    if len(sample_shape) != 3:
        raise LcwbenchError(f"arch 'conv' needs images, got sample shape {sample_shape}")
    try:
        return ConvEncoder(sample_shape, latent_dim), ConvDecoder(sample_shape, latent_dim)
    except ValueError as exc:
        raise LcwbenchError(f"arch 'conv': {exc}") from exc


def autoencoder_for(cfg, sample_shape: tuple[int, ...], latent_dim: int | None = None) -> tuple[nn.Module, nn.Module]:
    """:func:`build_autoencoder` with a method config's arch, width, depth and conv_width."""
    dim = cfg.latent_dim if latent_dim is None else latent_dim
    return build_autoencoder(sample_shape, dim, cfg.arch, cfg.width, cfg.depth, cfg.conv_width)

"""Shared network architectures. Every method builds its networks from here."""

from lcwbench.models.conv import ConvDecoder, ConvEncoder
from lcwbench.models.latent import LatentGenerator
from lcwbench.models.mlp import MLPDecoder, MLPEncoder, mlp
from lcwbench.models.select import autoencoder_for, build_autoencoder

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "LatentGenerator",
    "MLPDecoder",
    "MLPEncoder",
    "autoencoder_for",
    "build_autoencoder",
    "mlp",
]

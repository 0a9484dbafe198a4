"""Plain autoencoder (LCW paper, Table 2 "AE").

Loss: per-image sum of squared errors, averaged over the batch (the CWAE/LCW code's reconstruction
term). Defaults: the LCW paper's MNIST row (latent 8, lr 1e-3, 001 L126) and the authors' batch 128
([repo] reproduce_table1.sh). Epochs are not stated in the paper; 50 is the harness default.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lcwbench.methods import register
from lcwbench.methods.base import Method, MethodConfig
from lcwbench.models import autoencoder_for


def sum_sq_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-sample sum of squared errors, averaged over the batch."""
    return (x_hat - x).pow(2).flatten(1).sum(dim=1).mean()


@dataclass
class AEConfig(MethodConfig):
    latent_dim: int = 8
    lr: float = 1e-3
    batch_size: int = 128


@register
class AE(Method):
    name = "ae"
    Config = AEConfig

    def __init__(self, cfg: AEConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.encoder, self.decoder = autoencoder_for(cfg, sample_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Loss terms for batch ``x``; ``total`` is what is minimised."""
        rec = sum_sq_error(self.decode(self.encode(x)), x)
        return {"total": rec, "rec": rec}

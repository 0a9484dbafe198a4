"""Variational autoencoder (Kingma and Welling 2014), the "VAE" row of the LCW paper's Table 4 (001 L198).

The encoder is the shared architecture with a 2 x latent_dim output, read as (mean, log-variance);
codes are drawn with the reparameterisation z = mean + exp(logvar / 2) * eps, eps ~ N(0, I).
Loss per batch: the per-image summed squared error (``ae.sum_sq_error``) + beta * KL(q(z|x) || N(0, I)),
the KL summed over latent dimensions and averaged over the batch. ``encode`` returns the mean; new
samples decode the N(0, I) prior.

Defaults:

* latent_dim 8, lr 1e-3, batch_size 128 - [harness choice]: the LCW paper reports a VAE only on
  CelebA (Table 4, 001 L198) with no hyperparameters; these are its MNIST AE/CWAE settings
  (001 L126-128; batch 128 from [repo] reproduce_table1.sh) so the autoencoders compare like for like.
* beta 1.0 - the plain VAE objective (beta = 1 is the evidence lower bound) [harness choice].
* epochs 50 - not in the paper [harness choice].

Loss terms: ``total``, ``rec``, ``kl``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.ae import sum_sq_error
from lcwbench.methods.base import Method, MethodConfig
from lcwbench.models import autoencoder_for


@dataclass
class VAEConfig(MethodConfig):
    latent_dim: int = 8
    lr: float = 1e-3
    batch_size: int = 128
    beta: float = 1.0

    def check(self) -> None:
        super().check()
        if self.beta < 0:
            raise LcwbenchError(f"method parameter beta must be >= 0, got {self.beta}")


def kl_per_sample(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag exp(logvar)) || N(0, I)) of each sample, summed over dimensions: shape (N,)."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag exp(logvar)) || N(0, I)) per sample, summed over dimensions, averaged over the batch."""
    return kl_per_sample(mean, logvar).mean()


@register
class VAE(Method):
    name = "vae"
    Config = VAEConfig

    def __init__(self, cfg: VAEConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.encoder = autoencoder_for(cfg, sample_shape, 2 * cfg.latent_dim)[0]
        self.decoder = autoencoder_for(cfg, sample_shape)[1]

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x)."""
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        mean, logvar = self.posterior(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        rec = sum_sq_error(self.decode(z), x)
        kl = gaussian_kl(mean, logvar)
        return {"total": rec + self.cfg.beta * kl, "rec": rec, "kl": kl}

"""CW^2 autoencoder, the first stage of the LCW generator (LCW paper, Eq. J_CW2, 001 L96).

Loss: log cw_sampling(D(E(x)), x, gamma) + lambda * log cw_normality(E(x)). The paper prints the
data-space term without the logarithm (001 L96); the authors' code takes the log of both terms
([repo] src/factories/autoencoder/cost_function_factory.py, models ``cw2_dynamic`` / ``cw2_fixed``),
and so does the harness.

Bandwidth ``gamma`` of the data-space term:

* ``None`` (default): Silverman's rule each step from the std of all entries of the *real* batch x
  (``cw_sampling_silverman``; no gradient through it). The paper says the std of the joined X and
  D(E(X)) samples (001 L92); the harness follows ``cw_sampling_silverman`` (reference/ambiguities.md A7).
* a float: that fixed gamma. The authors' later code used fixed values at batch 256: MNIST 0.0116,
  F-MNIST 0.0152, CelebA 0.0094 ([repo] reproduce_table4.sh / README @180a115).

Defaults: latent_dim 8, lr 1e-3, lambda_ 1 - Table 2 MNIST CW^2 row (001 L130); batch_size 128 -
[repo] reproduce_table1.sh; epochs 50 [harness choice]. (Table 2: F-MNIST lambda 1; CelebA lr 5e-4,
lambda 0.2, latent 64.)

Loss terms: ``total``, ``log_cw_rec``, ``log_cw_latent`` and ``rec`` (per-image summed squared error,
detached, for monitoring only; not part of ``total``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lcwbench.distances import cw_normality, cw_sampling, cw_sampling_silverman
from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.ae import AE, AEConfig, sum_sq_error


@dataclass
class CW2Config(AEConfig):
    lambda_: float = 1.0
    gamma: float | None = None

    def check(self) -> None:
        super().check()
        if self.gamma is not None and not self.gamma > 0:
            raise LcwbenchError(f"method parameter gamma must be > 0 (or null for Silverman), got {self.gamma}")


def data_cw(x_fake: torch.Tensor, x_real: torch.Tensor, gamma: float | None) -> torch.Tensor:
    """Two-sample CW distance at a fixed ``gamma``, or with Silverman's gamma from ``x_real`` when None."""
    if gamma is None:
        return cw_sampling_silverman(x_fake, x_real)
    return cw_sampling(x_fake, x_real, gamma)


@register
class CW2(AE):
    name = "cw2"
    Config = CW2Config

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encode(x)
        x_hat = self.decode(z)
        log_cw_rec = torch.log(data_cw(x_hat, x, self.cfg.gamma))
        log_cw_latent = torch.log(cw_normality(z))
        return {
            "total": log_cw_rec + self.cfg.lambda_ * log_cw_latent,
            "log_cw_rec": log_cw_rec,
            "log_cw_latent": log_cw_latent,
            "rec": sum_sq_error(x_hat.detach(), x),
        }

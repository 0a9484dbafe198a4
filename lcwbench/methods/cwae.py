"""Cramer-Wold autoencoder (Tabor et al. 2018; LCW paper Eq. J_CW, 001 L84).

Loss: reconstruction (per-image summed squared error) + lambda * log cw_normality(E(x)).
Defaults: the LCW paper's MNIST row (latent 8, lr 1e-3, lambda 1; 001 L128) and the authors'
batch 128 ([repo] reproduce_table1.sh). Table 2 uses lambda 10 on F-MNIST and 5 on CelebA.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lcwbench.distances import cw_normality
from lcwbench.methods import register
from lcwbench.methods.ae import AE, AEConfig, sum_sq_error


@dataclass
class CWAEConfig(AEConfig):
    lambda_: float = 1.0


@register
class CWAE(AE):
    name = "cwae"
    Config = CWAEConfig

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encode(x)
        rec = sum_sq_error(self.decode(z), x)
        log_cw = torch.log(cw_normality(z))
        return {"total": rec + self.cfg.lambda_ * log_cw, "rec": rec, "log_cw": log_cw}

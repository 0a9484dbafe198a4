"""CW-Generator (Tabor et al. 2018; LCW paper Tables 1 and 3, 001 L55, L184): a generator trained to
minimise the two-sample CW distance between a generated batch G(eps), eps ~ N(0, I_noise_dim), and a
real batch in data space.

Loss: cw_sampling(G(eps), x, gamma) (not logged; [repo] generator/cost_function_factory.py uses the
plain distance). ``gamma`` None (default) = Silverman's rule from the std of the real batch each step,
as in CW^2 (see ``cw2``); a float = that fixed bandwidth.

Defaults (see ``generator``): noise_dim 32, batch_size 256, lr 5e-4 [repo] reproduce_table1.sh;
epochs 50 [harness choice]; gamma None (Silverman per batch; [repo] ``cw_sampling_silverman``).

Loss terms: ``total``, ``cw``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.cw2 import data_cw
from lcwbench.methods.generator import GeneratorConfig, NoiseGenerator


@dataclass
class CWGeneratorConfig(GeneratorConfig):
    gamma: float | None = None

    def check(self) -> None:
        super().check()
        if self.gamma is not None and not self.gamma > 0:
            raise LcwbenchError(f"method parameter gamma must be > 0 (or null for Silverman), got {self.gamma}")


@register
class CWGenerator(NoiseGenerator):
    name = "cw_generator"
    Config = CWGeneratorConfig

    def losses(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        cw = data_cw(fake, real, self.cfg.gamma)
        return {"total": cw, "cw": cw}

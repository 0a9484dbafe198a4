"""SW-Generator (Deshpande, Zhang and Schwing 2018; LCW paper Tables 1 and 3, 001 L55, L168, L184):
a generator trained to minimise the sliced Wasserstein distance SW_2^2 between a generated batch
G(eps), eps ~ N(0, I_noise_dim), and a real batch in data space (``distances.sliced_wasserstein``),
with ``num_projections`` random unit directions drawn afresh each step from the global torch RNG.

Defaults: num_projections 5000 - [repo] the authors' model ``swg5000`` calls the SW distance with
5000 projections (generator/cost_function_factory.py @692c7c2); noise_dim 32, batch_size 256,
lr 5e-4 - [repo] reproduce_table1.sh; epochs 50 [harness choice].

Loss terms: ``total``, ``sw``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lcwbench.distances import sliced_wasserstein
from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.generator import GeneratorConfig, NoiseGenerator


@dataclass
class SWGeneratorConfig(GeneratorConfig):
    num_projections: int = 5000

    def check(self) -> None:
        super().check()
        if self.num_projections < 1:
            raise LcwbenchError(f"method parameter num_projections must be >= 1, got {self.num_projections}")


@register
class SWGenerator(NoiseGenerator):
    name = "sw_generator"
    Config = SWGeneratorConfig

    def losses(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        sw = sliced_wasserstein(fake, real, self.cfg.num_projections)
        return {"total": sw, "sw": sw}

"""Shared base of the pure generators (CW-Generator, SW-Generator): G maps noise to data, no encoder.

G is the decoder half of the shared architecture for the sample shape with a ``noise_dim``-dimensional
input (``build_autoencoder(sample_shape, noise_dim)[1]``): for 28x28 images the LCW paper's MLP
decoder, for colour images its convolutional decoder. ``latent_dim`` mirrors ``noise_dim`` (0 means
"same as noise_dim"); there is no latent space to evaluate, so ``has_encoder`` is False.

Defaults [repo] (reproduce_table1.sh @692c7c2, CW-/SW-Generator on MNIST and F-MNIST): noise_dim 32,
batch_size 256, lr 5e-4 (CelebA used noise_dim 100). The paper grid-searched batch size and lr
(001 L233) without reporting the winners. Epochs 50 [harness choice].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lcwbench.errors import LcwbenchError
from lcwbench.methods.base import Method, MethodConfig, optimiser_step
from lcwbench.models import autoencoder_for


@dataclass
class GeneratorConfig(MethodConfig):
    latent_dim: int = 0  # no latent space; mirrors noise_dim
    noise_dim: int = 32
    lr: float = 5e-4
    batch_size: int = 256

    def check(self) -> None:
        if self.noise_dim < 1:
            raise LcwbenchError(f"method parameter noise_dim must be >= 1, got {self.noise_dim}")
        if self.latent_dim == 0:
            self.latent_dim = self.noise_dim
        elif self.latent_dim != self.noise_dim:
            raise LcwbenchError(
                f"a generator has no latent space: latent_dim ({self.latent_dim}) must be left out;"
                f" set noise_dim ({self.noise_dim}) instead"
            )
        super().check()


class NoiseGenerator(Method):
    """G: N(0, I_noise_dim) -> data. Subclasses implement :meth:`losses` (fake batch vs real batch)."""

    Config = GeneratorConfig
    has_encoder = False

    def __init__(self, cfg: GeneratorConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        cfg.check()  # fills latent_dim from noise_dim when the config was built directly
        super().__init__(cfg, sample_shape, base)
        self.generator = autoencoder_for(cfg, sample_shape, cfg.noise_dim)[1]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise LcwbenchError(f"method {self.name!r} is a generator without an encoder; it cannot encode data")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        return torch.randn(n, self.cfg.noise_dim, generator=generator, device=device)

    def losses(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def train_step(self, x, opts):
        eps = torch.randn(x.shape[0], self.cfg.noise_dim, device=x.device, dtype=x.dtype)
        return optimiser_step(opts["main"], lambda: self.losses(self.decode(eps), x))

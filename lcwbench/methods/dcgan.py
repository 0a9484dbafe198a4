"""DCGAN baseline of the GLDO paper (003 L831-834: "DCGAN [13]"), and the shared base of its GAN baselines.

The GLDO paper compares with DCGAN, WGAN-GP and BEGAN using "the same generator" as its own model: the
Table 7 generator (:func:`lcwbench.models.glo_nets.build_generator`), which maps noise
z ~ N(0, I_noise_dim) to images in [0, 1]. The GANs differ in their discriminator and loss
(:mod:`lcwbench.models.discriminators`, :mod:`lcwbench.methods.wgan_gp`, :mod:`lcwbench.methods.began`).
They are pure generators (``has_encoder`` False): ``sample(n) = G(z)``; the harness skips reconstruction
metrics for them.

DCGAN training step (Radford et al. 2016, with the non-saturating generator loss of Goodfellow et al.
2014), on one real batch ``x`` and one noise batch ``z``:

1. discriminator update: ``softplus(-D(x)).mean() + softplus(D(G(z))).mean()`` (binary cross-entropy
   on logits: real -> 1, fake -> 0), G(z) detached;
2. generator update: ``softplus(-D(G(z))).mean()`` (= -log sigmoid D(G(z))), through the updated D;
   only the generator's optimiser steps and D's gradients are cleared afterwards.

Defaults and their sources:

* noise_dim 100, batch_size 64, generator weights N(0, 0.01) (``init_std``) [paper L838-841, the
  settings of its generators; the DCGAN paper used batch 128 and N(0, 0.02)];
* Adam, lr 2e-4, betas (0.5, 0.999) for both networks [DCGAN paper, Sec. 4];
* discriminator: :class:`~lcwbench.models.discriminators.ConvDiscriminator` with batch norm
  (``d_norm``), ``d_width`` 64 and ``d_fc_width`` 1024 (the Table 7 generator's widths, mirrored),
  weights N(0, 0.02) (``d_init_std``) [DCGAN paper];
* epochs 50 [harness choice; the paper states none].

``arch``, ``width`` and ``depth`` (inherited from the common config) are not used: the generator is
always Table 7's for the sample shape.

Loss terms logged: ``total`` (= ``d``, the discriminator loss), ``d``, ``g`` (generator loss),
``d_real`` and ``d_fake`` (mean D probability on the real and the fake batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.base import Method, minimise
from lcwbench.methods.generator import GeneratorConfig
from lcwbench.models.discriminators import NORMS, build_discriminator, check_image_shape
from lcwbench.models.glo_nets import build_generator, init_normal


@dataclass
class GANConfig(GeneratorConfig):
    """Common settings of the GAN baselines; ``latent_dim`` mirrors ``noise_dim`` (see GeneratorConfig)."""

    noise_dim: int = 100
    lr: float = 2e-4
    batch_size: int = 64
    beta1: float = 0.5
    beta2: float = 0.999
    init_std: float | None = 0.01  # generator weights N(0, init_std); None keeps build_generator's init
    d_width: int = 64
    d_init_std: float | None = 0.02  # discriminator weights N(0, d_init_std); None = PyTorch default

    def check(self) -> None:
        super().check()
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise LcwbenchError(f"method parameter {name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("init_std", "d_init_std"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise LcwbenchError(f"method parameter {name} must be > 0 (or null), got {value}")
        if self.d_width < 1:
            raise LcwbenchError(f"method parameter d_width must be >= 1, got {self.d_width}")


@dataclass
class ConvGANConfig(GANConfig):
    """GANs with a convolutional classifier/critic (DCGAN, WGAN-GP)."""

    d_norm: str = "batch"
    d_fc_width: int = 1024

    def check(self) -> None:
        super().check()
        if self.d_norm not in NORMS:
            raise LcwbenchError(f"method parameter d_norm must be one of {', '.join(NORMS)}, got {self.d_norm!r}")
        if self.d_fc_width < 1:
            raise LcwbenchError(f"method parameter d_fc_width must be >= 1, got {self.d_fc_width}")


class GANMethod(Method):
    """A generator G (Table 7) and a discriminator D; subclasses build D and implement ``train_step``."""

    Config = GANConfig
    has_encoder = False

    def __init__(self, cfg: GANConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        cfg.check()  # fills latent_dim from noise_dim when the config was built directly
        super().__init__(cfg, sample_shape, base)
        check_image_shape(sample_shape, f"method {self.name!r}")
        self.generator = build_generator(self.sample_shape, cfg.noise_dim)
        if cfg.init_std is not None:
            init_normal(self.generator, cfg.init_std)
        self.discriminator = self.build_discriminator()

    def build_discriminator(self) -> nn.Module:
        raise NotImplementedError

    # -- inference -----------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise LcwbenchError(f"method {self.name!r} is a generator without an encoder; it cannot encode data")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.generator.parameters()).device
        return torch.randn(n, self.cfg.noise_dim, generator=generator, device=device)

    # -- training ------------------------------------------------------------------------------
    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        betas = (cfg.beta1, cfg.beta2)
        return {
            "d": torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr, betas=betas),
            "g": torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=betas),
        }

    def noise(self, x: torch.Tensor) -> torch.Tensor:
        """A batch of N(0, I) noise the size of batch ``x``."""
        return torch.randn(x.shape[0], self.cfg.noise_dim, device=x.device, dtype=x.dtype)


@register
class DCGAN(GANMethod):
    name = "dcgan"
    Config = ConvGANConfig

    def build_discriminator(self) -> nn.Module:
        cfg = self.cfg
        return build_discriminator(
            self.sample_shape,
            "dcgan",
            norm=cfg.d_norm,
            width=cfg.d_width,
            fc_width=cfg.d_fc_width,
            init_std=cfg.d_init_std,
        )

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        softplus = nn.functional.softplus
        fake = self.generator(self.noise(x))
        # 1. discriminator: real -> 1, fake -> 0 (the generator gets no gradient)
        logit_real = self.discriminator(x)
        logit_fake = self.discriminator(fake.detach())
        d_loss = softplus(-logit_real).mean() + softplus(logit_fake).mean()
        minimise(opts["d"], d_loss)
        # 2. generator: non-saturating loss -log D(G(z)); only G's optimiser steps
        g_loss = softplus(-self.discriminator(fake)).mean()
        minimise(opts["g"], g_loss)
        self.discriminator.zero_grad(set_to_none=True)
        terms = {
            "total": d_loss,
            "d": d_loss,
            "g": g_loss,
            "d_real": torch.sigmoid(logit_real).mean(),
            "d_fake": torch.sigmoid(logit_fake).mean(),
        }
        return {k: v.detach() for k, v in terms.items()}

"""Adversarial autoencoder, AAE (Makhzani et al., "Adversarial Autoencoders", ICLR workshop 2016), a
baseline of Geng et al. (004: swiss roll, L151; CelebA Table 1, L169-172).

A deterministic autoencoder whose codes ``E(x)`` are pushed towards the prior ``N(0, I)`` by a
discriminator on the latent space. Each training step runs the AAE paper's two phases on one batch:

1. reconstruction phase: encoder + decoder minimise the reconstruction error
   ``rec = mean_i ||G(E(x_i)) - x_i||^2`` (squared error summed per sample, averaged over the batch,
   the harness's autoencoder loss :func:`lcwbench.methods.ae.sum_sq_error`);
2. regularisation phase, discriminator: ``D`` separates prior samples (label 1) from codes (label 0),
   binary cross-entropy on logits: ``softplus(-D(z)).mean() + softplus(D(E(x))).mean()``,
   ``z ~ N(0, I)``, the codes detached;
3. regularisation phase, generator (the encoder): ``softplus(-D(E(x))).mean()``, i.e. the
   non-saturating form ``-log sigmoid D(E(x))`` of the GAN generator loss; only the encoder's
   optimiser steps, and D's gradients are cleared afterwards.

Inference: ``encode(x) = E(x)``, ``decode(z) = G(z)``, ``sample = G(z)`` with ``z ~ N(0, I)``,
``reconstruct = G(E(x))``.

Defaults and where they come from:

* Two-phase alternating updates on every mini-batch, a Gaussian prior, a deterministic encoder
  [AAE paper, its Sections 2-3].
* Adam with lr 2e-4 and betas (0.5, 0.999) for all three updates [harness choice: DCGAN's settings; the
  AAE paper trained with SGD at rates tuned for its MNIST/TFD MLPs, which do not carry over to these
  nets, and Geng et al. state no optimiser].
* Three optimisers: ``ae`` (encoder + decoder), ``disc`` (D) and ``gen`` (the encoder alone), one per
  update of the two phases [harness choice following the AAE paper's phase structure].
* latent_dim 256 [harness choice: the latent size of the Geng model's defaults, 004 L157; the CelebA
  value is not stated; the swiss-roll runs need 2 (a 2-D unit Gaussian prior, 004 L151)].
* Discriminator: ``latent_mlp(latent_dim, 1, latent_width 512, latent_depth 3)`` with LeakyReLU(0.2), the
  latent D of Geng's model, since the baselines share its architectures (004 L151) [harness choice; the
  AAE paper's MNIST discriminator had two hidden layers of 1000 ReLU units: ``latent_width: 1000,
  latent_depth: 2`` comes close].
* Encoder/decoder, batch_size 64, epochs 25: :mod:`lcwbench.methods.adv_ae_common`.

Loss terms logged: ``total`` (= ``rec``), ``rec``, ``d`` (discriminator loss), ``g`` (encoder's
adversarial loss), ``d_prior`` and ``d_code`` (mean D probability on prior samples and on codes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lcwbench.methods import register
from lcwbench.methods.adv_ae_common import BaselineConfig, adam, build_decoder, build_encoder, frozen
from lcwbench.methods.ae import sum_sq_error
from lcwbench.methods.base import Method, minimise
from lcwbench.models.mimicry import latent_mlp


@dataclass
class AAEConfig(BaselineConfig):
    latent_dim: int = 256
    lr: float = 2e-4
    batch_size: int = 64
    beta1: float = 0.5
    beta2: float = 0.999


def discriminator_loss(logit_prior: torch.Tensor, logit_code: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on logits: prior samples -> 1, codes -> 0 (each term a batch mean)."""
    softplus = nn.functional.softplus
    return softplus(-logit_prior).mean() + softplus(logit_code).mean()


def generator_loss(logit_code: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss of the encoder: ``mean -log sigmoid D(E(x))``."""
    return nn.functional.softplus(-logit_code).mean()


@register
class AAE(Method):
    name = "aae"
    Config = AAEConfig

    def __init__(self, cfg: AAEConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.encoder = build_encoder(cfg, self.sample_shape, cfg.latent_dim, self.name)
        self.decoder = build_decoder(cfg, self.sample_shape, cfg.latent_dim, self.name)
        self.discriminator = latent_mlp(cfg.latent_dim, 1, cfg.latent_width, cfg.latent_depth)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        ae = list(self.encoder.parameters()) + list(self.decoder.parameters())
        return {
            "ae": adam(ae, self.cfg),
            "disc": adam(self.discriminator.parameters(), self.cfg),
            "gen": adam(self.encoder.parameters(), self.cfg),
        }

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        # 1. reconstruction phase
        rec = sum_sq_error(self.decoder(self.encoder(x)), x)
        minimise(opts["ae"], rec)
        # 2. regularisation phase: the discriminator
        with torch.no_grad():
            code = self.encoder(x)
        prior = torch.randn_like(code)
        logit_prior = self.discriminator(prior).squeeze(1)
        logit_code = self.discriminator(code).squeeze(1)
        d_loss = discriminator_loss(logit_prior, logit_code)
        minimise(opts["disc"], d_loss)
        # 3. regularisation phase: the encoder fools the updated discriminator
        with frozen(self.discriminator):
            g_loss = generator_loss(self.discriminator(self.encoder(x)).squeeze(1))
        minimise(opts["gen"], g_loss)
        terms = {
            "total": rec,
            "rec": rec,
            "d": d_loss,
            "g": g_loss,
            "d_prior": torch.sigmoid(logit_prior).mean(),
            "d_code": torch.sigmoid(logit_code).mean(),
        }
        return {k: v.detach() for k, v in terms.items()}

"""WGAN-GP baseline of the GLDO paper (003 L831-834: "WGAN-GP [14]"; Gulrajani et al. 2017).

Generator: the Table 7 generator shared by all GLDO baselines (see :mod:`lcwbench.methods.dcgan`).
Critic: :class:`~lcwbench.models.discriminators.ConvDiscriminator` with layer normalisation instead of
batch norm (``d_norm`` "layer"; "none" also valid) [WGAN-GP paper, Sec. 4: batch norm breaks the
per-sample gradient penalty; layer norm recommended].

Training step, on one real batch ``x`` (one generator update per step):

1. ``n_critic`` critic updates, each with fresh noise z:
   ``mean C(G(z)) - mean C(x) + gp_weight * mean((|grad C(x~)|_2 - 1)^2)`` at
   ``x~ = G(z) + u (x - G(z))``, ``u ~ U(0, 1)`` per sample
   (:func:`lcwbench.methods.wae_gan.gradient_penalty`), G(z) without gradient;
2. generator update: ``-mean C(G(z))`` with fresh z; only the generator's optimiser steps, the critic's
   gradients are cleared afterwards.

The n_critic critic updates reuse the step's real batch (as :mod:`lcwbench.methods.wae_gan` does); the
paper's Algorithm 1 draws a new real batch for each critic iteration [harness choice: one
``train_step`` = one generator update, so an epoch is one pass of generator steps over the data].

Defaults and their sources:

* gp_weight (lambda) 10, n_critic 5, Adam lr 1e-4, beta2 0.9 [WGAN-GP paper, Algorithm 1's defaults];
* beta1 0.5 [the WGAN-GP authors' code for their 32x32 (CIFAR-10/MNIST) models; Algorithm 1 lists
  beta1 = 0];
* noise_dim 100, batch 64, generator weights N(0, 0.01) [GLDO paper L838-841]; critic weights N(0, 0.02)
  [DCGAN paper], ``d_width`` 64, ``d_fc_width`` 1024 [mirror of Table 7];
* epochs 50 [harness choice].

Loss terms logged (critic terms from the last critic update): ``total`` (= ``critic``), ``critic``
(its full loss), ``gp`` (the penalty, unweighted), ``w_dist`` (the critic's estimate
mean C(x) - mean C(G(z))), ``gen`` (generator loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.base import minimise
from lcwbench.methods.dcgan import ConvGANConfig, GANMethod
from lcwbench.methods.wae_gan import gradient_penalty
from lcwbench.models.discriminators import build_discriminator


@dataclass
class WGANGPConfig(ConvGANConfig):
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    d_norm: str = "layer"
    n_critic: int = 5
    gp_weight: float = 10.0

    def check(self) -> None:
        super().check()
        if self.d_norm == "batch":
            raise LcwbenchError(
                "wgan_gp: the critic cannot use batch norm with the gradient penalty; use d_norm layer or none"
            )
        if self.n_critic < 1:
            raise LcwbenchError(f"method parameter n_critic must be >= 1, got {self.n_critic}")
        if self.gp_weight < 0:
            raise LcwbenchError(f"method parameter gp_weight must be >= 0, got {self.gp_weight}")


@register
class WGANGP(GANMethod):
    name = "wgan_gp"
    Config = WGANGPConfig

    def build_discriminator(self) -> nn.Module:
        cfg = self.cfg
        return build_discriminator(
            self.sample_shape,
            "wgan_gp",
            norm=cfg.d_norm,
            width=cfg.d_width,
            fc_width=cfg.d_fc_width,
            init_std=cfg.d_init_std,
        )

    def critic_terms(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """The critic's loss on a real and a fake batch: ``-w_dist + gp_weight * gp``."""
        critic = self.discriminator
        w_dist = critic(real).mean() - critic(fake).mean()
        gp = gradient_penalty(critic, real, fake)
        return {"critic": -w_dist + self.cfg.gp_weight * gp, "gp": gp, "w_dist": w_dist}

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        for _ in range(self.cfg.n_critic):
            with torch.no_grad():
                fake = self.generator(self.noise(x))
            terms = self.critic_terms(x, fake)
            minimise(opts["d"], terms["critic"])
        gen = -self.discriminator(self.generator(self.noise(x))).mean()
        minimise(opts["g"], gen)
        self.discriminator.zero_grad(set_to_none=True)
        terms = {"total": terms["critic"], **terms, "gen": gen}
        return {k: v.detach() for k, v in terms.items()}

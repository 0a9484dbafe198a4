"""Adversarial Latent Autoencoder, ALAE (Pidhorskyi, Adjeroh and Doretto, CVPR 2020), a swiss-roll
baseline of Geng et al. (004 L151).

Four networks: a mapping ``F: z -> w`` from the prior ``z ~ N(0, I)`` to the latent space W, a generator
``G: w -> x``, an encoder ``E: x -> w`` and a discriminator ``D: w -> score`` that works in W, so the
GAN's discriminator is ``D o E`` and its generator ``G o F``. One training step on a batch ``x``, with
fresh ``z`` for each of the three updates (the three steps of the ALAE paper's Algorithm 1):

1. E and D (``ed`` optimiser): ``softplus(D(E(G(F(z))))).mean() + softplus(-D(E(x))).mean()
   + gamma / 2 * R1``, with the fake images detached and ``R1 = mean_i ||grad_x D(E(x_i))||^2`` the
   R1 penalty on real data (:func:`r1_penalty`);
2. F and G (``fg`` optimiser; E and D get no gradient): the non-saturating
   ``softplus(-D(E(G(F(z))))).mean()``;
3. E and G (both optimisers step; F and D get no gradient): the latent reconstruction
   ``mean ||w - E(G(w))||^2`` at ``w = F(z)`` detached (mean over batch and latent entries).

Inference: ``encode(x) = E(x)`` (a point of W), ``decode(w) = G(w)``, ``sample = G(F(z))``
(``sample_latent`` returns ``F(z)``), ``reconstruct = G(E(x))``.

This is a small ALAE, not StyleALAE: F and D are MLPs (``latent_mlp`` with LeakyReLU(0.2)) and E, G the
shared nets of the Geng baselines (Mimicry-style convolutional nets for images, MLPs for vectors;
:mod:`lcwbench.methods.adv_ae_common`) - the ALAE paper's own MNIST model is likewise an MLP ALAE.
z and w have the same dimension (``latent_dim``), as in the released models [repo].

Defaults and where they come from:

* The three updates, the softplus (non-saturating logistic) losses, R1 on real data, the latent
  reconstruction with F's output detached, F+G and E+D optimised together [ALAE paper; the released
  code [repo] podgorskiy/ALAE trains E with D and F with G in two Adam optimisers and steps both in
  the latent-reconstruction update].
* gamma 10 - the R1 weight of the released loss function (``r1_gamma=10.0``) [repo].
* lr 0.002, Adam betas (0.0, 0.99) - the released code's defaults (``ADAM_BETA_0 0.0``, ``ADAM_BETA_1
  0.99``, ``LEARNING_RATES [0.002]``) and the base rate of its MNIST MLP config [repo].
* latent_dim 50, batch_size 128, F with 6 linear layers (``f_depth`` 5 hidden layers) - the released
  MNIST MLP-ALAE config (``mnist_fc.yaml``: ``LATENT_SPACE_SIZE 50``, batch 128, ``MAPPING_LAYERS 6``)
  [repo].
* D with three linear layers (``latent_depth`` 2 hidden layers), F and D of width ``latent_width`` 512
  [harness choices]. F does not pixel-normalise z first, as StyleGAN's mapping does [harness choice].
* epochs 25 and the E/G nets: :mod:`lcwbench.methods.adv_ae_common`. With the Mimicry encoder's batch
  norm in train mode, the R1 gradient of a sample also sees the rest of the batch through the batch
  statistics [harness: consequence of the shared nets].

Loss terms logged: ``total`` (= the E/D loss of update 1), ``d_adv`` (its adversarial part), ``r1``,
``g`` (update 2), ``latent`` (update 3), ``d_real`` and ``d_fake`` (mean D(E(.)) probability on real and
generated images).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.adv_ae_common import BaselineConfig, adam, build_decoder, build_encoder, frozen
from lcwbench.methods.base import Method, minimise
from lcwbench.models.mimicry import latent_mlp


@dataclass
class ALAEConfig(BaselineConfig):
    latent_dim: int = 50
    lr: float = 0.002
    batch_size: int = 128
    beta1: float = 0.0
    beta2: float = 0.99
    gamma: float = 10.0
    f_depth: int = 5
    latent_depth: int = 2

    def check(self) -> None:
        super().check()
        if self.gamma < 0:
            raise LcwbenchError(f"method parameter gamma must be >= 0, got {self.gamma}")
        if self.f_depth < 0:
            raise LcwbenchError(f"method parameter f_depth must be >= 0, got {self.f_depth}")


def r1_penalty(score: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``mean_i ||d score_i / d inputs_i||^2``: the squared norm of the gradient of the summed scores with
    respect to ``inputs`` (which must require grad), per sample, averaged over the batch; differentiable."""
    (grad,) = torch.autograd.grad(score.sum(), inputs, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


def discriminator_loss(score_real: torch.Tensor, score_fake: torch.Tensor) -> torch.Tensor:
    """Logistic loss of D o E: ``softplus(-D(E(x))).mean() + softplus(D(E(G(F(z))))).mean()``."""
    softplus = nn.functional.softplus
    return softplus(-score_real).mean() + softplus(score_fake).mean()


@register
class ALAE(Method):
    name = "alae"
    Config = ALAEConfig

    def __init__(self, cfg: ALAEConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.mapping = latent_mlp(cfg.latent_dim, cfg.latent_dim, cfg.latent_width, cfg.f_depth)
        self.generator = build_decoder(cfg, self.sample_shape, cfg.latent_dim, self.name)
        self.encoder = build_encoder(cfg, self.sample_shape, cfg.latent_dim, self.name)
        self.discriminator = latent_mlp(cfg.latent_dim, 1, cfg.latent_width, cfg.latent_depth)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, w: torch.Tensor) -> torch.Tensor:
        return self.generator(w)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``F(z)``, ``z ~ N(0, I)``: points of W that the generator turns into samples."""
        return self.mapping(super().sample_latent(n, generator))

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """``D(E(x))``, shape (N,)."""
        return self.discriminator(self.encoder(x)).squeeze(1)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        ed = list(self.encoder.parameters()) + list(self.discriminator.parameters())
        fg = list(self.mapping.parameters()) + list(self.generator.parameters())
        return {"ed": adam(ed, self.cfg), "fg": adam(fg, self.cfg)}

    def _noise(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn(x.shape[0], self.cfg.latent_dim, device=x.device, dtype=x.dtype)

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        # 1. E and D: real images score high, generated ones low; R1 on real data
        with torch.no_grad():
            fake = self.generator(self.mapping(self._noise(x)))
        real = x.detach().requires_grad_(True)
        score_real = self.score(real)
        score_fake = self.score(fake)
        r1 = r1_penalty(score_real, real) if cfg.gamma > 0 else score_real.new_zeros(())
        d_adv = discriminator_loss(score_real, score_fake)
        d_loss = d_adv + 0.5 * cfg.gamma * r1
        minimise(opts["ed"], d_loss)
        # 2. F and G: generated images should score high
        with frozen(self.encoder, self.discriminator):
            g_loss = nn.functional.softplus(-self.score(self.generator(self.mapping(self._noise(x))))).mean()
        minimise(opts["fg"], g_loss)
        # 3. E and G: reciprocity in W
        with torch.no_grad():
            w = self.mapping(self._noise(x))
        latent = (self.encoder(self.generator(w)) - w).pow(2).mean()
        opts["ed"].zero_grad(set_to_none=True)
        opts["fg"].zero_grad(set_to_none=True)
        latent.backward()
        opts["ed"].step()
        opts["fg"].step()
        terms = {
            "total": d_loss,
            "d_adv": d_adv,
            "r1": r1,
            "g": g_loss,
            "latent": latent,
            "d_real": torch.sigmoid(score_real).mean(),
            "d_fake": torch.sigmoid(score_fake).mean(),
        }
        return {k: v.detach() for k, v in terms.items()}

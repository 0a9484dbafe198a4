"""WAE-GAN: an autoencoder whose encodings are pushed towards N(0, I) by a WGAN-GP critic on the latent.

This is the baseline of the LMGAE paper (002 L148: "a WAE with the same architecture and no mask"),
written so that :mod:`lcwbench.methods.lmgae` is this method plus the mask: with the mask fixed to
all ones and the variance and mask updates left out, the two are the same code path.

Each training step, on one batch ``x`` (the order of the updates is [repo] MaskAAE_MNIST.py L350-386):

1. auto-encoder update (encoder + decoder): ``rec(D(E(x)), x)``;
2. ``n_critic`` critic updates: ``mean C(E(x)) - mean C(z) + gp_weight * mean((|grad C(x~)| - 1)^2)``
   with ``z ~ N(0, I)`` fresh each time and ``x~ = z + u (E(x) - z)``, ``u ~ U(0, 1)`` per sample
   (WGAN-GP, Gulrajani et al.; 002 L128-131 "set as in [14]");
3. generator (= encoder) update: ``-mean C(E(x))``.

Choices and where they come from:

* RMSProp for every update (002 L138), with Keras' defaults (rho 0.9, eps 1e-7) because the [repo]
  code is Keras.
* lr 1e-4 for critic and generator updates, ``ae_lr_mult`` x lr (5) for the auto-encoder [repo].
* gp_weight 10, n_critic 5 [repo; WGAN-GP's values].
* batch_size 64, latent_dim (model capacity M) 48 [repo].
* MLP encoder, decoder and critic of 4 x [Linear 1024, ReLU] with Glorot-normal weights [repo MNIST
  nets]; the encoder ends in a linear layer of size M, the decoder in a sigmoid for images and a linear
  layer for vectors, the critic in Linear(1). ``width``/``depth`` and ``critic_width``/``critic_depth``
  change them (the synthetic sweep uses smaller nets on CPU) [harness parameters].
* Reconstruction: ``rec_loss`` "bce" (binary cross-entropy, mean over entries: [repo]) or "mse" (mean
  squared error per entry); "auto" is bce for images in [0, 1] and mse for real-valued vectors (the
  paper's synthetic data are unbounded, where cross-entropy is undefined) [harness choice].
* epochs 50 [harness choice; the repo trains 500k steps].

Loss terms logged: ``total`` (= auto-encoder loss), ``rec``, ``critic``, ``gen``, ``w_dist`` (the
critic's estimate mean C(z) - mean C(E(x))).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.base import Method, MethodConfig, minimise
from lcwbench.models import autoencoder_for
from lcwbench.models.mlp import mlp

REC_LOSSES = ("auto", "bce", "mse")


@dataclass
class WAEGANConfig(MethodConfig):
    latent_dim: int = 48  # model capacity M
    lr: float = 1e-4
    batch_size: int = 64
    arch: str = "mlp"
    width: int = 1024
    depth: int = 4
    critic_width: int = 1024
    critic_depth: int = 4
    ae_lr_mult: float = 5.0
    n_critic: int = 5
    gp_weight: float = 10.0
    rec_loss: str = "auto"
    init: str = "glorot"  # "glorot" (Glorot-normal weights, zero biases: [repo]) or "torch" (PyTorch default)

    def check(self) -> None:
        super().check()
        if self.rec_loss not in REC_LOSSES:
            raise LcwbenchError(
                f"method parameter rec_loss must be one of {', '.join(REC_LOSSES)}, got {self.rec_loss!r}"
            )
        if self.init not in ("glorot", "torch"):
            raise LcwbenchError(f"method parameter init must be 'glorot' or 'torch', got {self.init!r}")
        for name in ("n_critic", "critic_width", "critic_depth"):
            if getattr(self, name) < 1:
                raise LcwbenchError(f"method parameter {name} must be >= 1, got {getattr(self, name)}")
        if self.gp_weight < 0 or not self.ae_lr_mult > 0:
            raise LcwbenchError("method parameters gp_weight must be >= 0 and ae_lr_mult > 0")


def rmsprop(params, lr: float) -> torch.optim.Optimizer:
    """RMSProp with Keras' defaults (the [repo] code is Keras)."""
    return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)


def glorot_init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: mean over the batch of (|grad C(x~)|_2 - 1)^2 at x~ = fake + u (real - fake), u ~ U(0, 1)."""
    u = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mix = (fake + u * (real - fake)).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


@register
class WAEGAN(Method):
    name = "wae_gan"
    Config = WAEGANConfig
    masked = False

    def __init__(self, cfg: WAEGANConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.encoder, self.decoder = autoencoder_for(cfg, sample_shape)
        self.critic = mlp([cfg.latent_dim] + [cfg.critic_width] * cfg.critic_depth + [1])
        if cfg.init == "glorot":
            glorot_init(self)
        self.is_image = len(sample_shape) > 1
        self.rec_kind = cfg.rec_loss if cfg.rec_loss != "auto" else ("bce" if self.is_image else "mse")
        if self.rec_kind == "bce" and not self.is_image:
            raise LcwbenchError("rec_loss 'bce' needs images in [0, 1]; use 'mse' for vector data")

    # -- pieces ------------------------------------------------------------------------------
    def mask(self) -> torch.Tensor | None:
        """The latent mask m in [0, 1]^M, or None (no mask)."""
        return None

    def _masked(self, z: torch.Tensor, m: torch.Tensor | None) -> torch.Tensor:
        return z if m is None else z * m

    def rec(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.rec_kind == "bce":
            with torch.autocast(x.device.type, enabled=False):  # autocast refuses BCE: compute it in fp32
                return nn.functional.binary_cross_entropy(x_hat.float().clamp(1e-7, 1 - 1e-7), x.float())
        return (x_hat - x).pow(2).mean()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._masked(self.encoder(x), self.mask())

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self._masked(super().sample_latent(n, generator), self.mask())

    # -- training ------------------------------------------------------------------------------
    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        ae = list(self.encoder.parameters()) + list(self.decoder.parameters())
        return {
            "ae": rmsprop(ae, cfg.lr * cfg.ae_lr_mult),
            "critic": rmsprop(self.critic.parameters(), cfg.lr),
            "gen": rmsprop(self.encoder.parameters(), cfg.lr),
        }

    def ae_loss(self, x: torch.Tensor, m: torch.Tensor | None) -> dict[str, torch.Tensor]:
        rec = self.rec(self.decoder(self._masked(self.encoder(x), m)), x)
        return {"ae": rec, "rec": rec}

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        m = self.mask()
        m_fixed = None if m is None else m.detach()
        # 1. auto-encoder
        ae_terms = self.ae_loss(x, m_fixed)
        minimise(opts["ae"], ae_terms["ae"])
        # 2. critic on the latent: prior samples score high, encodings low
        with torch.no_grad():
            enc = self._masked(self.encoder(x), m_fixed)
        for _ in range(cfg.n_critic):
            prior = self._masked(torch.randn_like(enc), m_fixed)
            w = self.critic(enc).mean() - self.critic(prior).mean()
            critic_loss = w + cfg.gp_weight * gradient_penalty(self.critic, enc, prior)
            minimise(opts["critic"], critic_loss)
        # 3. generator (the encoder) fools the critic; only the encoder's optimiser steps
        gen = -self.critic(self._masked(self.encoder(x), m_fixed)).mean()
        minimise(opts["gen"], gen)
        self.critic.zero_grad(set_to_none=True)
        terms = {"total": ae_terms["ae"], **ae_terms, "critic": critic_loss, "gen": gen, "w_dist": -w}
        terms.pop("ae")
        terms.update(self.after_step(x, opts))
        return {k: v.detach() for k, v in terms.items()}

    def after_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        """Further updates of a subclass after the three WAE-GAN updates (LMGAE: the mask)."""
        return {}

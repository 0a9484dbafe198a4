r"""Geng et al., "Generative Model without Prior Distribution Matching" (AAAI 2021; seed 004).

Instead of pushing the encodings towards a prior, the method first learns a well-behaved latent space
and then fits a generator from the prior to it. Both stages run inside one method run: of the
``epochs`` epochs of the shared loop, the first ``epochs - latent_epochs`` train stage 1 and the last
``latent_epochs`` train stage 2. The boundary is a step count (``stage1_steps``, set by
:meth:`Geng.training_data` from the training-set size) compared with the step counter ``step``; both
are buffers, so a resumed run switches stage at exactly the same step.

Stage 1: autoencoder with latent normalisation and an adversarial interpolation regulariser.

* Latent normalisation (004 Eq. 11): ``x -E-> z -> BN(z) = z_hat -G-> x_hat``; ``BatchNorm1d`` on the
  code, by default without a learned scale/shift (``latent_bn_affine`` False: the paper wants codes of
  zero mean and unit variance, which a learned affine map would undo) [paper + harness choice].
  ``latent_bn`` False removes it (the ablation's "without BN" row).
* Image critic d, trained with (004 Eq. 9)
  ``L_d = ||d(x)||^2 + ||d(gamma x + (1 - gamma) x_hat) - lambda||^2 + ||d(x_mu) - mu - lambda||^2``
  with ``x_hat = G(E(x))``, ``x_mu = G(mu z_hat_1 + (1 - mu) z_hat_2)``, ``mu ~ U[0, 0.5]`` per pair
  [paper]. The pairs (x1, x2) are the batch and the batch in reverse order (the batch is already in
  random order), as in ACAI's code [harness choice]. The mixing happens on the normalised codes,
  the ones G sees.
* Autoencoder loss (004 Eq. 10): ``||x - x_hat||^2 + w1 ||d(x_mu)||^2 + w2 ||d(x_hat)||^2``.
  ``||x - x_hat||^2`` is the mean squared error over all entries and ``||d(.)||^2`` the squared
  output summed over the critic's outputs and averaged over the batch: the normalisation of ACAI,
  whose weights are reused below [harness choice].
* ``rec_scale`` multiplies the squared error in Eq. 10. ACAI's weights below were set for data in
  [-1, 1]; the harness's images are in [0, 1], where the same error is 4x smaller, so the default (0,
  auto) is 4 for images - the squared error ACAI would see - and 1 for vectors [harness choice].
* ``regulariser`` False drops d and both adversarial terms (a plain AE with a BN latent: the
  ablation's "with BN" row, 004 L157-165).
* Each step: one autoencoder update, then one critic update on the same (detached) x_hat and x_mu.

Stage 2: latent mapping (004 L124-137). E, BN and G are frozen and in eval mode, so the codes the
latent GAN fits are exactly what :meth:`encode` returns at test time. A latent generator g maps
``eps ~ N(0, I_noise_dim)`` to the latent space and a latent discriminator D is trained with the
hinge loss ``L_D = E relu(1 - D(E(x))) + E relu(1 + D(g(eps)))`` (Eq. 12) and
``L_g = -E D(g(eps))`` (Eq. 13). Each step: ``n_dis`` D updates, then one g update with fresh noise.

Sampling is ``G(g(eps))`` (004 L93); ``encode`` returns the normalised code, ``decode`` is G.

Networks (``arch``): "mimicry" (images, 32 or 64 px: :mod:`lcwbench.models.mimicry`, the
DCGAN/SNGAN-style nets of the Mimicry library the paper names for G, g, D, d at 004 L169, with
``conv_width``), "mlp" (any shape, flattened: ``depth`` x [Linear(width), LeakyReLU] per net, the
decoder ending in a sigmoid for images and linearly for vectors), "auto" = "mlp" for vectors (the
swiss roll) and "mimicry" for images. g and D are always MLPs (``latent_width``, ``latent_depth``).

Defaults and where they come from (the paper states no optimiser, learning rate, batch size or
loss weights; 004 D3 in the ambiguities list):

* latent_dim 256 - the MNIST ablation (004 L157) [paper]; the CelebA value is not given.
* gamma 0.2, w1 0.5 - the critic is ACAI's (Berthelot et al. 2019, "Understanding and improving
  interpolation in autoencoders via an adversarial regularizer", the work 004 L96 builds on); ACAI
  mixes inputs and reconstructions with gamma = 0.2 and weights its one adversarial AE term by 0.5
  [ACAI].
* w2 0.5 - ACAI has no ``||d(x_hat)||^2`` term; the same weight as the interpolation term
  [harness choice].
* lambda 0.1 - ACAI's targets are 0 (real/reconstruction mix) and mu (interpolants); Geng shift
  both by lambda so that reconstructions score apart from real data. A small offset, well inside the
  0.5 spread of mu, keeps the order real (0) < reconstruction (lambda) <= interpolants (mu + lambda)
  without dominating the regression [harness choice].
* lr 1e-4 (Adam, default betas) for E, G and d, batch_size 64 - ACAI's settings [ACAI].
* Latent GAN: Adam with betas (0, 0.9), lr 4e-4 for D and 1e-4 for g, one D step per g step
  (``n_dis`` 1) - the settings of SAGAN (Zhang et al. 2019), which the paper cites for the hinge
  loss (004 L130) [SAGAN].
* noise_dim 0 = latent_dim: the prior has the latent's dimension (the swiss roll's 2-D unit
  Gaussian, 004 L151) [paper for the swiss roll, harness choice elsewhere].
* latent_width 512, latent_depth 3 (g and D); width 128, depth 3 (MLP autoencoder/critic for
  vectors); conv_width 64 (Mimicry's 512-channel generator start) [harness choices; 004 gives no sizes].
* critic_norm "none" - the image critic is evaluated on several differently composed batches per
  step; batch statistics would leak between them [harness choice].
* epochs 50 with latent_epochs 25 - the paper trains "each model for 25 epochs" on CelebA
  (004 L169); read here as 25 autoencoder epochs followed by 25 latent-GAN epochs [harness reading].

Loss terms logged every step (the same keys in both stages; a stage's terms are 0 in the other):
``total`` (stage 1: the autoencoder loss; stage 2: L_g), ``rec``, ``adv_interp`` (||d(x_mu)||^2),
``adv_rec`` (||d(x_hat)||^2), ``critic`` (L_d), ``latent_d`` (L_D), ``latent_g`` (L_g), ``stage``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.base import Method, MethodConfig, minimise
from lcwbench.models.mimicry import (
    latent_mlp,
    mimicry_discriminator,
    mimicry_encoder,
    mimicry_generator,
    mimicry_geometry,
)

ARCHS = ("auto", "mimicry", "mlp")
CRITIC_NORMS = ("none", "batch", "spectral")
MU_MAX = 0.5  # mu ~ U[0, 0.5] (004 L102)
TERMS = ("total", "rec", "adv_interp", "adv_rec", "critic", "latent_d", "latent_g", "stage")


@dataclass
class GengConfig(MethodConfig):
    latent_dim: int = 256
    lr: float = 1e-4  # E, G and the image critic d
    batch_size: int = 64
    epochs: int = 50
    latent_epochs: int = 25  # the last latent_epochs of epochs train the latent GAN (stage 2)
    arch: str = "auto"  # "mimicry" (images), "mlp" (vectors, or flattened images), "auto"
    width: int = 128  # MLP autoencoder / critic hidden width (arch "mlp")
    depth: int = 3  # MLP autoencoder / critic hidden layers (arch "mlp")
    conv_width: int = 64  # Mimicry base width (arch "mimicry")
    critic_norm: str = "none"  # normalisation in the conv critic d: none, batch, spectral
    latent_bn: bool = True  # BN on the code (Eq. 11); False: the ablation's "without BN"
    latent_bn_affine: bool = False
    regulariser: bool = True  # the adversarial interpolation regulariser (Eqs. 9-10)
    lambda_: float = 0.1
    gamma: float = 0.2
    w1: float = 0.5
    w2: float = 0.5
    rec_scale: float = 0.0  # 0: auto (4 for images in [0, 1], 1 for vectors)
    noise_dim: int = 0  # 0: latent_dim
    latent_width: int = 512
    latent_depth: int = 3
    latent_lr_g: float = 1e-4
    latent_lr_d: float = 4e-4
    latent_beta1: float = 0.0
    latent_beta2: float = 0.9
    n_dis: int = 1

    def check(self) -> None:
        super().check()
        if not 0 <= self.latent_epochs < self.epochs:
            raise LcwbenchError(
                f"method parameter latent_epochs must be in [0, epochs) = [0, {self.epochs}), got {self.latent_epochs}"
            )
        if self.arch not in ARCHS:
            raise LcwbenchError(f"method parameter arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        if self.critic_norm not in CRITIC_NORMS:
            raise LcwbenchError(
                f"method parameter critic_norm must be one of {', '.join(CRITIC_NORMS)}, got {self.critic_norm!r}"
            )
        for name in ("width", "depth", "conv_width", "latent_width", "n_dis"):
            if getattr(self, name) < 1:
                raise LcwbenchError(f"method parameter {name} must be >= 1, got {getattr(self, name)}")
        for name in ("latent_depth", "noise_dim"):
            if getattr(self, name) < 0:
                raise LcwbenchError(f"method parameter {name} must be >= 0, got {getattr(self, name)}")
        for name in ("w1", "w2", "rec_scale"):
            if getattr(self, name) < 0:
                raise LcwbenchError(f"method parameter {name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.gamma <= 1:
            raise LcwbenchError(f"method parameter gamma must be in [0, 1], got {self.gamma}")
        for name in ("latent_lr_g", "latent_lr_d"):
            if not getattr(self, name) > 0:
                raise LcwbenchError(f"method parameter {name} must be > 0, got {getattr(self, name)}")
        for name in ("latent_beta1", "latent_beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise LcwbenchError(f"method parameter {name} must be in [0, 1), got {getattr(self, name)}")


# -- the loss terms, as functions of network outputs ----------------------------------------------
def sq_norm(t: torch.Tensor) -> torch.Tensor:
    """||t||^2 per sample (summed over all but the batch dimension), averaged over the batch."""
    return t.pow(2).flatten(1).sum(dim=1).mean()


def interp_critic_loss(
    d_real: torch.Tensor, d_mix: torch.Tensor, d_interp: torch.Tensor, mu: torch.Tensor, lambda_: float
) -> torch.Tensor:
    """Eq. 9 from the critic's outputs on x, on gamma x + (1 - gamma) x_hat and on x_mu; ``mu`` is (N,)."""
    target = mu.reshape(-1, *([1] * (d_interp.dim() - 1))) + lambda_
    return sq_norm(d_real) + sq_norm(d_mix - lambda_) + sq_norm(d_interp - target)


def ae_loss(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    d_interp: torch.Tensor | None,
    d_rec: torch.Tensor | None,
    w1: float,
    w2: float,
    rec_scale: float = 1.0,
) -> dict[str, torch.Tensor]:
    """Eq. 10: ``rec_scale rec + w1 ||d(x_mu)||^2 + w2 ||d(x_hat)||^2``; without critic outputs, the
    reconstruction term alone. The logged ``rec`` is the plain mean squared error."""
    rec = (x_hat - x).pow(2).mean()
    zero = rec.new_zeros(())
    adv_interp = sq_norm(d_interp) if d_interp is not None else zero
    adv_rec = sq_norm(d_rec) if d_rec is not None else zero
    ae = rec_scale * rec + w1 * adv_interp + w2 * adv_rec
    return {"ae": ae, "rec": rec, "adv_interp": adv_interp, "adv_rec": adv_rec}


def hinge_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Eq. 12: ``mean relu(1 - D(real)) + mean relu(1 + D(fake))``."""
    return torch.relu(1.0 - d_real).mean() + torch.relu(1.0 + d_fake).mean()


def hinge_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Eq. 13: ``-mean D(g(eps))``."""
    return -d_fake.mean()


def sample_mu(n: int, like: torch.Tensor) -> torch.Tensor:
    """mu ~ U[0, 0.5], shape (n,), on ``like``'s device and dtype (global RNG)."""
    return torch.rand(n, device=like.device, dtype=like.dtype) * MU_MAX


# -- networks ---------------------------------------------------------------------------------------
def resolve_arch(arch: str, sample_shape: tuple[int, ...]) -> str:
    if arch == "auto":
        return "mlp" if len(sample_shape) == 1 else "mimicry"
    return arch


class _MLPDecoder(nn.Module):
    def __init__(self, latent_dim: int, sample_shape: tuple[int, ...], width: int, depth: int, image: bool):
        super().__init__()
        self.net = latent_mlp(latent_dim, math.prod(sample_shape), width, depth)
        self.sample_shape = tuple(sample_shape)
        self.image = image

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net(z)
        if self.image:
            out = torch.sigmoid(out)
        return out.reshape(z.shape[0], *self.sample_shape)


@register
class Geng(Method):
    name = "geng"
    Config = GengConfig

    def __init__(self, cfg: GengConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.arch = resolve_arch(cfg.arch, self.sample_shape)
        self.is_image = len(self.sample_shape) > 1
        self.rec_scale = cfg.rec_scale or (4.0 if self.is_image else 1.0)
        d_in = math.prod(self.sample_shape)
        if self.arch == "mimicry":
            c, s = mimicry_geometry(self.sample_shape, "method 'geng'")
            self.encoder = mimicry_encoder(c, s, cfg.latent_dim, cfg.conv_width)
            self.decoder = mimicry_generator(c, s, cfg.latent_dim, cfg.conv_width)
            critic = mimicry_discriminator(c, s, cfg.conv_width, out_dim=1, norm=cfg.critic_norm)
        else:
            self.encoder = nn.Sequential(nn.Flatten(), latent_mlp(d_in, cfg.latent_dim, cfg.width, cfg.depth))
            self.decoder = _MLPDecoder(cfg.latent_dim, self.sample_shape, cfg.width, cfg.depth, self.is_image)
            critic = nn.Sequential(nn.Flatten(), latent_mlp(d_in, 1, cfg.width, cfg.depth))
        self.bn: nn.Module = (
            nn.BatchNorm1d(cfg.latent_dim, affine=cfg.latent_bn_affine) if cfg.latent_bn else nn.Identity()
        )
        self.critic: nn.Module | None = critic if cfg.regulariser else None
        self.noise_dim = cfg.noise_dim or cfg.latent_dim
        self.latent_gen = latent_mlp(self.noise_dim, cfg.latent_dim, cfg.latent_width, cfg.latent_depth)
        self.latent_disc = latent_mlp(cfg.latent_dim, 1, cfg.latent_width, cfg.latent_depth)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        # steps of stage 1; -1 until training_data has seen the training set
        self.register_buffer("stage1_steps", torch.full((), -1, dtype=torch.long))

    # -- pieces ------------------------------------------------------------------------------------
    def ae_modules(self) -> list[nn.Module]:
        return [m for m in (self.encoder, self.bn, self.decoder, self.critic) if m is not None]

    def stage(self) -> int:
        """1 (autoencoder) or 2 (latent GAN) for the next training step."""
        if int(self.stage1_steps) < 0:
            raise LcwbenchError("geng: the stage boundary is unset; train on training_data(x, to_float)")
        return 1 if int(self.step) < int(self.stage1_steps) else 2

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """g(eps), eps ~ N(0, I_noise_dim)."""
        eps = torch.randn(n, self.noise_dim, generator=generator, device=self.step.device)
        return self.latent_gen(eps)

    # -- training ----------------------------------------------------------------------------------
    def train(self, mode: bool = True):
        super().train(mode)
        if mode and int(self.stage1_steps) >= 0 and int(self.step) >= int(self.stage1_steps):
            for m in self.ae_modules():
                m.eval()
        return self

    def training_data(self, x, to_float):
        steps_per_epoch = x.shape[0] // self.cfg.batch_size
        self.stage1_steps.fill_((self.cfg.epochs - self.cfg.latent_epochs) * steps_per_epoch)
        return x, to_float

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        betas = (cfg.latent_beta1, cfg.latent_beta2)
        ae = list(self.encoder.parameters()) + list(self.bn.parameters()) + list(self.decoder.parameters())
        opts = {
            "ae": torch.optim.Adam(ae, lr=cfg.lr),
            "latent_d": torch.optim.Adam(self.latent_disc.parameters(), lr=cfg.latent_lr_d, betas=betas),
            "latent_g": torch.optim.Adam(self.latent_gen.parameters(), lr=cfg.latent_lr_g, betas=betas),
        }
        if self.critic is not None:
            opts["critic"] = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr)
        return opts

    def stage1_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        z = self.encode(x)
        x_hat = self.decoder(z)
        if self.critic is None:
            terms = ae_loss(x, x_hat, None, None, cfg.w1, cfg.w2, self.rec_scale)
            minimise(opts["ae"], terms["ae"])
            critic_loss = terms["rec"].new_zeros(())
        else:
            mu = sample_mu(x.shape[0], z)
            m = mu[:, None]
            x_mu = self.decoder(m * z + (1.0 - m) * z.flip(0))
            terms = ae_loss(x, x_hat, self.critic(x_mu), self.critic(x_hat), cfg.w1, cfg.w2, self.rec_scale)
            minimise(opts["ae"], terms["ae"])
            x_hat_d, x_mu_d = x_hat.detach(), x_mu.detach()
            critic_loss = interp_critic_loss(
                self.critic(x),
                self.critic(cfg.gamma * x + (1.0 - cfg.gamma) * x_hat_d),
                self.critic(x_mu_d),
                mu,
                cfg.lambda_,
            )
            minimise(opts["critic"], critic_loss)
            self.critic.zero_grad(set_to_none=True)
        zero = critic_loss.new_zeros(())
        return {
            "total": terms["ae"],
            "rec": terms["rec"],
            "adv_interp": terms["adv_interp"],
            "adv_rec": terms["adv_rec"],
            "critic": critic_loss,
            "latent_d": zero,
            "latent_g": zero,
            "stage": zero + 1.0,
        }

    def stage2_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        for m in self.ae_modules():  # frozen: running statistics included
            m.eval()
        with torch.no_grad():
            real = self.encode(x)
        n = real.shape[0]
        for _ in range(self.cfg.n_dis):
            with torch.no_grad():
                fake = self.latent_gen(torch.randn(n, self.noise_dim, device=real.device, dtype=real.dtype))
            d_loss = hinge_d_loss(self.latent_disc(real), self.latent_disc(fake))
            minimise(opts["latent_d"], d_loss)
        fake = self.latent_gen(torch.randn(n, self.noise_dim, device=real.device, dtype=real.dtype))
        g_loss = hinge_g_loss(self.latent_disc(fake))
        minimise(opts["latent_g"], g_loss)
        self.latent_disc.zero_grad(set_to_none=True)
        zero = g_loss.new_zeros(())
        return {
            "total": g_loss,
            "rec": zero,
            "adv_interp": zero,
            "adv_rec": zero,
            "critic": zero,
            "latent_d": d_loss,
            "latent_g": g_loss,
            "stage": zero + 2.0,
        }

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        terms = self.stage1_step(x, opts) if self.stage() == 1 else self.stage2_step(x, opts)
        self.step += 1
        return {k: v.detach() for k, v in terms.items()}

"""Adversarial Generator-Encoder networks, AGE (Ulyanov, Vedaldi and Lempitsky, "It Takes (Only) Two:
Adversarial Generator-Encoder Networks", AAAI 2018), a CelebA baseline of Geng et al. (004 Table 1,
L169-172).

There is no discriminator: the encoder ``e`` and the generator ``g`` play a game in the latent space,
which is the unit sphere ``S^{M-1}`` (``e``'s output is divided by its norm; the prior ``Z`` is uniform on
the sphere, drawn as normalised Gaussian vectors). A batch of codes is compared with the canonical
distribution through the KL divergence of the Gaussian fitted to the batch,

    Delta(batch) = mean_j [ (s_j^2 + m_j^2) / 2 - log s_j - 1/2 ]   = KL(N(m, diag s^2) || N(0, I)) / M,

with ``m_j`` and ``s_j^2`` the batch mean and (biased) batch variance of dimension j
(:func:`gaussian_fit_kl`). One training step on a batch ``x``:

* encoder update (``e`` optimiser; g's parameters get no gradient): maximise
  ``Delta(e(g(z))) - Delta(e(x))`` - real codes should look like the prior, codes of generated images
  should not - while reconstructing images: minimise
  ``L_e = Delta(e(x)) - Delta(e(g(z))) + lambda * mean |g(e(x)) - x|`` with ``g(z)`` detached;
* ``g_steps`` generator updates (``g`` optimiser; e's parameters get no gradient), each with fresh
  ``z``: minimise ``L_g = Delta(e(g(z))) + mu * mean_i (1 - cos(e(g(z_i)), z_i))`` - generated codes
  should look like the prior and the encoder should recover the latent (the cosine distance, i.e. the
  squared Euclidean distance on the sphere up to a factor 2).

Inference: ``encode(x) = e(x)`` (on the sphere), ``decode(z) = g(z)``, ``sample = g(z)`` with ``z``
uniform on the sphere, ``reconstruct = g(e(x))``.

Defaults and where they come from:

* Latent on the sphere, the prior uniform on it, the game between e and g on the Gaussian-fit KL,
  reconstruction in image space for e and in latent space for g [AGE paper].
* lambda (``rec_x_weight``) 10 with the L1 distance, mu (``rec_z_weight``) 1000 with the cosine distance,
  ``g_steps`` 3 generator updates per encoder update, latent_dim 64, batch_size 64, lr 2e-4, Adam betas
  (0.5, 0.999) - the authors' released command for CelebA at 64x64 ([repo] DmitryUlyanov/AGE README:
  ``--nz 64 --batch_size 64 --lr 0.0002``, encoder plan ``KL_fake:1,KL_real:1,match_x:10``, generator plan
  ``3;KL_fake:1,match_z:1000``; ``age.py`` defaults ``--beta1 0.5``, ``--match_x L1``, ``--match_z cos``,
  ``--noise sphere``) [repo].
* Delta averages over latent dimensions, as the released code does (its weights were set for that
  scale; the paper's KL sums over them, M times larger) [repo]. The batch variance is the biased one
  (the maximum-likelihood Gaussian fit) [harness choice].
* Not implemented: the released code's learning-rate decay (x 0.96 every ``drop_lr`` epochs), which
  changes the rate once in its 5-epoch CelebA run [harness choice]. The released code works on images in
  [-1, 1]; the harness's are in [0, 1], which halves the L1 term at equal lambda [harness].
* Encoder (then normalised) and generator, epochs 25: :mod:`lcwbench.methods.adv_ae_common`.

Loss terms logged: ``total`` (= L_e), ``kl_real`` (Delta(e(x))), ``kl_fake`` (Delta(e(g(z))) in the encoder
update), ``rec_x``, and from the last generator update ``kl_g``, ``rec_z`` and ``loss_g``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.adv_ae_common import BaselineConfig, adam, build_decoder, build_encoder, frozen
from lcwbench.methods.base import Method, minimise

EPS = 1e-12


@dataclass
class AGEConfig(BaselineConfig):
    latent_dim: int = 64
    lr: float = 2e-4
    batch_size: int = 64
    beta1: float = 0.5
    beta2: float = 0.999
    rec_x_weight: float = 10.0  # lambda
    rec_z_weight: float = 1000.0  # mu
    g_steps: int = 3

    def check(self) -> None:
        super().check()
        if self.latent_dim < 2:
            raise LcwbenchError(f"method parameter latent_dim must be >= 2 (codes on a sphere), got {self.latent_dim}")
        for name in ("rec_x_weight", "rec_z_weight"):
            if getattr(self, name) < 0:
                raise LcwbenchError(f"method parameter {name} must be >= 0, got {getattr(self, name)}")
        if self.g_steps < 1:
            raise LcwbenchError(f"method parameter g_steps must be >= 1, got {self.g_steps}")


def to_sphere(z: torch.Tensor) -> torch.Tensor:
    """Each row divided by its Euclidean norm."""
    return z / z.norm(dim=1, keepdim=True).clamp_min(EPS)


def gaussian_fit_kl(z: torch.Tensor) -> torch.Tensor:
    """KL(N(m, diag s^2) || N(0, I)) / M for the Gaussian fitted to the batch ``z`` (N, M): per-dimension
    batch mean m_j and biased variance s_j^2, ``mean_j [(s_j^2 + m_j^2) / 2 - log(s_j) - 1/2]``."""
    m = z.mean(dim=0)
    var = (z - m).pow(2).mean(dim=0).clamp_min(EPS)
    return (0.5 * (var + m.pow(2)) - 0.5 * var.log() - 0.5).mean()


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``mean_i (1 - cos(a_i, b_i))``."""
    return (1.0 - torch.nn.functional.cosine_similarity(a, b, dim=1, eps=1e-8)).mean()


@register
class AGE(Method):
    name = "age"
    Config = AGEConfig

    def __init__(self, cfg: AGEConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.encoder = build_encoder(cfg, self.sample_shape, cfg.latent_dim, self.name)
        self.decoder = build_decoder(cfg, self.sample_shape, cfg.latent_dim, self.name)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return to_sphere(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniform on the unit sphere: normalised N(0, I) draws."""
        return to_sphere(super().sample_latent(n, generator))

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"e": adam(self.encoder.parameters(), self.cfg), "g": adam(self.decoder.parameters(), self.cfg)}

    def _prior(self, x: torch.Tensor) -> torch.Tensor:
        return to_sphere(torch.randn(x.shape[0], self.cfg.latent_dim, device=x.device, dtype=x.dtype))

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        # encoder update: real codes towards the prior, codes of generated images away from it
        with frozen(self.decoder):
            ex = self.encode(x)
            rec_x = (self.decoder(ex) - x).abs().mean()
        with torch.no_grad():
            fake = self.decoder(self._prior(x))
        kl_real = gaussian_fit_kl(ex)
        kl_fake = gaussian_fit_kl(self.encode(fake))
        loss_e = kl_real - kl_fake + cfg.rec_x_weight * rec_x
        minimise(opts["e"], loss_e)
        # generator updates: generated codes towards the prior, and the latent recovered by the encoder
        for _ in range(cfg.g_steps):
            z = self._prior(x)
            with frozen(self.encoder):
                egz = self.encode(self.decoder(z))
            kl_g = gaussian_fit_kl(egz)
            rec_z = cosine_distance(egz, z)
            loss_g = kl_g + cfg.rec_z_weight * rec_z
            minimise(opts["g"], loss_g)
        terms = {
            "total": loss_e,
            "kl_real": kl_real,
            "kl_fake": kl_fake,
            "rec_x": rec_x,
            "kl_g": kl_g,
            "rec_z": rec_z,
            "loss_g": loss_g,
        }
        return {k: v.detach() for k, v in terms.items()}

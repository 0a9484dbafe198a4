"""IntroVAE (Huang et al., "IntroVAE: Introspective Variational Autoencoders for Photographic Image
Synthesis", NeurIPS 2018), a CelebA baseline of Geng et al. (004 Table 1, L169-172).

A VAE whose encoder doubles as the discriminator: it keeps the KL divergence of real data's posterior
small and pushes the KL of generated images above a margin ``m``; the decoder (generator) tries to bring
the KL of its images down. With ``KL(x) = KL(N(mu(x), diag sigma^2(x)) || N(0, I))`` summed over latent
dimensions (the VAE regulariser, :func:`kl_per_sample`), one training step on a batch ``x``:

* ``z = mu(x) + sigma(x) eps`` (reparameterisation), ``x_r = G(z)``; ``z_p ~ N(0, I)``, ``x_p = G(z_p)``;
  ``rec = mean_i ||x_r,i - x_i||^2`` (squared error summed per sample, averaged over the batch);
* encoder update (``e`` optimiser), on ``x_r`` and ``x_p`` detached (no gradient into G):
  ``L_E = KL(x) + alpha * ([m - KL(x_r)]^+ + [m - KL(x_p)]^+) + beta * rec``;
* generator update (``g`` optimiser), through the *updated* encoder (whose parameters get no gradient):
  ``L_G = alpha_g * (KL(x_r) + KL(x_p)) + beta * rec``, with ``rec`` from the same forward pass as the
  encoder update (the order of the paper's Algorithm 1).

Every term is a batch mean. ``hinge`` says where the hinge sits: "sample" (default) takes
``mean_i [m - KL(x_i)]^+``, the per-sample loss of the paper's equations; "batch" takes
``[m - mean_i KL(x_i)]^+`` as the authors' released code does.

Inference: ``encode(x) = mu(x)`` (the posterior mean), ``decode(z) = G(z)``, ``sample = G(z)`` with
``z ~ N(0, I)``, ``reconstruct = G(mu(x))``.

Defaults and where they come from:

* alpha 0.25, beta 0.05, margin m 120 - the authors' released settings for CelebA-HQ at 256x256 with a
  512-d latent ([repo] hhb072/IntroVAE ``run_256.sh``: ``m_plus 120``, ``weight_rec 0.05``, ``weight_neg
  0.5`` which the code halves, giving 0.25 on each hinge term). The values are tied to image size and
  latent size (``rec`` sums over pixels, the KL over latent dimensions); Geng et al. give none for their
  64x64 runs [repo; retune for other sizes].
* alpha_g None (= alpha: the paper's L_G uses the same alpha as L_E) [paper]; the released code weights
  the generator's two KL terms by 0.5 each, which ``alpha_g: 0.5`` reproduces [repo].
* latent_dim 512 - the released code's latent size (``hdim 512``) [repo].
* lr 2e-4 for encoder and decoder, Adam with PyTorch's default betas (0.9, 0.999) - the released code's
  ``lr_e``/``lr_g`` and its plain ``Adam(lr=...)`` [repo].
* batch_size 64 - the released code's default ``batchSize`` [repo] (its 256x256 script uses 16).
* Reconstruction as the per-sample summed squared error without the 1/2 of a Gaussian log-likelihood, as
  the released code computes it (beta was set for that scale) [repo].
* No VAE pre-training epochs (the released code's ``num_vae`` default 0) [repo].
* Encoder (outputting mean and log-variance, 2 x latent_dim values) and decoder, epochs 25:
  :mod:`lcwbench.methods.adv_ae_common`.

Loss terms logged: ``total`` (= L_E), ``rec``, ``kl_real``, ``kl_rec`` and ``kl_fake`` (the encoder's KL
of reconstructions and of samples, before its update), ``hinge`` (the two hinge terms), ``loss_g`` (L_G).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.adv_ae_common import BaselineConfig, adam, build_decoder, build_encoder, frozen
from lcwbench.methods.ae import sum_sq_error
from lcwbench.methods.base import Method
from lcwbench.methods.vae import kl_per_sample

HINGES = ("sample", "batch")


@dataclass
class IntroVAEConfig(BaselineConfig):
    latent_dim: int = 512
    lr: float = 2e-4
    batch_size: int = 64
    beta1: float = 0.9
    beta2: float = 0.999
    alpha: float = 0.25
    beta: float = 0.05
    margin: float = 120.0
    alpha_g: float | None = None  # None: alpha
    hinge: str = "sample"  # "sample": mean of per-sample hinges (paper); "batch": hinge of the mean KL (repo)

    def check(self) -> None:
        super().check()
        for name in ("alpha", "beta", "margin"):
            if getattr(self, name) < 0:
                raise LcwbenchError(f"method parameter {name} must be >= 0, got {getattr(self, name)}")
        if self.alpha_g is not None and self.alpha_g < 0:
            raise LcwbenchError(f"method parameter alpha_g must be >= 0 (or null), got {self.alpha_g}")
        if self.hinge not in HINGES:
            raise LcwbenchError(f"method parameter hinge must be one of {', '.join(HINGES)}, got {self.hinge!r}")


def margin_hinge(kl: torch.Tensor, margin: float, hinge: str = "sample") -> torch.Tensor:
    """``mean_i [m - kl_i]^+`` ("sample") or ``[m - mean_i kl_i]^+`` ("batch")."""
    if hinge == "sample":
        return torch.relu(margin - kl).mean()
    if hinge == "batch":
        return torch.relu(margin - kl.mean())
    raise LcwbenchError(f"hinge must be one of {', '.join(HINGES)}, got {hinge!r}")


def encoder_loss(
    kl_real: torch.Tensor,
    kl_rec: torch.Tensor,
    kl_fake: torch.Tensor,
    rec: torch.Tensor,
    alpha: float,
    beta: float,
    margin: float,
    hinge: str = "sample",
) -> dict[str, torch.Tensor]:
    """L_E from the per-sample KLs of real data, reconstructions and samples and the reconstruction error."""
    h = margin_hinge(kl_rec, margin, hinge) + margin_hinge(kl_fake, margin, hinge)
    return {"loss": kl_real.mean() + alpha * h + beta * rec, "hinge": h}


def generator_loss(
    kl_rec: torch.Tensor, kl_fake: torch.Tensor, rec: torch.Tensor, alpha: float, beta: float
) -> torch.Tensor:
    """L_G: ``alpha * (mean KL(x_r) + mean KL(x_p)) + beta * rec``."""
    return alpha * (kl_rec.mean() + kl_fake.mean()) + beta * rec


@register
class IntroVAE(Method):
    name = "introvae"
    Config = IntroVAEConfig

    def __init__(self, cfg: IntroVAEConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.encoder = build_encoder(cfg, self.sample_shape, 2 * cfg.latent_dim, self.name)
        self.decoder = build_decoder(cfg, self.sample_shape, cfg.latent_dim, self.name)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x)."""
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"e": adam(self.encoder.parameters(), self.cfg), "g": adam(self.decoder.parameters(), self.cfg)}

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        alpha_g = cfg.alpha if cfg.alpha_g is None else cfg.alpha_g
        mean, logvar = self.posterior(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        x_r = self.decoder(z)
        x_p = self.decoder(torch.randn_like(mean))
        rec = sum_sq_error(x_r, x)
        kl_real = kl_per_sample(mean, logvar)
        # encoder update: x_r and x_p detached, so only beta * rec reaches the decoder's gradients
        kl_rec = kl_per_sample(*self.posterior(x_r.detach()))
        kl_fake = kl_per_sample(*self.posterior(x_p.detach()))
        e_terms = encoder_loss(kl_real, kl_rec, kl_fake, rec, cfg.alpha, cfg.beta, cfg.margin, cfg.hinge)
        opts["e"].zero_grad(set_to_none=True)
        opts["g"].zero_grad(set_to_none=True)
        e_terms["loss"].backward(retain_graph=True)  # the decoder keeps d(beta * rec) for its own update
        opts["e"].step()
        # generator update through the updated encoder; its gradient adds to d(beta * rec)
        with frozen(self.encoder):
            kl_rec_g = kl_per_sample(*self.posterior(x_r))
            kl_fake_g = kl_per_sample(*self.posterior(x_p))
        adv_g = alpha_g * (kl_rec_g.mean() + kl_fake_g.mean())
        # only the decoder's gradients: the path on into the encoder's first pass (whose parameters the
        # encoder update has changed in place) is neither needed nor valid any more
        adv_g.backward(inputs=list(self.decoder.parameters()))
        opts["g"].step()
        self.encoder.zero_grad(set_to_none=True)
        terms = {
            "total": e_terms["loss"],
            "rec": rec,
            "kl_real": kl_real.mean(),
            "kl_rec": kl_rec.mean(),
            "kl_fake": kl_fake.mean(),
            "hinge": e_terms["hinge"],
            "loss_g": generator_loss(kl_rec_g, kl_fake_g, rec, alpha_g, cfg.beta),
        }
        return {k: v.detach() for k, v in terms.items()}

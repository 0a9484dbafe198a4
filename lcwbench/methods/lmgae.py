"""LMGAE (Mondal et al., "Towards Latent Space Optimality for Auto-Encoder Based Generative Models";
later "MaskAAE"): WAE-GAN plus a learnable mask on the latent that switches unneeded dimensions off.

The seed copy (002) lost every formula and number; what follows is the paper's structure with the
details of the authors' public MaskAAE code ([repo] arnabkmondal/MaskAAE, MaskAAE_MNIST.py @e508d96,
see ../shared/reference/hyperparameters.md section 2) where the paper is silent. Every choice is a
parameter.

* Mask: ``m = 1 - exp(-alpha)`` with ``alpha >= 0`` (clamped after each update, Keras' NonNeg), one
  entry per latent dimension (M = latent_dim = model capacity), ``alpha ~ U(0, alpha_init_max)`` with
  alpha_init_max 5 [repo L189-191, L318-320]. The paper says only that the parameterisation pushes m
  towards 0 or 1 (002 L115). ``alpha_init_min`` (default 0, the [repo]) raises the lower end of the
  init range [harness parameter].
* ``mask_warmup_steps`` (default 0, the [repo]): for that many first steps the mask is not updated
  and the masked-variance term is off, so the auto-encoder learns with the initial mask first
  [harness parameter; config/lmgae_cpu.yaml records what it did on the synthetic sweep].
* Decoder and critic see ``E(x) * m`` and ``z * m``, ``z ~ N(0, I_M)`` (002 L109-117). Sampling is
  ``D(z * m)`` [repo L497-548]. Active dimensions are ``count(m >= active_threshold)``, threshold 0.1
  [repo L191].
* The four updates each step, in the [repo] order (the paper's order is lost, 002 L138):
  1. auto-encoder (encoder + decoder, lr x ae_lr_mult):
     ``rec + var_weight * mean_{batch, dims}[(E(x) - mean_batch E(x))^2 * exp(-var_sharpness * m^2)]``
     - the variance of the encoding in the masked-off dimensions (002 L121-124 in words; the formula,
     var_weight 100 and var_sharpness 10 are [repo L256-259, L576]);
  2. ``n_critic`` (5) critic updates, WGAN-GP with gp_weight 10 (002 L128-131; [repo]);
  3. generator (encoder) update ``-mean C(E(x) * m)`` (002 L126);
  4. mask update (alpha only, lr x mask_lr_mult): ``mask_rec_weight * rec + (1 - (mean C(E(x) m) -
     mean C(z m)))^2 + c_poly * sum_i |(1 - m_i) m_i|`` (002 L133-136 in words; weights 1000 and the
     squared critic term are [repo L263-266]).
* Schedule [repo L323, L343, L377-390]: ``c_poly`` starts at ``poly_init / M`` (poly_init 2), doubles
  every ``4 r`` steps up to ``poly_max`` (2048), and at step ``5 r`` the auto-encoder and mask learning
  rates are divided by ``lr_drop`` (5), where ``r = 75`` if M <= 20 else ``min(10000, floor(1125 M / 10))``.
  The four constants of that formula are parameters (``schedule_r_small`` 75, ``schedule_r_switch`` 20,
  ``schedule_r_per_dim`` 112.5, ``schedule_r_max`` 10000), so a shorter run can scale the [repo]
  schedule and keep its shape: larger capacities get a slower schedule. ``schedule_r`` overrides r for
  every M (a sweep that compares capacities can then share one schedule) [harness parameters].
* Reconstruction, optimiser, nets and the other defaults: as :mod:`lcwbench.methods.wae_gan`.

Evaluation: ``active_dims``; ``offdiag_cov`` over the active dimensions only (the paper's Table 2
measure for LMGAE) and ``offdiag_cov_all`` over all M.

Extra loss terms logged per epoch: ``var``, ``mask_loss``, ``c_poly``, ``active`` (number of active
dimensions) and ``m0 ... m{M-1}``, the mask values (the trajectories of the paper's Fig. 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.base import minimise
from lcwbench.methods.wae_gan import WAEGAN, WAEGANConfig, rmsprop


@dataclass
class LMGAEConfig(WAEGANConfig):
    mask_lr_mult: float = 5.0
    alpha_init_min: float = 0.0
    alpha_init_max: float = 5.0
    active_threshold: float = 0.1
    var_weight: float = 100.0
    var_sharpness: float = 10.0
    mask_rec_weight: float = 1000.0
    poly_init: float = 2.0
    poly_max: float = 2048.0
    lr_drop: float = 5.0
    schedule_r: int | None = None
    schedule_r_small: int = 75
    schedule_r_switch: int = 20
    schedule_r_per_dim: float = 112.5
    schedule_r_max: int = 10000
    mask_warmup_steps: int = 0

    def check(self) -> None:
        super().check()
        if not 0 < self.active_threshold < 1:
            raise LcwbenchError(f"method parameter active_threshold must be in (0, 1), got {self.active_threshold}")
        if self.mask_warmup_steps < 0:
            raise LcwbenchError(f"method parameter mask_warmup_steps must be >= 0, got {self.mask_warmup_steps}")
        if self.schedule_r is not None and self.schedule_r < 1:
            raise LcwbenchError(f"method parameter schedule_r must be >= 1, got {self.schedule_r}")
        if self.schedule_r_small < 1 or self.schedule_r_max < 1 or not self.schedule_r_per_dim > 0:
            raise LcwbenchError(
                "method parameters schedule_r_small and schedule_r_max must be >= 1 and schedule_r_per_dim > 0, "
                f"got {self.schedule_r_small}, {self.schedule_r_max}, {self.schedule_r_per_dim}"
            )
        if not 0 <= self.alpha_init_min < self.alpha_init_max:
            raise LcwbenchError(
                "method parameters need 0 <= alpha_init_min < alpha_init_max, "
                f"got {self.alpha_init_min}, {self.alpha_init_max}"
            )
        if not self.alpha_init_max > 0 or not self.lr_drop > 0 or not self.mask_lr_mult > 0:
            raise LcwbenchError("method parameters alpha_init_max, lr_drop and mask_lr_mult must be > 0")


def schedule_r(
    latent_dim: int, small: int = 75, switch: int = 20, per_dim: float = 112.5, cap: int = 10000
) -> int:
    """The schedule unit r for model capacity ``latent_dim``; the defaults are the [repo]'s formula."""
    return small if latent_dim <= switch else max(1, min(cap, math.floor(per_dim * latent_dim)))


@register
class LMGAE(WAEGAN):
    name = "lmgae"
    Config = LMGAEConfig
    masked = True

    def __init__(self, cfg: LMGAEConfig, sample_shape: tuple[int, ...], base=None):
        super().__init__(cfg, sample_shape, base)
        lo, hi = cfg.alpha_init_min, cfg.alpha_init_max
        self.alpha = nn.Parameter(lo + torch.rand(cfg.latent_dim) * (hi - lo))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.r = cfg.schedule_r or schedule_r(
            cfg.latent_dim, cfg.schedule_r_small, cfg.schedule_r_switch, cfg.schedule_r_per_dim, cfg.schedule_r_max
        )

    def mask(self) -> torch.Tensor:
        return 1 - torch.exp(-self.alpha)

    def active(self) -> torch.Tensor:
        """Boolean vector of the active (unmasked) latent dimensions."""
        return self.mask().detach() >= self.cfg.active_threshold

    def latent_metrics(self, z: torch.Tensor) -> dict[str, tuple[float, str]]:
        from lcwbench.metrics import offdiag_cov

        active = self.active().cpu()
        n_active = int(active.sum())
        return {
            "active_dims": (n_active, f"count of mask entries >= {self.cfg.active_threshold}"),
            # the paper's Table 2 measure for LMGAE: only the unmasked dimensions (002 L174)
            "offdiag_cov": (
                offdiag_cov(z[:, active]) if n_active >= 1 else float("nan"),
                "mean |off-diagonal| of latent covariance over the active (unmasked) dimensions only",
            ),
            "offdiag_cov_all": (offdiag_cov(z), "mean |off-diagonal| of latent covariance over all M dimensions"),
        }

    def c_poly(self, step: int) -> float:
        cfg = self.cfg
        return min(cfg.poly_max, cfg.poly_init / cfg.latent_dim * 2 ** (step // (4 * self.r)))

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = super().build_optimizers()
        opts["mask"] = rmsprop([self.alpha], self.cfg.lr * self.cfg.mask_lr_mult)
        return opts

    def ae_loss(self, x: torch.Tensor, m: torch.Tensor | None) -> dict[str, torch.Tensor]:
        z = self.encoder(x)
        rec = self.rec(self.decoder(z * m), x)
        var = ((z - z.mean(dim=0, keepdim=True)).pow(2) * torch.exp(-self.cfg.var_sharpness * m.pow(2))).mean()
        var_weight = 0.0 if self.warming_up() else self.cfg.var_weight
        return {"ae": rec + var_weight * var, "rec": rec, "var": var}

    def warming_up(self) -> bool:
        return int(self.step) < self.cfg.mask_warmup_steps

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        step = int(self.step)
        drop = cfg.lr_drop if step >= 5 * self.r else 1.0  # a function of the step, so resume needs no state
        for group in opts["ae"].param_groups:
            group["lr"] = cfg.lr * cfg.ae_lr_mult / drop
        for group in opts["mask"].param_groups:
            group["lr"] = cfg.lr * cfg.mask_lr_mult / drop
        terms = super().train_step(x, opts)
        self.step += 1
        return terms

    def after_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        c_poly = self.c_poly(int(self.step))
        m = self.mask()
        enc = self.encoder(x).detach()
        rec = self.rec(self.decoder(enc * m), x)
        prior = torch.randn_like(enc)
        w = self.critic(enc * m).mean() - self.critic(prior * m).mean()
        reg = ((1 - m) * m).abs().sum()
        loss = cfg.mask_rec_weight * rec + (1 - w).pow(2) + c_poly * reg
        if not self.warming_up():
            minimise(opts["mask"], loss)
        self.decoder.zero_grad(set_to_none=True)
        self.critic.zero_grad(set_to_none=True)
        with torch.no_grad():
            self.alpha.clamp_(min=0.0)
            m = self.mask()
        terms = {
            "mask_loss": loss,
            "c_poly": torch.tensor(c_poly, device=x.device),
            "active": (m >= cfg.active_threshold).sum().float(),
        }
        terms.update({f"m{i}": v for i, v in enumerate(m)})
        return terms

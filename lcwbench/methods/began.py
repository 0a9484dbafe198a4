"""BEGAN baseline of the GLDO paper (003 L831-834: "BEGAN [35]"; Berthelot, Schumm and Metz 2017).

Generator: the Table 7 generator shared by all GLDO baselines (see :mod:`lcwbench.methods.dcgan`).
Discriminator: an autoencoder D on images
(:class:`~lcwbench.models.discriminators.BEGANDiscriminator`) with energy ``L(v) = mean |v - D(v)|``
(the L1 pixel reconstruction error, eta = 1), averaged over the batch.

Training step, on one real batch ``x`` and one noise batch ``z`` [BEGAN paper, its BEGAN objective]:

* ``L_D = L(x) - k_t L(G(z))`` for the discriminator's parameters only;
* ``L_G = L(G(z))`` for the generator's parameters only;
* both gradients come from the same forward pass and both optimisers step (the paper's simultaneous
  update; one z serves z_D and z_G [harness choice, as common implementations]);
* ``k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)`` with the values of that pass;
  ``k_0 = 0`` [BEGAN paper]. k_t is a buffer, so it is saved in checkpoints and a resumed run continues
  exactly.

Convergence measure (logged as ``m_global`` and ``total``):
``M_global = L(x) + |gamma L(x) - L(G(z))|`` [BEGAN paper, its convergence measure].

Defaults and their sources:

* lambda_k 0.001 [BEGAN paper]; gamma 0.5 [harness choice within the range of gammas the BEGAN paper
  shows]; Adam lr 1e-4 [BEGAN paper: initial lr in [5e-5, 1e-4]]; betas (0.9, 0.999) (Adam's defaults;
  the paper states no betas) [harness choice]; the paper's lr halving when M_global stalls is not done
  [harness choice: a fixed lr];
* noise z ~ N(0, I_100) (the BEGAN paper uses U(-1, 1)), batch 64, generator weights N(0, 0.01)
  [GLDO paper L838-841, the same generator for all baselines];
* discriminator: ``d_width`` (n) 64, ``d_hidden`` (embedding size) 64, ``d_repeats`` 2 conv layers per
  resolution [BEGAN paper's design, widths see :mod:`lcwbench.models.discriminators`]; PyTorch's default
  initialisation (``d_init_std`` None) [harness choice];
* epochs 50 [harness choice].

Loss terms logged: ``total`` (= ``m_global``), ``m_global``, ``d`` (L_D), ``g`` (L_G = ``l_fake``),
``l_real`` (L(x)), ``l_fake`` (L(G(z))), ``k`` (k_{t+1}, after the update).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.base import Method
from lcwbench.methods.dcgan import GANConfig, GANMethod
from lcwbench.models.discriminators import build_discriminator


@dataclass
class BEGANConfig(GANConfig):
    lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.999
    d_init_std: float | None = None
    d_hidden: int = 64
    d_repeats: int = 2
    gamma: float = 0.5
    lambda_k: float = 0.001

    def check(self) -> None:
        super().check()
        for name in ("d_hidden", "d_repeats"):
            if getattr(self, name) < 1:
                raise LcwbenchError(f"method parameter {name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.gamma <= 1:
            raise LcwbenchError(f"method parameter gamma must be in (0, 1], got {self.gamma}")
        if self.lambda_k < 0:
            raise LcwbenchError(f"method parameter lambda_k must be >= 0, got {self.lambda_k}")


def update_k(
    k: torch.Tensor, l_real: torch.Tensor, l_fake: torch.Tensor, gamma: float, lambda_k: float
) -> torch.Tensor:
    """BEGAN's proportional control: ``clip(k + lambda_k (gamma l_real - l_fake), 0, 1)``."""
    return (k + lambda_k * (gamma * l_real - l_fake)).clamp(0.0, 1.0)


def m_global(l_real: torch.Tensor, l_fake: torch.Tensor, gamma: float) -> torch.Tensor:
    """BEGAN's convergence measure ``l_real + |gamma l_real - l_fake|``."""
    return l_real + (gamma * l_real - l_fake).abs()


@register
class BEGAN(GANMethod):
    name = "began"
    Config = BEGANConfig

    def __init__(self, cfg: BEGANConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.register_buffer("k", torch.zeros(()))  # k_0 = 0

    def build_discriminator(self) -> nn.Module:
        cfg = self.cfg
        return build_discriminator(
            self.sample_shape,
            "began",
            width=cfg.d_width,
            hidden=cfg.d_hidden,
            repeats=cfg.d_repeats,
            init_std=cfg.d_init_std,
        )

    def energy(self, v: torch.Tensor) -> torch.Tensor:
        """L(v): the discriminator's L1 reconstruction error, mean over the batch and pixels."""
        return self.discriminator.energy(v).mean()

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        d_params = list(self.discriminator.parameters())
        g_params = list(self.generator.parameters())
        l_real = self.energy(x)
        l_fake = self.energy(self.generator(self.noise(x)))
        d_loss = l_real - self.k * l_fake
        # each loss differentiates only its own network's parameters; both step on the same pass
        opts["d"].zero_grad(set_to_none=True)
        opts["g"].zero_grad(set_to_none=True)
        d_loss.backward(inputs=d_params, retain_graph=True)
        l_fake.backward(inputs=g_params)
        opts["d"].step()
        opts["g"].step()
        with torch.no_grad():
            self.k.copy_(update_k(self.k, l_real, l_fake, cfg.gamma, cfg.lambda_k))
            m = m_global(l_real, l_fake, cfg.gamma)
        terms = {
            "total": m,
            "m_global": m,
            "d": d_loss,
            "g": l_fake,
            "l_real": l_real,
            "l_fake": l_fake,
            "k": self.k.clone(),
        }
        return {key: v.detach() for key, v in terms.items()}

"""GLDO, Generative Latent Distribution Optimization (Guo et al., 003): GLO plus a gradient-norm penalty.

The generator minimises ``(1/m) sum_i [l(z_i) + eps * ||grad_{z_i} l(z_i)||]`` with ``l(z_i) =
L(G(z_i), x_i)`` (003 Eq. 18, L438-446; Algorithm 1, L484-520); the codes are updated with the
reconstruction loss only (003 L610-612 and Algorithm 1's z update). The penalty needs double
backpropagation: ``grad_z l`` is computed with ``create_graph=True`` and its norm is differentiated
with respect to the generator's parameters.

``grad_{z_i} l(z_i)`` is taken as the gradient of ``sum_j l(z_j)`` with respect to ``z_i``, one
backward pass for the whole batch. For a generator without batch coupling this is exactly the
per-point gradient of Eq. 18. The Table 7 generators use batch norm in training mode, which couples
the points of a batch, so each row also carries the small cross terms through the batch statistics.
The paper's "we set the batch size as 1" (L639) would avoid them, but it conflicts with its batch size
64 (L838-839, ambiguities C2), and batch norm cannot train on one point [harness choice].

Everything else is GLO (:mod:`lcwbench.methods.glo`), with these GLDO defaults:

* ``rec_loss`` "perceptual": a VGG-16 perceptual loss plus a weighted squared loss (003 L653-656; the
  layers and the weight are harness choices, see :mod:`lcwbench.losses`). It needs the VGG-16 weights
  (``vgg_weights`` / ``$LCWBENCH_VGG_WEIGHTS`` / torchvision's cache); "lap1" gives "GLDO_Lap" of the
  ablation (L1455-1460).
* ``sphere`` False: GLDO draws its codes "from a Normal distribution on R^d" rather than GLO's unit
  sphere (003 L659-669). The paper never says it keeps GLO's projection (ambiguities C13), and a
  projection would undo the Normal start [paper reading].
* ``eps`` 1000 [harness choice]: the paper does not state the value of its main results. Fig. 8
  (L1437-1443, L1500-1507) sweeps eps over {1, 100, 1e3, 5e3, 1e4, 5e4, 1e5}, sampling most densely
  from 1e3 upwards, and reports a flat ("gentle") bottom between the extremes; 1e3 is the smallest
  value of that dense range. The scale of eps depends on the loss's normalisation (ours: per-entry
  means inside the perceptual loss), so the paper's values do not carry over exactly; sweep ``eps``.
  A constant factor on the loss does not move the balance (l and ||grad l|| scale alike); what differs
  between losses is the ratio ||grad_z l|| / l, so each loss may want its own eps.
* ``mix`` False. With ``mix`` (GLDO-Mix, 003 L1484-1488) the penalty is evaluated at convex
  combinations ``lam * z_i + (1 - lam) * z_pi(i)`` of batch codes paired by a random permutation
  ``pi`` of the batch, ``lam ~ U(0, 1)`` per pair (WGAN-GP's interpolation scheme, which the paper says
  inspired it), in place of the training points. Such points have no image of their own (L1489-1492);
  the target is ``lam * x_i + (1 - lam) * x_pi(i)`` (``mix_target`` "interp") or the image of the
  nearer end point (``mix_target`` "nearest") [harness choices]. The codes still get the
  reconstruction gradient only.

Loss terms logged: ``total`` (the generator loss), ``rec``, ``grad_pen`` (the batch mean of the
gradient norms, before multiplying by eps), plus ``wd`` / ``np`` when those variants are on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.glo import GLO, GLOConfig

MIX_TARGETS = ("interp", "nearest")


def loss_gradient_norms(
    decode: Callable[[torch.Tensor], torch.Tensor],
    loss: Callable[..., torch.Tensor],
    z: torch.Tensor,
    x: torch.Tensor,
    create_graph: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-point loss gradients w.r.t. the codes: returns ``(norms, grads, per_image)`` with
    ``per_image = loss(decode(z), x, reduction="none")``, ``grads = d sum(per_image) / dz`` (one row per
    point) and ``norms`` their L2 norms. ``z`` must require grad. With ``create_graph`` the result can be
    differentiated again (w.r.t. the generator's parameters)."""
    if not z.requires_grad:
        raise LcwbenchError("loss_gradient_norms: z must require grad")
    per_image = loss(decode(z), x, reduction="none")
    (grads,) = torch.autograd.grad(per_image.sum(), z, create_graph=create_graph)
    return torch.linalg.vector_norm(grads, dim=1), grads, per_image


@dataclass
class GLDOConfig(GLOConfig):
    sphere: bool = False
    rec_loss: str = "perceptual"
    eps: float = 1000.0
    mix: bool = False
    mix_target: str = "interp"

    def check(self) -> None:
        super().check()
        if not (math.isfinite(self.eps) and self.eps >= 0):
            raise LcwbenchError(f"method parameter eps must be finite and >= 0, got {self.eps}")
        if self.mix_target not in MIX_TARGETS:
            raise LcwbenchError(
                f"method parameter mix_target must be one of {', '.join(MIX_TARGETS)}, got {self.mix_target!r}"
            )


@register
class GLDO(GLO):
    name = "gldo"
    Config = GLDOConfig

    def generator_penalty(
        self, z: torch.Tensor, x: torch.Tensor, per_image: torch.Tensor
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor], torch.Tensor | None]:
        """``eps * mean_i ||grad_{z_i} l||`` at the training points (with ``mix``: at mixed codes);
        logs the unweighted mean as ``grad_pen``."""
        cfg = self.cfg
        create_graph = cfg.eps > 0
        if not cfg.mix:
            (grads,) = torch.autograd.grad(per_image.sum(), z, create_graph=create_graph, retain_graph=True)
            pen = torch.linalg.vector_norm(grads, dim=1).mean()
            return cfg.eps * pen, {"grad_pen": pen}, grads
        m = z.shape[0]
        perm = torch.randperm(m, device=z.device)
        lam = torch.rand(m, 1, device=z.device, dtype=z.dtype)
        zd = z.detach()
        z_mix = (lam * zd + (1 - lam) * zd[perm]).requires_grad_(True)
        lam_x = lam.view(m, *([1] * (x.dim() - 1)))
        if cfg.mix_target == "interp":
            target = lam_x * x + (1 - lam_x) * x[perm]
        else:
            target = torch.where(lam_x >= 0.5, x, x[perm])
        norms, _, _ = loss_gradient_norms(self.generator, self.rec_loss(), z_mix, target, create_graph=create_graph)
        pen = norms.mean()
        return cfg.eps * pen, {"grad_pen": pen}, None

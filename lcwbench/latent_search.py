"""Reconstruction by latent search: fit codes to given images with the generator frozen.

GLO and GLDO have no encoder; the GLDO paper reconstructs test images by "initializ[ing] latent code
vectors" and optimising "these latent code vectors until converged ... without fine-tuning the
network parameters" (003 L1058-1064). :func:`search_codes` does that:

* codes start from N(0, I) drawn from a CPU ``torch.Generator`` seeded with ``seed`` (so the start
  does not depend on the device or the global RNG), projected onto the unit sphere when ``project``
  (a model trained with GLO's sphere constraint) [paper L1060 "initialize latent code vectors"; the
  distribution is GLDO's training init, 003 L659-669];
* Adam on the codes only (the generator's parameters get no gradient: only the codes are
  differentiated), lr 0.01 and at most 1000 steps by default [harness choices; the paper states
  neither];
* convergence: the batch-mean loss changed by less than ``tol`` (relative, default 1e-4) over
  ``patience`` consecutive steps (default 10) [harness choice]; otherwise the search stops at
  ``steps``.

The result is deterministic for a seed on a given device. Call it with the generator in eval mode
(batch norm on its running statistics), as :meth:`lcwbench.methods.glo.GLO.reconstruct_by_search` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from lcwbench.errors import LcwbenchError
from lcwbench.losses import make_rec_loss

LossFn = Callable[..., torch.Tensor]


@dataclass
class SearchResult:
    codes: torch.Tensor  # N x noise_dim, detached
    reconstructions: torch.Tensor  # N x ..., detached
    losses: torch.Tensor  # N, the final per-image loss
    steps: int  # optimisation steps taken (the largest over the chunks)
    converged: bool  # every chunk met the convergence criterion before ``steps``


def _loss_fn(loss: str | LossFn) -> LossFn:
    if isinstance(loss, str):
        return make_rec_loss(loss)
    if not callable(loss):
        raise LcwbenchError(f"latent search: loss must be a loss name or a callable, got {type(loss).__name__}")
    return loss


def _project(z: torch.Tensor) -> torch.Tensor:
    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def search_codes(
    generator_fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    noise_dim: int,
    steps: int = 1000,
    lr: float = 0.01,
    loss: str | LossFn = "l2",
    seed: int = 0,
    *,
    tol: float = 1e-4,
    patience: int = 10,
    project: bool = False,
    init: torch.Tensor | None = None,
    batch_size: int | None = None,
) -> SearchResult:
    """Optimise one code per image of ``x`` so that ``generator_fn(code)`` reconstructs it.

    ``loss`` is a name from :mod:`lcwbench.losses` or a callable ``loss(x_hat, x, reduction=...)``
    returning per-image values for ``reduction="none"``. ``init`` replaces the N(0, I) start.
    ``batch_size`` searches in chunks (each with its own Adam and convergence test); the start codes
    are drawn for all images at once, so the result does not depend on the chunking's start values.
    """
    if int(steps) < 1 or not lr > 0 or int(noise_dim) < 1 or int(patience) < 1 or tol < 0:
        raise LcwbenchError(
            f"latent search needs steps >= 1, lr > 0, noise_dim >= 1, patience >= 1, tol >= 0; "
            f"got steps={steps}, lr={lr}, noise_dim={noise_dim}, patience={patience}, tol={tol}"
        )
    loss_fn = _loss_fn(loss)
    n = x.shape[0]
    if init is None:
        gen = torch.Generator().manual_seed(int(seed))
        z0 = torch.randn(n, int(noise_dim), generator=gen)
    else:
        if tuple(init.shape) != (n, int(noise_dim)):
            raise LcwbenchError(f"latent search: init has shape {tuple(init.shape)}, expected {(n, int(noise_dim))}")
        z0 = init.detach().float().cpu()
    z0 = z0.to(x.device)
    if project:
        z0 = _project(z0)
    chunk = n if batch_size is None else max(1, int(batch_size))
    codes, recons, finals = [], [], []
    max_steps_taken, all_converged = 0, True
    for start in range(0, n, chunk):
        xc = x[start : start + chunk]
        z = z0[start : start + chunk].clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        prev: float | None = None
        calm, taken, converged = 0, 0, False
        for _ in range(int(steps)):
            total = loss_fn(generator_fn(z), xc, reduction="none").mean()
            (grad,) = torch.autograd.grad(total, z)
            z.grad = grad
            opt.step()
            z.grad = None
            if project:
                with torch.no_grad():
                    z.copy_(_project(z))
            taken += 1
            value = float(total.detach())
            if prev is not None and abs(prev - value) <= tol * max(abs(prev), 1e-12):
                calm += 1
            else:
                calm = 0
            prev = value
            if calm >= int(patience):
                converged = True
                break
        with torch.no_grad():
            xr = generator_fn(z)
            finals.append(loss_fn(xr, xc, reduction="none").detach())
        codes.append(z.detach())
        recons.append(xr.detach())
        max_steps_taken = max(max_steps_taken, taken)
        all_converged = all_converged and converged
    return SearchResult(
        codes=torch.cat(codes),
        reconstructions=torch.cat(recons),
        losses=torch.cat(finals),
        steps=max_steps_taken,
        converged=all_converged,
    )

r"""Latent Trick: the second stage of the LCW generator (LCW paper, 001 L114-122, L150, L255).

A latent generator LG maps noise eps ~ N(0, I_noise_dim) to the latent space of a finished, FROZEN
autoencoder (the base: any method with an encoder - AE, CWAE, CW^2, ...). It is trained with the
paper's J_LT = d^2_CW(E(X), LG(Z')) (001 L120), i.e. ``cw_sampling(LG(eps), z_batch, gamma)`` - the
plain distance, not its log - on the training set encoded once by the base encoder. New samples are
D(LG(eps)) (001 L150); ``encode``/``decode`` delegate to the base, so reconstruction metrics are the
base's (the paper: the Latent Trick keeps the reconstruction quality, 001 L148). AE+LT, CWAE+LT and
LCW (= CW^2+LT) of Table 2 are this method on an ``ae``, ``cwae`` or ``cw2`` base.

Bandwidth: fixed for the whole run as Silverman's rule gamma = (1.06 std n^(-1/5))^2 with std the
std of all entries of the encoded training set and n = batch_size [harness choice: the authors' code
recomputes it per batch ([repo] latent_generator/cost_function_factory.py) and their README lists
per-batch-size constants; a single value from the whole encoded set is the stable version of the
same rule]. It lives in the buffer ``gamma``, so it is saved with the model and reused on resume.

Only LG is optimised (Adam); the base's parameters have ``requires_grad`` False and the base stays in
eval mode even while the method trains (its batch-norm statistics never change). The base is a
submodule, so ``model.pt`` is self-contained; its method name and config are stored in this config
(``base_method``, ``base_config``) so that ``lcwbench.runner.load_model`` can rebuild an empty base
before loading the weights.

Defaults:

* noise_dim 8, lr 5e-4 - Table 2 +LT rows on MNIST/F-MNIST (001 L127-131; CelebA: noise 32, latent 128).
* batch_size 256 - [repo] reproduce_table3.sh.
* width 512, depth 5 - LG of 5 x [FC 512, BN, ReLU] + linear output (001 L255).
* latent_dim 0 = taken from the base (a different non-zero value is an error).
* epochs 50 [harness choice]. ``arch`` is unused (the base has its own).

Loss terms: ``total``, ``cw``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lcwbench.distances import cw_sampling, silverman_gamma
from lcwbench.errors import LcwbenchError
from lcwbench.methods import build_method, make_config, register
from lcwbench.methods.base import Method, MethodConfig, adopt_base
from lcwbench.models import LatentGenerator

ENCODE_BATCH = 1000


@dataclass
class LatentTrickConfig(MethodConfig):
    latent_dim: int = 0  # 0: the base's latent dimension
    noise_dim: int = 8
    lr: float = 5e-4
    batch_size: int = 256
    width: int = 512  # latent generator width
    depth: int = 5  # latent generator hidden layers
    base_method: str = ""  # filled from the base when the method is built
    base_config: dict[str, Any] | None = None

    def check(self) -> None:
        for name in ("noise_dim", "width", "depth", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise LcwbenchError(f"method parameter {name} must be >= 1, got {getattr(self, name)}")
        if self.latent_dim < 0:
            raise LcwbenchError(f"method parameter latent_dim must be >= 0 (0: from the base), got {self.latent_dim}")
        if not self.lr > 0:
            raise LcwbenchError(f"method parameter lr must be > 0, got {self.lr}")


def _identity(batch: torch.Tensor) -> torch.Tensor:
    return batch


@register
class LatentTrick(Method):
    name = "latent_trick"
    Config = LatentTrickConfig
    needs_base = True

    def __init__(self, cfg: LatentTrickConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        if base is None and cfg.base_method:
            # Rebuilding a saved model: an untrained base of the stored kind; load_state_dict fills it.
            base = build_method(cfg.base_method, cfg.base_config, sample_shape)
        super().__init__(cfg, sample_shape, base)
        assert base is not None
        if not base.has_encoder or base.needs_base:
            raise LcwbenchError(
                f"latent_trick needs a trained autoencoder as its base; {base.name!r} "
                + ("has no encoder" if not base.has_encoder else "is itself a stage-2 model")
            )
        adopt_base(self, base)
        self.lg = LatentGenerator(cfg.noise_dim, cfg.latent_dim, cfg.width, cfg.depth)
        self.register_buffer("gamma", torch.zeros(()))  # set by training_data (0 = not set yet)

    # -- training ------------------------------------------------------------------------------
    def train(self, mode: bool = True):
        super().train(mode)
        self.base.eval()  # the base is frozen, batch-norm statistics included
        return self

    @torch.no_grad()
    def encode_dataset(self, x: torch.Tensor, to_float) -> torch.Tensor:
        """Codes of all rows of ``x`` under the frozen base encoder, in batches of ENCODE_BATCH."""
        self.base.eval()
        parts = [self.base.encode(to_float(x[i : i + ENCODE_BATCH])) for i in range(0, x.shape[0], ENCODE_BATCH)]
        return torch.cat(parts).float()

    def training_data(self, x, to_float):
        z = self.encode_dataset(x, to_float)
        if z.shape[0] < 2:
            raise LcwbenchError("latent_trick needs at least 2 training items")
        self.gamma.fill_(float(silverman_gamma(z.std().item(), self.cfg.batch_size)))
        return z, _identity

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"main": torch.optim.Adam(self.lg.parameters(), lr=self.cfg.lr)}

    def losses(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        if not bool(self.gamma > 0):
            raise LcwbenchError("latent_trick: the CW bandwidth is unset; train on training_data(x, to_float)")
        eps = torch.randn(z.shape[0], self.cfg.noise_dim, device=z.device, dtype=z.dtype)
        cw = cw_sampling(self.lg(eps), z, self.gamma)
        return {"total": cw, "cw": cw}

    # -- inference -----------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.base.encode(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.base.decode(z)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """LG(eps), eps ~ N(0, I_noise_dim): codes in the base's latent space."""
        eps = torch.randn(n, self.cfg.noise_dim, generator=generator, device=self.gamma.device)
        return self.lg(eps)


def build_on_base(params: dict[str, Any] | None, base: Method) -> LatentTrick:
    """A Latent Trick stage with ``params`` on the trained model ``base`` (same sample shape)."""
    cfg = make_config(LatentTrick, params)
    return LatentTrick(cfg, base.sample_shape, base=base)

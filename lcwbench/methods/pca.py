"""PCA baseline of the GLDO paper (003 L831 "PCA [34]"; its reconstruction PSNR in Table 2).

PCA has nothing to train by gradient steps. It is fitted in closed form, once, when the harness hands
the method its training set, and the shared training loop then runs without effect:

* :meth:`PCA.training_data` receives the whole training set ``x`` (on the device) and ``to_float``; it
  converts ``x`` to float32 numpy in chunks of ``fit_chunk`` rows, fits scikit-learn's ``PCA`` with
  ``n_components`` components on all of it (or, with ``fit_max`` set, on that many training items drawn
  at random without replacement by the seeded torch RNG, kept in data-set order), stores the mean,
  the components and their variances as buffers (so ``state_dict``, checkpoints, ``save_model`` and
  ``load_model`` carry the fit), and returns ``x`` and ``to_float`` unchanged;
* :meth:`PCA.build_optimizers` returns no optimiser (there are no parameters) and :meth:`PCA.train_step`
  is a no-op returning ``{"total": 0}``; with ``epochs`` 1 the loop makes one quick pass of no-op steps
  and writes the fitted model like any other method's.

Model, with mean mu (d,) and orthonormal components W (k, d):

* ``encode(x) = (flatten(x) - mu) W^T``: the projection coefficients (k-dim latent);
* ``decode(z) = z W + mu``, reshaped to the sample shape and, for images, clamped to [0, 1] (the data
  range) [harness choice]; so ``reconstruct`` is the orthogonal projection onto the PCA subspace;
* ``sample(n)``: ``z ~ N(0, diag(var))`` with ``var`` the fitted component variances (scikit-learn's
  ``explained_variance_``, the training data's variance along each component, divisor n - 1), then
  ``decode(z)``: the Gaussian the PCA model implies on its subspace [harness choice; the paper reports
  PCA only for reconstruction].

Defaults and their sources:

* n_components 100: the paper does not state it; 100 is the noise dimension of its generators and of
  GLO/GLDO (003 L840) [harness choice];
* svd_solver "auto" (scikit-learn's choice by data size: randomized SVD for large data) with a
  random_state drawn from the seeded torch RNG, so a run's seed fixes the fit [harness choice];
* epochs 1, batch_size 64 (only the no-op pass of the loop) [harness choice];
* fit_max None (fit on every training item). LSUN bedroom at 64 px (3 M images, 12,288 values each)
  does not fit in memory as float32, so its experiment sets a subset; the paper does not say how it
  fitted PCA there [harness choice].

``latent_dim`` mirrors ``n_components``; ``lr``, ``arch``, ``width`` and ``depth`` are not used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lcwbench.errors import LcwbenchError
from lcwbench.methods import register
from lcwbench.methods.base import Method, MethodConfig

SVD_SOLVERS = ("auto", "full", "randomized", "arpack", "covariance_eigh")


@dataclass
class PCAConfig(MethodConfig):
    latent_dim: int = 0  # mirrors n_components
    n_components: int = 100
    epochs: int = 1
    batch_size: int = 64
    svd_solver: str = "auto"
    fit_chunk: int = 4096  # rows converted to float numpy at a time
    fit_max: int | None = None  # fit on at most this many training items (a seeded random subset)

    def check(self) -> None:
        if self.n_components < 1:
            raise LcwbenchError(f"method parameter n_components must be >= 1, got {self.n_components}")
        if self.latent_dim == 0:
            self.latent_dim = self.n_components
        elif self.latent_dim != self.n_components:
            raise LcwbenchError(
                f"pca: latent_dim ({self.latent_dim}) is the number of components; set n_components"
                f" ({self.n_components}) instead"
            )
        if self.svd_solver not in SVD_SOLVERS:
            raise LcwbenchError(
                f"method parameter svd_solver must be one of {', '.join(SVD_SOLVERS)}, got {self.svd_solver!r}"
            )
        if self.fit_chunk < 1:
            raise LcwbenchError(f"method parameter fit_chunk must be >= 1, got {self.fit_chunk}")
        if self.fit_max is not None and self.fit_max < 1:
            raise LcwbenchError(f"method parameter fit_max must be null or >= 1, got {self.fit_max}")
        super().check()


@register
class PCA(Method):
    name = "pca"
    Config = PCAConfig

    def __init__(self, cfg: PCAConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        cfg.check()  # fills latent_dim from n_components when the config was built directly
        super().__init__(cfg, sample_shape, base)
        d = math.prod(self.sample_shape)
        k = cfg.n_components
        if k > d:
            raise LcwbenchError(f"pca: n_components ({k}) exceeds the data dimension ({d})")
        self.is_image = len(self.sample_shape) > 1
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("components", torch.zeros(k, d))
        self.register_buffer("variance", torch.zeros(k))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, data: np.ndarray, random_state: int | None = None) -> None:
        """Fit on the rows of ``data`` (n, d) and store the result in the buffers."""
        from sklearn.decomposition import PCA as SKPCA

        n, d = data.shape
        k = self.cfg.n_components
        if k > min(n, d):
            raise LcwbenchError(
                f"pca: n_components ({k}) must be <= min(training items, data dimension) = min({n}, {d})"
            )
        pca = SKPCA(n_components=k, svd_solver=self.cfg.svd_solver, random_state=random_state)
        pca.fit(data)
        dev = self.mean.device
        self.mean.copy_(torch.as_tensor(pca.mean_, dtype=torch.float32, device=dev))
        self.components.copy_(torch.as_tensor(pca.components_, dtype=torch.float32, device=dev))
        self.variance.copy_(torch.as_tensor(pca.explained_variance_, dtype=torch.float32, device=dev))
        self.fitted.fill_(True)

    def training_data(
        self, x: torch.Tensor, to_float: Callable[[torch.Tensor], torch.Tensor]
    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        """Fit the PCA on the training set (all of it, or ``fit_max`` random items); the loop then runs
        no-op steps on ``x`` unchanged."""
        chunk = self.cfg.fit_chunk
        seed = int(torch.randint(0, 2**31 - 1, ()).item())
        rows = None
        if self.cfg.fit_max is not None and self.cfg.fit_max < len(x):
            rows = torch.randperm(len(x))[: self.cfg.fit_max].sort().values.to(x.device)
        n = len(x) if rows is None else len(rows)
        data = np.empty((n, math.prod(self.sample_shape)), dtype=np.float32)
        with torch.no_grad():
            for i in range(0, n, chunk):
                part = to_float(x[i : i + chunk] if rows is None else x[rows[i : i + chunk]])
                data[i : i + len(part)] = part.reshape(len(part), -1).float().cpu().numpy()
        self.fit(data, random_state=seed)
        return x, to_float

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {}

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        """No-op: the model was fitted in :meth:`training_data`."""
        return {"total": torch.zeros((), device=x.device)}

    # -- inference -----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not bool(self.fitted):
            raise LcwbenchError("pca: the model is not fitted; it is fitted by training_data(x, to_float)")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self._check_fitted()
        return (x.reshape(x.shape[0], -1) - self.mean) @ self.components.T

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self._check_fitted()
        out = (z @ self.components + self.mean).reshape(z.shape[0], *self.sample_shape)
        return out.clamp(0.0, 1.0) if self.is_image else out

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        self._check_fitted()
        eps = torch.randn(n, self.cfg.n_components, generator=generator, device=self.variance.device)
        return eps * self.variance.sqrt()

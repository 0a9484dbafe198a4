"""GLO, Generative Latent Optimization (Bojanowski et al.), as the GLDO paper uses it (003 L117-147).

One learnable code ``z_i`` per training image; the generator ``G`` and the codes are fitted jointly to
``min_theta (1/N) sum_i min_{z_i} L(G(z_i), x_i)`` (003 Eq. 2, L126-133). New samples come from a
single full-covariance Gaussian fitted to the learned codes (003 L979-981). There is no encoder
(``has_encoder`` False); test images are reconstructed by latent search (:meth:`GLO.reconstruct_by_search`).

Training step on a batch ``(x, idx)`` of images and their indices:

1. ``x_hat = G(z_idx)``, per-image reconstruction losses ``l_i``; ``rec`` = their batch mean;
2. codes: the gradient of ``rec (+ np_weight * mean_i ||z_i||_1)`` w.r.t. the batch's codes, one step
   of a row-wise Adam (each code its own Adam moments and step count, so codes outside the batch do
   not move), then, with ``sphere``, the batch's codes are projected back onto the unit sphere;
3. generator: ``rec (+ wd_weight * ||theta||^2) (+ the GLDO penalty, see gldo.py)``, one Adam step.

How the harness's loop is used without changing it: :meth:`training_data` returns the indices
``0..N-1`` as the "data" and a batch map that returns ``(images, indices)``; :meth:`train_step`
unpacks the pair. The codes are an ``nn.Parameter`` of the module (created by ``training_data`` with N
rows), so they are in ``state_dict`` and in checkpoints; ``load_state_dict`` resizes them to the
stored N. The Gaussian's mean and Cholesky factor are buffers, refitted at the end of every epoch
(deterministically, in float64), so the saved model holds the fit of its final codes.

Defaults and where they come from:

* ``latent_dim`` (noise dimension) 100, batch 64, Adam lr 1e-3 for the generator and ``code_lr`` 3e-3
  for the codes, generator weights N(0, 0.01) (``init_std``, read as a std) [paper 003 L835-841, the
  32-px and CelebA-64 settings]. For 128-px runs the paper uses latent 256 (CelebA) / 512 (LSUN), lr
  0.005 / code lr 0.05 halved every 10 epochs (003 L1204-1211): set ``latent_dim``, ``lr``,
  ``code_lr`` and ``lr_halve_every: 10``. Adam's betas are PyTorch's (0.9, 0.999) [the paper names
  "(alpha, beta)" per parameter set but gives no values, L485-486].
* Codes start from N(0, I) [paper 003 L640-642, L659-669: GLDO's init; GLO itself used PCA].
* ``sphere`` True for ``glo``: GLO projects the codes onto the unit sphere after each iteration
  (003 L146-147), and the start codes are projected too. (False for ``gldo``, see there.)
* ``rec_loss`` "lap1" for ``glo``: GLO's own loss (003 L1448-1450 "the GLO model uses the Lap1 loss ...
  on the CelebA dataset"), which is also the "GLO_Lap" of the ablation (L1455-1460); "perceptual"
  gives "GLO_p". Lap1 needs no downloaded weights. [paper, harness reading of which loss Table 1's
  GLO used.] "l2" is the only loss for vector data.
* Variants (003 L1423-1430; weights unstated, so all off by default): ``wd_weight`` (GLO-WD,
  ``wd_weight * ||theta||_2^2`` over all generator parameters, added to the generator loss),
  ``np_weight`` (GLO-NP/PN, ``np_weight * mean_i ||z_i||_1`` added to the code loss),
  ``spectral_norm`` (GLO-SN: spectral norm on the generator's convolutions).
* ``arch`` "auto": the Table 7 generator for 32/64/128-px images (:mod:`lcwbench.models.glo_nets`),
  an MLP decoder (``width`` x ``depth``, linear output) for vector data; "table7" or "mlp" force one
  [harness choice].
* ``epochs`` 50 [harness default; the paper states no epoch count].
* Gaussian fit: unbiased covariance (divisor N - 1) plus ``1e-6 * trace / d`` on the diagonal so the
  Cholesky factor exists for degenerate codes [harness choice].

Loss terms logged: ``total`` (the generator loss: ``rec`` + ``wd`` + any penalty), ``rec``, and ``wd`` /
``np`` when those variants are on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.latent_search import SearchResult, search_codes
from lcwbench.losses import DEFAULT_VGG_LAYERS, LOSS_NAMES, VGG_LAYER_INDEX, RecLoss, make_rec_loss
from lcwbench.methods import register
from lcwbench.methods.base import Method, MethodConfig
from lcwbench.models.glo_nets import add_spectral_norm, build_generator, init_normal
from lcwbench.models.mlp import MLPDecoder

ARCHS = ("auto", "table7", "mlp")
FIT_JITTER = 1e-6  # relative diagonal jitter of the Gaussian fit


class RowAdam(torch.optim.Optimizer):
    """Adam applied to each row of a 2-D parameter on its own (per-row moments and step counts).

    Meant for a sparse gradient naming the rows of a batch: only those rows are updated, and each is
    updated exactly as Adam would update that code alone (bias correction by the row's own step
    count). A dense gradient updates every row. State: ``exp_avg``, ``exp_avg_sq`` (like the
    parameter) and ``row_step`` (float, one per row), so it round-trips through ``state_dict``.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.dim() != 2:
                    raise LcwbenchError(f"RowAdam needs 2-D parameters, got shape {tuple(p.shape)}")
                grad = p.grad
                if grad.is_sparse:
                    grad = grad.coalesce()
                    rows, values = grad.indices()[0], grad.values()
                else:
                    rows, values = torch.arange(p.shape[0], device=p.device), grad
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    state["row_step"] = torch.zeros(p.shape[0], dtype=p.dtype, device=p.device)
                t = state["row_step"][rows] + 1
                m = state["exp_avg"][rows] * b1 + values * (1 - b1)
                v = state["exp_avg_sq"][rows] * b2 + values * values * (1 - b2)
                state["row_step"][rows] = t
                state["exp_avg"][rows] = m
                state["exp_avg_sq"][rows] = v
                bc1 = (1 - torch.pow(b1, t)).unsqueeze(1)
                bc2 = (1 - torch.pow(b2, t)).unsqueeze(1)
                denom = (v / bc2).sqrt() + group["eps"]
                p[rows] = p[rows] - group["lr"] * (m / bc1) / denom
        return loss


@dataclass
class GLOConfig(MethodConfig):
    latent_dim: int = 100  # noise dimension
    lr: float = 1e-3  # generator
    code_lr: float = 3e-3
    batch_size: int = 64
    arch: str = "auto"  # "auto", "table7" (Table 7 generators) or "mlp" (width x depth, for vectors)
    init_std: float = 0.01
    sphere: bool = True
    rec_loss: str = "lap1"  # "l2", "lap1" or "perceptual"
    lap_levels: int = 4
    vgg_weights: str = ""  # path; "" = $LCWBENCH_VGG_WEIGHTS, then torchvision's cache / download
    vgg_layers: tuple[str, ...] = DEFAULT_VGG_LAYERS
    l2_weight: float = 1.0  # weight of the squared loss inside the perceptual loss
    wd_weight: float = 0.0  # GLO-WD
    np_weight: float = 0.0  # GLO-NP (PN)
    spectral_norm: bool = False  # GLO-SN
    lr_halve_every: int = 0  # epochs; 0 = constant learning rates

    def check(self) -> None:
        super().check()
        if self.arch not in ARCHS:
            raise LcwbenchError(f"method parameter arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        if self.rec_loss not in LOSS_NAMES:
            raise LcwbenchError(
                f"method parameter rec_loss must be one of {', '.join(LOSS_NAMES)}, got {self.rec_loss!r}"
            )
        if not self.code_lr > 0 or not self.init_std > 0:
            raise LcwbenchError("method parameters code_lr and init_std must be > 0")
        for name in ("l2_weight", "wd_weight", "np_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise LcwbenchError(f"method parameter {name} must be finite and >= 0, got {value}")
        if self.lap_levels < 1 or self.lr_halve_every < 0:
            raise LcwbenchError("method parameters lap_levels must be >= 1 and lr_halve_every >= 0")
        bad = [name for name in self.vgg_layers if name not in VGG_LAYER_INDEX]
        if bad or not self.vgg_layers:
            raise LcwbenchError(
                f"method parameter vgg_layers: unknown or empty ({bad}); valid: {', '.join(VGG_LAYER_INDEX)}"
            )


def project_to_sphere(z: torch.Tensor) -> torch.Tensor:
    """Each row of ``z`` divided by its L2 norm (GLO's unit-sphere constraint, 003 L146-147)."""
    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def fit_full_gaussian(z: torch.Tensor, jitter: float = FIT_JITTER) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and lower Cholesky factor of the unbiased covariance of the rows of ``z`` (in float64),
    with ``jitter * trace / d`` added to the diagonal. Needs at least two rows."""
    if z.dim() != 2 or z.shape[0] < 2:
        raise LcwbenchError(f"a full-covariance Gaussian needs at least 2 codes, got shape {tuple(z.shape)}")
    z = z.detach().to(torch.float64)
    mean = z.mean(dim=0)
    centred = z - mean
    cov = centred.T @ centred / (z.shape[0] - 1)
    d = cov.shape[0]
    scale = float(torch.trace(cov)) / d
    cov = cov + (jitter * (scale if scale > 0 else 1.0)) * torch.eye(d, dtype=cov.dtype, device=cov.device)
    return mean, torch.linalg.cholesky(cov)


@register
class GLO(Method):
    name = "glo"
    Config = GLOConfig
    has_encoder = False

    def __init__(self, cfg: GLOConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.is_image = len(self.sample_shape) == 3
        kind = cfg.arch if cfg.arch != "auto" else ("table7" if self.is_image else "mlp")
        if kind == "table7":
            self.generator = build_generator(self.sample_shape, cfg.latent_dim)
        else:
            out_act = "sigmoid" if self.is_image else "linear"
            self.generator = MLPDecoder(self.sample_shape, cfg.latent_dim, cfg.width, cfg.depth, out_act=out_act)
        init_normal(self.generator, cfg.init_std)
        if cfg.spectral_norm:
            add_spectral_norm(self.generator, linear=kind == "mlp")
        if not self.is_image and cfg.rec_loss != "l2":
            raise LcwbenchError(
                f"method {self.name!r}: rec_loss {cfg.rec_loss!r} needs images; use rec_loss 'l2' for vector data"
            )
        d = cfg.latent_dim
        self.codes = nn.Parameter(torch.empty(0, d))  # N x d, created by training_data
        self.register_buffer("code_mean", torch.zeros(d))
        self.register_buffer("code_chol", torch.eye(d))
        self.register_buffer("fit_step", torch.tensor(-1, dtype=torch.long))  # n_steps at the last fit
        self.register_buffer("n_steps", torch.tensor(0, dtype=torch.long))
        self.rec_fn: RecLoss | None = None  # built on first use (the perceptual loss reads weights)

    # -- pieces ----------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.code_mean.device

    def rec_loss(self) -> RecLoss:
        """The reconstruction loss, built on first use and kept on the module's device; it holds no
        state in ``state_dict``."""
        if self.rec_fn is None:
            cfg = self.cfg
            self.rec_fn = make_rec_loss(
                cfg.rec_loss,
                lap_levels=cfg.lap_levels,
                vgg_weights=cfg.vgg_weights or None,
                vgg_layers=cfg.vgg_layers,
                l2_weight=cfg.l2_weight,
            ).to(self.device)
        return self.rec_fn

    def rec_protocol(self) -> dict:
        """What the reconstruction loss is (for the perceptual loss: ``is_standin``, weights sha256)."""
        return self.rec_loss().protocol

    def _init_codes(self, n: int) -> None:
        z = torch.randn(n, self.cfg.latent_dim)  # CPU global RNG: the same start codes on any device
        if self.cfg.sphere:
            z = project_to_sphere(z)
        self.codes = nn.Parameter(z.to(self.device))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errs):
        stored = state_dict.get(prefix + "codes")
        if torch.is_tensor(stored) and stored.dim() == 2 and stored.shape != self.codes.shape:
            # a fresh module has no codes yet: take the stored number of training images
            self.codes = nn.Parameter(torch.empty(stored.shape, dtype=self.codes.dtype, device=self.codes.device))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errs)

    def _generator_params(self) -> list[nn.Parameter]:
        return [p for p in self.generator.parameters() if p.requires_grad]

    # -- training --------------------------------------------------------------------------------
    def training_data(self, x, to_float):
        """The loop trains on the indices 0..N-1; each batch of indices becomes ``(images, indices)``.
        Creates the N codes (N(0, I), projected with ``sphere``) unless codes for N images exist."""
        n = int(x.shape[0])
        if n < 2:
            raise LcwbenchError(f"method {self.name!r} needs at least 2 training images, got {n}")
        if self.codes.shape[0] != n:
            self._init_codes(n)
        data = x

        def batch(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return to_float(data[idx]), idx

        return torch.arange(n, device=x.device), batch

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self.codes.shape[0] == 0:
            raise LcwbenchError(f"method {self.name!r}: no codes yet; call training_data(x, to_float) first")
        return {
            "gen": torch.optim.Adam(self._generator_params(), lr=self.cfg.lr),
            "codes": RowAdam([self.codes], lr=self.cfg.code_lr),
        }

    def steps_per_epoch(self) -> int:
        return max(1, self.codes.shape[0] // self.cfg.batch_size)

    def _set_learning_rates(self, opts: dict[str, torch.optim.Optimizer]) -> None:
        every = self.cfg.lr_halve_every
        if every <= 0:
            return
        factor = 0.5 ** ((int(self.n_steps) // self.steps_per_epoch()) // every)
        for name, base in (("gen", self.cfg.lr), ("codes", self.cfg.code_lr)):
            for group in opts[name].param_groups:
                group["lr"] = base * factor

    def generator_penalty(
        self, z: torch.Tensor, x: torch.Tensor, per_image: torch.Tensor
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor], torch.Tensor | None]:
        """``(loss, log_terms, grad_sum)``: what is added to the generator loss (GLDO: its weighted
        gradient penalty), terms to log, and, where computed on the way, the gradient of
        ``per_image.sum()`` w.r.t. ``z`` (saves the codes a backward pass). GLO: nothing."""
        return None, {}, None

    def train_step(self, batch, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        if not isinstance(batch, tuple | list) or len(batch) != 2:
            raise LcwbenchError(
                f"method {self.name!r} trains on (images, indices) batches; use training_data(x, to_float)"
            )
        x, idx = batch
        self._set_learning_rates(opts)
        z = self.codes.detach()[idx].clone().requires_grad_(True)
        per_image = self.rec_loss()(self.generator(z), x, reduction="none")
        rec = per_image.mean()
        pen_loss, pen_terms, grad_sum = self.generator_penalty(z, x, per_image)
        terms: dict[str, torch.Tensor] = {"rec": rec, **pen_terms}

        # codes: the reconstruction loss only (+ the NP penalty)
        if grad_sum is not None:
            code_grad = grad_sum.detach() / z.shape[0]  # d(mean l_i)/dz = d(sum l_i)/dz / m
        else:
            (code_grad,) = torch.autograd.grad(rec, z, retain_graph=True)
        if cfg.np_weight > 0:
            np_term = cfg.np_weight * z.abs().sum(dim=1).mean()
            code_grad = code_grad + torch.autograd.grad(np_term, z)[0]
            terms["np"] = np_term

        # generator: reconstruction + penalties
        gen_loss = rec if pen_loss is None else rec + pen_loss
        if cfg.wd_weight > 0:
            wd = cfg.wd_weight * sum(p.pow(2).sum() for p in self._generator_params())
            gen_loss = gen_loss + wd
            terms["wd"] = wd
        opts["gen"].zero_grad(set_to_none=True)
        torch.autograd.backward(gen_loss, inputs=self._generator_params())
        opts["gen"].step()

        opts["codes"].zero_grad(set_to_none=True)
        self.codes.grad = torch.sparse_coo_tensor(idx.unsqueeze(0), code_grad, self.codes.shape, check_invariants=False)
        opts["codes"].step()
        self.codes.grad = None
        if cfg.sphere:
            with torch.no_grad():
                self.codes[idx] = project_to_sphere(self.codes[idx])

        with torch.no_grad():
            self.n_steps += 1
            if int(self.n_steps) % self.steps_per_epoch() == 0:
                self.fit_gaussian()
        out = {"total": gen_loss, **terms}
        return {k: v.detach() for k, v in out.items()}

    # -- sampling --------------------------------------------------------------------------------
    @torch.no_grad()
    def fit_gaussian(self) -> None:
        """Fit the full-covariance Gaussian to the current codes (mean and Cholesky factor buffers)."""
        if self.codes.shape[0] == 0:
            raise LcwbenchError(f"method {self.name!r} has no learned codes (not trained)")
        mean, chol = fit_full_gaussian(self.codes)
        self.code_mean.copy_(mean.to(self.code_mean.dtype))
        self.code_chol.copy_(chol.to(self.code_chol.dtype))
        self.fit_step.copy_(self.n_steps)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Codes of new samples: ``mean + L eps``, eps ~ N(0, I), from the Gaussian fitted to the learned
        codes (003 L979-981); refitted first if the codes changed since the last fit."""
        if int(self.fit_step) != int(self.n_steps):
            self.fit_gaussian()
        eps = torch.randn(n, self.cfg.latent_dim, generator=generator, device=self.device)
        return self.code_mean + eps @ self.code_chol.T

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise LcwbenchError(f"method {self.name!r} has no encoder; reconstruct with reconstruct_by_search")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def reconstruct_by_search(
        self,
        x: torch.Tensor,
        steps: int = 1000,
        lr: float = 0.01,
        seed: int = 0,
        loss: str | None = None,
        **kwargs,
    ) -> SearchResult:
        """Reconstruct ``x`` by optimising codes with the generator frozen in eval mode (003 L1058-1064);
        see :func:`lcwbench.latent_search.search_codes` (``kwargs`` go there). ``loss`` defaults to the
        model's own reconstruction loss [harness choice]; start codes are projected with ``sphere``."""
        was_training = self.training
        self.eval()
        try:
            return search_codes(
                self.decode,
                x.to(self.device),
                self.cfg.latent_dim,
                steps=steps,
                lr=lr,
                loss=loss if loss is not None else self.rec_loss(),
                seed=seed,
                project=self.cfg.sphere,
                **kwargs,
            )
        finally:
            self.train(was_training)

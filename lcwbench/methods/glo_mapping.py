r"""Mapping networks on a frozen GLO: GLO-GLF, GLO-TSV and GLANN of the GLDO paper's Table 5.

The GLDO paper (003) compares GLDO with three ways of sampling GLO through a second network that
maps Gaussian noise to the learned codes (Sec. 4.8, 003 L1270-1277, Table 5 L1286-1323): GLANN
(Hoshen et al. 2019; a map from a Gaussian to the well-trained codes, L569-571), and GLO given the
sampling stage of GLF (Xiao et al. 2019; a flow between the codes and a Gaussian, L574-576,
L1274-1275) or of the two-stage VAE (Dai & Wipf 2019; a VAE that models the codes from a Gaussian,
L576-579, L1276-1277). Here each is a stage-2 method (``needs_base``) on a finished GLO run (any
``glo``/``gldo`` model, named by the experiment's ``base:``):

* ``glo_glf``: a RealNVP normalizing flow f (affine coupling layers, from the ``zuko`` library) fitted
  by maximum likelihood to the codes, f(z) ~ N(0, I); samples G(f^{-1}(eps)).
* ``glo_tsv``: the second-stage VAE of the two-stage VAE on the codes (encoder and decoder MLPs with
  the input concatenated to the last hidden layer, a learned scalar decoder scale gamma); samples
  G(dec(u) [+ gamma * nu]) with u, nu ~ N(0, I).
* ``glann``: an IMLE mapping T from noise to codes: at the start of each epoch a pool of noise is
  mapped and each code is matched to its nearest mapped sample; the epoch's steps minimise the squared
  distance between T(matched noise) and the code; samples G(T(eps)).

Only the mapping trains. The base's parameters (generator and code table ``codes``) have
``requires_grad`` False and the base stays in eval mode while the mapping trains; the base is a
submodule, so ``model.pt`` is self-contained, and its method name and config are kept in this config
(``base_method``, ``base_config``) so that ``lcwbench.runner.load_model`` can rebuild it (GLO resizes
its code table to the stored one). ``training_data`` ignores the images except for their number (it
must equal the number of codes: the base was trained on the same data set) and gives the shared loop
the base's codes (GLANN: the code indices, each batch becoming ``(codes, indices)``), so the codes
are batched, permuted and checkpointed by the loop like any data set.

GLO has no encoder, and neither do these methods (``has_encoder`` False): ``encode`` raises,
``decode`` is the base generator, and test reconstructions are the base's latent search
(:meth:`reconstruct_by_search` delegates to the base), so Table 2-style metrics equal the base's.

Whether the mapping is trained jointly with GLO or afterwards the paper does not say. GLF trains its
flow jointly with the autoencoder but stops the flow's gradient into the latents, so the flow never
shapes the codes; the two-stage VAE and GLANN train the mapping after the first stage. Training on
the finished codes is the common form of all three [harness reading].

Defaults and sources ([paper]: the method's own paper; [repo]: its authors' code; [harness]: ours):

Common: ``latent_dim`` 0 = the base's code dimension (another non-zero value is an error). An
``lr_decay_every`` of k epochs multiplies the learning rate by ``lr_decay`` every k epochs (0 = constant).
``standardize`` maps the codes by a fixed per-dimension affine map (mean, unbiased std of the codes,
kept in buffers) before the mapping sees them and maps samples back; an exact reparameterisation.

GLO-GLF (``glo_glf``):

* RealNVP affine coupling flow, ``transforms`` 4 coupling layers with alternating masks, each
  conditioner an MLP of ``depth`` 2 x ``width`` 256 ReLU units; zuko's soft-bounded log-scale
  (|log s| < ln 1000 per layer) [harness: GLF uses affine coupling blocks (paper); the sizes of its
  flow were not available here].
* Loss: the negative log-likelihood of the codes, in nats per code (``nll``) [paper].
* Adam lr 1e-3, batch 64, 50 epochs, constant lr [harness; batch 64 as the GLDO paper, 003 L838].
* ``standardize`` True [harness: GLO's unit-sphere codes have entries of about 1/sqrt(d); the fixed
  affine map leaves the flow's job to the shape of the distribution]. The reported ``nll`` is that of
  the raw codes (the map's log-determinant included). Codes on GLO's unit sphere have no density in
  R^d, so the NLL has no lower bound: it keeps falling as the flow squeezes the radial direction; the
  soft-bounded scales keep it finite.

GLO-TSV (``glo_tsv``), the second stage of [repo] TwoStageVAE (``network/two_stage_vae_model.py``,
``demo.py``):

* ``noise_dim`` 0 = the code dimension (u has the latent dimension of the first stage) [repo].
* encoder: ``depth`` 3 x [Linear ``width`` 1024, ReLU], concatenated with its input, then linear heads
  for mu_u and log sd_u; decoder the same on u with a linear head for z_hat [repo]. PyTorch's default
  initialisation [harness; the repo uses TensorFlow's].
* loss per batch, sums over dimensions, means over the batch [repo]:
  ``kl = 1/2 sum(mu^2 + sd^2 - 2 log sd - 1)``, ``gen = sum(((z - z_hat)/gamma)^2 / 2 + log gamma + log(2 pi)/2)``,
  ``total = kl + gen``; gamma = exp(``loggamma``), one learned scalar starting at 1 [repo].
* Adam lr 1e-4 halved every 300 epochs, batch 64, 800 epochs [repo demo.py: lr2, lr-epochs2, lr-fac2,
  batch-size, epochs2].
* Sampling z = z_hat(u) + gamma * nu (``decoder_noise`` True) [repo ``generate``, stage 2]; False gives
  z_hat(u) alone. ``standardize`` False [repo: raw latents]. The repo's second stage trains on draws of
  the first stage's posterior; GLO's codes are points, so it trains on them [harness].

GLANN (``glann``), [repo] yedidh/glann (``icp.py``, ``configs/*.yaml``):

* ``noise_dim`` 32 (``icp.dim`` on MNIST, Fashion and CIFAR) [repo].
* T: ``depth`` 2 x [Linear ``width`` 128 without bias, BatchNorm1d, ReLU], then Linear to the code
  dimension without bias [repo ``_netT``].
* Each epoch: ``pool_factor`` 2 x (N // batch) x batch noise vectors, mapped by T in training mode in
  batches of ``batch_size`` (batch-norm statistics included, as the repo does), each code matched to
  its nearest mapped sample (squared Euclidean distance, exact search by blocks of ``torch.cdist``;
  the repo uses faiss' exact L2 index). The matches live in the buffer ``matched_noise`` so a resumed
  run continues the epoch with the same ones. Logged ``nn_dist``: the mean squared distance of the
  epoch's matches.
* Loss: mean squared error over entries between T(matched noise) and the codes [repo ``nn.MSELoss``].
* Adam lr 1e-3, betas (0.5, 0.999), weight decay 1e-5, batch 128, 50 epochs, lr halved every 50
  epochs [repo ``ICPTrainer``, ``_ICP.train_epoch``]; the repo builds a new Adam every epoch, i.e.
  resets its moments (``reset_optimizer_each_epoch`` True) [repo].
* ``standardize`` False [repo: raw codes].

Loss terms: ``total`` and ``nll`` (GLF); ``total``, ``kl``, ``gen``, ``gamma`` (TSV); ``total``, ``mse``,
``nn_dist`` (GLANN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import zuko
from torch import nn
from torch.nn import functional as F

from lcwbench.errors import LcwbenchError
from lcwbench.latent_search import SearchResult
from lcwbench.methods import build_method, register
from lcwbench.methods.base import Method, MethodConfig, adopt_base, optimiser_step
from lcwbench.methods.glo import GLO

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
NN_BLOCK = 1 << 24  # entries of one block of the nearest-neighbour distance matrix (64 MiB in float32)


# --------------------------------------------------------------------------------------------------
# shared pieces


@dataclass
class MappingConfig(MethodConfig):
    latent_dim: int = 0  # 0: the base's code dimension
    standardize: bool = False
    lr_decay_every: int = 0  # epochs; 0 = constant learning rate
    lr_decay: float = 0.5
    base_method: str = ""  # filled from the base when the method is built
    base_config: dict[str, Any] | None = None

    def check(self) -> None:
        for name in ("batch_size", "epochs", "width", "depth"):
            if getattr(self, name) < 1:
                raise LcwbenchError(f"method parameter {name} must be >= 1, got {getattr(self, name)}")
        if self.latent_dim < 0:
            raise LcwbenchError(f"method parameter latent_dim must be >= 0 (0: from the base), got {self.latent_dim}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise LcwbenchError(f"method parameter lr must be > 0, got {self.lr}")
        if self.lr_decay_every < 0 or not (0 < self.lr_decay <= 1):
            raise LcwbenchError(
                f"method parameters lr_decay_every must be >= 0 and lr_decay in (0, 1], got {self.lr_decay_every},"
                f" {self.lr_decay}"
            )


def _identity(batch: torch.Tensor) -> torch.Tensor:
    return batch


class CodeMapping(Method):
    """A network from noise to the code space of a frozen GLO ``base``; subclasses define the network,
    :meth:`losses` and :meth:`map_noise` (noise -> codes in the standardised space)."""

    Config = MappingConfig
    has_encoder = False
    needs_base = True

    def __init__(self, cfg: MappingConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        if base is None and cfg.base_method:
            # Rebuilding a saved model: an untrained base of the stored kind; load_state_dict fills it.
            base = build_method(cfg.base_method, cfg.base_config, sample_shape)
        super().__init__(cfg, sample_shape, base)
        assert base is not None
        if not isinstance(base, GLO) or base.needs_base:
            raise LcwbenchError(
                f"{self.name} maps noise to the learned codes of a GLO model; its base must be a 'glo' or 'gldo'"
                f" run, got {base.name!r}"
            )
        adopt_base(self, base, dim_name="code dimension")
        d = cfg.latent_dim
        self.register_buffer("code_shift", torch.zeros(d))
        self.register_buffer("code_scale", torch.ones(d))
        self.register_buffer("n_steps", torch.tensor(0, dtype=torch.long))

    # -- pieces ----------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.n_steps.device

    def base_codes(self) -> torch.Tensor:
        """The base's learned codes (N x d, detached)."""
        codes = self.base.codes.detach()
        if codes.shape[0] < 2:
            raise LcwbenchError(f"{self.name}: the base model has {codes.shape[0]} learned codes; train the base first")
        return codes

    def standardise(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.code_shift) / self.code_scale

    def unstandardise(self, u: torch.Tensor) -> torch.Tensor:
        return self.code_shift + self.code_scale * u

    def mapping_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if not name.startswith("base.") and p.requires_grad]

    def steps_per_epoch(self) -> int:
        return max(1, self.base.codes.shape[0] // self.cfg.batch_size)

    def _set_learning_rates(self, opts: dict[str, torch.optim.Optimizer]) -> None:
        every = self.cfg.lr_decay_every
        if every <= 0:
            return
        factor = self.cfg.lr_decay ** ((int(self.n_steps) // self.steps_per_epoch()) // every)
        for group in opts["main"].param_groups:
            group["lr"] = self.cfg.lr * factor

    # -- training --------------------------------------------------------------------------------
    def train(self, mode: bool = True):
        super().train(mode)
        self.base.eval()  # frozen, batch-norm statistics included
        return self

    @torch.no_grad()
    def training_data(self, x, to_float):
        """The base's codes (the images only tell how many there must be); sets the standardisation."""
        z = self.base_codes()
        if int(x.shape[0]) != z.shape[0]:
            raise LcwbenchError(
                f"{self.name}: the base has {z.shape[0]} codes but the training set has {int(x.shape[0])} items;"
                " the base must be trained on the same data set"
            )
        if self.cfg.standardize:
            z64 = z.to(torch.float64)
            self.code_shift.copy_(z64.mean(dim=0).to(self.code_shift.dtype))
            self.code_scale.copy_(z64.std(dim=0).clamp_min(1e-12).to(self.code_scale.dtype))
        return z.clone(), _identity

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"main": torch.optim.Adam(self.mapping_parameters(), lr=self.cfg.lr)}

    def train_step(self, batch, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        self._set_learning_rates(opts)
        out = optimiser_step(opts["main"], lambda: self.losses(batch))
        with torch.no_grad():
            self.n_steps += 1
        return out

    # -- inference -------------------------------------------------------------------------------
    def map_noise(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """``n`` new codes in the standardised space."""
        raise NotImplementedError

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.unstandardise(self.map_noise(n, generator))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise LcwbenchError(f"method {self.name!r} has no encoder; reconstruct with reconstruct_by_search")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.base.decode(z)

    def reconstruct_by_search(self, x: torch.Tensor, **kwargs) -> SearchResult:
        """The base's latent search (:meth:`lcwbench.methods.glo.GLO.reconstruct_by_search`)."""
        return self.base.reconstruct_by_search(x, **kwargs)


# --------------------------------------------------------------------------------------------------
# GLO-GLF: a normalizing flow


@dataclass
class GLFConfig(MappingConfig):
    lr: float = 1e-3
    batch_size: int = 64
    width: int = 256  # conditioner MLP width
    depth: int = 2  # conditioner MLP hidden layers
    transforms: int = 4  # affine coupling layers
    standardize: bool = True

    def check(self) -> None:
        super().check()
        if self.transforms < 1:
            raise LcwbenchError(f"method parameter transforms must be >= 1, got {self.transforms}")


@register
class GLOGLF(CodeMapping):
    name = "glo_glf"
    Config = GLFConfig

    def __init__(self, cfg: GLFConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        if cfg.latent_dim < 2:
            raise LcwbenchError(f"glo_glf needs codes of dimension >= 2 for coupling layers, got {cfg.latent_dim}")
        self.flow = zuko.flows.RealNVP(
            cfg.latent_dim, transforms=cfg.transforms, hidden_features=(cfg.width,) * cfg.depth
        )

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log density of raw codes ``z`` under the model (standardisation's log-determinant included)."""
        return self.flow().log_prob(self.standardise(z)) - self.code_scale.log().sum()

    def losses(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        nll = -self.log_prob(z).mean()
        return {"total": nll, "nll": nll}

    def map_noise(self, n, generator):
        eps = torch.randn(n, self.cfg.latent_dim, generator=generator, device=self.device)
        return self.flow().transform.inv(eps)


# --------------------------------------------------------------------------------------------------
# GLO-TSV: the second stage of the two-stage VAE


@dataclass
class TSVConfig(MappingConfig):
    noise_dim: int = 0  # dimension of u; 0 = the code dimension
    lr: float = 1e-4
    batch_size: int = 64
    epochs: int = 800
    width: int = 1024
    depth: int = 3
    lr_decay_every: int = 300
    lr_decay: float = 0.5
    decoder_noise: bool = True

    def check(self) -> None:
        super().check()
        if self.noise_dim < 0:
            raise LcwbenchError(
                f"method parameter noise_dim must be >= 0 (0: the code dimension), got {self.noise_dim}"
            )


class SkipMLP(nn.Module):
    """``depth`` x [Linear ``width``, ReLU]; the output is the input concatenated with the last hidden layer."""

    def __init__(self, d_in: int, width: int, depth: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(d_in if i == 0 else width, width), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.out_features = d_in + width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.net(x)], dim=-1)


def tsv_loss_terms(
    z: torch.Tensor, z_hat: torch.Tensor, mu: torch.Tensor, logsd: torch.Tensor, loggamma: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The second-stage VAE's loss: per-batch-mean sums over dimensions of the KL of N(mu, sd^2) to
    N(0, I) and of the Gaussian negative log-likelihood of ``z`` under N(z_hat, gamma^2 I)."""
    b = z.shape[0]
    kl = 0.5 * (mu.pow(2) + torch.exp(2 * logsd) - 2 * logsd - 1).sum() / b
    gen = (((z - z_hat) / loggamma.exp()).pow(2) / 2 + loggamma + HALF_LOG_TWO_PI).sum() / b
    return {"total": kl + gen, "kl": kl, "gen": gen, "gamma": loggamma.exp().detach()}


@register
class GLOTSV(CodeMapping):
    name = "glo_tsv"
    Config = TSVConfig

    def __init__(self, cfg: TSVConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        d = cfg.latent_dim
        k = cfg.noise_dim or d
        self.noise_size = k
        self.enc = SkipMLP(d, cfg.width, cfg.depth)
        self.enc_mu = nn.Linear(self.enc.out_features, k)
        self.enc_logsd = nn.Linear(self.enc.out_features, k)
        self.dec = SkipMLP(k, cfg.width, cfg.depth)
        self.dec_out = nn.Linear(self.dec.out_features, d)
        self.loggamma = nn.Parameter(torch.zeros(()))

    def encode_codes(self, u_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.enc(u_in)
        return self.enc_mu(h), self.enc_logsd(h)

    def decode_noise(self, u: torch.Tensor) -> torch.Tensor:
        return self.dec_out(self.dec(u))

    def losses(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.standardise(z)
        mu, logsd = self.encode_codes(z)
        u = mu + logsd.exp() * torch.randn_like(mu)
        return tsv_loss_terms(z, self.decode_noise(u), mu, logsd, self.loggamma)

    def map_noise(self, n, generator):
        u = torch.randn(n, self.noise_size, generator=generator, device=self.device)
        z = self.decode_noise(u)
        if self.cfg.decoder_noise:
            z = z + self.loggamma.exp() * torch.randn(z.shape, generator=generator, device=self.device)
        return z


# --------------------------------------------------------------------------------------------------
# GLANN: IMLE from noise to the codes


@dataclass
class GLANNConfig(MappingConfig):
    noise_dim: int = 32
    lr: float = 1e-3
    batch_size: int = 128
    width: int = 128
    depth: int = 2
    lr_decay_every: int = 50
    lr_decay: float = 0.5
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 1e-5
    pool_factor: int = 2  # noise vectors per epoch = pool_factor * (N // batch_size) * batch_size
    reset_optimizer_each_epoch: bool = True

    def check(self) -> None:
        super().check()
        if self.noise_dim < 1 or self.pool_factor < 1:
            raise LcwbenchError("method parameters noise_dim and pool_factor must be >= 1")
        if self.batch_size < 2:
            raise LcwbenchError("glann: batch_size must be >= 2 (its mapping uses batch norm)")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas) or self.weight_decay < 0:
            raise LcwbenchError(f"glann: betas must be two values in [0, 1) and weight_decay >= 0, got {self.betas}")


@torch.no_grad()
def nearest_assignment(z: torch.Tensor, y: torch.Tensor, block: int = NN_BLOCK) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of ``z`` the index of its nearest row of ``y`` (Euclidean) and the squared distance,
    computed by blocks of rows of ``z`` so that one distance block holds at most ``block`` entries."""
    if y.shape[0] == 0:
        raise LcwbenchError("nearest_assignment: no candidates")
    rows = max(1, block // y.shape[0])
    idx, dist = [], []
    for i in range(0, z.shape[0], rows):
        d, j = torch.cdist(z[i : i + rows], y).min(dim=1)
        idx.append(j)
        dist.append(d)
    return torch.cat(idx), torch.cat(dist).pow(2)


def glann_mapping(noise_dim: int, code_dim: int, width: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(noise_dim if i == 0 else width, width, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
    layers.append(nn.Linear(width, code_dim, bias=False))
    return nn.Sequential(*layers)


@register
class GLANN(CodeMapping):
    name = "glann"
    Config = GLANNConfig

    def __init__(self, cfg: GLANNConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__(cfg, sample_shape, base)
        self.mapping = glann_mapping(cfg.noise_dim, cfg.latent_dim, cfg.width, cfg.depth)
        n = self.base.codes.shape[0]
        self.register_buffer("matched_noise", torch.zeros(n, cfg.noise_dim))  # sized to the codes
        self.register_buffer("nn_dist", torch.zeros(()))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errs):
        stored = state_dict.get(prefix + "matched_noise")
        if torch.is_tensor(stored) and stored.dim() == 2 and stored.shape != self.matched_noise.shape:
            self.matched_noise = torch.zeros(stored.shape, dtype=self.matched_noise.dtype, device=self.device)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errs)

    def training_data(self, x, to_float):
        """The loop trains on the code indices 0..N-1; each batch becomes ``(codes, indices)``."""
        z, _ = super().training_data(x, to_float)
        if self.matched_noise.shape[0] != z.shape[0]:
            self.matched_noise = torch.zeros(z.shape[0], self.cfg.noise_dim, device=self.device)

        def batch(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return z[idx], idx

        return torch.arange(z.shape[0], device=z.device), batch

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        return {
            "main": torch.optim.Adam(
                self.mapping_parameters(), lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay
            )
        }

    @torch.no_grad()
    def match(self) -> None:
        """Draw the epoch's noise pool, map it (T in its current mode, in batches of ``batch_size``) and
        match every code to its nearest mapped sample; fills ``matched_noise`` and ``nn_dist``."""
        cfg = self.cfg
        z = self.standardise(self.base_codes())
        b = cfg.batch_size
        m = cfg.pool_factor * self.steps_per_epoch() * b
        e = torch.randn(m, cfg.noise_dim, device=self.device)
        mapped = torch.cat([self.mapping(e[i : i + b]) for i in range(0, m, b)])
        idx, d2 = nearest_assignment(z, mapped)
        self.matched_noise.copy_(e[idx])
        self.nn_dist.copy_(d2.mean())

    def losses(self, batch) -> dict[str, torch.Tensor]:
        z, idx = batch
        mse = F.mse_loss(self.mapping(self.matched_noise[idx]), self.standardise(z))
        return {"total": mse, "mse": mse, "nn_dist": self.nn_dist.clone()}

    def train_step(self, batch, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        if not isinstance(batch, tuple | list) or len(batch) != 2:
            raise LcwbenchError("glann trains on (codes, indices) batches; use training_data(x, to_float)")
        if int(self.n_steps) % self.steps_per_epoch() == 0:
            if self.cfg.reset_optimizer_each_epoch:
                opts["main"].state.clear()
            self.match()
        return super().train_step(batch, opts)

    def map_noise(self, n, generator):
        eps = torch.randn(n, self.cfg.noise_dim, generator=generator, device=self.device)
        return self.mapping(eps)

"""The method interface every generative model implements, and its configuration handling.

A method is an ``nn.Module`` holding all its networks, with a config dataclass of the paper's
defaults. The shared training loop (``lcwbench.train``) trains on what :meth:`Method.training_data`
returns and calls :meth:`Method.train_step` once per batch; evaluation uses :meth:`encode`,
:meth:`decode`, :meth:`reconstruct` and :meth:`sample`.

Two class flags tell the harness what kind of model a method is:

* ``has_encoder`` is False for pure generators (noise -> data); evaluation then skips the
  reconstruction and latent metrics, and :meth:`encode` raises.
* ``needs_base`` is True for a second-stage model built on a finished, frozen method (the Latent
  Trick); it is constructed with ``base=`` that method.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from lcwbench.errors import LcwbenchError


@dataclass
class MethodConfig:
    """Hyperparameters common to all methods. Subclasses override defaults with their paper's values."""

    latent_dim: int = 8
    lr: float = 1e-3
    batch_size: int = 128
    epochs: int = 50
    arch: str = "auto"  # "mlp" (LCW MNIST/F-MNIST net), "conv" (LCW CelebA net), "mimicry", or "auto" by shape
    width: int = 200  # MLP hidden width
    depth: int = 3  # MLP hidden layers
    conv_width: int = 64  # base width of the "mimicry" nets

    def check(self) -> None:
        """Raise LcwbenchError for values no run can use."""
        for name in ("latent_dim", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise LcwbenchError(f"method parameter {name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise LcwbenchError(f"method parameter lr must be > 0, got {self.lr}")


class Method(nn.Module):
    """Base class. Subclasses set ``name`` and ``Config`` and implement the abstract methods."""

    name: ClassVar[str]
    Config: ClassVar[type[MethodConfig]] = MethodConfig
    has_encoder: ClassVar[bool] = True
    needs_base: ClassVar[bool] = False

    def __init__(self, cfg: MethodConfig, sample_shape: tuple[int, ...], base: Method | None = None):
        super().__init__()
        if self.needs_base and base is None:
            raise LcwbenchError(f"method {self.name!r} is built on a trained model; no base model was given")
        self.cfg = cfg
        self.sample_shape = tuple(sample_shape)

    # -- training ------------------------------------------------------------------------------
    def training_data(
        self, x: torch.Tensor, to_float: Callable[[torch.Tensor], torch.Tensor]
    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        """What the shared loop trains on, given the whole training set ``x`` (on the device) and the
        map ``to_float`` from a stored batch to floats. Default: the data unchanged."""
        return x, to_float

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One Adam over all parameters unless a method needs more (the LCW authors used Adam)."""
        return {"main": torch.optim.Adam(self.parameters(), lr=self.cfg.lr)}

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Loss terms for batch ``x``; ``total`` is what is minimised."""
        raise NotImplementedError

    def train_step(self, x: torch.Tensor, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        """One optimisation step on batch ``x``; returns the detached loss terms (scalars).

        Default: minimise ``losses(x)["total"]`` with the single optimiser ``main``. Methods with
        several optimisers or their own inputs (e.g. noise) override this.
        """
        return optimiser_step(opts["main"], lambda: self.losses(x))

    # -- inference -----------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Latent codes of new samples: the N(0, I) prior unless a method says otherwise."""
        device = next(self.parameters()).device
        return torch.randn(n, self.cfg.latent_dim, generator=generator, device=device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode(self.sample_latent(n, generator))

    def latent_metrics(self, z: torch.Tensor) -> dict[str, tuple[float, str]]:
        """Method-specific metrics of the encoded test set ``z`` (CPU): name -> (value, definition).
        Default none; LMGAE reports its active dimensions and their covariance."""
        return {}


def adopt_base(method: Method, base: Method, dim_name: str = "latent_dim") -> None:
    """Attach the trained, frozen ``base`` to the second-stage ``method`` (Latent Trick, GLO mappings).

    Checks the base against what ``method.cfg`` recorded (``base_method``), the sample shape, and the
    latent dimension (``cfg.latent_dim`` 0 = take the base's); then records the base's name and config
    in ``method.cfg`` so that a saved model can rebuild it, freezes the base and puts it in eval mode.
    """
    cfg, name = method.cfg, method.name
    if cfg.base_method and cfg.base_method != base.name:
        raise LcwbenchError(f"{name}: config says base_method {cfg.base_method!r} but the base is {base.name!r}")
    if tuple(base.sample_shape) != method.sample_shape:
        raise LcwbenchError(
            f"{name}: base model samples have shape {tuple(base.sample_shape)}, data {method.sample_shape}"
        )
    base_dim = base.cfg.latent_dim
    if cfg.latent_dim == 0:
        cfg.latent_dim = base_dim
    elif cfg.latent_dim != base_dim:
        raise LcwbenchError(
            f"{name}: latent_dim {cfg.latent_dim} differs from the base's {dim_name} {base_dim};"
            " leave latent_dim out (it is taken from the base)"
        )
    cfg.base_method = base.name
    cfg.base_config = dataclasses.asdict(base.cfg)
    base.requires_grad_(False)
    base.eval()
    method.base = base


def minimise(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """Zero ``opt``'s gradients, backpropagate ``loss`` and take one step of ``opt``."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def optimiser_step(opt: torch.optim.Optimizer, compute_terms) -> dict[str, torch.Tensor]:
    """Zero ``opt``'s gradients, compute the loss terms, minimise ``terms["total"]`` with one step of
    ``opt`` and return the detached terms."""
    opt.zero_grad(set_to_none=True)
    terms = compute_terms()
    terms["total"].backward()
    opt.step()
    return {k: v.detach() for k, v in terms.items()}


def _coerce(value: Any, typ: Any, key: str, method: str) -> Any:
    origin = typing.get_origin(typ)
    if typ is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if typ is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if typ is bool and isinstance(value, bool):
        return value
    if typ is str and isinstance(value, str):
        return value
    if origin is tuple and isinstance(value, list | tuple):
        return tuple(value)
    if (typ is dict or origin is dict) and isinstance(value, dict):
        return dict(value)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = typing.get_args(typ)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key, method)
            except LcwbenchError:
                continue
    name = getattr(typ, "__name__", str(typ))
    raise LcwbenchError(
        f"method {method!r}: parameter {key!r} must be of type {name}, got {value!r} ({type(value).__name__})"
    )


def make_config(cls: type[Method], params: dict[str, Any] | None) -> MethodConfig:
    """Build ``cls.Config`` from ``params``; unknown keys and wrong types are one clear error."""
    # ``lambda`` is a Python keyword, so dataclass fields spell it ``lambda_``; configs may write either.
    params = {("lambda_" if k == "lambda" else k): v for k, v in (params or {}).items()}
    fields = {f.name: f for f in dataclasses.fields(cls.Config)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise LcwbenchError(
            f"method {cls.name!r}: unknown parameter(s) {', '.join(unknown)}; valid: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls.Config)
    values = {k: _coerce(v, hints[k], k, cls.name) for k, v in params.items()}
    cfg = cls.Config(**values)
    cfg.check()
    return cfg

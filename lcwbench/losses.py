"""Reconstruction losses of GLO / GLDO, selectable by name: ``"l2"``, ``"lap1"``, ``"perceptual"``.

Every loss compares a reconstruction ``x_hat`` with its target ``x`` (both ``N x ...``, images in
[0, 1]) and returns, with ``reduction="none"``, one value per image (shape ``N``); ``reduction="mean"``
(the default) is the batch mean of those.

* ``l2``: the squared L2 distance per image, ``||x_hat - x||_2^2`` summed over all entries (GLO's
  squared loss, 003 L614 ``L2(x, x') = ||x - x'||_2^2``).
* ``lap1``: the Laplacian-pyramid L1 loss of GLO (Bojanowski et al.), quoted by GLDO at 003 L614-651:
  ``Lap1(x, x') = sum_j 2^(-2j) |L^j(x) - L^j(x')|_1``, ``L^j`` the j-th level of the Laplacian pyramid
  (j = 0 the finest), ``|.|_1`` the sum of absolute values over the level's entries. The pyramid uses
  the 5x5 binomial kernel ``[1, 4, 6, 4, 1] / 16`` (outer product; Burt & Adelson's Gaussian
  approximation), replicate padding, subsampling by 2 and the matching expand step (zero insertion,
  4 x the kernel). The last level is the low-pass residual. ``levels`` 4 by default [harness choice;
  not stated in either paper]: 32 px images get bands at 32, 16, 8 and a 4x4 residual.
* ``perceptual``: a VGG-16 feature distance plus a weighted squared loss (003 L653-656: "we use
  perceptual loss with a weighted squared-loss"; the layers and the weight are not stated,
  ambiguities C11). Per image: ``sum_l mean((phi_l(x_hat) - phi_l(x))^2) + l2_weight * mean((x_hat -
  x)^2)`` with the means over each layer's (C, H, W) entries (the feature-reconstruction loss of Johnson
  et al., the paper's [28]) and over the image's entries. Layers relu1_2, relu2_2, relu3_3 and
  ``l2_weight`` 1.0 [harness choices]. Inputs: grey images are repeated to 3 channels, then normalised
  with the ImageNet mean / std the torchvision weights expect; no resizing.

VGG-16 weights
--------------
torchvision's ImageNet VGG-16 (``vgg16-397923af.pth``, a ``state_dict`` of ``features.*`` and
``classifier.*`` tensors). :func:`resolve_vgg_weights` looks, in order, at the configured path, the
environment variable ``LCWBENCH_VGG_WEIGHTS``, torchvision's own cache ``<torch hub dir>/checkpoints/
vgg16-397923af.pth``, and then downloads there with torch.hub's downloader; offline that is one
LcwbenchError saying how to supply the file. The file is always read with ``torch.load(weights_only=
True)`` (:func:`lcwbench.io.torch_load`); only the ``features.*`` convolutions the chosen layers need
are used, the classifier is ignored. The network is written here (the same layer indices as
torchvision's ``vgg16().features``), so torchvision is never imported.

:func:`make_standin_vgg_weights` writes a randomly initialised file of the same format (``features.*``
tensors of the same names and shapes) plus a marker entry ``lcwbench_standin_seed``; a loss built
from it has ``protocol["is_standin"] = True``. Numbers computed with it are not perceptual losses in
any published sense; they exist so tests run offline. ``protocol`` also records the file's path and
sha256.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lcwbench.errors import LcwbenchError
from lcwbench.io import atomic_path, resolve_weights_file, sha256_file, torch_load

LOSS_NAMES = ("l2", "lap1", "perceptual")
REDUCTIONS = ("mean", "none")

# ---------------------------------------------------------------------------------------------------
# l2 and lap1


def _reduce(per_image: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_image.mean()
    if reduction == "none":
        return per_image
    raise LcwbenchError(f"unknown reduction {reduction!r}; valid: {', '.join(REDUCTIONS)}")


def _check_pair(x_hat: torch.Tensor, x: torch.Tensor, what: str) -> None:
    if x_hat.shape != x.shape:
        raise LcwbenchError(f"{what} loss: reconstruction shape {tuple(x_hat.shape)} != target shape {tuple(x.shape)}")


def l2_loss(x_hat: torch.Tensor, x: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Squared L2 distance per sample (sum over all entries); batch mean unless ``reduction="none"``."""
    _check_pair(x_hat, x, "l2")
    return _reduce((x_hat - x).pow(2).flatten(1).sum(dim=1), reduction)


def _binomial_kernel(channels: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    k1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64) / 16.0
    k2 = torch.outer(k1, k1).to(dtype=dtype, device=device)
    return k2.expand(channels, 1, 5, 5).contiguous()


def _reduce_level(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Blur with the 5x5 kernel (replicate padding) and keep every second row and column."""
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), kernel, stride=2, groups=x.shape[1])


def _expand_level(y: torch.Tensor, kernel: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The expand step: zero insertion and blurring with 4 x the kernel, as one strided transposed
    convolution of the replicate-padded coarse level, cropped to ``size``. A constant stays constant."""
    yp = F.pad(y, (1, 1, 1, 1), mode="replicate")
    up = F.conv_transpose2d(yp, 4.0 * kernel, stride=2, groups=y.shape[1])
    # with one padded row/column in front, output row o of the expand lands at o + 4
    return up[..., 4 : 4 + size[0], 4 : 4 + size[1]]


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """The Laplacian pyramid of ``x`` (N x C x H x W): ``levels - 1`` band-pass images, finest first,
    then the low-pass residual. Exactly invertible: see :func:`reconstruct_from_pyramid`."""
    if x.dim() != 4:
        raise LcwbenchError(f"the Laplacian pyramid needs N x C x H x W images, got shape {tuple(x.shape)}")
    if int(levels) < 1:
        raise LcwbenchError(f"Laplacian pyramid levels must be >= 1, got {levels}")
    kernel = _binomial_kernel(x.shape[1], x.dtype, x.device)
    bands: list[torch.Tensor] = []
    cur = x
    for _ in range(int(levels) - 1):
        down = _reduce_level(cur, kernel)
        bands.append(cur - _expand_level(down, kernel, tuple(cur.shape[-2:])))
        cur = down
    bands.append(cur)
    return bands


def reconstruct_from_pyramid(bands: Sequence[torch.Tensor]) -> torch.Tensor:
    """Invert :func:`laplacian_pyramid`."""
    cur = bands[-1]
    kernel = _binomial_kernel(cur.shape[1], cur.dtype, cur.device)
    for band in reversed(bands[:-1]):
        cur = band + _expand_level(cur, kernel, tuple(band.shape[-2:]))
    return cur


def lap1_loss(x_hat: torch.Tensor, x: torch.Tensor, levels: int = 4, reduction: str = "mean") -> torch.Tensor:
    """GLO's Lap1 loss per image, ``sum_j 2^(-2j) * sum |L^j(x_hat) - L^j(x)|``; batch mean unless
    ``reduction="none"``. The pyramid is linear, so it is taken once of the difference."""
    _check_pair(x_hat, x, "lap1")
    bands = laplacian_pyramid(x_hat - x, levels)
    per_image = sum(4.0 ** (-j) * band.abs().flatten(1).sum(dim=1) for j, band in enumerate(bands))
    return _reduce(per_image, reduction)


# ---------------------------------------------------------------------------------------------------
# VGG-16 weights

VGG_FILENAME = "vgg16-397923af.pth"
VGG_URL = f"https://download.pytorch.org/models/{VGG_FILENAME}"  # torchvision's VGG16_Weights.IMAGENET1K_V1
ENV_VGG = "LCWBENCH_VGG_WEIGHTS"
STANDIN_KEY = "lcwbench_standin_seed"
# torchvision's vgg16 "features": conv widths, "M" = 2x2 max-pool
_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_VGG_LAYERS = ("relu1_2", "relu2_2", "relu3_3")


def _vgg_layout() -> tuple[list[tuple[str, int, int, int]], dict[str, int]]:
    """The ops of torchvision's ``vgg16().features`` as (kind, index, c_in, c_out), and the index of each
    named ReLU (``relu{block}_{conv}``)."""
    ops: list[tuple[str, int, int, int]] = []
    names: dict[str, int] = {}
    idx, c_in, block, conv = 0, 3, 1, 0
    for item in _VGG16_CFG:
        if item == "M":
            ops.append(("pool", idx, 0, 0))
            idx += 1
            block, conv = block + 1, 0
            continue
        conv += 1
        ops.append(("conv", idx, c_in, int(item)))
        ops.append(("relu", idx + 1, 0, 0))
        names[f"relu{block}_{conv}"] = idx + 1
        c_in = int(item)
        idx += 2
    return ops, names


_VGG_OPS, VGG_LAYER_INDEX = _vgg_layout()


def hub_vgg_path() -> Path:
    """Where torchvision caches its VGG-16 weights: ``<torch hub dir>/checkpoints/vgg16-397923af.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG_FILENAME


def resolve_vgg_weights(weights: str | os.PathLike | None = None) -> Path:
    """Find the VGG-16 weights file: ``weights`` (configured), else ``$LCWBENCH_VGG_WEIGHTS``, else
    torchvision's cache, downloading into it where the network allows. A named file that does not
    exist and a failed download are one-line LcwbenchErrors."""
    return resolve_weights_file(
        "VGG-16 weights",
        weights,
        "the configured vgg_weights",
        ENV_VGG,
        hub_vgg_path(),
        VGG_URL,
        f"the VGG-16 weights for the perceptual loss are not available offline (download of {VGG_URL} "
        "into {dst} failed: {reason}); set the method parameter vgg_weights or the environment variable "
        f"{ENV_VGG} to a copy of {VGG_FILENAME} (torchvision's ImageNet VGG-16), put it at {{dst}}, "
        "or use rec_loss 'l2' or 'lap1'",
    )


def _deepest(layers: Sequence[str]) -> int:
    if not layers:
        raise LcwbenchError("the perceptual loss needs at least one VGG-16 layer")
    bad = [name for name in layers if name not in VGG_LAYER_INDEX]
    if bad:
        raise LcwbenchError(f"unknown VGG-16 layer {bad[0]!r}; valid: {', '.join(VGG_LAYER_INDEX)}")
    return max(VGG_LAYER_INDEX[name] for name in layers)


def make_standin_vgg_weights(path: str | os.PathLike, seed: int = 0, upto: str = "relu5_3") -> Path:
    """Write a stand-in VGG-16 weights file: the ``features.*`` convolutions up to layer ``upto`` with a
    seeded random init (Kaiming-normal, fan-out, ReLU gain, as torchvision initialises VGG; zero biases),
    saved as a ``state_dict`` like torchvision's file, plus the marker ``lcwbench_standin_seed``.

    The same seed gives a byte-identical file (same sha256). ``upto`` smaller than ``relu5_3`` keeps
    test files small; a loss needing deeper layers then reports the missing entries.
    """
    last = _deepest([upto])
    gen = torch.Generator().manual_seed(int(seed))
    state: dict[str, torch.Tensor] = {}
    for kind, idx, c_in, c_out in _VGG_OPS:
        if kind != "conv" or idx > last:
            continue
        w = torch.empty(c_out, c_in, 3, 3)
        nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=gen)
        state[f"features.{idx}.weight"] = w
        state[f"features.{idx}.bias"] = torch.zeros(c_out)
    state[STANDIN_KEY] = torch.tensor(int(seed), dtype=torch.int64)
    buffer = io.BytesIO()  # in memory first: the archive's inner name does not depend on a temp file name
    torch.save(state, buffer)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


def _load_vgg_state(path: Path) -> Mapping[str, torch.Tensor]:
    state = torch_load(path, what="VGG-16 weights file")
    if not isinstance(state, Mapping) or not state:
        raise LcwbenchError(f"VGG-16 weights file {path} does not hold a state dict (got {type(state).__name__})")
    return state


class VGG16Features(nn.Module):
    """torchvision's ``vgg16().features`` up to the deepest requested ReLU, written with functional
    convolutions whose weights are non-persistent buffers: they follow ``.to(device)`` but are neither
    parameters (no optimiser touches them) nor in a ``state_dict`` (checkpoints stay small).

    ``forward(x)`` takes images in [0, 1] (1 or 3 channels) and returns the requested layers' outputs.
    """

    def __init__(self, state: Mapping[str, torch.Tensor], layers: Sequence[str], source: Path | None = None):
        super().__init__()
        self.layers = tuple(layers)
        last = _deepest(self.layers)
        self.ops = [(kind, idx) for kind, idx, _, _ in _VGG_OPS if idx <= last]
        for kind, idx, c_in, c_out in _VGG_OPS:
            if kind != "conv" or idx > last:
                continue
            for part, shape in (("weight", (c_out, c_in, 3, 3)), ("bias", (c_out,))):
                key = f"features.{idx}.{part}"
                value = state.get(key)
                if not torch.is_tensor(value):
                    raise LcwbenchError(
                        f"VGG-16 weights file {source} lacks {key} (layers {', '.join(self.layers)} need "
                        f"features.0 to features.{last}); is it torchvision's {VGG_FILENAME}?"
                    )
                if tuple(value.shape) != shape:
                    raise LcwbenchError(
                        f"VGG-16 weights file {source}: {key} has shape {tuple(value.shape)}, expected {shape}"
                    )
                self.register_buffer(f"{part}{idx}", value.detach().to(torch.float32).clone(), persistent=False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.wanted = {VGG_LAYER_INDEX[name]: name for name in self.layers}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise LcwbenchError(f"the perceptual loss needs N x C x H x W images, C 1 or 3; got {tuple(x.shape)}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        h = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        out: dict[str, torch.Tensor] = {}
        for kind, idx in self.ops:
            if kind == "conv":
                h = F.conv2d(
                    h, getattr(self, f"weight{idx}").to(h.dtype), getattr(self, f"bias{idx}").to(h.dtype), padding=1
                )
            elif kind == "relu":
                h = F.relu(h)
                if idx in self.wanted:
                    out[self.wanted[idx]] = h
            else:
                h = F.max_pool2d(h, 2)
        return out


# ---------------------------------------------------------------------------------------------------
# loss objects


class RecLoss(nn.Module):
    """A named reconstruction loss: ``loss(x_hat, x, reduction="mean")``; ``protocol`` describes it."""

    name: str = ""

    @property
    def protocol(self) -> dict[str, Any]:
        return {"loss": self.name}


class L2Loss(RecLoss):
    name = "l2"

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        return l2_loss(x_hat, x, reduction)


class Lap1Loss(RecLoss):
    name = "lap1"

    def __init__(self, levels: int = 4):
        super().__init__()
        if int(levels) < 1:
            raise LcwbenchError(f"lap1 levels must be >= 1, got {levels}")
        self.levels = int(levels)

    @property
    def protocol(self) -> dict[str, Any]:
        return {
            "loss": self.name,
            "levels": self.levels,
            "kernel": "binomial 5x5 [1,4,6,4,1]/16",
            "level_weights": "2^(-2j)",
        }

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        return lap1_loss(x_hat, x, self.levels, reduction)


class PerceptualLoss(RecLoss):
    """VGG-16 feature distance plus ``l2_weight`` x the per-entry mean squared error (see the module doc).

    ``weights``: a VGG-16 weights file, resolved by :func:`resolve_vgg_weights` (a stand-in file from
    :func:`make_standin_vgg_weights` is recognised by its marker). ``protocol`` records ``is_standin``,
    the weights path and sha256, the layers and ``l2_weight``.
    """

    name = "perceptual"

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        layers: Sequence[str] = DEFAULT_VGG_LAYERS,
        l2_weight: float = 1.0,
    ):
        super().__init__()
        if not (math.isfinite(float(l2_weight)) and float(l2_weight) >= 0):
            raise LcwbenchError(f"perceptual loss l2_weight must be finite and >= 0, got {l2_weight}")
        _deepest(layers)  # validate the names before touching any file
        path = resolve_vgg_weights(weights).resolve()
        state = _load_vgg_state(path)
        self.vgg = VGG16Features(state, layers, source=path)
        self.l2_weight = float(l2_weight)
        self.is_standin = STANDIN_KEY in state
        self.weights_path = path
        self.weights_sha256 = sha256_file(path)

    @property
    def protocol(self) -> dict[str, Any]:
        return {
            "loss": self.name,
            "network": "VGG-16 (torchvision layout), ImageNet-normalised input, grey repeated to RGB, no resize",
            "is_standin": self.is_standin,
            "weights_path": str(self.weights_path),
            "weights_sha256": self.weights_sha256,
            "layers": list(self.vgg.layers),
            "l2_weight": self.l2_weight,
        }

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        _check_pair(x_hat, x, "perceptual")
        # one pass over both batches
        feats = self.vgg(torch.cat([x_hat, x], dim=0))
        n = x.shape[0]
        per_image = self.l2_weight * (x_hat - x).pow(2).flatten(1).mean(dim=1)
        for f in feats.values():
            per_image = per_image + (f[:n] - f[n:]).pow(2).flatten(1).mean(dim=1)
        return _reduce(per_image, reduction)


def make_rec_loss(
    name: str,
    *,
    lap_levels: int = 4,
    vgg_weights: str | os.PathLike | None = None,
    vgg_layers: Sequence[str] = DEFAULT_VGG_LAYERS,
    l2_weight: float = 1.0,
) -> RecLoss:
    """The reconstruction loss called ``name`` (one of ``l2``, ``lap1``, ``perceptual``)."""
    if name == "l2":
        return L2Loss()
    if name == "lap1":
        return Lap1Loss(lap_levels)
    if name == "perceptual":
        return PerceptualLoss(vgg_weights, vgg_layers, l2_weight)
    raise LcwbenchError(f"unknown reconstruction loss {name!r}; valid: {', '.join(LOSS_NAMES)}")

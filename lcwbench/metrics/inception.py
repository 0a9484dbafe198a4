"""Inception-v3 features for FID, KID, PRD and IS, through torch-fidelity's TF-compatible network.

The network is torch-fidelity's ``FeatureExtractorInceptionV3`` (registered there as
``"inception-v3-compat"``): the 2015-12-05 TensorFlow graph used by the original FID code, ported to
PyTorch, with TensorFlow's bilinear resize to 299x299. Two outputs are kept:

* ``pool3``: the 2048-d average-pool features (torch-fidelity's ``"2048"``), used by FID, KID and PRD;
* ``logits``: the 1008-d ``"logits_unbiased"`` (pool3 times the fc weight, no bias), which is what
  torch-fidelity's Inception Score uses by default.

Weights and safety
------------------
torch-fidelity would read its weights file with ``torch.load(weights_only=False)``, i.e. with the full
unpickler. Here the file is always read by :func:`lcwbench.io.torch_load` (``weights_only=True``)
first; the resulting dict of tensors is then handed to the network's constructor in place of its own
download/load step, so the file never reaches an unsafe unpickler.

Stand-in weights
----------------
Where the real weights cannot be had (offline tests, CI), :func:`make_standin_weights` writes the
same architecture with a seeded random initialisation, in the very same file format; it is loaded
through exactly the same code path and the protocol records that it is a stand-in. Numbers computed
with it are *not* FID/IS values comparable to anything published.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch

import lcwbench._tv_compat  # noqa: F401  (before anything that imports torchvision / torch_fidelity)
from lcwbench.errors import LcwbenchError
from lcwbench.io import atomic_path, existing_file, resolve_weights_file, sha256_file, torch_load

EXTRACTOR_NAME = "inception-v3-compat"
STANDIN_NAME = "standin-inception-v3-compat(random init)"
WEIGHTS_FILENAME = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_FILENAME}"
ENV_WEIGHTS = "LCWBENCH_INCEPTION_WEIGHTS"
# our name -> torch-fidelity's feature name
FEATURE_LAYERS = {"pool3": "2048", "logits": "logits_unbiased"}
FEATURE_DIMS = {"pool3": 2048, "logits": 1008}
INPUT_DESCRIPTION = (
    "uint8 RGB, grayscale repeated to 3 channels, resized to 299 by torch-fidelity's TF-compatible bilinear"
)


def _torch_fidelity_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch-fidelity")
    except PackageNotFoundError:  # pragma: no cover - installed from source
        import torch_fidelity

        return getattr(torch_fidelity, "__version__", "unknown")


# --------------------------------------------------------------------------------------------------
# weights


def hub_weights_path() -> Path:
    """Where torch-fidelity itself caches its weights: ``<torch hub dir>/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILENAME


def resolve_weights(weights: str | os.PathLike | None) -> Path | None:
    """Find the Inception weights file; return its path.

    Order: ``weights`` (the config's ``fid.weights``), else the environment variable
    ``LCWBENCH_INCEPTION_WEIGHTS``, else torch-fidelity's own copy in the torch hub cache
    (``torch.hub.get_dir()/checkpoints/weights-inception-2015-12-05-6726825d.pth``), downloading it
    there with torch.hub's downloader when missing. A named file that does not exist, and a failed
    download, are one-line :class:`LcwbenchError` s. (The return type admits ``None`` for callers that
    treat "no weights" specially; this function itself always returns a path or raises.)
    """
    return resolve_weights_file(
        "Inception weights",
        weights,
        "fid.weights",
        ENV_WEIGHTS,
        hub_weights_path(),
        WEIGHTS_URL,
        f"the Inception FID weights are not available offline (download of {WEIGHTS_URL} into {{dst}} "
        f"failed: {{reason}}); set fid.weights in the config or the environment variable {ENV_WEIGHTS} "
        f"to a copy of {WEIGHTS_FILENAME} (torch-fidelity's file, {WEIGHTS_URL}), "
        "or run once where the network is reachable",
    )


def _load_state_dict(path: Path) -> Mapping[str, torch.Tensor]:
    """Read a weights file with the safe loader and check it is a flat dict of tensors.

    The mapping is returned as loaded (an ``OrderedDict`` keeps its ``_metadata``, which
    ``load_state_dict`` uses for version-dependent fixes such as batch-norm's ``num_batches_tracked``).
    """
    state = torch_load(path, what="Inception weights file")
    if not isinstance(state, Mapping) or not state:
        raise LcwbenchError(
            f"Inception weights file {path} does not hold a state dict (got {type(state).__name__})"
        )
    bad = [k for k, v in state.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise LcwbenchError(
            f"Inception weights file {path} is not a dict of tensors (entry {bad[0]!r} is not a tensor)"
        )
    return state


@contextlib.contextmanager
def _without_own_loading(state_dict: Mapping[str, torch.Tensor] | None) -> Iterator[type]:
    """Patch torch-fidelity so its Inception constructor neither downloads nor unpickles anything.

    With a ``state_dict`` the constructor's own ``load_state_dict`` (strict) receives it in place of
    the downloaded one; with ``None`` the load is skipped and the layers keep their initialisation.
    """
    from torch_fidelity import feature_extractor_inceptionv3 as tf_inception

    cls = tf_inception.FeatureExtractorInceptionV3

    def _provide(*_args: Any, **_kwargs: Any) -> Mapping[str, torch.Tensor] | None:
        return state_dict

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(tf_inception, "load_state_dict_from_url", _provide))
        if state_dict is None:
            stack.enter_context(mock.patch.object(cls, "load_state_dict", lambda self, *a, **k: None))
        yield cls


def _build_network(
    state_dict: Mapping[str, torch.Tensor] | None, source: Path | None = None
) -> torch.nn.Module:
    """Construct torch-fidelity's Inception-v3; load ``state_dict`` strictly when given.

    The global torch RNG is left untouched (the layers' default init draws from a forked RNG).
    """
    with torch.random.fork_rng(devices=[]), _without_own_loading(state_dict) as cls:
        try:
            net = cls(EXTRACTOR_NAME, list(FEATURE_LAYERS.values()), feature_extractor_weights_path=None)
        except RuntimeError as exc:  # missing/unexpected keys or shape mismatches from load_state_dict
            detail = " ".join(str(exc).split())[:300]
            raise LcwbenchError(
                f"Inception weights file {source} does not match torch-fidelity's Inception-v3 "
                f"({EXTRACTOR_NAME}): {detail}"
            ) from exc
    return net


def make_standin_weights(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a stand-in weights file: torch-fidelity's Inception-v3 with a seeded random init.

    Same architecture and file format (a ``state_dict`` saved with ``torch.save``) as the real
    ``weights-inception-2015-12-05-6726825d.pth``. PyTorch's default conv init shrinks activations
    layer by layer (pool3 would end up around 1e-8, useless for FID), so every convolution is
    re-initialised with Kaiming-normal (fan-in, ReLU gain) and the fc layer with N(0, 1/fan_in), all
    from a generator seeded with ``seed``; batch-norm layers keep the identity (weight 1, bias 0,
    running mean 0, running variance 1). The file is byte-identical for a given ``seed`` (so is its
    sha256); features are O(1) and differ between inputs, but mean nothing semantically.
    """
    path = Path(path)
    net = _build_network(None)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(
                    module.weight, mode="fan_in", nonlinearity="relu", generator=gen
                )
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, torch.nn.Linear):
                torch.nn.init.normal_(module.weight, 0.0, 1.0 / math.sqrt(module.in_features), generator=gen)
                module.bias.zero_()
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.reset_parameters()
    state = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in net.state_dict().items()}
    # torch.save into memory first: the zip archive is then named "archive" rather than after the
    # (random) temporary file, so the same seed gives a byte-identical file and the same sha256.
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


# --------------------------------------------------------------------------------------------------
# extractor


def _to_uint8(images: Any) -> torch.Tensor:
    """Validate an image batch (N x C x H x W, C in {1, 3}) and turn it into uint8 RGB."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not torch.is_tensor(images):
        raise LcwbenchError(f"images must be a torch tensor or numpy array, got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise LcwbenchError(
            f"images must be N x C x H x W with C in {{1, 3}}, got shape {tuple(images.shape)}"
        )
    if images.dtype == torch.uint8:
        x = images
    elif images.is_floating_point():
        if torch.isnan(images).any():
            raise LcwbenchError("images contain NaN; cannot compute Inception features")
        x = (images.detach().clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)
    else:
        raise LcwbenchError(f"images must be float in [0, 1] (or uint8), got dtype {images.dtype}")
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.contiguous()


class FeatureExtractor:
    """Inception-v3 (torch-fidelity, TF-compatible) pool3 and logits features of image batches.

    ``extractor="inception"``: the real network; ``weights`` is the config's ``fid.weights`` and is
    resolved by :func:`resolve_weights` (env ``LCWBENCH_INCEPTION_WEIGHTS``, then the torch hub
    cache / download). ``extractor="standin"``: ``weights`` must name a file written by
    :func:`make_standin_weights`; it goes through the same (safe) loading path.

    Conversion to uint8 ROUNDS: ``(x.clamp(0, 1) * 255).round()`` (round half to even). The LCW
    authors' code truncated instead (``(x * 255).astype(uint8)``), which darkens every image by half a
    grey level on average; the choice is recorded as ``protocol["rounding"] = "round"``.

    ``protocol`` holds: ``extractor``, ``is_standin``, ``weights_path``, ``weights_sha256``,
    ``implementation``, ``rounding``, ``input``. The same values are attributes of the object.
    """

    def __init__(
        self,
        extractor: str = "inception",
        weights: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        batch_size: int = 64,
        progress: bool | None = None,
    ):
        if extractor not in ("inception", "standin"):
            raise LcwbenchError(f"unknown feature extractor {extractor!r}; expected 'inception' or 'standin'")
        if int(batch_size) < 1:
            raise LcwbenchError(f"feature batch size must be >= 1, got {batch_size}")
        try:
            self.device = torch.device(device)
        except RuntimeError as exc:
            raise LcwbenchError(f"invalid device {device!r}: {exc}") from exc
        self.batch_size = int(batch_size)
        self.progress = progress
        self.is_standin = extractor == "standin"
        if self.is_standin:
            if weights is None or not str(weights).strip():
                raise LcwbenchError(
                    "the stand-in feature extractor needs a weights file made by make_standin_weights"
                )
            path = existing_file(weights, "Inception weights", "stand-in weights")
        else:
            path = resolve_weights(weights)
        self.weights_path = Path(path).resolve()
        self.weights_sha256 = sha256_file(self.weights_path)
        state = _load_state_dict(self.weights_path)
        self.net = _build_network(state, source=self.weights_path).to(self.device)
        self.net.eval()
        self.implementation = f"torch-fidelity {_torch_fidelity_version()}"
        self.rounding = "round"
        self.protocol: dict[str, Any] = {
            "extractor": STANDIN_NAME if self.is_standin else EXTRACTOR_NAME,
            "is_standin": self.is_standin,
            "weights_path": str(self.weights_path),
            "weights_sha256": self.weights_sha256,
            "implementation": self.implementation,
            "rounding": self.rounding,
            "input": INPUT_DESCRIPTION,
        }

    def _forward(self, images: Any) -> dict[str, np.ndarray]:
        x = _to_uint8(images).to(self.device)
        with torch.no_grad():
            out = self.net(x)
        return {
            name: out[i].detach().to("cpu", torch.float64).numpy() for i, name in enumerate(FEATURE_LAYERS)
        }

    def _chunks(self, batches: Iterable[Any]) -> Iterator[Any]:
        for batch in batches:
            if isinstance(batch, (tuple, list)):  # (images, labels) from a DataLoader
                if not batch:
                    continue
                batch = batch[0]
            n = len(batch)
            for start in range(0, n, self.batch_size):
                yield batch[start : start + self.batch_size]

    def features_from_batches(
        self, batches: Iterable[Any], total: int | None = None
    ) -> dict[str, np.ndarray]:
        """Features of a stream of image batches (tensors, arrays, or ``(images, ...)`` tuples).

        Each batch is cut into pieces of at most ``batch_size`` images; only the features are kept, so
        a generator can produce images lazily. ``total`` (number of images, optional) sizes the
        progress bar. Returns ``{"pool3": N x 2048, "logits": N x 1008}`` as float64 arrays.
        """
        from tqdm import tqdm

        show = sys.stderr.isatty() if self.progress is None else bool(self.progress)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in FEATURE_LAYERS}
        with tqdm(total=total, unit="img", desc="Inception features", disable=not show, leave=False) as bar:
            for chunk in self._chunks(batches):
                if len(chunk) == 0:
                    continue
                feats = self._forward(chunk)
                for name, value in feats.items():
                    parts[name].append(value)
                bar.update(len(chunk))
        return {
            name: (np.concatenate(vals, axis=0) if vals else np.zeros((0, FEATURE_DIMS[name])))
            for name, vals in parts.items()
        }

    def features(self, images: Any) -> dict[str, np.ndarray]:
        """Features of an N x C x H x W batch (float in [0, 1], or uint8; C = 1 or 3).

        Returns ``{"pool3": N x 2048, "logits": N x 1008}`` float64 arrays (``logits`` are
        torch-fidelity's ``logits_unbiased``, the Inception Score input).
        """
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images)
        if not torch.is_tensor(images):
            raise LcwbenchError(
                f"images must be a torch tensor or numpy array, got {type(images).__name__}; "
                "use features_from_batches for an iterable of batches"
            )
        _to_uint8(images[:1])  # validate shape/dtype before any work
        return self.features_from_batches([images], total=len(images))

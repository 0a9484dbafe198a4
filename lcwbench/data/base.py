"""The ``Dataset`` container and helpers shared by the per-data-set readers."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from lcwbench.errors import LcwbenchError


@dataclass
class Dataset:
    """A whole split held in memory.

    ``x`` is uint8 ``N x C x H x W`` for image data sets and float32 ``N x D`` for vector data sets;
    ``y`` holds int64 class labels where the data set has them, else ``None``. ``meta`` records what
    was read and how (source paths, parameters, checksum status) so a run can log it.
    """

    name: str
    split: str
    x: torch.Tensor
    y: torch.Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_image(self) -> bool:
        return self.x.dim() == 4

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to_float(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 images become float32 in [0, 1] (``x / 255``); anything else is cast to float32 as is.

        The result stays on the batch's device.
        """
        if batch.dtype == torch.uint8:
            return batch.to(torch.float32).div_(255.0)
        return batch.to(torch.float32)


# --------------------------------------------------------------------------------------------- params


def _type_name(value: Any) -> str:
    return type(value).__name__


def int_param(dataset: str, key: str, value: Any, *, minimum: int = 1) -> int:
    """Accept a Python/NumPy integer (or an integral float from YAML) not below ``minimum``."""
    if isinstance(value, bool):
        raise LcwbenchError(f"{dataset}: parameter {key} must be an integer, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        ivalue = int(value)
    except (TypeError, ValueError):
        raise LcwbenchError(
            f"{dataset}: parameter {key} must be an integer, got {value!r} ({_type_name(value)})"
        ) from None
    if ivalue != value:
        raise LcwbenchError(f"{dataset}: parameter {key} must be an integer, got {value!r}")
    if ivalue < minimum:
        raise LcwbenchError(f"{dataset}: parameter {key} must be >= {minimum}, got {ivalue}")
    return ivalue


def float_param(dataset: str, key: str, value: Any, *, minimum: float | None = None) -> float:
    if isinstance(value, bool):
        raise LcwbenchError(f"{dataset}: parameter {key} must be a number, got {value!r}")
    try:
        fvalue = float(value)
    except (TypeError, ValueError):
        raise LcwbenchError(
            f"{dataset}: parameter {key} must be a number, got {value!r} ({_type_name(value)})"
        ) from None
    if fvalue != fvalue or fvalue in (float("inf"), float("-inf")):
        raise LcwbenchError(f"{dataset}: parameter {key} must be finite, got {value!r}")
    if minimum is not None and fvalue < minimum:
        raise LcwbenchError(f"{dataset}: parameter {key} must be >= {minimum}, got {fvalue}")
    return fvalue


def bool_param(dataset: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise LcwbenchError(f"{dataset}: parameter {key} must be true or false, got {value!r}")
    return value


def check_params(dataset: str, params: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(k for k in params if k not in allowed)
    if unknown:
        valid = ", ".join(allowed) if allowed else "(none)"
        raise LcwbenchError(
            f"unknown parameter(s) {', '.join(unknown)} for data set {dataset}; valid parameters: {valid}"
        )


def check_split(dataset: str, split: str, valid: tuple[str, ...]) -> str:
    if split not in valid:
        raise LcwbenchError(
            f"unknown split {split!r} for data set {dataset}; valid splits: {', '.join(valid)}"
        )
    return split


# ---------------------------------------------------------------------------------------------- files

PROVIDE_HINT = "set data_root (config) or the LCWBENCH_DATA environment variable to a folder containing {rel}"


def missing_file_error(dataset: str, path: Path, rel: str, *, download: bool) -> LcwbenchError:
    """One line: which file, where it was looked for, how to provide it."""
    how = PROVIDE_HINT.format(rel=rel)
    if download:
        how += ", or pass download: true where the network allows"
    return LcwbenchError(f"{dataset}: file {path.name} not found in {path.parent}; {how}")


def corrupt_file_error(dataset: str, path: Path, what: str, rel: str, *, download: bool) -> LcwbenchError:
    how = f"replace it with a good copy ({rel} under the data root)"
    if download:
        how += ", or pass download: true where the network allows to fetch it again"
    return LcwbenchError(f"{dataset}: file {path.name} in {path.parent} {what}; {how}")


def file_key(path: Path) -> tuple[str, int, int, int]:
    """Identity of a file's current content for in-process caches: (path, size, mtime_ns, inode)."""
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def md5_bytes(data: bytes | bytearray | memoryview) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


_MANIFEST_CACHE: dict[tuple, dict[str, str]] = {}
_SHA_CACHE: dict[tuple, str] = {}
MANIFEST_MAX_BYTES = 1 << 30  # files larger than this are not hashed against SHA256SUMS


def manifest_status(root: Path, path: Path) -> str:
    """Check ``path`` against a ``SHA256SUMS`` file at the data root, when there is one listing it.

    Returns ``"sha256 ok"``, ``"no manifest"`` or ``"not in manifest"`` (or ``"too large to hash"``);
    a mismatch raises :class:`LcwbenchError`. Results are cached per file identity in this process.
    """
    manifest = root / "SHA256SUMS"
    if not manifest.is_file():
        return "no manifest"
    try:
        mkey = file_key(manifest)
    except OSError:
        return "no manifest"
    table = _MANIFEST_CACHE.get(mkey)
    if table is None:
        table = {}
        for line in manifest.read_text(errors="replace").splitlines():
            parts = line.strip().split(maxsplit=1)
            if len(parts) == 2 and len(parts[0]) == 64:
                rel = parts[1].lstrip("*").strip()
                table[os.path.normpath(rel)] = parts[0].lower()
        _MANIFEST_CACHE[mkey] = table
    try:
        rel = os.path.normpath(os.path.relpath(path, root))
    except ValueError:
        return "not in manifest"
    expected = table.get(rel)
    if expected is None:
        return "not in manifest"
    key = file_key(path)
    if key[1] > MANIFEST_MAX_BYTES:
        return "too large to hash"
    digest = _SHA_CACHE.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(1 << 22):
                h.update(block)
        digest = h.hexdigest()
        _SHA_CACHE[key] = digest
    if digest != expected:
        raise LcwbenchError(
            f"file {path.name} in {path.parent} does not match {manifest} (sha256 {digest[:12]}…, "
            f"expected {expected[:12]}…); the copy is corrupt: replace it with a good copy"
        )
    return "sha256 ok"


# --------------------------------------------------------------------------------------------- tensors


def take_first(x: torch.Tensor, y: torch.Tensor | None, max_items: int | None):
    """The first ``max_items`` samples (a copy, so the full buffer can be freed)."""
    if max_items is None or max_items >= x.shape[0]:
        return x, y
    return x[:max_items].clone(), (None if y is None else y[:max_items].clone())


def resize_uint8(x: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    """Resize uint8 ``N x C x H x W`` images to ``size x size``: bilinear with antialiasing, rounded back.

    Done in chunks on the CPU so a full training split does not need a float copy all at once.
    """
    if x.shape[-2:] == (size, size):
        return x
    out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, x.shape[0], chunk):
        block = x[start : start + chunk].to(torch.float32)
        block = F.interpolate(block, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out[start : start + chunk] = block.round_().clamp_(0, 255).to(torch.uint8)
    return out


def optional_max_items(dataset: str, max_items: Any) -> int | None:
    if max_items is None:
        return None
    return int_param(dataset, "max_items", max_items, minimum=1)


def optional_image_size(dataset: str, image_size: Any) -> int | None:
    if image_size is None:
        return None
    return int_param(dataset, "image_size", image_size, minimum=1)

"""CIFAR-10 from the official python batches (``cifar-10-batches-py/``).

The batches are pickles: they are read only from the configured data root, which the user controls
(never from a download location or a path named in a result file). Each batch is checked against the
published MD5 of the full release; a copy that differs (a subset, say) is accepted when a
``SHA256SUMS`` file at the data root vouches for it, or else recorded as unverified after its structure
(uint8 ``N x 3072`` pixels, labels in 0..9) has been checked.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from lcwbench.data.base import (
    Dataset,
    check_params,
    check_split,
    corrupt_file_error,
    file_key,
    manifest_status,
    missing_file_error,
    optional_image_size,
    optional_max_items,
    resize_uint8,
    take_first,
)
from lcwbench.errors import LcwbenchError

SPLITS = ("train", "test")
PARAMS: tuple[str, ...] = ()
FOLDER = "cifar-10-batches-py"
BATCHES = {
    "train": ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"),
    "test": ("test_batch",),
}
# md5 of each batch file in the full official release
OFFICIAL_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}

_STATUS: dict[tuple, str] = {}


def _rel(filename: str) -> str:
    return f"{FOLDER}/{filename}"


def _md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def _checksum_status(root: Path, path: Path) -> str:
    key = file_key(path)
    status = _STATUS.get(key)
    if status is None:
        if _md5_file(path) == OFFICIAL_MD5[path.name]:
            status = "md5 ok (full release)"
        else:
            try:
                manifest = manifest_status(root, path)
            except LcwbenchError as exc:
                raise LcwbenchError(f"cifar10: {exc}") from None
            status = (
                "sha256 ok (SHA256SUMS at the data root; not the full release)"
                if manifest == "sha256 ok"
                else "unverified (differs from the full release; structure checked)"
            )
        _STATUS[key] = status
    return status


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rel = _rel(path.name)
    if not path.is_file():
        raise missing_file_error("cifar10", path, rel, download=True)
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as exc:
        raise corrupt_file_error(
            "cifar10", path, f"is not a readable CIFAR-10 batch ({type(exc).__name__})", rel, download=False
        ) from None
    # the official batches have bytes keys (Python 2 pickles); a copy re-pickled by Python 3 has str keys
    if isinstance(obj, dict):
        obj = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}
    if not isinstance(obj, dict) or "data" not in obj or "labels" not in obj:
        raise corrupt_file_error("cifar10", path, "lacks the data/labels entries", rel, download=False)
    data, labels = obj["data"], np.asarray(obj["labels"])
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3072
        or labels.shape != (data.shape[0],)
        or (labels.size and (labels.min() < 0 or labels.max() > 9))
    ):
        raise corrupt_file_error(
            "cifar10", path, "does not hold uint8 N x 3072 pixels with labels 0..9", rel, download=False
        )
    return data, labels.astype(np.int64)


def load(
    split: str, *, root: Path, image_size=None, max_items=None, download: bool = False, **params
) -> Dataset:
    check_params("cifar10", params, PARAMS)
    check_split("cifar10", split, SPLITS)
    image_size = optional_image_size("cifar10", image_size)
    max_items = optional_max_items("cifar10", max_items)
    directory = root / FOLDER
    if download:
        ensure_downloaded(root)

    xs, ys, status, sources = [], [], {}, []
    remaining = max_items
    for filename in BATCHES[split]:
        path = directory / filename
        data, labels = _read_batch(path)
        status[filename] = _checksum_status(root, path)
        sources.append(str(path))
        if remaining is not None:
            data, labels = data[:remaining], labels[:remaining]
            remaining -= data.shape[0]
        xs.append(data)
        ys.append(labels)
        if remaining is not None and remaining <= 0:
            break
    x = torch.from_numpy(np.concatenate(xs).reshape(-1, 3, 32, 32))
    y = torch.from_numpy(np.concatenate(ys))
    x, y = take_first(x, y, max_items)
    if image_size is not None:
        x = resize_uint8(x, image_size)
    meta = {
        "name": "cifar10",
        "split": split,
        "n": int(x.shape[0]),
        "shape": list(x.shape[1:]),
        "source": sources,
        "params": {"image_size": image_size or 32, "max_items": max_items},
        "checksum": status,
    }
    return Dataset(name="cifar10", split=split, x=x, y=y, meta=meta)


# ------------------------------------------------------------------------------------------- download


def _torchvision_download(target: Path) -> None:
    import lcwbench._tv_compat  # noqa: F401

    # isort: split
    from torchvision import datasets

    datasets.CIFAR10(root=str(target), train=True, download=True)


def ensure_downloaded(root: Path) -> None:
    """Fetch the batches that are missing (an existing copy, even a subset, is left alone)."""
    directory = root / FOLDER
    needed = [f for f in OFFICIAL_MD5 if not (directory / f).is_file()]
    if not needed:
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".lcwbench-download-", dir=root))
    except OSError as exc:
        reason = exc.strerror or exc
        raise LcwbenchError(f"cifar10: cannot download into data root {root}: {reason}") from None
    try:
        try:
            _torchvision_download(tmp)
        except Exception as exc:  # network errors come in many types
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise LcwbenchError(
                f"cifar10: download failed ({first}); put {FOLDER}/ into {root} by hand "
                "or set data_root / LCWBENCH_DATA to a folder that has it"
            ) from None
        fetched = tmp / FOLDER
        for filename in needed:
            path = fetched / filename
            if not path.is_file() or _md5_file(path) != OFFICIAL_MD5[filename]:
                raise LcwbenchError(
                    f"cifar10: downloaded {filename} is missing or fails its checksum; nothing was changed "
                    f"in {directory}"
                )
        directory.mkdir(parents=True, exist_ok=True)
        for filename in needed:
            (fetched / filename).replace(directory / filename)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

"""MNIST and Fashion-MNIST from the original idx ``.gz`` files (torchvision's ``<Name>/raw`` layout).

Files are parsed with NumPy; torchvision is used only to fetch missing files when ``download`` is
requested. Every file is verified against the published MD5 of the ``.gz`` file or, when the file was
re-compressed, against the MD5 of its uncompressed content (both are tabulated below). Verification
results are remembered per file identity (path, size, mtime, inode) for the life of the process.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np
import torch

from lcwbench.data.base import (
    Dataset,
    bool_param,
    check_params,
    check_split,
    corrupt_file_error,
    file_key,
    md5_bytes,
    missing_file_error,
    optional_image_size,
    optional_max_items,
    resize_uint8,
    take_first,
)
from lcwbench.errors import LcwbenchError

SPLITS = ("train", "test")
PARAMS = ("verify",)

# split -> (images file, labels file, number of samples)
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
}

# file name -> (md5 of the .gz file as published, md5 of its uncompressed content)
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte.gz": (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "6bbc9ace898e44ae57da46a324031adb",
        ),
        "train-labels-idx1-ubyte.gz": (
            "d53e105ee54ea40749a09fcbcd1e9432",
            "a25bea736e30d166cdddb491f175f624",
        ),
        "t10k-images-idx3-ubyte.gz": (
            "9fb629c4189551a2d022fa330f9573f3",
            "2646ac647ad5339dbf082846283269ea",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "ec29112dd5afa0611ce80d1b7f02629c",
            "27ae3e4e09519cfbb04c329615203637",
        ),
    },
    "fmnist": {
        "train-images-idx3-ubyte.gz": (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        ),
        "train-labels-idx1-ubyte.gz": (
            "25c81989df183df01b3e8a0aad5dffbe",
            "9018921c3c673c538a1fc5bad174d6f9",
        ),
        "t10k-images-idx3-ubyte.gz": (
            "bef4ecab320f06d8554ea6380940ec79",
            "8181f5470baa50b63fa0f6fddb340f0a",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "bb300cfdad3c16e7a12a480ee83cd310",
            "15d484375f8d13e6eb1aabb0c3f46965",
        ),
    },
}

FOLDER = {"mnist": "MNIST", "fmnist": "FashionMNIST"}

# (path, size, mtime_ns, inode) -> how it was verified ("md5 of .gz" / "md5 of content")
_VERIFIED: dict[tuple, str] = {}


def raw_dir(name: str, root: Path) -> Path:
    return root / FOLDER[name] / "raw"


def _rel(name: str, filename: str) -> str:
    return f"{FOLDER[name]}/raw/{filename}"


def _read_verified(name: str, path: Path, *, verify: bool) -> tuple[bytearray, str]:
    """Decompress one file, checking its MD5 unless already checked in this process."""
    filename = path.name
    rel = _rel(name, filename)
    if not path.is_file():
        raise missing_file_error(name, path, rel, download=True)
    key = file_key(path)
    raw_gz = path.read_bytes()
    try:
        content = bytearray(gzip.decompress(raw_gz))
    except (OSError, EOFError, zlib.error) as exc:
        raise corrupt_file_error(
            name, path, f"is not a readable gzip file ({type(exc).__name__})", rel, download=True
        ) from None
    if not verify:
        return content, "not verified (verify: false)"
    status = _VERIFIED.get(key)
    if status is not None:
        return content, status
    gz_md5, content_md5 = CHECKSUMS[name][filename]
    got = md5_bytes(raw_gz)
    if got == gz_md5:
        status = "md5 of .gz ok"
    else:
        got_content = md5_bytes(content)
        if got_content != content_md5:
            raise corrupt_file_error(
                name,
                path,
                f"failed its checksum (md5 of content {got_content}, expected {content_md5}): "
                "the copy is corrupt",
                rel,
                download=True,
            )
        status = "md5 of content ok"
    _VERIFIED[key] = status
    return content, status


def _parse_idx(name: str, path: Path, content: bytearray, expected_ndim: int) -> np.ndarray:
    bad = corrupt_file_error(name, path, "is not a valid idx file", _rel(name, path.name), download=True)
    if len(content) < 4 or content[0] != 0 or content[1] != 0 or content[2] != 0x08:
        raise bad
    ndim = content[3]
    if ndim != expected_ndim or len(content) < 4 + 4 * ndim:
        raise bad
    dims = tuple(int(d) for d in np.frombuffer(content, dtype=">i4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    if len(content) != offset + int(np.prod(dims)):
        raise bad
    return np.frombuffer(content, dtype=np.uint8, offset=offset).reshape(dims)


def load(
    name: str,
    split: str,
    *,
    root: Path,
    image_size=None,
    max_items=None,
    download: bool = False,
    **params,
) -> Dataset:
    check_params(name, params, PARAMS)
    check_split(name, split, SPLITS)
    verify = bool_param(name, "verify", params.get("verify", True))
    image_size = optional_image_size(name, image_size)
    max_items = optional_max_items(name, max_items)

    directory = raw_dir(name, root)
    images_file, labels_file, n_expected = FILES[split]
    if download:
        ensure_downloaded(name, root)
    images_path, labels_path = directory / images_file, directory / labels_file

    img_bytes, img_status = _read_verified(name, images_path, verify=verify)
    lab_bytes, lab_status = _read_verified(name, labels_path, verify=verify)
    images = _parse_idx(name, images_path, img_bytes, 3)
    labels = _parse_idx(name, labels_path, lab_bytes, 1)
    if images.shape[0] != labels.shape[0] or images.shape[0] != n_expected:
        raise corrupt_file_error(
            name,
            images_path,
            f"holds {images.shape[0]} images and {labels_path.name} {labels.shape[0]} labels "
            f"(expected {n_expected} each)",
            _rel(name, images_file),
            download=True,
        )

    x = torch.from_numpy(images).unsqueeze(1)  # N x 1 x 28 x 28, shares the bytearray
    y = torch.from_numpy(labels).to(torch.int64)
    x, y = take_first(x, y, max_items)
    if image_size is not None:
        x = resize_uint8(x, image_size)
    meta = {
        "name": name,
        "split": split,
        "n": int(x.shape[0]),
        "shape": list(x.shape[1:]),
        "source": [str(images_path), str(labels_path)],
        "params": {"image_size": image_size or 28, "max_items": max_items, "verify": verify},
        "checksum": {images_file: img_status, labels_file: lab_status},
    }
    return Dataset(name=name, split=split, x=x, y=y, meta=meta)


# ------------------------------------------------------------------------------------------- download


def _file_ok(name: str, path: Path) -> bool:
    if not path.is_file():
        return False
    if file_key(path) in _VERIFIED:
        return True
    try:
        _read_verified(name, path, verify=True)
    except LcwbenchError:
        return False
    return True


def _torchvision_download(name: str, target: Path) -> None:
    """Fetch all four files with torchvision into ``target`` (``target/<Folder>/raw``)."""
    import lcwbench._tv_compat  # noqa: F401

    # isort: split
    from torchvision import datasets

    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    cls(root=str(target), train=True, download=True)


def ensure_downloaded(name: str, root: Path) -> None:
    """Download missing or corrupt files; they are moved into place only when all verify.

    The files are fetched into a temporary folder under the data root (same file system, so the final
    moves are atomic renames) which is removed afterwards whatever happens.
    """
    directory = raw_dir(name, root)
    needed = [f for f in CHECKSUMS[name] if not _file_ok(name, directory / f)]
    if not needed:
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".lcwbench-download-", dir=root))
    except OSError as exc:
        raise LcwbenchError(f"{name}: cannot download into data root {root}: {exc.strerror or exc}") from None
    try:
        try:
            _torchvision_download(name, tmp)
        except LcwbenchError:
            raise
        except Exception as exc:  # network errors come in many types
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise LcwbenchError(
                f"{name}: download failed ({first}); copy {FOLDER[name]}/raw/*.gz into {root} by hand "
                "or set data_root / LCWBENCH_DATA to a folder that has them"
            ) from None
        fetched = raw_dir(name, tmp)
        for filename in needed:
            if not _file_ok(name, fetched / filename):
                raise LcwbenchError(
                    f"{name}: downloaded {filename} is missing or fails its checksum; nothing was changed "
                    f"in {directory}"
                )
        directory.mkdir(parents=True, exist_ok=True)
        for filename in needed:
            (fetched / filename).replace(directory / filename)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

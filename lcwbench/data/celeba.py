"""CelebA aligned faces (torchvision layout: ``celeba/img_align_celeba/*.jpg`` and
``celeba/list_eval_partition.txt``).

An image belongs to a split when the partition file lists it (0 = train, 1 = valid, 2 = test); every
listed image must be on disk (a copy whose listing was cut to its images is fine, a listed image
that is missing means the copy is damaged). Each image is converted to RGB, centre-cropped to
``crop x crop`` (default 140) and resized to ``image_size`` (default 64) with bicubic resampling.
Decoded splits are cached under the cache directory (see :mod:`lcwbench.data.cache`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lcwbench.data.base import (
    Dataset,
    check_params,
    check_split,
    corrupt_file_error,
    file_key,
    int_param,
    manifest_status,
    missing_file_error,
    optional_image_size,
    optional_max_items,
)
from lcwbench.data.cache import cache_setting, cached_images
from lcwbench.data.images import RESAMPLE, center_crop_box, decode_all, to_chw
from lcwbench.errors import LcwbenchError

SPLITS = ("train", "valid", "test")
SPLIT_CODE = {"train": "0", "valid": "1", "test": "2"}
PARAMS = ("crop", "cache_dir")
DEFAULT_CROP = 140
DEFAULT_SIZE = 64
RESAMPLING = "bicubic"
PARTITION = "list_eval_partition.txt"
PARTITION_FULL_MD5 = "d32c9cbf5e040fd4025c592c306e6668"  # the full official file

_PARTITION_CACHE: dict[tuple, tuple[str, str, dict[str, list[str]]]] = {}


def _read_partition(path: Path) -> tuple[str, str, dict[str, list[str]]]:
    """(sha256, md5, split -> file names in listed order); CRLF or LF endings both work."""
    key = file_key(path)
    hit = _PARTITION_CACHE.get(key)
    if hit is not None:
        return hit
    data = path.read_bytes()
    splits: dict[str, list[str]] = {"0": [], "1": [], "2": []}
    for lineno, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in splits:
            raise corrupt_file_error(
                "celeba",
                path,
                f"has a malformed line {lineno} ({line.strip()[:40]!r}; expected '<image>.jpg <0|1|2>')",
                f"celeba/{PARTITION}",
                download=False,
            )
        splits[parts[1]].append(parts[0])
    result = (
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        splits,
    )
    _PARTITION_CACHE[key] = result
    return result


def _decoder(crop: int, size: int):
    resample = RESAMPLE[RESAMPLING]

    def decode(path: Path) -> np.ndarray:
        try:
            with Image.open(path) as im:
                img = im.convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise corrupt_file_error(
                "celeba",
                path,
                f"cannot be decoded ({type(exc).__name__})",
                "celeba/img_align_celeba/",
                download=False,
            ) from None
        w, h = img.size
        if crop > w or crop > h:
            raise LcwbenchError(
                f"celeba: crop {crop} is larger than image {path.name} ({w}x{h}); use crop <= {min(w, h)}"
            )
        img = img.crop(center_crop_box(w, h, crop, crop))
        if size != crop:
            img = img.resize((size, size), resample)
        return to_chw(img)

    return decode


def load(
    split: str, *, root: Path, image_size=None, max_items=None, download: bool = False, **params
) -> Dataset:
    check_params("celeba", params, PARAMS)
    check_split("celeba", split, SPLITS)
    if download:
        raise LcwbenchError(
            "celeba: download is not supported (the official copy sits behind Google Drive quotas); "
            f"place celeba/img_align_celeba/ and celeba/{PARTITION} under the data root {root}"
        )
    crop = int_param("celeba", "crop", params.get("crop", DEFAULT_CROP))
    size = optional_image_size("celeba", image_size) or DEFAULT_SIZE
    max_items = optional_max_items("celeba", max_items)
    cache_dir = cache_setting("celeba", params.get("cache_dir"))

    base = root / "celeba"
    partition = base / PARTITION
    image_dir = base / "img_align_celeba"
    if not partition.is_file():
        rel = f"celeba/{PARTITION} and celeba/img_align_celeba/"
        raise missing_file_error("celeba", partition, rel, download=False)
    if not image_dir.is_dir():
        raise LcwbenchError(
            f"celeba: folder img_align_celeba not found in {base}; set data_root (config) or the "
            f"LCWBENCH_DATA environment variable to a folder containing celeba/img_align_celeba/ and "
            f"celeba/{PARTITION}"
        )
    sha, md5, splits = _read_partition(partition)
    names = splits[SPLIT_CODE[split]]
    if not names:
        raise LcwbenchError(
            f"celeba: split {split} has no images in this copy ({partition} lists none with partition "
            f"{SPLIT_CODE[split]}); use another split or a complete CelebA copy"
        )
    if max_items is not None:
        names = names[:max_items]
    paths = [image_dir / n for n in names]

    if md5 == PARTITION_FULL_MD5:
        listing = "md5 ok (full release)"
    else:
        try:
            status = manifest_status(root, partition)
        except LcwbenchError as exc:
            raise LcwbenchError(f"celeba: {exc}") from None
        listing = (
            "sha256 ok (SHA256SUMS at the data root; a subset)"
            if status == "sha256 ok"
            else "unverified (a subset)"
        )

    def build():
        for p in paths:
            if not p.is_file():
                raise LcwbenchError(
                    f"celeba: image {p.name} is listed in {PARTITION} but missing from {image_dir}; the copy "
                    "is incomplete: restore the image or use a listing cut to the images present"
                )
        return decode_all(paths, len(paths), size, _decoder(crop, size))

    key_fields = {
        "dataset": "celeba",
        "split": split,
        "crop": crop,
        "image_size": size,
        "max_items": max_items,
        "resample": RESAMPLING,
        "partition_sha256": sha,
        "image_dir": str(image_dir),
    }
    x, cache_info = cached_images(cache_dir, "celeba", split, key_fields, build)
    meta = {
        "name": "celeba",
        "split": split,
        "n": int(x.shape[0]),
        "shape": list(x.shape[1:]),
        "source": [str(image_dir), str(partition)],
        "params": {"crop": crop, "image_size": size, "max_items": max_items, "resample": RESAMPLING},
        "checksum": {PARTITION: listing, "images": "not hashed"},
        "partition_sha256": sha,
        **cache_info,
    }
    return Dataset(name="celeba", split=split, x=x, y=None, meta=meta)

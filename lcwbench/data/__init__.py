"""Data sets for the benchmark: readers for the offline copies of the public image data sets and
generators for the synthetic vector data sets.

``load_dataset(name, split, ...)`` returns a :class:`Dataset` holding a whole split in memory:
uint8 ``N x C x H x W`` images (``Dataset.to_float`` maps a batch to [0, 1]) or float32 ``N x D``
vectors. The data root is found by :func:`resolve_data_root`; nothing is fetched from the network
unless ``download=True`` is passed (MNIST, Fashion-MNIST and CIFAR-10 only).
"""

from __future__ import annotations

import os
from typing import Any

from lcwbench.data import celeba, cifar, lsun, mnist, synthetic
from lcwbench.data.base import Dataset
from lcwbench.data.root import resolve_cache_dir, resolve_data_root
from lcwbench.errors import LcwbenchError

DATASETS: tuple[str, ...] = ("mnist", "fmnist", "cifar10", "celeba", "lsun_bedroom", "synthetic", "swissroll")

SPLITS: dict[str, tuple[str, ...]] = {
    "mnist": mnist.SPLITS,
    "fmnist": mnist.SPLITS,
    "cifar10": cifar.SPLITS,
    "celeba": celeba.SPLITS,
    "lsun_bedroom": lsun.SPLITS,
    "synthetic": synthetic.SPLITS,
    "swissroll": synthetic.SPLITS,
}

# data-set-specific keyword parameters accepted by load_dataset (beyond data_root, image_size,
# max_items, download)
PARAMS: dict[str, tuple[str, ...]] = {
    "mnist": mnist.PARAMS,
    "fmnist": mnist.PARAMS,
    "cifar10": cifar.PARAMS,
    "celeba": celeba.PARAMS,
    "lsun_bedroom": lsun.PARAMS,
    "synthetic": tuple(synthetic.SYNTHETIC_DEFAULTS),
    "swissroll": tuple(synthetic.SWISSROLL_DEFAULTS),
}


def load_dataset(
    name: str,
    split: str = "train",
    *,
    data_root: str | os.PathLike | None = None,
    image_size: int | None = None,
    max_items: int | None = None,
    download: bool = False,
    **params: Any,
) -> Dataset:
    """Load one split of a data set (see the module docstrings of the readers for each one's details).

    ``image_size`` resizes images (MNIST / Fashion-MNIST / CIFAR-10: bilinear with antialiasing;
    CelebA and LSUN: the size after cropping, default 64). ``max_items`` keeps the first items in the
    data set's fixed order. Unknown names, splits or parameters raise :class:`LcwbenchError`.
    """
    if name not in DATASETS:
        raise LcwbenchError(f"unknown data set {name!r}; valid data sets: {', '.join(DATASETS)}")
    if not isinstance(download, bool):
        raise LcwbenchError(f"{name}: download must be true or false, got {download!r}")
    if name == "synthetic":
        return synthetic.load_synthetic(split, image_size=image_size, max_items=max_items, **params)
    if name == "swissroll":
        return synthetic.load_swissroll(split, image_size=image_size, max_items=max_items, **params)
    root = resolve_data_root(data_root)
    common = {"root": root, "image_size": image_size, "max_items": max_items, "download": download}
    if name in ("mnist", "fmnist"):
        return mnist.load(name, split, **common, **params)
    if name == "cifar10":
        return cifar.load(split, **common, **params)
    if name == "celeba":
        return celeba.load(split, **common, **params)
    return lsun.load(split, **common, **params)


__all__ = [
    "DATASETS",
    "PARAMS",
    "SPLITS",
    "Dataset",
    "LcwbenchError",
    "load_dataset",
    "resolve_cache_dir",
    "resolve_data_root",
]

"""On-disk cache of decoded image tensors (CelebA, LSUN), so thousands of JPEGs are decoded only once.

A cache file is ``<cache dir>/<dataset>-<split>-<digest>.pt`` holding ``{"x": uint8 tensor, "key": str}``
where ``key`` is the JSON of everything that determines the pixels (data set, split, crop, size,
max_items, resampling, a fingerprint of the source listing) and ``digest`` its SHA-256. Files are
written atomically and read back with ``torch.load(weights_only=True, mmap=True)``: the pixels stay in
the page cache until used, so a job that needs a few rows of a large split (the 10,000-image reference
set of LSUN bedroom's 3 M training images) reads only those. A stale, corrupt or foreign file is
ignored and rebuilt. When the cache directory cannot be written, caching is skipped silently
(the reason is recorded in the data set's ``meta``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lcwbench.data.root import resolve_cache_dir
from lcwbench.errors import LcwbenchError
from lcwbench.io import atomic_path

CACHE_FORMAT = 1


def cache_setting(dataset: str, value: Any) -> Path | None:
    """``cache_dir`` parameter: a path, ``None`` (default location) or ``False`` (no caching)."""
    if value is False:
        return None
    if value is None or isinstance(value, (str, os.PathLike)):
        return resolve_cache_dir(value)
    raise LcwbenchError(f"{dataset}: parameter cache_dir must be a path or false, got {value!r}")


def cached_images(
    cache_dir: Path | None,
    dataset: str,
    split: str,
    key_fields: dict[str, Any],
    build: Callable[[], torch.Tensor],
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Return ``build()``'s tensor, from the cache when a matching file exists; info goes into ``meta``."""
    if cache_dir is None:
        return build(), {"cache": None, "cache_hit": False}
    key = json.dumps({"format": CACHE_FORMAT, **key_fields}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    path = cache_dir / f"{dataset}-{split}-{digest}.pt"
    if path.is_file():
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # any unreadable file is simply rebuilt
            obj = None
        if (
            isinstance(obj, dict)
            and obj.get("key") == key
            and isinstance(obj.get("x"), torch.Tensor)
            and obj["x"].dtype == torch.uint8
        ):
            return obj["x"], {"cache": str(path), "cache_hit": True}
    x = build()
    info: dict[str, Any] = {"cache": str(path), "cache_hit": False}
    try:
        with atomic_path(path) as tmp:
            torch.save({"x": x, "key": key}, tmp)
    except (LcwbenchError, OSError, RuntimeError) as exc:
        info = {"cache": None, "cache_hit": False, "cache_skipped": f"{path.parent} not writable: {exc}"}
    return x, info

"""Where data sets and decoded-image caches live.

The data root is resolved in a fixed order so that a run is reproducible from its configuration alone:

1. the explicit argument (the config's ``data_root``),
2. the environment variable ``LCWBENCH_DATA``,
3. ``../shared/data`` relative to the current working directory, when that folder exists,
4. ``./data`` relative to the current working directory.

The data root may be read-only; nothing under it is ever written except by an explicit download.
Decoded-image caches go to a separate cache directory (``LCWBENCH_CACHE`` or ``~/.cache/lcwbench``).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "LCWBENCH_DATA"
CACHE_ENV = "LCWBENCH_CACHE"


def _absolute(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def resolve_data_root(data_root: str | os.PathLike | None = None) -> Path:
    """Return the absolute data root (see the module docstring for the order of precedence)."""
    if data_root is not None and str(data_root) != "":
        return _absolute(data_root)
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return _absolute(env)
    shared = Path.cwd().parent / "shared" / "data"
    if shared.is_dir():
        return _absolute(shared)
    return _absolute(Path.cwd() / "data")


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Directory for decoded-image caches.

    Order: the explicit argument, else ``LCWBENCH_CACHE``, else ``~/.cache/lcwbench``.
    """
    if cache_dir is not None and str(cache_dir) != "":
        return _absolute(cache_dir)
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return _absolute(env)
    return _absolute(Path.home() / ".cache" / "lcwbench")

"""Atomic file writes and hashing.

Every file the harness produces is first written to a temporary file in the same directory and then
moved into place with ``os.replace``, so a reader (or Snakemake) never sees a half-written output.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lcwbench.errors import LcwbenchError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise LcwbenchError(f"cannot write {path}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def torch_save(obj: Any, path: str | os.PathLike) -> None:
    import torch

    # through a file object: torch then names the zip archive "archive" instead of after the (random)
    # temporary file, so the same state gives a byte-identical file
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)


def _first_sentence(text: str, default: str) -> str:
    """The first sentence of an exception message, on one line, at most 200 characters."""
    text = " ".join(text.split())
    return (text.split(". ")[0] or default)[:200]


def _unpickler_reason(text: str) -> str:
    """What torch's weights-only unpickler objected to (its message buries it after a long preamble)."""
    import re

    m = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\s*\n|$)", text, flags=re.S)
    return _first_sentence(m.group(1) if m else text, "unsafe content")


def torch_load(path: str | os.PathLike, what: str = "checkpoint") -> Any:
    """Load a torch file with ``weights_only=True``; a missing, truncated or unsafe file is one clear error."""
    import pickle
    import struct
    import warnings

    import torch

    path = Path(path)
    if not path.is_file():
        raise LcwbenchError(f"{what} not found: {path}")
    try:
        with warnings.catch_warnings():
            # torch warns about the pickle protocol of a foreign file before refusing it; the refusal says it all
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = _unpickler_reason(str(exc))
        if reason.startswith("Unsupported operand"):  # an opcode torch.save never writes: garbage or a foreign pickle
            why = f"it is not a torch.save file of tensors ({reason})"
        else:  # a global, class or call the safe loader does not allow
            why = f"it holds objects other than tensors and plain containers, which could run code ({reason})"
        raise LcwbenchError(
            f"{what} {path} was refused by the safe loader (weights_only=True): {why}; nothing in it was run"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError, struct.error) as exc:
        # a torch zip archive cut short is a RuntimeError; other garbage fails inside the unpickler
        first = _first_sentence(str(exc), "")
        if not isinstance(exc, RuntimeError) or not first:
            first = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        raise LcwbenchError(
            f"{what} {path} is unreadable (truncated or corrupt?): {first}; replace or delete it"
        ) from exc


def make_dir(path: str | os.PathLike, what: str) -> Path:
    """Create the folder ``path`` (and its parents); a failure is one LcwbenchError naming ``what`` and the path."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LcwbenchError(f"cannot create {what} {path}: {exc.strerror or exc}") from exc
    return path


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def existing_file(path: str | os.PathLike, what: str, source: str) -> Path:
    """``path`` as a Path if it is a file; else one LcwbenchError naming ``what``, the path and ``source``."""
    p = Path(path).expanduser()
    if not p.is_file():
        kind = "is a directory, not a file" if p.is_dir() else "not found"
        raise LcwbenchError(f"{what} file {kind}: {p} (from {source})")
    return p


def resolve_weights_file(
    what: str,
    configured: str | os.PathLike | None,
    configured_name: str,
    env_var: str,
    cached: Path,
    url: str,
    offline_message: str,
) -> Path:
    """Find a pretrained weights file: ``configured``, else ``$env_var``, else the cache path ``cached``,
    downloading ``url`` there with torch.hub's downloader where the network allows.

    A named file that does not exist is one LcwbenchError; a failed download is one LcwbenchError
    with ``offline_message`` formatted with ``dst`` (the cache path) and ``reason``.
    """
    import sys

    import torch

    if configured is not None and str(configured).strip():
        return existing_file(configured, what, configured_name)
    env = os.environ.get(env_var, "").strip()
    if env:
        return existing_file(env, what, env_var)
    if cached.is_file():
        return cached
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        # module attribute lookup on purpose, so tests can replace the downloader
        torch.hub.download_url_to_file(url, str(cached), progress=sys.stderr.isatty())
    except (OSError, RuntimeError, ValueError) as exc:  # URLError/HTTPError/socket errors are OSErrors
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise LcwbenchError(offline_message.format(dst=cached, reason=reason)) from exc
    if not cached.is_file():  # pragma: no cover - a downloader that "succeeded" without writing
        raise LcwbenchError(f"download of {url} did not produce {cached}")
    return cached

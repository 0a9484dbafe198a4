"""Decoding many small images in parallel with Pillow (which releases the GIL while decoding)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image


def center_crop_box(width: int, height: int, crop_w: int, crop_h: int) -> tuple[int, int, int, int]:
    """Box of a centred ``crop_w x crop_h`` window (offsets rounded half to even, as torchvision does)."""
    left = int(round((width - crop_w) / 2.0))
    top = int(round((height - crop_h) / 2.0))
    return left, top, left + crop_w, top + crop_h


def to_chw(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


def decode_all(
    items: Iterable,
    n: int,
    size: int,
    decode: Callable[[object], np.ndarray],
    *,
    workers: int | None = None,
    chunk: int = 256,
) -> torch.Tensor:
    """Decode ``n`` items to a uint8 ``n x 3 x size x size`` tensor, in order, with a thread pool.

    ``items`` is consumed lazily in chunks, so a large source is never held in memory all at once.
    """
    out = np.empty((n, 3, size, size), dtype=np.uint8)
    workers = workers or max(1, min(8, os.cpu_count() or 1))
    it = iter(items)
    filled = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while filled < n:
            block = []
            for item in it:
                block.append(item)
                if len(block) == chunk or filled + len(block) == n:
                    break
            if not block:
                break
            for i, arr in enumerate(pool.map(decode, block)):
                out[filled + i] = arr
            filled += len(block)
    return torch.from_numpy(out[:filled] if filled < n else out)


RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}

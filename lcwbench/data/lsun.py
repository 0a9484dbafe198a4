"""LSUN bedroom from the official LMDB (``lsun/bedroom_train_lmdb/data.mdb``).

Values are encoded images (WebP in the official release, JPEG in some copies); Pillow decodes either.
Records are taken in key order (LMDB keeps keys sorted bytewise, so the order is deterministic), each
image converted to RGB, resized so its shorter side is ``image_size`` (default 64; bilinear with
Pillow's antialiasing, like torchvision's ``Resize``) and centre-cropped to ``image_size``. Decoded
images are cached (see :mod:`lcwbench.data.cache`) keyed by the LMDB's path, size and modification
time.

Splits. The release has a train LMDB and a 300-image validation LMDB; the papers evaluate
reconstructions of held-out images (GLDO Table 2 searches codes for 1,000 of them) without saying
which. The harness holds out the LAST ``holdout`` records of the train LMDB in key order: split
``test`` is those records and split ``train`` the records before them, so the two never overlap and
both are fixed by the LMDB alone. ``holdout`` defaults to 0 (train is the whole LMDB and there is no
test split); an experiment that needs test images sets it in its ``data`` (and then its train split
is smaller by that much). ``max_items`` keeps the first items of the chosen split.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lcwbench.data.base import (
    Dataset,
    check_params,
    check_split,
    int_param,
    manifest_status,
    missing_file_error,
    optional_image_size,
    optional_max_items,
)
from lcwbench.data.cache import cache_setting, cached_images
from lcwbench.data.images import RESAMPLE, center_crop_box, decode_all, to_chw
from lcwbench.errors import LcwbenchError

SPLITS = ("train", "test")
PARAMS = ("cache_dir", "holdout")
DEFAULT_SIZE = 64
RESAMPLING = "bilinear"
REL = "lsun/bedroom_train_lmdb"


def _decoder(size: int):
    resample = RESAMPLE[RESAMPLING]

    def decode(item: tuple[bytes, bytes]) -> np.ndarray:
        key, value = item
        try:
            with Image.open(io.BytesIO(value)) as im:
                img = im.convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise LcwbenchError(
                f"lsun_bedroom: record {key.decode(errors='replace')} in {REL} cannot be decoded "
                f"({type(exc).__name__}); the LMDB copy is damaged"
            ) from None
        w, h = img.size
        if w <= h:
            new_w, new_h = size, max(size, int(size * h / w))
        else:
            new_w, new_h = max(size, int(size * w / h)), size
        if (new_w, new_h) != (w, h):
            img = img.resize((new_w, new_h), resample)
        img = img.crop(center_crop_box(new_w, new_h, size, size))
        return to_chw(img)

    return decode


def _records(env, start: int, n: int, entries: int):
    """``n`` records from position ``start`` in key order (``entries`` records in all). A start in the
    second half is reached by stepping back from the last record, so the held-out tail of a large LMDB
    costs ``entries - start`` cursor moves, not ``start``."""
    with env.begin(buffers=False) as txn:
        cursor = txn.cursor()
        if start <= entries - 1 - start:
            cursor.first()
            for _ in range(start):
                cursor.next()
        else:
            cursor.last()
            for _ in range(entries - 1 - start):
                cursor.prev()
        for i, (key, value) in enumerate(cursor):
            if i >= n:
                break
            yield bytes(key), bytes(value)


def load(
    split: str, *, root: Path, image_size=None, max_items=None, download: bool = False, **params
) -> Dataset:
    check_params("lsun_bedroom", params, PARAMS)
    check_split("lsun_bedroom", split, SPLITS)
    if download:
        raise LcwbenchError(
            f"lsun_bedroom: download is not supported (tens of GB); place {REL}/data.mdb under the "
            f"data root {root}"
        )
    size = optional_image_size("lsun_bedroom", image_size) or DEFAULT_SIZE
    max_items = optional_max_items("lsun_bedroom", max_items)
    cache_dir = cache_setting("lsun_bedroom", params.get("cache_dir"))
    holdout = int_param("lsun_bedroom", "holdout", params.get("holdout", 0), minimum=0)
    if split == "test" and holdout == 0:
        raise LcwbenchError(
            "lsun_bedroom: the test split is the last `holdout` records of the train LMDB; set "
            "holdout (e.g. data: {holdout: 10000}) in the experiment's data parameters"
        )

    directory = root / REL
    mdb = directory / "data.mdb"
    if not mdb.is_file():
        raise missing_file_error("lsun_bedroom", mdb, f"{REL}/data.mdb", download=False)
    try:
        status = manifest_status(root, mdb)
    except LcwbenchError as exc:
        raise LcwbenchError(f"lsun_bedroom: {exc}") from None
    st = mdb.stat()

    def build():
        import lmdb

        try:
            env = lmdb.open(
                str(directory), readonly=True, lock=False, readahead=False, meminit=False, max_readers=64
            )
        except lmdb.Error as exc:
            raise LcwbenchError(
                f"lsun_bedroom: cannot open LMDB {directory}: {exc}; the copy is damaged"
            ) from None
        try:
            entries = int(env.stat()["entries"])
            if entries == 0:
                raise LcwbenchError(f"lsun_bedroom: LMDB {directory} holds no records")
            if holdout >= entries:
                raise LcwbenchError(
                    f"lsun_bedroom: holdout {holdout} leaves no training records; LMDB {directory} "
                    f"holds {entries}"
                )
            start, size_split = (0, entries - holdout) if split == "train" else (entries - holdout, holdout)
            n = size_split if max_items is None else min(size_split, max_items)
            records = _records(env, start, n, entries)
            try:
                return decode_all(records, n, size, _decoder(size))
            finally:
                records.close()
        except lmdb.Error as exc:
            raise LcwbenchError(
                f"lsun_bedroom: cannot read LMDB {directory}: {exc}; the copy is damaged"
            ) from None
        finally:
            env.close()

    key_fields = {
        "dataset": "lsun_bedroom",
        "split": split,
        "image_size": size,
        "max_items": max_items,
        "holdout": holdout,
        "resample": RESAMPLING,
        "lmdb": str(mdb),
        "lmdb_size": st.st_size,
        "lmdb_mtime_ns": st.st_mtime_ns,
    }
    x, cache_info = cached_images(cache_dir, "lsun_bedroom", split, key_fields, build)
    meta = {
        "name": "lsun_bedroom",
        "split": split,
        "n": int(x.shape[0]),
        "shape": list(x.shape[1:]),
        "source": [str(mdb)],
        "params": {"image_size": size, "max_items": max_items, "holdout": holdout, "resample": RESAMPLING},
        "checksum": {
            "data.mdb": "sha256 ok (SHA256SUMS at the data root)"
            if status == "sha256 ok"
            else f"unverified ({status})"
        },
        **cache_info,
    }
    return Dataset(name="lsun_bedroom", split=split, x=x, y=None, meta=meta)

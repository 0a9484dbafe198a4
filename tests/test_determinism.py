"""Determinism on the CPU: the same run spec and seed, trained and evaluated twice through the CLI in two
separate folders (each with its own stand-in Inception weights and reference statistics), gives
byte-identical ``metrics.json``, ``model.pt`` and ``train_log.csv``.

The one field of ``metrics.json`` that may differ between the two folders is ``weights_path`` in each
metric's protocol: the absolute path of the extractor weights, which here are two files (identical
bytes, same ``weights_sha256``) in two folders. It is removed before the comparison; everything else,
every value and the rest of the protocol, must match byte for byte. ``metrics.json`` holds no
wall-clock time (``evaluate_run`` keeps timings out of it); ``run.json`` does (``train_seconds``) and
is compared without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = {"run": "det", "dataset": "mnist", "data": {"max_items": 128}, "method": "cwae",
        "params": {"epochs": 2, "batch_size": 32, "latent_dim": 8}, "seed": 3, "base": None}
FID = {"extractor": "standin", "standin_seed": 0, "implementation": "torch-fidelity", "batch_size": 50,
       "weights": None}
PROTOCOL = {"n_gen": 32, "ref_split": "train", "ref_n": 32, "n_rec": 32, "rec_split": "test", "is_splits": 2,
            "prd": True, "kid": True}
TIMING_WORDS = ("second", "time", "date", "duration", "elapsed")
MACHINE_FIELDS = ("weights_path",)  # absolute paths: differ between folders/machines, not between results


def lcwbench(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "lcwbench.cli", *args], capture_output=True, text=True,
                         cwd=cwd, env=env, timeout=900)
    assert res.returncode == 0, f"lcwbench {args[0]} failed:\n{res.stderr[-3000:]}"
    return res


def pipeline(d: Path, env: dict[str, str]) -> Path:
    """Stand-in weights, reference statistics, training and evaluation of SPEC in ``d``; ``d/run``."""
    d.mkdir()
    lcwbench(["standin-weights", "--out", str(d / "standin.pth"), "--seed", "0"], d, env)
    lcwbench(["refstats", "--dataset", "mnist", "--data", json.dumps(SPEC["data"]), "--split", "train",
              "--n", "32", "--fid", json.dumps(FID), "--standin-weights", str(d / "standin.pth"),
              "--out", str(d / "ref.npz"), "--device", "cpu"], d, env)
    lcwbench(["train", "--spec", json.dumps(SPEC), "--out-dir", str(d / "run"), "--device", "cpu",
              "--checkpoint-every", "3"], d, env)
    lcwbench(["evaluate", "--run-dir", str(d / "run"), "--spec", json.dumps(SPEC), "--protocol-name", "det",
              "--protocol", json.dumps(PROTOCOL), "--fid", json.dumps(FID), "--refstats", str(d / "ref.npz"),
              "--standin-weights", str(d / "standin.pth"), "--out", str(d / "run" / "metrics.json"),
              "--device", "cpu"], d, env)
    return d / "run"


def without(obj, fields):
    if isinstance(obj, dict):
        return {k: without(v, fields) for k, v in obj.items() if k not in fields}
    if isinstance(obj, list):
        return [without(v, fields) for v in obj]
    return obj


def keys(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from keys(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from keys(v)


@pytest.mark.slow
def test_same_seed_twice_gives_identical_outputs(tmp_path, shared_data):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LCWBENCH_DATA": str(shared_data),
           "LCWBENCH_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    with ThreadPoolExecutor(max_workers=2) as pool:  # two independent pipelines, side by side
        a, b = pool.map(lambda name: pipeline(tmp_path / name, env), ["a", "b"])

    text_a, text_b = (a / "metrics.json").read_text(), (b / "metrics.json").read_text()
    ma, mb = json.loads(text_a), json.loads(text_b)
    assert not [k for k in keys(ma) if any(w in k.lower() for w in TIMING_WORDS)], "a timing in metrics.json"
    paths = {v["protocol"]["weights_path"] for m in (ma, mb) for v in m["metrics"].values()
             if "weights_path" in v["protocol"]}
    assert paths == {str((a.parent / "standin.pth").resolve()), str((b.parent / "standin.pth").resolve())}
    # the comparison: the whole file, re-serialised exactly as evaluate writes it, less the weights path
    canon_a, canon_b = (json.dumps(without(m, MACHINE_FIELDS), indent=2, sort_keys=True) + "\n" for m in (ma, mb))
    assert canon_a == canon_b
    # and the two files differ in nothing but those paths
    assert text_a.replace(str(a.parent), "<dir>") == text_b.replace(str(b.parent), "<dir>")
    assert {"fid", "is", "kid", "f8", "f1_8", "mse"} <= set(ma["metrics"])
    assert all(np.isfinite(v["value"]) for v in ma["metrics"].values())

    assert (a / "model.pt").read_bytes() == (b / "model.pt").read_bytes()
    assert (a / "train_log.csv").read_bytes() == (b / "train_log.csv").read_bytes()
    ra, rb = (json.loads((r / "run.json").read_text()) for r in (a, b))
    assert without(ra, ("train_seconds",)) == without(rb, ("train_seconds",))
    assert (a.parent / "standin.pth").read_bytes() == (b.parent / "standin.pth").read_bytes()

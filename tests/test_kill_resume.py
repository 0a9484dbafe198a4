"""A ``lcwbench train`` process killed with SIGKILL mid-run resumes from its last checkpoint and ends
bitwise where an uninterrupted run ends (CPU).

Unlike ``test_train.py``'s in-process ``max_steps`` interruption, the run here dies without any
cleanup (no ``finally``, no atomic-write rollback), as it would when a cluster job is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lcwbench.io import torch_load

SPEC = {
    "run": "kill",
    "dataset": "mnist",
    "data": {"max_items": 512},
    "method": "cwae",
    "params": {"epochs": 8, "batch_size": 32, "latent_dim": 4},
    "seed": 5,
}
TOTAL_STEPS = 8 * (512 // 32)  # 128 steps of ~15 ms each on one CPU thread
CHECKPOINT_EVERY = 5  # not a divisor of the 16 steps per epoch: mid-epoch and epoch-end checkpoints both occur
TIMEOUT = 300


def _cmd(out_dir: Path, data_root: Path) -> list[str]:
    return [
        sys.executable, "-m", "lcwbench.cli", "train", "--spec", json.dumps(SPEC), "--out-dir", str(out_dir),
        "--checkpoint-every", str(CHECKPOINT_EVERY), "--device", "cpu", "--data-root", str(data_root),
    ]


def _start(out_dir: Path, data_root: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the same thread count for every run, and gentle on shared CPUs
    with open(log, "wb") as fh:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(_cmd(out_dir, data_root), stdout=fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # own process group: killpg hits it and nothing else


def _signature(path: Path):
    """(inode, mtime) of ``path``, or None; it changes each time the atomic write replaces the file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _kill_just_after_a_checkpoint(proc: subprocess.Popen, run_dir: Path, log: Path) -> None:
    """SIGKILL the run's process group right after ``ckpt.pt`` is replaced, once at least one epoch is done.

    Killing just after a replace leaves ``CHECKPOINT_EVERY`` steps before the next write, so the
    kill lands between steps of a run still training, not before its first checkpoint or after its end.
    """
    ckpt, train_log = run_dir / "ckpt.pt", run_dir / "train_log.csv"
    deadline = time.monotonic() + TIMEOUT
    seen = None  # the checkpoint on disk once the first epoch's log exists
    while True:
        assert proc.poll() is None, (
            f"the run ended (status {proc.returncode}) before it could be killed mid-run; make it longer\n"
            + log.read_text(errors="replace")
        )
        assert time.monotonic() < deadline, "no checkpoint appeared in time"
        if seen is None:
            if train_log.exists():
                seen = _signature(ckpt)
        elif (now := _signature(ckpt)) is not None and now != seen:
            break
        time.sleep(0.001)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL


def _temporaries(run_dir: Path) -> set[str]:
    return {p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")}


def _run_json(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


@pytest.mark.slow  # ~20-25 s: three CLI processes (each imports torch and loads MNIST) on 2 busy cores
def test_sigkilled_run_resumes_and_ends_bitwise_like_uninterrupted(tmp_path, shared_data):
    full, killed = tmp_path / "full", tmp_path / "killed"
    full_log, killed_log = tmp_path / "full.log", tmp_path / "killed.log"
    # the uninterrupted run and the run to be killed side by side (the result must not depend on timing)
    procs = [_start(full, shared_data, full_log), _start(killed, shared_data, killed_log)]
    try:
        _kill_just_after_a_checkpoint(procs[1], killed, killed_log)
        assert procs[0].wait(timeout=TIMEOUT) == 0, full_log.read_text(errors="replace")
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    # the killed run left a readable checkpoint from mid-run (after epoch 1) and no final outputs
    assert not (killed / "model.pt").exists() and not (killed / "run.json").exists()
    state = torch_load(killed / "ckpt.pt", "training checkpoint")
    killed_at = state["step"]
    assert 0 < killed_at < TOTAL_STEPS and state["history"], killed_at
    (killed / ".ckpt.pt.killedmidwrite.tmp").write_bytes(b"half a checkpoint")  # as a kill mid-write leaves

    again = subprocess.run(_cmd(killed, shared_data), capture_output=True, text=True, timeout=TIMEOUT,
                           env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert again.returncode == 0, again.stderr

    info, ref = _run_json(killed), _run_json(full)
    assert info["resumed_from_step"] == killed_at and ref["resumed_from_step"] == 0
    assert info["steps"] == ref["steps"] == TOTAL_STEPS
    assert info["final_losses"] == ref["final_losses"]  # json floats round-trip exactly
    # the log of the resumed run holds every epoch, the ones before the kill from the checkpoint
    assert (killed / "train_log.csv").read_text() == (full / "train_log.csv").read_text()
    sa = torch_load(full / "model.pt", "model file")["state_dict"]
    sb = torch_load(killed / "model.pt", "model file")["state_dict"]
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    assert (killed / "model.pt").read_bytes() == (full / "model.pt").read_bytes()

    # the finished runs keep no checkpoint, and the resumed run's own atomic writes left no temporaries
    assert not (full / "ckpt.pt").exists() and not (killed / "ckpt.pt").exists()
    assert not _temporaries(full)
    assert not _temporaries(killed)  # the rerun removes what a kill mid-write left

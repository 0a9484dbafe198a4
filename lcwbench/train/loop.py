"""Generic, resumable training loop.

* Seeds python, numpy and torch from the run seed; the data order comes from its own generator.
* The dataset lives on the device as one tensor (no DataLoader, no workers); each epoch is a random
  permutation, batches of ``batch_size`` with the last incomplete batch dropped.
* Every ``checkpoint_every`` steps (and at each epoch end) the full state - networks, optimisers,
  RNG states, data-order generator, position in the epoch and the per-epoch log so far - is written
  atomically to ``ckpt.pt``. A rerun resumes from it and ends, on CPU, bitwise where an uninterrupted
  run ends.
* A NaN or infinite loss term stops the run with an error naming the step and the term.
* The per-epoch mean of every loss term goes to ``train_log.csv``; the final model to ``model.pt``.
* ``snapshots``: after each listed step a weights-only model file (as ``model.pt``) is written
  atomically to ``snapshots/step<N>.pt`` (GLDO Fig. 4, the metric over training). It is written before
  any checkpoint of the same step, so a resumed run writes the snapshots after its checkpoint again and
  (on CPU) identically; those before it are already on disk.
"""

from __future__ import annotations

import csv
import io
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from lcwbench.errors import LcwbenchError, NonFiniteLossError
from lcwbench.io import atomic_path, make_dir, torch_load, torch_save
from lcwbench.methods import Method

CKPT = "ckpt.pt"
MODEL = "model.pt"
LOG = "train_log.csv"
SNAPSHOT_DIR = "snapshots"


def snapshot_path(out_dir: str | Path, step: int) -> Path:
    """Where the model after training step ``step`` is kept (``train(..., snapshots=[step])``)."""
    return Path(out_dir) / SNAPSHOT_DIR / f"step{int(step)}.pt"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].copy()), *np_state[2:]],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    kind, key, *rest = state["numpy"]
    np.random.set_state((kind, key.numpy(), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@dataclass
class TrainResult:
    steps: int
    epochs: int
    resumed_from_step: int
    seconds: float
    history: list[dict[str, float]]


def _write_log(path: Path, history: list[dict[str, float]]) -> None:
    if not history:
        return
    keys = list(history[0])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())


def save_model(method: Method, path: Path, extra: dict[str, Any] | None = None) -> None:
    torch_save(
        {
            "method": method.name,
            "config": asdict(method.cfg),
            "sample_shape": list(method.sample_shape),
            "state_dict": method.state_dict(),
            "extra": extra or {},
        },
        path,
    )


def train(
    method: Method,
    x: torch.Tensor,
    to_float,
    out_dir: str | Path,
    *,
    seed: int,
    checkpoint_every: int = 1000,
    max_steps: int | None = None,
    progress: bool = True,
    autocast_dtype: torch.dtype | None = None,
    snapshots: Sequence[int] = (),
) -> TrainResult:
    """Train ``method`` on the rows of ``x`` (already on the method's device).

    ``to_float`` maps a stored batch (e.g. uint8 images) to the float tensor the method sees.
    ``max_steps`` stops early without writing the final model (used to simulate an interruption).
    ``autocast_dtype`` (e.g. bf16) runs each training step under ``torch.autocast`` on x's device.
    ``snapshots``: steps after which the model is also saved to :func:`snapshot_path` (each <= the
    run's total steps).
    """
    out_dir = make_dir(out_dir, "run directory")
    for name in (CKPT, LOG, MODEL):  # left by a run killed mid-write (SIGKILL skips atomic_path's cleanup)
        for stale in out_dir.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)
    cfg = method.cfg
    n = x.shape[0]
    if cfg.batch_size > n:
        raise LcwbenchError(f"batch_size {cfg.batch_size} is larger than the training set ({n} items)")
    steps_per_epoch = n // cfg.batch_size
    total_steps = steps_per_epoch * cfg.epochs
    snapshot_steps = {int(s) for s in snapshots}
    late = sorted(s for s in snapshot_steps if not 1 <= s <= total_steps)
    if late:
        raise LcwbenchError(
            f"snapshot step(s) {late} outside this run's 1..{total_steps} training steps"
            f" ({cfg.epochs} epochs x {steps_per_epoch} steps)"
        )

    seed_everything(seed)
    opts = method.build_optimizers()
    order = torch.Generator().manual_seed(seed)
    epoch, batch_in_epoch, step = 0, 0, 0
    history: list[dict[str, float]] = []
    sums: dict[str, float] = {}
    epoch_order_state = order.get_state()
    resumed_from = 0

    ckpt_path = out_dir / CKPT
    if ckpt_path.exists():
        state = torch_load(ckpt_path, "training checkpoint")
        try:
            method.load_state_dict(state["modules"])
            for name, opt in opts.items():
                opt.load_state_dict(state["optimizers"][name])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise LcwbenchError(
                f"training checkpoint {ckpt_path} does not match this run's method/config ({str(exc)[:120]});"
                " delete it to start over"
            ) from exc
        epoch, batch_in_epoch, step = state["epoch"], state["batch_in_epoch"], state["step"]
        history, sums = state["history"], state["sums"]
        epoch_order_state = state["epoch_order_state"]
        _set_rng_state(state["rng"])
        resumed_from = step
    saved_step = [resumed_from if ckpt_path.exists() else None]  # step of the checkpoint on disk

    def checkpoint() -> None:
        saved_step[0] = step
        torch_save(
            {
                "modules": method.state_dict(),
                "optimizers": {k: o.state_dict() for k, o in opts.items()},
                "epoch": epoch,
                "batch_in_epoch": batch_in_epoch,
                "step": step,
                "history": history,
                "sums": sums,
                "epoch_order_state": epoch_order_state,
                "rng": _rng_state(),
            },
            ckpt_path,
        )

    method.train()
    t0 = time.perf_counter()
    bar = tqdm(total=total_steps, initial=step, disable=not progress, desc=f"train {method.name}", mininterval=2)
    while epoch < cfg.epochs:
        order.set_state(epoch_order_state)
        perm = torch.randperm(n, generator=order).to(x.device)
        next_epoch_state = order.get_state()
        while batch_in_epoch < steps_per_epoch:
            if max_steps is not None and step >= max_steps:
                bar.close()
                return TrainResult(step, epoch, resumed_from, time.perf_counter() - t0, history)
            idx = perm[batch_in_epoch * cfg.batch_size : (batch_in_epoch + 1) * cfg.batch_size]
            with torch.autocast(x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                terms = method.train_step(to_float(x[idx]), opts)
            values = torch.stack([t.float() for t in terms.values()])
            if not bool(torch.isfinite(values).all()):
                bad = [k for k, v in terms.items() if not torch.isfinite(v).all()]
                kept = "" if saved_step[0] is None else (
                    f"; the checkpoint of step {saved_step[0]} ({ckpt_path}) is kept: delete it to start over"
                )
                raise NonFiniteLossError(
                    f"loss term {bad[0]!r} became {terms[bad[0]].item()} at step {step + 1} (epoch {epoch + 1});"
                    f" the run is stopped (lr={cfg.lr:g}); lower the learning rate or check the data{kept}"
                )
            for k, v in zip(terms, values.tolist()):
                sums[k] = sums.get(k, 0.0) + v
            step += 1
            batch_in_epoch += 1
            bar.update(1)
            if step in snapshot_steps:
                save_model(method, snapshot_path(out_dir, step), extra={"step": step})
            if step % checkpoint_every == 0 and batch_in_epoch < steps_per_epoch:
                checkpoint()
        history.append({"epoch": epoch + 1, "step": step, **{k: v / steps_per_epoch for k, v in sums.items()}})
        sums = {}
        epoch += 1
        batch_in_epoch = 0
        epoch_order_state = next_epoch_state
        _write_log(out_dir / LOG, history)
        checkpoint()
    bar.close()
    method.eval()
    return TrainResult(step, epoch, resumed_from, time.perf_counter() - t0, history)

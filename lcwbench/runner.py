"""Run-level orchestration: train one run, compute reference statistics, evaluate one run.

These are what the Snakemake rules call (through the ``lcwbench`` CLI). Every output is written
atomically; a failure leaves no partial output behind.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import torch

from lcwbench.errors import LcwbenchError
from lcwbench.io import torch_load, write_json
from lcwbench.train.loop import CKPT, MODEL, save_model, train


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise LcwbenchError("device 'cuda' requested but no CUDA device is available; use device: auto or cpu")
    return torch.device(device)


def configure_backend(device: torch.device) -> None:
    """Fast defaults on GPUs: TF32 matmuls and cuDNN autotuning."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True


PRECISIONS = ("auto", "fp32", "bf16")


def gpu_images(device: torch.device, sample_shape: tuple[int, ...]) -> bool:
    """Image data trained on a GPU: where bf16 autocast and channels-last pay (conv nets)."""
    return device.type == "cuda" and len(sample_shape) == 3


def resolve_precision(precision: str, device: torch.device, sample_shape: tuple[int, ...]) -> str:
    """``auto``: bf16 autocast for image models on a GPU (:func:`gpu_images`), fp32 otherwise (CPU runs
    stay fp32, so they stay bitwise reproducible across resumes and machines)."""
    if precision not in PRECISIONS:
        raise LcwbenchError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return "bf16" if gpu_images(device, sample_shape) else "fp32"
    return precision


def channels_last(to_float, enabled: bool):
    """``to_float`` followed by a channels-last copy of 4-D batches when ``enabled``."""
    if not enabled:
        return to_float

    def to_float_cl(batch: torch.Tensor) -> torch.Tensor:
        t = to_float(batch)
        return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t

    return to_float_cl


SPEC_KEYS = ("run", "dataset", "method", "seed")


def check_spec(spec: Any) -> dict[str, Any]:
    """A run spec (``--spec``) must be an object with ``run``, ``dataset``, ``method`` and a seed >= 0.

    The workflow's specs come from :func:`lcwbench.config.expand_runs` (whose schema already demands
    seeds >= 0); this guards the CLI against hand-written ones.
    """
    if not isinstance(spec, dict):
        raise LcwbenchError(f"--spec must be a JSON object, got {type(spec).__name__}")
    missing = [k for k in SPEC_KEYS if k not in spec]
    if missing:
        raise LcwbenchError(f"--spec lacks key(s) {', '.join(missing)}; needed: {', '.join(SPEC_KEYS)}")
    seed = spec["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LcwbenchError(f"--spec of run {spec['run']!r}: seed must be an integer >= 0, got {seed!r}")
    for key in ("data", "params"):
        if spec.get(key) is not None and not isinstance(spec[key], dict):
            raise LcwbenchError(f"--spec of run {spec['run']!r}: {key} must be an object, got {spec[key]!r}")
    snaps = spec.get("snapshots")
    if snaps is not None and not (
        isinstance(snaps, list) and all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in snaps)
    ):
        raise LcwbenchError(f"--spec of run {spec['run']!r}: snapshots must be a list of steps >= 1, got {snaps!r}")
    return spec


def load_split(spec: dict[str, Any], split: str, data_root=None, download: bool = False):
    from lcwbench.data import load_dataset

    return load_dataset(spec["dataset"], split, data_root=data_root, download=download, **(spec.get("data") or {}))


def train_run(
    spec: dict[str, Any],
    out_dir: str | Path,
    *,
    data_root=None,
    download: bool = False,
    device: str = "auto",
    checkpoint_every: int = 1000,
    progress: bool = False,
    max_steps: int | None = None,
    base_model: str | Path | None = None,
    precision: str = "auto",
) -> Path:
    """Train the run ``spec`` into ``out_dir``; returns the path of ``model.pt``.

    Stage-2 methods (``needs_base``) get the frozen model of ``base_model`` (the spec's base run).
    ``precision`` (see :func:`resolve_precision`): with bf16 the training steps run under
    ``torch.autocast`` (parameters and optimiser state stay fp32); image models on a GPU also use the
    channels-last memory format.
    """
    from lcwbench.methods import build_method

    check_spec(spec)
    out_dir = Path(out_dir)
    dev = pick_device(device)
    configure_backend(dev)
    ds = load_split(spec, "train", data_root, download)
    base = None
    if spec.get("base"):
        if base_model is None:
            raise LcwbenchError(f"run {spec['run']} is built on run {spec['base']}: pass its model file (--base-model)")
        base = load_model(base_model, dev)
    torch.manual_seed(spec["seed"])  # network initialisation is part of the seeded run
    method = build_method(spec["method"], spec.get("params"), ds.sample_shape, base=base).to(dev)
    prec = resolve_precision(precision, dev, ds.sample_shape)
    use_cl = gpu_images(dev, ds.sample_shape)
    if use_cl:
        method = method.to(memory_format=torch.channels_last)
    x, to_float = method.training_data(ds.x.to(dev), channels_last(ds.to_float, use_cl))
    result = train(
        method,
        x,
        to_float,
        out_dir,
        seed=spec["seed"],
        checkpoint_every=checkpoint_every,
        max_steps=max_steps,
        progress=progress,
        autocast_dtype=torch.bfloat16 if prec == "bf16" else None,
        snapshots=spec.get("snapshots") or (),
    )
    if max_steps is not None and result.steps < method.cfg.epochs * (len(x) // method.cfg.batch_size):
        return out_dir / CKPT
    info = {
        "spec": spec,
        "config": {k: v for k, v in vars(method.cfg).items()},
        "n_train": len(ds),
        "steps": result.steps,
        "epochs": result.epochs,
        "resumed_from_step": result.resumed_from_step,
        "train_seconds": round(result.seconds, 3),
        "device": str(dev),
        "precision": prec,
        "channels_last": use_cl,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "final_losses": result.history[-1] if result.history else {},
    }
    save_model(method, out_dir / MODEL, extra={"run": spec["run"]})
    write_json(out_dir / "run.json", info)
    (out_dir / CKPT).unlink(missing_ok=True)
    return out_dir / MODEL


def load_model(path: str | Path, device: torch.device | str = "cpu"):
    from lcwbench.methods import get_method, make_config

    state = torch_load(path, "model file")
    try:
        cls = get_method(state["method"])
        cfg = make_config(cls, state["config"])
        method = cls(cfg, tuple(state["sample_shape"]))
        method.load_state_dict(state["state_dict"])
    except (KeyError, RuntimeError, TypeError) as exc:
        raise LcwbenchError(f"model file {path} does not hold a valid lcwbench model: {str(exc)[:160]}") from None
    return method.to(device).eval()

"""Measure what matters for throughput and print one JSON object.

    .venv/bin/python benchmarks/bench.py [--device auto|cpu|cuda] [--out FILE] [--eval-n 100]

* training steps/s of the LCW MNIST MLP (ae and cwae) at batch 64 and 256, data on the device;
* training steps/s of conv nets on 32 px images (GLO's Table 7 generator with the Lap1 loss, Geng's
  Mimicry-style autoencoder and critic) at batch 64: fp32, and on a GPU also bf16 autocast with
  channels-last (what ``precision: auto`` picks there);
* cw_normality and cw_sampling forward+backward time at n = 64, 256, 1024 for D = 784 and 12288;
* one evaluation with cached reference statistics vs the same evaluation that must first compute
  them (stand-in extractor, ``--eval-n`` generated and reference images).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lcwbench.distances import cw_normality, cw_sampling  # noqa: E402
from lcwbench.methods import build_method  # noqa: E402
from lcwbench.runner import configure_backend, pick_device  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timeit(fn, device, repeat=5, warmup=2) -> float:
    """Median seconds of ``fn()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_training(device, x_all, steps=100):
    out = {}
    for name in ("ae", "cwae"):
        for bs in (64, 256):
            torch.manual_seed(0)
            m = build_method(name, {"batch_size": bs}, (1, 28, 28)).to(device)
            opts = m.build_optimizers()
            gen = torch.Generator().manual_seed(0)

            def run(m=m, opts=opts, bs=bs, gen=gen):
                for _ in range(steps):
                    idx = torch.randint(0, x_all.shape[0], (bs,), generator=gen).to(device)
                    m.train_step(x_all[idx].float() / 255.0, opts)

            sec = timeit(run, device, repeat=3, warmup=1)
            out[f"{name}_batch{bs}_steps_per_s"] = round(steps / sec, 1)
    return out


def bench_conv(device, steps=10):
    """Conv-net steps/s at 32 px; ``bf16_cl`` = bf16 autocast + channels-last (GPU only: on a CPU bf16
    convolutions are emulated and slow, and CPU runs stay fp32)."""
    from lcwbench.runner import channels_last

    out = {}
    x = torch.rand(1024, 3, 32, 32, device=device)
    modes = ["fp32"] + (["bf16_cl"] if device.type == "cuda" else [])
    for name, params in (("glo", {"rec_loss": "lap1"}), ("geng", {"arch": "mimicry"})):
        for mode in modes:
            torch.manual_seed(0)
            m = build_method(name, {"batch_size": 64, **params}, (3, 32, 32)).to(device)
            if name == "geng":
                m.stage1_steps.fill_(10**9)
            use_cl = mode == "bf16_cl"
            if use_cl:
                m = m.to(memory_format=torch.channels_last)
            data, to_float = m.training_data(x, channels_last(lambda b: b, use_cl))
            opts = m.build_optimizers()
            gen = torch.Generator().manual_seed(0)

            def run(m=m, opts=opts, data=data, to_float=to_float, gen=gen, use_cl=use_cl):
                for _ in range(steps):
                    idx = torch.randint(0, len(data), (64,), generator=gen).to(device)
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_cl):
                        m.train_step(to_float(data[idx]), opts)

            sec = timeit(run, device, repeat=3, warmup=1)
            out[f"{name}_32px_batch64_{mode}_steps_per_s"] = round(steps / sec, 2)
    return out


def bench_cw(device):
    out = {}
    for d in (784, 12288):
        for n in (64, 256, 1024):
            x = torch.randn(n, d, device=device, requires_grad=True)
            y = torch.randn(n, d, device=device)

            def norm(x=x):
                cw_normality(x).backward()

            def samp(x=x, y=y):
                cw_sampling(x, y, 0.01).backward()

            out[f"cw_normality_fwd_bwd_ms_n{n}_D{d}"] = round(1000 * timeit(norm, device), 3)
            out[f"cw_sampling_fwd_bwd_ms_n{n}_D{d}"] = round(1000 * timeit(samp, device), 3)
    return out


def bench_eval(device, data_root, n):
    from lcwbench.evaluate import compute_refstats, evaluate_run
    from lcwbench.metrics import make_standin_weights
    from lcwbench.runner import train_run

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = {"run": "bench", "dataset": "mnist", "data": {"max_items": 512}, "method": "ae",
                "params": {"epochs": 1, "batch_size": 64}, "seed": 0}
        dev = str(device)
        train_run(spec, tmp / "run", data_root=data_root, device=dev)
        weights = make_standin_weights(tmp / "standin.pth")
        fid = {"extractor": "standin", "batch_size": 50, "implementation": "torch-fidelity"}
        proto = {"n_gen": n, "ref_split": "train", "ref_n": n, "n_rec": 1000, "rec_split": "test", "is_splits": 10,
                 "prd": True, "kid": True}

        def refstats():
            return compute_refstats("mnist", {}, "train", n, fid, tmp / "ref.npz", standin_weights=str(weights),
                                    data_root=data_root, device=dev)

        def evaluate():
            return evaluate_run(tmp / "run", spec, "bench", proto, fid, tmp / "ref.npz", tmp / "run" / "metrics.json",
                                standin_weights=str(weights), data_root=data_root, device=dev)

        t0 = time.perf_counter()
        refstats()
        evaluate()
        uncached = time.perf_counter() - t0
        t0 = time.perf_counter()
        evaluate()
        cached = time.perf_counter() - t0
    return {"eval_n": n, "eval_with_cached_refstats_s": round(cached, 2),
            "eval_computing_refstats_s": round(uncached, 2), "extractor": "standin (same network as Inception-v3)"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--data-root", default=None)
    p.add_argument("--eval-n", type=int, default=100)
    p.add_argument("--skip-eval", action="store_true")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    from lcwbench.data import load_dataset

    device = pick_device(a.device)
    configure_backend(device)
    x_all = load_dataset("mnist", "train", data_root=a.data_root).x.to(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    res = {
        "device": name,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "training": bench_training(device, x_all),
        "training_conv": bench_conv(device),
        "cw": bench_cw(device),
    }
    if not a.skip_eval:
        res["evaluation"] = bench_eval(device, a.data_root, a.eval_n)
    text = json.dumps(res, indent=2)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()

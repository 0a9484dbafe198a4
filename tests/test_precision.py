"""The GPU path's precision switch: bf16 autocast for image models on a GPU, fp32 on the CPU. The CPU
runs the same autocast code path here (CPU autocast), so a method whose step breaks under autocast
fails this test before it fails on a cluster."""

from __future__ import annotations

import json

import pytest
import torch

from lcwbench.errors import LcwbenchError
from lcwbench.methods import build_method
from lcwbench.runner import channels_last, load_model, resolve_precision, train_run

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_resolve_precision():
    assert resolve_precision("auto", CPU, (1, 32, 32)) == "fp32"  # CPU runs stay bitwise reproducible
    assert resolve_precision("auto", CUDA, (3, 64, 64)) == "bf16"
    assert resolve_precision("auto", CUDA, (128,)) == "fp32"  # vector data: MLPs, nothing to gain
    assert resolve_precision("bf16", CPU, (128,)) == "bf16" and resolve_precision("fp32", CUDA, (1, 8, 8)) == "fp32"
    with pytest.raises(LcwbenchError, match="precision must be one of"):
        resolve_precision("fp16", CPU, (1, 8, 8))


def test_channels_last_wraps_to_float_for_image_batches():
    def to_float(b):
        return b.float() / 255

    batch = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    out = channels_last(to_float, True)(batch)
    assert out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous()
    assert channels_last(to_float, False) is to_float
    assert channels_last(to_float, True)(torch.zeros(2, 5, dtype=torch.uint8)).shape == (2, 5)


@pytest.mark.parametrize("method", ["wae_gan", "dcgan", "geng"])
def test_a_step_under_bf16_autocast_is_finite(method):
    """BCE (refused by autocast unless computed in fp32), conv nets, gradient penalties."""
    torch.manual_seed(0)
    params = {"batch_size": 4, "arch": "mlp", "width": 16, "depth": 1} if method == "geng" else {"batch_size": 4}
    m = build_method(method, params, (1, 32, 32))
    opts = m.build_optimizers()
    x, to_float = m.training_data(torch.rand(8, 1, 32, 32), lambda b: b)
    if method == "geng":
        m.stage1_steps.fill_(10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        terms = m.train_step(to_float(x[:4]), opts)
    assert all(bool(torch.isfinite(v).all()) for v in terms.values())


def test_train_run_records_precision_and_bf16_changes_the_result(tmp_path, shared_data):
    spec = {"run": "p", "dataset": "mnist", "data": {"max_items": 128}, "method": "ae",
            "params": {"epochs": 1, "batch_size": 32, "latent_dim": 4}, "seed": 0}
    models = {}
    for prec in ("auto", "bf16"):
        out = train_run(spec, tmp_path / prec, data_root=shared_data, device="cpu", precision=prec)
        info = json.loads((tmp_path / prec / "run.json").read_text())
        assert info["precision"] == ("fp32" if prec == "auto" else "bf16") and info["channels_last"] is False
        models[prec] = load_model(out)
    a, b = models["auto"].state_dict(), models["bf16"].state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)  # autocast really ran (bf16 rounding moved the weights)
    assert all(v.dtype == torch.float32 for v in b.values() if v.is_floating_point())  # parameters stay fp32

"""Evaluation pieces of the GLDO paper: interpolation FID and reconstruction by latent search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lcwbench.evaluate import interpolation_fid, search_reconstruction_metrics


class Linear2D(torch.nn.Module):
    """decode(z) = z as 1 x 1 x 2 'images'; latent codes from N(0, I)."""

    has_encoder = False

    def __init__(self):
        super().__init__()
        self.cfg = type("C", (), {"latent_dim": 2})()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def sample_latent(self, n, generator=None):
        return torch.randn(n, 2, generator=generator)

    def decode(self, z):
        return (z + 0 * self.w).reshape(-1, 1, 1, 2)


class Flat:
    batch_size = 50

    def __call__(self, batches):
        return {"pool3": np.concatenate([b.reshape(b.shape[0], -1).numpy().astype(np.float64) for b in batches])}


def test_interpolation_fid_is_frechet_distance_of_the_mixed_codes():
    # t z1 + (1 - t) z2 with independent N(0, I) codes has mean 0 and variance E[t^2 + (1-t)^2] = 2/3
    model = Linear2D()
    ref = {"mu": np.zeros(2), "sigma": np.eye(2) * (2 / 3)}
    out = interpolation_fid(model, Flat(), ref, 20000, 0, torch.device("cpu"), {"fid_arithmetic": "torch-fidelity"})
    assert out["value"] < 0.01
    ref_far = {"mu": np.array([1.0, 0.0]), "sigma": np.eye(2) * (2 / 3)}
    far = interpolation_fid(model, Flat(), ref_far, 20000, 0, torch.device("cpu"), {"fid_arithmetic": "torch-fidelity"})
    assert far["value"] == pytest.approx(1.0, abs=0.03)  # |mu difference|^2 = 1


class Split:
    is_image = True

    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def to_float(self, b):
        return b


def test_search_reconstruction_recovers_images_in_the_generators_range(tmp_path: Path):
    # targets lie exactly in the range of decode: the search finds them (PSNR high, MSE ~ 0)
    model = Linear2D()
    x = torch.tensor([[0.2, 0.7], [0.9, 0.1], [0.5, 0.5]]).reshape(3, 1, 1, 2)
    protocol = {"search": {"n": 3, "steps": 3000, "lr": 0.05, "loss": "l2"}, "rec_split": "test"}
    spec = {"seed": 0, "dataset": "mnist", "data": {}}
    m = search_reconstruction_metrics(model, Split(x), protocol, spec, torch.device("cpu"), tmp_path)
    assert m["mse"]["value"] < 1e-6 and m["psnr"]["value"] > 50
    assert m["psnr"]["protocol"]["search"]["loss"] == "l2" and "latent search" in m["psnr"]["protocol"]["definition"]
    assert 0 < m["psnr"]["search_steps_taken"] <= 3000 and "search_steps_taken" not in m["psnr"]["protocol"]


def test_search_steps_taken_do_not_split_a_table_row(tmp_path: Path):
    """Two seeds whose searches converge after different numbers of steps share one protocol (one row)."""
    import json

    from lcwbench.tables import summarize

    x = torch.tensor([[0.2, 0.7], [0.9, 0.1]]).reshape(2, 1, 1, 2)
    protocol = {"search": {"n": 2, "steps": 3000, "lr": 0.05, "loss": "l2"}, "rec_split": "test"}
    paths, taken = [], []
    for seed in (0, 1):
        m = search_reconstruction_metrics(Linear2D(), Split(x), protocol, {"seed": seed, "dataset": "mnist"},
                                          torch.device("cpu"), tmp_path)
        taken.append(m["psnr"]["search_steps_taken"])
        path = tmp_path / f"m{seed}.json"
        path.write_text(json.dumps({"run": f"r-s{seed}", "dataset": "mnist", "method": "glo", "seed": seed,
                                    "metrics": {"psnr": m["psnr"]}}))
        paths.append(path)
    assert taken[0] != taken[1]  # the premise: the two searches stopped at different steps
    assert summarize(paths)["protocol_id"].nunique() == 1

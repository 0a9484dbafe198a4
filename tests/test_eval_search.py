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

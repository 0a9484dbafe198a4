"""Qualitative figures (lcwbench.figures) on tiny untrained models: files, sizes, layout, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lcwbench.errors import LcwbenchError
from lcwbench.figures import (
    interpolation_strip,
    latent_comparison,
    lt_interpolations,
    reconstruction_figure,
    sample_grid,
)
from lcwbench.methods import build_method
from lcwbench.methods.latent_trick import build_on_base

SHAPE = (1, 28, 28)
CELL = 28 + 2  # one image plus the grid padding
SMALL = {"width": 16, "depth": 1}


def _ae(latent_dim: int = 2, shape=SHAPE, seed: int = 0, name: str = "ae"):
    torch.manual_seed(seed)
    return build_method(name, {"latent_dim": latent_dim, **SMALL}, shape)


def _uint8(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, *SHAPE), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _lt(base, noise_dim: int = 3):
    torch.manual_seed(1)
    lt = build_on_base({"noise_dim": noise_dim, "width": 16, "depth": 2, "batch_size": 32}, base)
    data = torch.rand(40, *base.sample_shape, generator=torch.Generator().manual_seed(9))
    lt.training_data(data, lambda b: b)
    assert float(lt.gamma) > 0
    return lt


def _png(path) -> np.ndarray:
    assert path.is_file()
    with Image.open(path) as im:
        assert im.format == "PNG"
        arr = np.asarray(im.convert("RGB"), dtype=np.float64)
    assert arr.std() > 0
    return arr


def _cell(arr: np.ndarray, row: int, col: int) -> np.ndarray:
    """The 28 x 28 grey pixels of grid cell (row, col) of a save_grid image."""
    y, x = 2 + row * CELL, 2 + col * CELL
    return arr[y : y + 28, x : x + 28, 0]


def test_sample_grid_layout_and_determinism(tmp_path):
    model = _ae()
    model.train()
    a = sample_grid(model, tmp_path / "a.png", n=16, seed=3, nrow=8)
    b = sample_grid(model, tmp_path / "b.png", n=16, seed=3, nrow=8)
    c = sample_grid(model, tmp_path / "c.png", n=16, seed=4, nrow=8)
    assert model.training  # the previous mode comes back
    arr = _png(a)
    assert arr.shape[:2] == (2 * CELL + 2, 8 * CELL + 2)
    assert _cell(arr, 0, 0).std() > 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    with torch.no_grad():
        expected = model.eval().sample(16, torch.Generator().manual_seed(3))[0, 0]
    assert np.abs(_cell(arr, 0, 0) - expected.numpy() * 255).max() <= 1.0
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_sample_grid_with_title_and_vectors(tmp_path):
    arr = _png(sample_grid(_ae(), tmp_path / "t.png", n=16, seed=0, nrow=8, title="AE samples"))
    assert arr.shape[1] > arr.shape[0]
    vec = _ae(shape=(128,))
    p1 = sample_grid(vec, tmp_path / "v1.png", n=200, seed=1)
    p2 = sample_grid(vec, tmp_path / "v2.png", n=200, seed=1)
    _png(p1)
    assert p1.read_bytes() == p2.read_bytes()


def test_reconstruction_pairs_side_by_side(tmp_path):
    model = _ae()
    x = _uint8(16, seed=5)
    arr = _png(reconstruction_figure(model, x, tmp_path / "rec.png", n=16))
    assert arr.shape[:2] == (2 * CELL + 2, 16 * CELL + 2)  # 16 pairs: 8 per row
    with torch.no_grad():
        rec = model.reconstruct(x.float() / 255.0)
    for i in (0, 7):
        assert np.abs(_cell(arr, 0, 2 * i) - x[i, 0].numpy()).max() <= 1.0  # odd columns (1-based): real
        assert np.abs(_cell(arr, 0, 2 * i + 1) - rec[i, 0].numpy() * 255).max() <= 1.0  # even: reconstruction
    assert np.abs(_cell(arr, 1, 0) - x[8, 0].numpy()).max() <= 1.0  # the second row starts with pair 9
    titled = _png(reconstruction_figure(model, x[:4].float() / 255, tmp_path / "rec_t.png", n=4, title="AE"))
    assert titled.shape[1] > titled.shape[0]
    with pytest.raises(LcwbenchError, match="encoder"):
        reconstruction_figure(build_method("cw_generator", SMALL, SHAPE), x, tmp_path / "no.png")


@pytest.mark.parametrize("latent_dim", [2, 4])
def test_lt_interpolations(tmp_path, latent_dim):
    lt = _lt(_ae(latent_dim=latent_dim))
    out, latent = lt_interpolations(lt, tmp_path / "interp.png", k=6, rows=2, seed=0)
    assert out == tmp_path / "interp.png" and latent == tmp_path / "interp_latent.png"
    arr = _png(out)
    assert arr.shape[1] > arr.shape[0]  # 4 rows of 6 images plus the labels
    _png(latent)
    first = out.read_bytes()
    lt_interpolations(lt, tmp_path / "interp.png", k=6, rows=2, seed=0)
    assert out.read_bytes() == first
    with pytest.raises(LcwbenchError, match="latent_trick"):
        lt_interpolations(_ae(), tmp_path / "x.png")


def test_lt_interpolations_vector_data(tmp_path):
    lt = _lt(_ae(latent_dim=3, shape=(128,)))
    out, latent = lt_interpolations(lt, tmp_path / "v.png", k=5, rows=3, seed=2)
    _png(out)
    _png(latent)


def test_latent_comparison(tmp_path):
    ae, cwae = _ae(seed=0), _ae(seed=1, name="cwae")
    x = _uint8(120, seed=2)
    labels = torch.arange(120) % 10
    models = {"AE": (ae, _lt(ae)), "CWAE": (cwae, None)}
    arr = _png(latent_comparison(models, x, tmp_path / "fig4.png", seed=0, labels=labels))
    assert arr.shape[0] > 300 and arr.shape[1] > 300
    p = latent_comparison({"AE": (ae, _lt(ae))}, x, tmp_path / "fig4b.png", seed=0)
    q = latent_comparison({"AE": (ae, _lt(ae))}, x, tmp_path / "fig4c.png", seed=0)
    assert p.read_bytes() == q.read_bytes()
    with pytest.raises(LcwbenchError, match="2-D latent"):
        latent_comparison({"AE3": (_ae(latent_dim=3), None)}, x, tmp_path / "bad.png")
    with pytest.raises(LcwbenchError, match="labels"):
        latent_comparison(models, x, tmp_path / "bad.png", labels=labels[:5])
    assert not (tmp_path / "bad.png").exists()


def test_interpolation_strip(tmp_path):
    model = _ae(latent_dim=4)
    xa, xb = _uint8(3, seed=7).float() / 255, _uint8(3, seed=8).float() / 255
    arr = _png(interpolation_strip(model, xa, xb, tmp_path / "strip.png", k=10))
    assert arr.shape[:2] == (3 * CELL + 2, 10 * CELL + 2)
    with torch.no_grad():
        ends = model.reconstruct(torch.cat([xa[:1], xb[:1]]))
    assert np.abs(_cell(arr, 0, 0) - ends[0, 0].numpy() * 255).max() <= 1.0
    assert np.abs(_cell(arr, 0, 9) - ends[1, 0].numpy() * 255).max() <= 1.0
    wide = _png(interpolation_strip(model, xa[0], xb[0], tmp_path / "one.png", k=5, with_inputs=True))
    assert wide.shape[:2] == (CELL + 2, 7 * CELL + 2)
    with pytest.raises(LcwbenchError, match="same shape"):
        interpolation_strip(model, xa, xb[:2], tmp_path / "bad.png")

"""Geng et al. evaluation and figures: distance to the swiss-roll manifold (by hand), its place in
metrics.json, the comparison figures (Figs. 4-6) and their config checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from lcwbench.comparison_figures import (
    LATENT_COLUMNS,
    SUMMARY_COLUMNS,
    latent_prior,
    manifold_scatter,
    metric_summary,
    variant_grid,
)
from lcwbench.config import expand_runs, validate_config
from lcwbench.data import load_dataset
from lcwbench.errors import LcwbenchError
from lcwbench.evaluate import compute_refstats, evaluate_run
from lcwbench.methods import build_method
from lcwbench.metrics.fid import frechet_distance_vectors
from lcwbench.metrics.manifold import (
    DENSE_N,
    manifold_distance,
    manifold_reference,
    nearest_distances,
    swissroll_dense,
)
from lcwbench.runner import load_model, train_run

torch.set_num_threads(1)

VEC_SMALL = {"latent_dim": 2, "width": 8, "depth": 1, "batch_size": 32}
ADV_SMALL = {**VEC_SMALL, "latent_width": 8, "latent_depth": 1}


# ----------------------------------------------------------------------------------------------- metric


def test_manifold_distance_by_hand():
    reference = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    points = np.array([[0.5, 0.0], [3.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    # nearest: 0.5 (to (0,0) or (1,0)), 2 (to (1,0)), 1 (to (0,0) or (0,2)), 0 (on (1,0))
    expected = [0.5, 2.0, 1.0, 0.0]
    assert nearest_distances(points, reference).tolist() == pytest.approx(expected, abs=1e-12)
    assert manifold_distance(points, reference) == pytest.approx(3.5 / 4, abs=1e-12)
    # one query row per block gives the same numbers
    assert manifold_distance(points, reference, max_block_entries=1) == pytest.approx(3.5 / 4, abs=1e-12)


def test_manifold_distance_rejects_bad_input():
    ref = torch.zeros(3, 2)
    with pytest.raises(LcwbenchError, match="2 dimensions but the reference has 3"):
        nearest_distances(torch.zeros(4, 2), torch.zeros(3, 3))
    with pytest.raises(LcwbenchError, match="NaN or infinite"):
        nearest_distances(torch.tensor([[float("nan"), 0.0]]), ref)
    with pytest.raises(LcwbenchError, match="non-empty N x D"):
        nearest_distances(torch.zeros(0, 2), ref)


def test_dense_swissroll_is_deterministic_and_matches_the_data_set():
    dense = swissroll_dense()
    assert dense.shape == (DENSE_N, 2) and dense.dtype == torch.float64
    assert torch.equal(dense, swissroll_dense())
    assert manifold_reference("swissroll")[0].shape == (DENSE_N, 2)
    assert manifold_reference("synthetic") is None
    # consecutive reference points are close: the discretisation error is tiny
    assert float((dense[1:] - dense[:-1]).norm(dim=1).max()) < 1.2e-4
    clean = load_dataset("swissroll", "test", n=300).x
    assert manifold_distance(clean, dense) < 1e-4  # float32 data on the float64 curve
    noisy = load_dataset("swissroll", "test", n=300, noise=0.05).x
    assert 0.01 < manifold_distance(noisy, dense) < 0.06
    # the roll's ends: t = 1.5 pi and 4.5 pi
    assert dense[0].tolist() == pytest.approx([0.0, -1.5 * math.pi / (4.5 * math.pi)], abs=1e-12)
    assert dense[-1].tolist() == pytest.approx([0.0, 1.0], abs=1e-12)


# ----------------------------------------------------------------------------------------------- evaluation


def test_swissroll_evaluation_records_mse_and_manifold_distances(tmp_path):
    spec = {"run": "sr-vae", "dataset": "swissroll", "data": {"n": 256}, "method": "vae",
            "params": {**VEC_SMALL, "epochs": 1}, "seed": 0, "base": None}
    train_run(spec, tmp_path / "run", device="cpu")
    fid_cfg = {"extractor": "standin", "batch_size": 50}
    protocol = {"n_gen": 100, "ref_split": "test", "ref_n": 100, "n_rec": 80, "rec_split": "test",
                "prd": False, "kid": False, "is_splits": 10}
    ref = compute_refstats("swissroll", {"n": 256}, "test", 100, fid_cfg, tmp_path / "ref.npz", device="cpu")
    res = evaluate_run(tmp_path / "run", spec, "p", protocol, fid_cfg, ref, tmp_path / "run" / "metrics.json",
                       device="cpu")
    m = res["metrics"]
    assert {"fid", "mse", "rec_error", "manifold_dist", "manifold_dist_rec"} <= set(m)
    assert m["manifold_dist"]["protocol"]["n"] == 100 and m["manifold_dist"]["protocol"]["protocol"] == "p"
    assert "100000 points" in m["manifold_dist"]["protocol"]["reference"]
    assert "generated point" in m["manifold_dist"]["protocol"]["definition"]
    assert m["manifold_dist_rec"]["protocol"]["n"] == 80 and m["mse"]["protocol"]["n"] == 80
    assert m["mse"]["protocol"]["definition"] == "mean squared error per entry"

    # the same numbers by hand
    model = load_model(tmp_path / "run" / "model.pt")
    test = load_dataset("swissroll", "test", n=256).x
    with torch.no_grad():
        rec = model.reconstruct(test[:80])
    dense = swissroll_dense()
    assert m["mse"]["value"] == pytest.approx(float((rec.double() - test[:80].double()).pow(2).mean()), rel=1e-6)
    assert m["manifold_dist_rec"]["value"] == pytest.approx(manifold_distance(rec, dense), rel=1e-6)
    gen = torch.Generator().manual_seed(0 + 10_000)
    with torch.no_grad():
        samples = torch.cat([model.sample(50, generator=gen), model.sample(50, generator=gen)])
    assert m["manifold_dist"]["value"] == pytest.approx(manifold_distance(samples, dense), rel=1e-6)
    on_disk = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert on_disk["metrics"]["manifold_dist"]["value"] == m["manifold_dist"]["value"]


# ----------------------------------------------------------------------------------------------- figures


def _vec_models():
    torch.manual_seed(0)
    return {
        "VAE": build_method("vae", VEC_SMALL, (2,)).eval(),
        "ALAE": build_method("alae", {**ADV_SMALL, "f_depth": 1}, (2,)).eval(),
        "Ours": _geng_trained((2,)),
    }


def _geng_trained(shape, **params):
    """A tiny geng model whose latent BN has running statistics (a few stage-1 steps)."""
    torch.manual_seed(0)
    model = build_method("geng", {**ADV_SMALL, "epochs": 2, "latent_epochs": 1, **params}, shape)
    x = torch.rand(64, *shape)
    model.training_data(x, lambda b: b)
    opts = model.build_optimizers()
    model.train()
    for i in range(2):
        model.train_step(x[i * 32 : (i + 1) * 32], opts)
    return model.eval()


def test_manifold_scatter_and_latent_prior(tmp_path):
    models = _vec_models()
    x = load_dataset("swissroll", "test", n=200).x
    out = manifold_scatter(models, x, tmp_path / "fig4.png", seed=3)
    assert Image.open(out).size[0] > 500
    own = pd.read_csv(tmp_path / "fig4.csv")
    assert list(own.columns) == SUMMARY_COLUMNS
    assert sorted(zip(own.label, own.metric)) == sorted((k, m) for k in models for m in ("mse", "manifold_dist"))

    out5 = latent_prior(models, x, tmp_path / "fig5.png", seed=3)
    assert out5.stat().st_size > 0
    stats = pd.read_csv(tmp_path / "fig5.csv")
    assert list(stats.columns) == LATENT_COLUMNS and list(stats.label) == list(models)
    assert list(stats.latent_samples) == ["N(0, I) prior", "model.sample_latent (mapped prior)",
                                          "model.sample_latent (mapped prior)"]
    # VAE decodes the prior itself: both distances agree
    vae = stats[stats.label == "VAE"].iloc[0]
    assert vae.frechet_codes_vs_samples == pytest.approx(vae.frechet_codes_vs_prior)
    # deterministic for a seed
    latent_prior(models, x, tmp_path / "again.png", seed=3)
    assert (tmp_path / "again.csv").read_text() == (tmp_path / "fig5.csv").read_text()

    wide = {"AE3": build_method("vae", {**VEC_SMALL, "latent_dim": 3}, (2,))}
    with pytest.raises(LcwbenchError, match="needs a 2-D latent"):
        latent_prior(wide, x, tmp_path / "bad.png")
    with pytest.raises(LcwbenchError, match="needs 2-D vector data"):
        manifold_scatter(models, torch.rand(10, 3), tmp_path / "bad.png")


def test_variant_grid(tmp_path):
    shape = (1, 8, 8)
    models = {
        "Without BN": _geng_trained(shape, arch="mlp", latent_bn=False, regulariser=False),
        "BN+Regularizer": _geng_trained(shape, arch="mlp"),
    }
    x = torch.randint(0, 256, (30, *shape), dtype=torch.uint8)
    summary = pd.DataFrame([{"label": "BN+Regularizer", "metric": "mse", "mean": 0.1}], columns=SUMMARY_COLUMNS)
    out = variant_grid(models, x, tmp_path / "fig6.png", seed=1, summary=summary, title="ablation")
    assert Image.open(out).size[0] > 300
    assert pd.read_csv(tmp_path / "fig6.csv").metric.tolist() == ["mse"]
    with pytest.raises(LcwbenchError, match="at least 24 images"):
        variant_grid(models, x[:10], tmp_path / "bad.png")


def test_metric_summary_and_frechet(tmp_path):
    def write(name, seed, value, n=100):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"run": name, "seed": seed, "metrics": {
            "mse": {"value": value, "protocol": {"n": n}}}}))
        return path

    files = {"A": [write("a1", 1, 3.0), write("a0", 0, 1.0)], "B": [write("b0", 0, 5.0)]}
    df = metric_summary(files, ["mse", "fid"])
    a = df[df.label == "A"].iloc[0]
    assert (a["mean"], a["std"], a["n_seeds"], a["values_per_seed"], a["runs"]) == (2.0, pytest.approx(math.sqrt(2)),
                                                                                       2, "1 3", "a0 a1")
    assert df[df.label == "B"]["std"].isna().all() and set(df.metric) == {"mse"}
    with pytest.raises(LcwbenchError, match="different protocols"):
        metric_summary({"A": [write("c0", 0, 1.0), write("c1", 1, 1.0, n=5)]}, ["mse"])

    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 2))
    assert frechet_distance_vectors(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance_vectors(a, a + np.array([3.0, 0.0])) == pytest.approx(9.0, abs=1e-6)


# ----------------------------------------------------------------------------------------------- config

CFG = """
seeds: [0, 1]
fid: {extractor: standin}
protocols:
  v: {n_gen: 100, ref_split: test, ref_n: 100}
  img: {n_gen: 100, ref_split: train, ref_n: 100}
tables: {}
experiments:
  sr_vae: {dataset: swissroll, method: vae, params: {latent_dim: 2}, protocol: v}
  sr_geng: {dataset: swissroll, method: geng, params: {latent_dim: 2}, protocol: v}
  ab_a: {dataset: mnist, data: {image_size: 32}, method: geng, params: {latent_bn: false}, protocol: img, seeds: [0]}
  ab_b: {dataset: mnist, data: {image_size: 32}, method: geng, protocol: img, seeds: [0]}
figures:
  fig4: {kind: manifold_scatter, experiments: {VAE: sr_vae, Ours: sr_geng}}
  fig5: {kind: latent_prior, experiments: {VAE: sr_vae, Ours: sr_geng}, seed: 1}
  fig6: {kind: variant_grid, experiments: {A: ab_a, B: ab_b}}
"""


def test_comparison_figures_config():
    cfg = validate_config(yaml.safe_load(CFG))
    assert len(expand_runs(cfg)) == 6


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["figures"]["fig4"]["experiments"].update(X="nope"), r"names experiment 'nope', which is not"),
        (lambda c: c["figures"]["fig4"].pop("experiments"), r"'experiments' is a required property"),
        (lambda c: c["figures"]["fig6"].update(seed=1), r"experiment 'ab_a' has no seed 1"),
        (lambda c: c["figures"]["fig4"]["experiments"].update(A="ab_a"), r"differ in dataset or data"),
        (lambda c: c["figures"]["fig6"]["experiments"].update(S="sr_vae"), r"differ in dataset or data"),
        (lambda c: c["figures"].update(f={"kind": "manifold_scatter", "experiments": {"A": "ab_a"}}),
         r"needs the 2-D swiss roll; experiment 'ab_a' uses 'mnist'"),
        (lambda c: c["figures"].update(f={"kind": "variant_grid", "experiments": {"A": "sr_vae"}}),
         r"variant_grid figure needs images"),
        (lambda c: c["experiments"]["sr_vae"]["params"].update(latent_dim=3), r"latent_dim 3; a latent_prior figure"),
        (lambda c: c["experiments"]["sr_vae"].update(sweep={"lr": [0.1, 0.2]}), r"has a sweep"),
        (lambda c: c["experiments"].update(g={"dataset": "swissroll", "method": "cw_generator", "protocol": "v"})
         or c["figures"]["fig4"]["experiments"].update(G="g"), r"'cw_generator' of experiment 'g' has no encoder"),
    ],
)
def test_comparison_figure_config_errors(mutate, message, assert_config_error):
    assert_config_error(yaml.safe_load(CFG), mutate, message)

"""FID of test reconstructions (GLDO Table 8's reconstruction row): the evaluation's number equals the
Frechet distance computed by hand from the reconstructions' features, and it carries its protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lcwbench.evaluate import Features, _fid, compute_refstats, evaluate_run, load_refstats
from lcwbench.metrics import make_standin_weights
from lcwbench.runner import load_model, load_split, train_run


@pytest.mark.slow
def test_reconstruction_fid_by_hand(tmp_path, shared_data):
    spec = {"run": "rf", "dataset": "mnist", "data": {"max_items": 256}, "method": "ae",
            "params": {"epochs": 1, "batch_size": 64, "latent_dim": 4}, "seed": 0}
    train_run(spec, tmp_path / "run", data_root=shared_data, device="cpu")
    weights = str(make_standin_weights(tmp_path / "standin.pth", seed=0))
    fid_cfg = {"extractor": "standin", "batch_size": 50, "implementation": "torch-fidelity"}
    protocol = {"n_gen": 60, "ref_split": "train", "ref_n": 80, "n_rec": 70, "rec_split": "test", "prd": False,
                "kid": False, "is_splits": 2, "rec_fid": True}
    ref_path = compute_refstats("mnist", {"max_items": 256}, "train", 80, fid_cfg, tmp_path / "ref.npz",
                                standin_weights=weights, data_root=shared_data, device="cpu")
    res = evaluate_run(tmp_path / "run", spec, "p", protocol, fid_cfg, ref_path, tmp_path / "run" / "metrics.json",
                       standin_weights=weights, data_root=shared_data, device="cpu")
    m = res["metrics"]["fid_reconstruction"]
    assert m["protocol"]["reconstructions"] == {"split": "test", "n": 70}
    assert m["protocol"]["is_standin"] and m["protocol"]["n_gen"] == 60  # the generation FID's protocol, too

    model = load_model(tmp_path / "run" / "model.pt")
    test = load_split(spec, "test", shared_data)
    with torch.no_grad():
        rec = model.reconstruct(test.to_float(test.x[:70]))
    pool = Features(fid_cfg, weights, torch.device("cpu"), True)([rec[:50], rec[50:]])["pool3"]
    ref = load_refstats(ref_path)
    by_hand = _fid(pool.mean(axis=0), np.cov(pool, rowvar=False), ref["mu"], ref["sigma"], "torch-fidelity")
    assert m["value"] == pytest.approx(by_hand, rel=1e-6)
    assert m["value"] != pytest.approx(res["metrics"]["fid"]["value"], rel=1e-3)  # not the generation FID

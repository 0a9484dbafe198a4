"""GLDO figures: FID vs eps (Fig. 8, a ucurve over any swept parameter), FID per model x loss (Fig. 7),
interpolation strips (Fig. 3) and FID vs training step from snapshots (Fig. 4)."""

from __future__ import annotations

import copy
import json
import math

import pandas as pd
import pytest
import yaml

from lcwbench import capacity, cli
from lcwbench import comparison_figures as cf
from lcwbench.config import expand_runs, validate_config
from lcwbench.errors import LcwbenchError

PROTO = {"extractor": "standin", "is_standin": True, "n_gen": 64}


def _metrics(tmp_path, run, seed, fid, protocol=PROTO, **extra):
    path = tmp_path / f"{run}.json"
    metrics = {"fid": {"value": fid, "protocol": protocol}, **extra}
    path.write_text(json.dumps({"run": run, "seed": seed, "metrics": metrics}))
    return path


# ------------------------------------------------------------------------------------- Fig. 8: ucurve over eps


def test_ucurve_over_eps_mean_std_and_categorical_axis(tmp_path):
    files, points = [], {}
    for eps, values in ((1.0, (50.0, 54.0)), (1000.0, (40.0, 41.0)), (100000.0, (60.0, 66.0))):
        for seed, v in enumerate(values):
            run = f"eps{eps}-s{seed}"
            files.append(_metrics(tmp_path, run, seed, v))
            points[run] = {"curve": "GLDO", "x": eps, "seed": seed}
    df = capacity.ucurve_data(points, files, "fid")
    assert list(df["x"]) == [1.0, 1000.0, 100000.0]
    assert list(df["mean"]) == [52.0, 40.5, 63.0]
    # sample std (ddof 1) of two values a, b is |a - b| / sqrt(2)
    assert list(df["std"]) == pytest.approx([4 / math.sqrt(2), 1 / math.sqrt(2), 6 / math.sqrt(2)])
    assert list(df["values_per_seed"]) == ["50 54", "40 41", "60 66"]
    assert json.loads(df["protocol"].iloc[0]) == PROTO
    out = capacity.plot_ucurve(df, tmp_path / "fig8.png", x_label=capacity.x_axis_label("eps"), x_scale="categorical")
    assert out.stat().st_size > 0
    csv = pd.read_csv(tmp_path / "fig8.csv")
    assert list(csv.columns) == capacity.UCURVE_COLUMNS and list(csv["mean"]) == [52.0, 40.5, 63.0]
    capacity.plot_ucurve(df, tmp_path / "log.png", x_scale="log")
    with pytest.raises(LcwbenchError, match="x_scale must be one of"):
        capacity.plot_ucurve(df, tmp_path / "bad.png", x_scale="squared")
    with pytest.raises(LcwbenchError, match="log x axis needs x values > 0"):
        capacity.plot_ucurve(df.assign(x=[0.0, 1.0, 2.0]), tmp_path / "bad.png", x_scale="log")


def test_x_axis_labels():
    assert capacity.x_axis_label() == "model capacity M (latent_dim)"  # the LMGAE figures as before
    assert capacity.x_axis_label("eps") == "value of eps"
    assert capacity.x_axis_label("step") == "training step (generator iterations)"


def test_ucurve_cli_with_x_param(tmp_path):
    files = [_metrics(tmp_path, f"r{i}", 0, 10.0 + i) for i in range(2)]
    points = {"r0": {"curve": "GLDO", "x": 1.0, "seed": 0}, "r1": {"curve": "GLDO", "x": 100.0, "seed": 0}}
    out = tmp_path / "f.png"
    rc = cli.main(
        [
            "ucurve",
            "--points",
            json.dumps(points),
            "--x-param",
            "eps",
            "--x-scale",
            "categorical",
            "--out",
            str(out),
            *map(str, files),
        ]
    )
    assert rc == 0 and out.exists()
    csv = pd.read_csv(tmp_path / "f.csv")
    assert list(csv["mean"]) == [10.0, 11.0] and csv["std"].isna().all() and list(csv["n_seeds"]) == [1, 1]


# --------------------------------------------------------------------------- Fig. 7: one metric per experiment


def test_metric_points_mean_std_and_csv(tmp_path):
    metrics = {
        "GLO_Lap": [
            _metrics(tmp_path, "a-s0", 0, 60.0),
            _metrics(tmp_path, "a-s1", 1, 64.0),
            _metrics(tmp_path, "a-s2", 2, 62.0),
        ],
        "GLDO_p": [_metrics(tmp_path, "b-s1", 1, 30.0), _metrics(tmp_path, "b-s0", 0, 35.0)],
    }
    summary = cf.metric_summary(metrics, ["fid"])
    out = cf.metric_points(summary, tmp_path / "fig7.png", metric="fid", title="t")
    assert out.stat().st_size > 0
    csv = pd.read_csv(tmp_path / "fig7.csv").set_index("label")
    assert list(csv.index) == ["GLO_Lap", "GLDO_p"]  # the given order
    assert csv.loc["GLO_Lap", "mean"] == 62.0 and csv.loc["GLO_Lap", "std"] == pytest.approx(2.0)
    assert csv.loc["GLDO_p", "mean"] == 32.5 and csv.loc["GLDO_p", "std"] == pytest.approx(5 / math.sqrt(2))
    assert csv.loc["GLDO_p", "values_per_seed"] == "35 30" and csv.loc["GLDO_p", "runs"] == "b-s0 b-s1"
    assert json.loads(csv.loc["GLO_Lap", "protocol"]) == PROTO
    with pytest.raises(LcwbenchError, match="no 'is'"):
        cf.metric_points(summary, tmp_path / "x.png", metric="is")


def test_metric_points_refuses_a_label_without_the_metric(tmp_path):
    metrics = {
        "A": [_metrics(tmp_path, "a", 0, 1.0)],
        "B": [_metrics(tmp_path, "b", 0, 2.0, f8={"value": 0.5, "protocol": {}})],
    }
    summary = cf.metric_summary(metrics, ["fid", "f8"])
    with pytest.raises(LcwbenchError, match="no 'f8' for A"):
        cf.metric_points(summary, tmp_path / "x.png", metric="f8")


def test_metric_figure_cli_keeps_the_order(tmp_path):
    pairs = [["Z", [str(_metrics(tmp_path, "z", 0, 5.0))]], ["A", [str(_metrics(tmp_path, "a", 0, 7.0))]]]
    out = tmp_path / "m.png"
    assert cli.main(["metric-figure", "--metrics", json.dumps(pairs), "--out", str(out)]) == 0
    assert list(pd.read_csv(tmp_path / "m.csv")["label"]) == ["Z", "A"]


# -------------------------------------------------------------------------------------------- configuration

CFG = """
fid: {extractor: standin}
tables: {}
seeds: [0, 1]
protocols:
  img: {n_gen: 10, ref_split: train, ref_n: 10}
experiments:
  glo: {dataset: mnist, data: {image_size: 32}, method: glo, protocol: img}
  gldo: {dataset: mnist, data: {image_size: 32}, method: gldo, params: {rec_loss: l2}, protocol: img}
  eps: {dataset: mnist, data: {image_size: 32}, method: gldo, params: {rec_loss: l2}, protocol: img,
        sweep: {eps: [1.0, 1000.0]}}
figures:
  fig8: {kind: ucurve, experiments: {GLDO: eps}, x_param: eps, x_scale: categorical}
  fig7: {kind: metric_comparison, experiments: {GLO_Lap: glo, GLDO_L2: gldo}}
"""


def test_gldo_figure_config():
    cfg = validate_config(yaml.safe_load(CFG))
    runs = expand_runs(cfg)
    assert len(runs) == 2 * 4  # glo, gldo, eps at two points, two seeds each
    assert sorted(s["params"]["eps"] for s in runs.values() if "eps" in s["experiments"]) == [1.0, 1.0, 1000.0, 1000.0]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["figures"]["fig8"].update(x_param="lr"), r"experiment 'eps' does not sweep 'lr'"),
        (lambda c: c["figures"]["fig8"].update(x_scale="squared"), r"'squared' is not one of"),
        (lambda c: c["figures"]["fig7"]["experiments"].update(X="nope"), r"names experiment 'nope', which is not"),
        (lambda c: c["figures"]["fig7"]["experiments"].update(E="eps"), r"experiment 'eps' has a sweep"),
        (lambda c: c["figures"]["fig7"].pop("experiments"), r"'experiments' is a required property"),
    ],
)
def test_gldo_figure_config_errors(mutate, message, assert_config_error):
    assert_config_error(yaml.safe_load(CFG), mutate, message)


# ------------------------------------------------------------------------------- Fig. 3: code interpolations


def _glo(name, n=10, seed=0):
    import torch

    from lcwbench.methods import build_method

    torch.manual_seed(seed)
    m = build_method(
        name, {"arch": "mlp", "width": 8, "depth": 1, "latent_dim": 3, "batch_size": 4, "rec_loss": "l2"}, (1, 8, 8)
    )
    m.training_data(torch.rand(n, 1, 8, 8), lambda b: b)
    return m.eval()


def test_choose_pairs_is_seeded_and_disjoint():
    from lcwbench.figures import choose_pairs

    p = choose_pairs(10, 3, seed=5)
    assert p == choose_pairs(10, 3, seed=5) and p != choose_pairs(10, 3, seed=6)
    flat = [i for pair in p for i in pair]
    assert len(set(flat)) == 6 and all(0 <= i < 10 for i in flat)
    with pytest.raises(LcwbenchError, match="cannot draw 6 disjoint pairs from 10"):
        choose_pairs(10, 6, seed=0)


def test_code_interpolations_decode_the_lines_between_learned_codes(tmp_path):
    import numpy as np
    import torch
    from PIL import Image

    from lcwbench.figures import GRID_PAD, choose_pairs, code_interpolations

    glo, gldo = _glo("glo"), _glo("gldo", seed=1)
    out, rows = code_interpolations({"GLO": glo, "GLDO": gldo}, tmp_path / "fig3.png", pairs=2, k=5, seed=3)
    assert out.stat().st_size > 0
    pairs = choose_pairs(10, 2, seed=3)
    csv = pd.read_csv(tmp_path / "fig3.csv")
    assert list(csv["label"]) == ["GLO", "GLO", "GLDO", "GLDO"]
    assert list(zip(csv["index_a"], csv["index_b"])) == pairs * 2
    a, b = pairs[0]
    za, zb = glo.codes[a].detach(), glo.codes[b].detach()
    assert csv["code_distance"][0] == pytest.approx(float((za - zb).norm()), rel=1e-6)
    assert csv["norm_a"][0] == pytest.approx(1.0, rel=1e-5)  # GLO keeps its codes on the unit sphere
    # the middle of a 5-step line is D((za + zb) / 2), the ends are D(za), D(zb)
    from lcwbench.figures import _decode_lines

    with torch.no_grad():
        line = _decode_lines(glo, za[None], zb[None], 5)[0]
        assert torch.allclose(line[2], glo.decode(((za + zb) / 2)[None])[0], atol=1e-6)
        assert torch.allclose(line[0], glo.decode(za[None])[0], atol=1e-6)
    assert np.asarray(Image.open(out)).shape[0] > 4 * (8 + GRID_PAD)
    with pytest.raises(LcwbenchError, match="different training sets"):
        code_interpolations({"A": glo, "B": _glo("glo", n=12)}, tmp_path / "x.png")


def test_code_interpolations_need_learned_codes(tmp_path):
    from lcwbench.figures import code_interpolations
    from lcwbench.methods import build_method

    ae = build_method("ae", {"latent_dim": 2}, (1, 28, 28))
    with pytest.raises(LcwbenchError, match="no learned per-image codes"):
        code_interpolations({"AE": ae}, tmp_path / "x.png")


def test_interpolation_strips_config():
    cfg = yaml.safe_load(CFG)
    cfg["figures"] = {
        "fig3": {
            "kind": "interpolation_strips",
            "experiments": {"GLO": "glo", "GLDO": "gldo"},
            "pairs": 2,
            "interp_steps": 6,
        }
    }
    validate_config(cfg)
    bad = copy.deepcopy(cfg)
    bad["experiments"]["vae"] = {"dataset": "mnist", "data": {"image_size": 32}, "method": "vae", "protocol": "img"}
    bad["figures"]["fig3"]["experiments"]["VAE"] = "vae"
    with pytest.raises(LcwbenchError, match="'vae' of experiment 'vae' learns no per-image codes"):
        validate_config(bad)
    bad = copy.deepcopy(cfg)
    bad["experiments"]["gldo"]["data"] = {"image_size": 32, "max_items": 100}
    with pytest.raises(LcwbenchError, match="differ in dataset or data"):
        validate_config(bad)
    bad = copy.deepcopy(cfg)
    bad["figures"]["fig3"]["seed"] = 4
    with pytest.raises(LcwbenchError, match="has no seed 4"):
        validate_config(bad)
    bad = copy.deepcopy(cfg)
    bad["figures"]["fig3"]["interp_steps"] = 1
    with pytest.raises(LcwbenchError, match="less than the minimum of 2"):
        validate_config(bad)


# ------------------------------------------------------------------------ Fig. 4: snapshots over training


def _train_glo(out_dir, snapshots=(), max_steps=None, checkpoint_every=1000):
    import torch

    from lcwbench.methods import build_method
    from lcwbench.train import train

    torch.manual_seed(0)
    m = build_method(
        "glo",
        {"arch": "mlp", "width": 8, "depth": 1, "latent_dim": 3, "batch_size": 4, "rec_loss": "l2", "epochs": 2},
        (6,),
    )
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))
    data, batch = m.training_data(x, lambda b: b)
    train(
        m,
        data,
        batch,
        out_dir,
        seed=0,
        progress=False,
        snapshots=snapshots,
        max_steps=max_steps,
        checkpoint_every=checkpoint_every,
    )
    return m


def _same_state(a, b):
    import torch

    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_snapshots_hold_the_model_at_their_step_and_survive_a_resume(tmp_path):
    import torch

    from lcwbench.io import torch_load
    from lcwbench.runner import load_model
    from lcwbench.train.loop import snapshot_path

    # 10 steps an epoch, 20 in all; snapshots mid-epoch (7), at an epoch end (10) and at the end (20)
    full = _train_glo(tmp_path / "full", snapshots=[7, 10, 20])
    for step in (7, 10, 20):
        state = torch.load(snapshot_path(tmp_path / "full", step), weights_only=True)
        assert state["method"] == "glo" and state["extra"] == {"step": step}
    _same_state(torch_load(snapshot_path(tmp_path / "full", 20))["state_dict"], full.state_dict())
    # the step-7 snapshot is the model a run stopped after step 7 checkpointed
    _train_glo(tmp_path / "stop7", max_steps=7, checkpoint_every=7)
    ckpt = torch_load(tmp_path / "stop7" / "ckpt.pt")
    assert ckpt["step"] == 7
    _same_state(torch_load(snapshot_path(tmp_path / "full", 7))["state_dict"], ckpt["modules"])
    snap7 = load_model(snapshot_path(tmp_path / "full", 7))
    assert int(snap7.n_steps) == 7 and snap7.codes.shape == (40, 3)
    # interrupted after step 13 (checkpoint at step 12), resumed: the same snapshot files, byte for byte
    _train_glo(tmp_path / "part", snapshots=[7, 10, 20], max_steps=13, checkpoint_every=4)
    assert not snapshot_path(tmp_path / "part", 20).exists()
    _train_glo(tmp_path / "part", snapshots=[7, 10, 20], checkpoint_every=4)
    for step in (7, 10, 20):
        a, b = snapshot_path(tmp_path / "full", step), snapshot_path(tmp_path / "part", step)
        assert a.read_bytes() == b.read_bytes(), step
    with pytest.raises(LcwbenchError, match=r"snapshot step\(s\) \[21\] outside this run's 1..20"):
        _train_glo(tmp_path / "late", snapshots=[5, 21])
    assert not torch.equal(torch_load(snapshot_path(tmp_path / "full", 7))["state_dict"]["codes"], full.codes)


def test_evaluating_a_missing_snapshot_is_one_clear_error(tmp_path):
    from lcwbench.evaluate import evaluate_run

    spec = {"run": "r", "dataset": "synthetic", "method": "glo", "seed": 0}
    with pytest.raises(LcwbenchError, match="no snapshot of step 5 at .*snapshots/step5.pt"):
        evaluate_run(
            tmp_path, spec, "p", {}, {}, tmp_path / "ref.npz", tmp_path / "m.json", snapshot_step=5, device="cpu"
        )


def test_snapshot_curve_mean_std(tmp_path):
    files, points = [], {}
    for seed, values in enumerate(((90.0, 40.0), (110.0, 44.0))):
        for step, v in zip((100, 200), values):
            key = f"run-s{seed}@step{step}"
            files.append(_metrics(tmp_path, key, seed, v))
            points[key] = {"curve": "GLDO", "x": step, "seed": seed}
    df = capacity.ucurve_data(points, files, "fid")
    assert list(df["x"]) == [100, 200] and list(df["mean"]) == [100.0, 42.0]
    assert list(df["std"]) == pytest.approx([20 / math.sqrt(2), 4 / math.sqrt(2)])
    assert list(df["runs"]) == ["run-s0@step100 run-s1@step100", "run-s0@step200 run-s1@step200"]
    capacity.plot_ucurve(df, tmp_path / "fig4.png", x_label=capacity.x_axis_label("step"))
    assert list(pd.read_csv(tmp_path / "fig4.csv")["mean"]) == [100.0, 42.0]


def test_snapshots_in_the_config():
    from lcwbench.config import train_spec

    cfg = yaml.safe_load(CFG)
    cfg["experiments"]["glo"]["snapshots"] = [20, 10]
    cfg["experiments"]["glo_too"] = {**cfg["experiments"]["glo"], "snapshots": [10, 30]}  # the same runs
    cfg["figures"] = {"fig4": {"kind": "training_curve", "experiments": {"GLO": "glo", "GLDO": "gldo"}}}
    with pytest.raises(LcwbenchError, match="experiment 'gldo' has no snapshots"):
        validate_config(copy.deepcopy(cfg))
    cfg["experiments"]["gldo"]["snapshots"] = [5]
    runs = expand_runs(validate_config(cfg))
    glo = [s for s in runs.values() if s["method"] == "glo"]
    assert len(glo) == 2 and all(s["snapshots"] == [10, 20, 30] for s in glo)  # the union, sorted
    assert train_spec(glo[0])["snapshots"] == [10, 20, 30]
    cfg["experiments"]["eps"].pop("sweep")
    cfg["experiments"]["eps"]["params"]["eps"] = 3.0  # not the gldo experiment's run
    no_snap = next(s for s in expand_runs(validate_config(cfg)).values() if "eps" in s["experiments"])
    assert "snapshots" not in no_snap and "snapshots" not in train_spec(no_snap)  # specs without stay as before
    bad = copy.deepcopy(cfg)
    bad["experiments"]["glo"]["snapshots"] = [0]
    with pytest.raises(LcwbenchError, match="less than the minimum of 1"):
        validate_config(bad)


def test_snapshot_protocol_in_the_config():
    cfg = yaml.safe_load(CFG)
    cfg["protocols"]["fid_only"] = {"n_gen": 10, "ref_split": "train", "ref_n": 20, "prd": False}
    cfg["experiments"]["glo"]["snapshots"] = [10]
    cfg["experiments"]["gldo"]["snapshots"] = [10]
    cfg["experiments"]["gldo"]["snapshot_protocol"] = "fid_only"
    runs = expand_runs(validate_config(copy.deepcopy(cfg)))
    glo = next(s for s in runs.values() if s["method"] == "glo")
    gldo = next(s for s in runs.values() if "gldo" in s["experiments"])
    assert glo["snapshot_protocol"] == glo["protocol"] and glo["snapshot_refstats"] == glo["refstats"]
    assert gldo["snapshot_protocol"] == "fid_only" and gldo["protocol"] != "fid_only"
    assert "/train-n20-" in gldo["snapshot_refstats"] and "/train-n10-" in gldo["refstats"]
    for mutate, message in [
        (lambda c: c["experiments"]["gldo"].update(snapshot_protocol="nope"),
         r"\['gldo'\] names snapshot_protocol 'nope'"),
        (lambda c: c["experiments"]["glo"].pop("snapshots"), r"\['glo'\] has a snapshot_protocol but no snapshots"),
        (lambda c: c["experiments"].update(glo_too={**c["experiments"]["glo"], "snapshot_protocol": "img"}),
         "snapshots of the same run under different protocols"),
    ]:
        bad = copy.deepcopy(cfg)
        bad["experiments"]["glo"]["snapshot_protocol"] = "fid_only"
        mutate(bad)
        with pytest.raises(LcwbenchError, match=message):
            expand_runs(validate_config(bad))

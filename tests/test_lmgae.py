"""WAE-GAN and LMGAE: formulas against hand values, the update structure, the schedule, and the
capacity-sweep figures and config checks."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch
from torch import nn

from lcwbench import capacity
from lcwbench.config import validate_config
from lcwbench.errors import LcwbenchError
from lcwbench.methods import build_method
from lcwbench.methods.lmgae import schedule_r
from lcwbench.methods.wae_gan import gradient_penalty

VEC = (12,)
TINY = {"width": 16, "depth": 1, "critic_width": 16, "critic_depth": 1}


def _vectors(n=32, d=12, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_gradient_penalty_of_a_linear_critic_is_hand_value():
    # C(x) = w.x has gradient w everywhere: penalty (|w| - 1)^2 whatever the interpolation point
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 0.0, 4.0]]))  # |w| = 5
    gp = gradient_penalty(critic, torch.randn(8, 3), torch.randn(8, 3))
    assert gp.item() == pytest.approx(16.0)


def test_schedule_unit_r_matches_the_repo_formula():
    assert schedule_r(8) == 75 and schedule_r(20) == 75
    assert schedule_r(24) == math.floor(1125 * 24 / 10) == 2700
    assert schedule_r(100) == 10000  # capped


def test_schedule_unit_r_with_scaled_constants_and_the_override():
    # a 5x faster slope and a slower small-M unit: 270 up to M = 20, then floor(22.5 M)
    assert schedule_r(16, small=270, per_dim=22.5) == 270
    assert schedule_r(21, small=270, per_dim=22.5) == 472  # floor(472.5)
    assert schedule_r(32, small=270, per_dim=22.5) == 720
    assert schedule_r(24, small=270, switch=30, per_dim=22.5) == 270
    params = {**TINY, "schedule_r_small": 270, "schedule_r_per_dim": 22.5}
    assert build_method("lmgae", {**params, "latent_dim": 24}, VEC).r == 540
    assert build_method("lmgae", {**params, "latent_dim": 8}, VEC).r == 270
    assert build_method("lmgae", {**params, "latent_dim": 24, "schedule_r": 100}, VEC).r == 100
    assert build_method("lmgae", {**TINY, "latent_dim": 24}, VEC).r == 2700  # the [repo] default
    with pytest.raises(LcwbenchError, match="schedule_r_per_dim"):
        build_method("lmgae", {**TINY, "latent_dim": 24, "schedule_r_per_dim": 0}, VEC)


def test_mask_parameterisation_c_poly_and_active_dims():
    torch.manual_seed(0)
    m = build_method("lmgae", {**TINY, "latent_dim": 4, "schedule_r": 10, "poly_max": 1.0}, VEC)
    with torch.no_grad():
        m.alpha.copy_(torch.tensor([0.0, math.log(2.0), 0.05, 10.0]))
    # m = 1 - exp(-alpha): 0, 0.5, 0.0488, ~1
    assert m.mask().tolist() == pytest.approx([0.0, 0.5, 1 - math.exp(-0.05), 1 - math.exp(-10)])
    assert m.active().tolist() == [False, True, False, True]
    # c_poly = poly_init / M * 2^(step // 4r), capped at poly_max
    assert m.c_poly(0) == pytest.approx(0.5) and m.c_poly(39) == pytest.approx(0.5)
    assert m.c_poly(40) == pytest.approx(1.0) and m.c_poly(400) == pytest.approx(1.0)
    # encodings and prior samples are masked: the masked-off dims are exactly 0
    z = m.encode(_vectors(5))
    assert torch.all(z[:, 0] == 0) and torch.all(z[:, 1] != 0)
    assert torch.all(m.sample_latent(5)[:, 0] == 0)


def test_variance_term_is_hand_value():
    torch.manual_seed(0)
    m = build_method("lmgae", {**TINY, "latent_dim": 2, "var_weight": 100.0, "var_sharpness": 10.0}, VEC)
    x = _vectors(4)
    mask = torch.tensor([0.0, 1.0])
    z = m.encoder(x)
    terms = m.ae_loss(x, mask)
    dev = (z - z.mean(0)).pow(2)
    expected = (dev[:, 0] * 1.0 + dev[:, 1] * math.exp(-10.0)).sum() / 8  # mean over batch x dims
    assert terms["var"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert terms["ae"].item() == pytest.approx(terms["rec"].item() + 100 * expected.item(), rel=1e-5)


def test_wae_gan_step_updates_nets_and_reports_terms():
    torch.manual_seed(0)
    m = build_method("wae_gan", {**TINY, "latent_dim": 3}, VEC)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    terms = m.train_step(_vectors(), m.build_optimizers())
    assert set(terms) == {"total", "rec", "critic", "gen", "w_dist"}
    assert all(torch.isfinite(v) and not v.requires_grad for v in terms.values())
    for name in ("encoder", "decoder", "critic"):
        changed = [k for k in before if k.startswith(name) and not torch.equal(before[k], m.state_dict()[k])]
        assert changed, f"{name} did not change"
    assert m.rec_kind == "mse"  # vectors: squared error, not cross-entropy


def test_lmgae_mask_update_keeps_alpha_nonnegative_and_logs_the_mask():
    torch.manual_seed(0)
    m = build_method("lmgae", {**TINY, "latent_dim": 5, "lr": 0.5}, VEC)  # a huge lr drives some alpha below 0
    opts = m.build_optimizers()
    assert set(opts) == {"ae", "critic", "gen", "mask"}
    for _ in range(5):
        terms = m.train_step(_vectors(), opts)
    assert bool((m.alpha >= 0).all())
    assert {f"m{i}" for i in range(5)} <= set(terms) and {"var", "mask_loss", "c_poly", "active"} <= set(terms)
    assert int(m.step) == 5
    assert terms["active"].item() == int(m.active().sum())


def test_lr_drop_at_five_r_steps():
    torch.manual_seed(0)
    m = build_method("lmgae", {**TINY, "latent_dim": 2, "schedule_r": 1, "lr": 1e-3, "lr_drop": 5.0}, VEC)
    opts = m.build_optimizers()
    for step in range(6):
        m.train_step(_vectors(), opts)
        expected = 5e-3 if step < 5 else 1e-3
        assert opts["ae"].param_groups[0]["lr"] == pytest.approx(expected), step
    assert opts["gen"].param_groups[0]["lr"] == pytest.approx(1e-3)  # generator and critic keep lr


def test_bce_on_vectors_is_refused_and_latent_metrics():
    with pytest.raises(LcwbenchError, match="bce"):
        build_method("wae_gan", {**TINY, "rec_loss": "bce"}, VEC)
    torch.manual_seed(0)
    m = build_method("lmgae", {**TINY, "latent_dim": 3}, VEC)
    with torch.no_grad():
        m.alpha.copy_(torch.tensor([0.0, 5.0, 5.0]))
    z = torch.tensor([[0.0, 1.0, 2.0], [0.0, 2.0, 1.0], [0.0, 3.0, 3.0]])
    got = m.latent_metrics(z)
    assert got["active_dims"][0] == 2
    # covariance of dims 1, 2 only: cov = [[1, 0.5], [0.5, 1]] -> mean |off-diagonal| 0.5
    assert got["offdiag_cov"][0] == pytest.approx(0.5)
    # over all three dims the zero column adds four zero off-diagonal entries: (0.5 + 0.5) / 6
    assert got["offdiag_cov_all"][0] == pytest.approx(1 / 6)


def _metrics(tmp_path, run, fid, active=None):
    metrics = {"fid": {"value": fid, "protocol": {"protocol": "p"}}}
    if active is not None:
        metrics["active_dims"] = {"value": active, "protocol": {}}
    path = tmp_path / f"{run}.json"
    path.write_text(json.dumps({"run": run, "metrics": metrics}))
    return path


def test_ucurve_data_mean_std_and_active_dims(tmp_path):
    files = [
        _metrics(tmp_path, "w4s0", 8.0), _metrics(tmp_path, "w4s1", 10.0),
        _metrics(tmp_path, "l4s0", 6.0, 4), _metrics(tmp_path, "l4s1", 7.0, 3),
    ]
    points = {"w4s0": {"curve": "WAE-GAN", "x": 4, "seed": 0}, "w4s1": {"curve": "WAE-GAN", "x": 4, "seed": 1},
              "l4s0": {"curve": "LMGAE", "x": 4, "seed": 0}, "l4s1": {"curve": "LMGAE", "x": 4, "seed": 1}}
    df = capacity.ucurve_data(points, files, "fid").set_index("curve")
    assert df.loc["WAE-GAN", "mean"] == 9.0 and df.loc["WAE-GAN", "std"] == pytest.approx(math.sqrt(2))
    assert df.loc["LMGAE", "active_dims_mean"] == 3.5 and df.loc["LMGAE", "active_dims_per_seed"] == "4 3"
    assert pd.isna(df.loc["WAE-GAN", "active_dims_mean"])
    out = capacity.plot_ucurve(df.reset_index(), tmp_path / "u.png", true_dim=4)
    assert out.stat().st_size > 0 and (tmp_path / "u.csv").exists()
    with pytest.raises(LcwbenchError, match="no metrics.json"):
        capacity.ucurve_data({**points, "zz": {"curve": "x", "x": 1, "seed": 0}}, files, "fid")


def test_mask_trajectories_reads_mask_columns(tmp_path):
    log = tmp_path / "train_log.csv"
    log.write_text("epoch,step,total,m0,m1\n1,10,0.5,0.9,0.2\n2,20,0.4,1.0,0.0\n")
    out = capacity.mask_trajectories({"M=2": log}, tmp_path / "m.png")
    assert out.exists()
    csv = pd.read_csv(tmp_path / "m.csv")
    assert len(csv) == 4 and set(csv["dim"]) == {"m0", "m1"}
    bad = tmp_path / "ae_log.csv"
    bad.write_text("epoch,step,total\n1,10,0.5\n")
    with pytest.raises(LcwbenchError, match="not an LMGAE run"):
        capacity.mask_trajectories({"x": bad}, tmp_path / "n.png")


def _cfg(**figures):
    return {
        "fid": {"extractor": "standin"},
        "tables": {},
        "protocols": {"v": {"n_gen": 10, "ref_split": "test", "ref_n": 10}},
        "experiments": {
            "w": {"dataset": "synthetic", "method": "wae_gan", "protocol": "v", "sweep": {"latent_dim": [2, 4]}},
            "l": {"dataset": "synthetic", "method": "lmgae", "protocol": "v", "sweep": {"latent_dim": [2, 4]}},
        },
        "figures": figures,
    }


def test_sweep_figure_config_checks():
    validate_config(_cfg(u={"kind": "ucurve", "experiments": {"W": "w", "L": "l"}, "true_dim": 3},
                         m={"kind": "mask_trajectories", "experiment": "l", "capacities": [2, 4]}))
    with pytest.raises(LcwbenchError, match="'nope', which is not defined"):
        validate_config(_cfg(u={"kind": "ucurve", "experiments": {"W": "nope"}}))
    with pytest.raises(LcwbenchError, match=r"capacities \[8\] are not in the sweep"):
        validate_config(_cfg(m={"kind": "mask_trajectories", "experiment": "l", "capacities": [8]}))
    with pytest.raises(LcwbenchError, match="not an lmgae experiment"):
        validate_config(_cfg(m={"kind": "mask_trajectories", "experiment": "w", "capacities": [2]}))
    with pytest.raises(LcwbenchError, match="experiments"):
        validate_config(_cfg(u={"kind": "ucurve"}))


def test_mask_warmup_freezes_the_mask_and_drops_the_variance_term():
    torch.manual_seed(0)
    m = build_method("lmgae", {**TINY, "latent_dim": 3, "mask_warmup_steps": 2, "alpha_init_min": 1.0}, VEC)
    assert bool((m.alpha >= 1.0).all()) and bool((m.alpha <= 5.0).all())  # alpha ~ U(1, 5)
    opts = m.build_optimizers()
    alpha0 = m.alpha.detach().clone()
    x = _vectors()
    terms = m.ae_loss(x, m.mask().detach())
    assert terms["ae"].item() == pytest.approx(terms["rec"].item())  # no variance term while warming up
    for _ in range(2):
        m.train_step(x, opts)
    assert torch.equal(m.alpha.detach(), alpha0)  # mask frozen for the first 2 steps
    terms = m.ae_loss(x, m.mask().detach())
    assert terms["ae"].item() == pytest.approx(terms["rec"].item() + 100 * terms["var"].item(), rel=1e-5)
    m.train_step(x, opts)
    assert not torch.equal(m.alpha.detach(), alpha0)  # the third step updates it
    with pytest.raises(LcwbenchError, match="mask_warmup_steps"):
        build_method("lmgae", {**TINY, "latent_dim": 3, "mask_warmup_steps": -1}, VEC)
    with pytest.raises(LcwbenchError, match="alpha_init_min"):
        build_method("lmgae", {**TINY, "latent_dim": 3, "alpha_init_min": 6.0}, VEC)


def test_ucurve_switches_to_a_log_axis_when_curves_differ_by_orders_of_magnitude():
    assert capacity.use_log_y([3.3, 4.0, 104.0])  # ratio 31.5
    assert not capacity.use_log_y([3.3, 4.0, 60.0])  # ratio 18
    assert not capacity.use_log_y([0.0, 5.0, 200.0])  # a zero cannot go on a log axis
    assert not capacity.use_log_y([float("nan")])

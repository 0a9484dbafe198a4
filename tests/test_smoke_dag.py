"""End to end: the smoke DAG on real data subsets (train -> shared reference statistics -> evaluate ->
tables and figures), in a temporary working directory so the project's results/ and paper_tables/
are untouched.

First only `paper_tables/table2.csv` is asked for, as a user would; then the default target, which
adds the other tables, the figures and the aggregate without retraining what Table 2 already
trained; then a dry run must find nothing to do.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def snakemake(workdir: Path, shared: Path, *args: str) -> str:
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(ROOT / "config" / "smoke.yaml"),
        "--config", f"reported_csv={shared.parent / 'reference' / 'reported.csv'}", f"data_root={shared}",
        "--cores", "2", "--resources", "gpu=1", "--keep-going", *args,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=2400)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    return res.stdout + res.stderr


def cell(table: pd.DataFrame, method: str, metric: str) -> pd.Series:
    rows = table[(table.dataset == table.dataset.iloc[0]) & (table.method == method) & (table.metric == metric)]
    assert len(rows) == 1, (method, metric, rows)
    return rows.iloc[0]


@pytest.mark.slow
def test_smoke_dag_end_to_end(tmp_path, shared_data):
    log = snakemake(tmp_path, shared_data, "paper_tables/table2.csv")
    # stand-in weights, MNIST refstats, 9 train (AE, CWAE x2 seeds; CW2 grid x2; 3 LT), 9 evaluate, table
    assert "21 of 21 steps (100%) done" in log

    t2 = pd.read_csv(tmp_path / "paper_tables" / "table2.csv")
    assert len(t2) == 25  # every cell of LCW Table 2 once
    done = t2[t2.n_seeds > 0]
    assert sorted(zip(done.method, done.metric)) == sorted(
        [("AE", "fid"), ("AE", "rec_error"), ("CWAE", "fid"), ("CWAE", "rec_error"), ("CW2", "fid"),
         ("CW2", "rec_error"), ("AE+LT", "fid"), ("CWAE+LT", "fid"), ("LCW", "fid")]
    )
    assert done.reproduced_mean.notna().all()
    for method in ("AE", "CWAE"):
        row = cell(t2, method, "rec_error")
        assert row.n_seeds == 2 and pd.notna(row.reproduced_std) and pd.notna(row.difference)
    assert "best of 2/2 sweep points by mean FID" in cell(t2, "CW2", "fid").note
    assert done[done.metric == "fid"].note.str.contains("STAND-IN").all()
    assert done[done.metric == "fid"].difference.isna().all()  # no difference against a stand-in FID
    assert "Stand-in extractor" in (tmp_path / "paper_tables" / "table2.md").read_text()

    # one reference-statistics node shared by all nine evaluations
    refs = sorted(p.relative_to(tmp_path / "results" / "refstats") for p in (tmp_path / "results" / "refstats").rglob("*.npz"))
    assert refs == [Path("mnist/train-n64-standin-standin0.npz")]

    runs = sorted((tmp_path / "results" / "runs").iterdir())
    assert len(runs) == 9
    lt_runs = [r for r in runs if "-latent_trick-" in r.name]
    assert len(lt_runs) == 3 and all("-on-mnist-" in r.name for r in lt_runs)
    for run in runs:
        m = json.loads((run / "metrics.json").read_text())
        fid = m["metrics"]["fid"]
        assert fid["protocol"]["is_standin"] is True and re.fullmatch(r"[0-9a-f]{64}", fid["protocol"]["weights_sha256"])
        assert fid["protocol"]["n_gen"] == 64 and fid["protocol"]["ref_n"] == 64
        assert {"fid", "is", "kid", "f8", "f1_8", "rec_error", "mse", "psnr", "offdiag_cov"} <= set(m["metrics"])
        assert (run / "samples.png").stat().st_size > 0 and not (run / "ckpt.pt").exists()
        for sub in ("train", "evaluate"):
            assert (tmp_path / "results" / "logs" / sub / f"{run.name}.log").exists()
            assert (tmp_path / "results" / "benchmarks" / sub / f"{run.name}.tsv").exists()
    mtimes = {r.name: (r / "model.pt").stat().st_mtime_ns for r in runs}

    snakemake(tmp_path, shared_data)
    assert {r.name: (r / "model.pt").stat().st_mtime_ns for r in runs} == mtimes  # nothing retrained
    for name in ("table1", "table3", "table4"):
        assert (tmp_path / "paper_tables" / f"{name}.md").exists()
    t1 = pd.read_csv(tmp_path / "paper_tables" / "table1.csv")
    assert {"CWAE", "CW2", "CW-Generator", "SW-Generator"} <= set(t1[(t1.dataset == "MNIST") & (t1.n_seeds > 0)].method)
    t3 = pd.read_csv(tmp_path / "paper_tables" / "table3.csv")
    assert set(t3[(t3.dataset == "MNIST") & (t3.n_seeds > 0)].method) == {"CW-Generator", "SW-Generator", "LCW"}
    t4 = pd.read_csv(tmp_path / "paper_tables" / "table4.csv")
    assert set(t4[t4.n_seeds > 0].method) == {"VAE"}
    assert t4[t4.method == "DCGAN"].note.str.contains("literature").all()

    figures = tmp_path / "paper_tables" / "figures"
    assert (figures / "smoke_fig4_fmnist.png").stat().st_size > 0
    all_runs = sorted((tmp_path / "results" / "runs").iterdir())
    assert len(all_runs) == 48
    for run in all_runs:
        figs = figures / "runs" / run.name
        assert (figs / "samples.png").stat().st_size > 0
        if "-latent_trick-" in run.name:
            assert (figs / "lt_interpolations.png").exists() and (figs / "lt_interpolations_latent.png").exists()
        metrics = json.loads((run / "metrics.json").read_text())["metrics"]
        if "rec_error" in metrics and not run.name.startswith(("synthetic-", "swissroll-")):  # encoder, images
            assert (figs / "reconstructions.png").exists()
    summary = pd.read_csv(tmp_path / "results" / "summary.csv")
    assert summary.run.nunique() == 48 and {"protocol_id", "extractor", "n_gen", "ref_split"} <= set(summary.columns)

    # LMGAE: capacity sweeps, U-curves with their CSV, mask trajectories, both tables
    for name in ("lmgae_ucurve_synthetic", "lmgae_ucurve_mnist", "lmgae_mask_trajectories"):
        assert (figures / f"{name}.png").stat().st_size > 0 and (figures / f"{name}.csv").exists()
    curve = pd.read_csv(figures / "lmgae_ucurve_synthetic.csv")
    assert sorted(zip(curve.curve, curve.x)) == [(c, m) for c in ("LMGAE", "WAE-GAN") for m in (1, 2, 4)]
    assert curve[curve.curve == "LMGAE"].active_dims_mean.notna().all()
    assert curve[curve.curve == "WAE-GAN"].active_dims_mean.isna().all()
    lm1 = pd.read_csv(tmp_path / "paper_tables" / "lmgae_table1.csv")
    assert set(lm1[lm1.n_seeds > 0].method) == {"WAE", "LMGAE"} and lm1.reported.isna().all()
    lm2 = pd.read_csv(tmp_path / "paper_tables" / "lmgae_table2.csv")
    assert set(zip(lm2[lm2.n_seeds > 0].method, lm2[lm2.n_seeds > 0].metric)) == {
        ("WAE", "offdiag_cov"), ("LMGAE", "offdiag_cov"), ("LMGAE", "active_dims")}
    assert "active" in lm2[lm2.method == "LMGAE"].protocol.iloc[0]

    # GLDO: every method; search-based PSNR for the encoder-less ones, interpolation FID, PRD
    g1 = pd.read_csv(tmp_path / "paper_tables" / "gldo_table1.csv")
    assert set(g1[g1.n_seeds > 0].method) == {"GLO", "GLDO", "DCGAN", "WGAN-GP", "BEGAN"}
    g2 = pd.read_csv(tmp_path / "paper_tables" / "gldo_table2.csv")
    done2 = g2[g2.n_seeds > 0]
    assert set(done2.method) == {"PCA", "GAN", "GLO", "GLDO"} and done2.reproduced_mean.between(3, 60).all()
    assert done2[done2.method == "GLO"].protocol.str.contains("latent search").all()
    g5 = pd.read_csv(tmp_path / "paper_tables" / "gldo_table5.csv")
    assert set(g5[g5.n_seeds > 0].method) == {"GLO", "GLDO", "GLO-GLF", "GLO-TSV", "GLANN"}
    g6 = pd.read_csv(tmp_path / "paper_tables" / "gldo_table6.csv")
    assert set(g6[g6.n_seeds > 0].method) == {"GLO", "GLDO", "GLO-SN"}
    for run in all_runs:
        if "-glo-" in run.name or "-dcgan-" in run.name:
            m = json.loads((run / "metrics.json").read_text())["metrics"]
            assert {"fid", "fid_interp", "f8", "f1_8", "psnr"} <= set(m)
            assert m["psnr"]["protocol"]["search"]["n"] == 16
    assert (tmp_path / "paper_tables" / "gldo_table3.md").exists()

    # Geng: every method of Tables 1-2 (VAE shares the LCW Table 4 run), geng's two stages, the swiss
    # roll's manifold distances, Figs. 4-6 with their CSVs
    e1 = pd.read_csv(tmp_path / "paper_tables" / "geng_table1.csv")
    assert set(zip(e1[e1.n_seeds > 0].method, e1[e1.n_seeds > 0].metric)) == {
        (m, k) for m in ("VAE", "AAE", "WAE", "IntroVAE", "AGE", "Ours") for k in ("fid", "mse")}
    e2 = pd.read_csv(tmp_path / "paper_tables" / "geng_table2.csv")
    assert set(zip(e2[e2.n_seeds > 0].dataset, e2[e2.n_seeds > 0].method)) == {
        ("CelebA", m) for m in ("VAE", "AAE", "WAE", "IntroVAE", "AGE", "Ours")} | {("cifar10", "AAE"), ("cifar10", "Ours")}
    assert e2[(e2.dataset == "cifar10") & (e2.method == "Ours")].reported.isna().all()
    for run in all_runs:
        if run.name.startswith("swissroll-"):
            m = json.loads((run / "metrics.json").read_text())["metrics"]
            assert {"mse", "manifold_dist", "manifold_dist_rec", "fid"} <= set(m)
            assert "100000 points" in m["manifold_dist"]["protocol"]["reference"]
        if "-geng-" in run.name:
            log = pd.read_csv(run / "train_log.csv")
            assert set(log.stage) == {1.0, 2.0}
    for name in ("geng_swissroll", "geng_swissroll_latent", "geng_ablation_mnist"):
        assert (figures / f"{name}.png").stat().st_size > 0 and (figures / f"{name}.csv").exists()
    fig4 = pd.read_csv(figures / "geng_swissroll.csv")
    assert set(fig4.label) == {"VAE", "AAE", "ALAE", "Ours"} and {"mse", "manifold_dist"} <= set(fig4.metric)
    assert set(pd.read_csv(figures / "geng_swissroll_latent.csv").label) == {"VAE", "AAE", "ALAE", "Ours"}
    assert set(pd.read_csv(figures / "geng_ablation_mnist.csv").label) == {"Without BN", "With BN", "BN+Regularizer"}

    assert "Nothing to be done" in snakemake(tmp_path, shared_data, "-n")

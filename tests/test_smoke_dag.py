"""End to end: the smoke DAG on real MNIST (train -> shared reference statistics -> evaluate -> table).

Runs Snakemake in a temporary working directory so the project's own results/ and paper_tables/
are untouched. First only `paper_tables/table2.csv` is asked for (as a user would), then the default
target, which must add the aggregate and the figures without retraining or re-evaluating anything.
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


def snakemake(workdir: Path, shared: Path, *targets: str) -> str:
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(ROOT / "config" / "smoke.yaml"),
        "--config", f"reported_csv={shared.parent / 'reference' / 'reported.csv'}", f"data_root={shared}",
        "--cores", "2", "--resources", "gpu=1", "--keep-going", *targets,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    return res.stdout + res.stderr


@pytest.mark.slow
def test_smoke_dag_end_to_end(tmp_path, shared_data):
    log = snakemake(tmp_path, shared_data, "paper_tables/table2.csv")
    assert "11 of 11 steps (100%) done" in log  # stand-in weights, refstats, 4 train, 4 evaluate, table

    table = pd.read_csv(tmp_path / "paper_tables" / "table2.csv")
    assert len(table) == 25  # every cell of Table 2 once: both seeds share one protocol per metric
    done = table[table.n_seeds > 0]
    assert sorted(zip(done.method, done.metric)) == [("AE", "fid"), ("AE", "rec_error"),
                                                     ("CWAE", "fid"), ("CWAE", "rec_error")]
    assert (done.n_seeds == 2).all() and done.reproduced_mean.notna().all() and done.reproduced_std.notna().all()
    assert done[done.metric == "fid"].note.str.contains("STAND-IN").all()
    assert "Stand-in extractor" in (tmp_path / "paper_tables" / "table2.md").read_text()

    # one reference-statistics node shared by all four evaluations
    refs = list((tmp_path / "results" / "refstats").rglob("*.npz"))
    assert [p.name for p in refs] == ["train-n100-standin-standin0.npz"]

    runs = sorted((tmp_path / "results" / "runs").iterdir())
    assert len(runs) == 4
    for run in runs:
        m = json.loads((run / "metrics.json").read_text())
        fid = m["metrics"]["fid"]
        assert fid["protocol"]["is_standin"] is True and re.fullmatch(r"[0-9a-f]{64}", fid["protocol"]["weights_sha256"])
        assert fid["protocol"]["n_gen"] == 100 and fid["protocol"]["ref_n"] == 100
        assert {"fid", "is", "kid", "f8", "f1_8", "rec_error", "mse", "psnr", "offdiag_cov"} <= set(m["metrics"])
        assert (run / "samples.png").stat().st_size > 0 and not (run / "ckpt.pt").exists()
        for sub in ("train", "evaluate"):
            assert (tmp_path / "results" / "logs" / sub / f"{run.name}.log").exists()
            assert (tmp_path / "results" / "benchmarks" / sub / f"{run.name}.tsv").exists()

    log = snakemake(tmp_path, shared_data)
    assert "rule train" not in log and "rule evaluate" not in log and "rule refstats" not in log
    for run in runs:
        figs = tmp_path / "paper_tables" / "figures" / "runs" / run.name
        assert (figs / "samples.png").stat().st_size > 0 and (figs / "reconstructions.png").stat().st_size > 0
    summary = pd.read_csv(tmp_path / "results" / "summary.csv")
    assert summary.run.nunique() == 4 and {"protocol_id", "extractor", "n_gen", "ref_split"} <= set(summary.columns)

"""`lcwbench plan`: job counts, hours from declared runtimes or benchmark files, per paper."""

from __future__ import annotations

import pytest

from lcwbench.config import validate_config
from lcwbench.plan import format_plan, plan


def _cfg():
    return validate_config({
        "fid": {"extractor": "standin"},
        "tables": {},
        "protocols": {"p": {"n_gen": 10, "ref_split": "train", "ref_n": 10}},
        "seeds": [0, 1],
        "resources": {"train": {"runtime": 120, "gpu": 1}, "evaluate": {"runtime": 30, "gpu": 1},
                      "refstats": {"runtime": 60, "gpu": 1}, "small": {"runtime": 6, "gpu": 0}},
        "experiments": {
            "lcw_a": {"dataset": "mnist", "method": "ae", "protocol": "p", "cells": ["lcw/table2/MNIST/AE"]},
            "lmgae_b": {"dataset": "mnist", "method": "wae_gan", "protocol": "p", "resources": {"gpu": 2}},
        },
    })


def test_declared_runtimes_and_papers(tmp_path):
    p = plan(_cfg(), tmp_path)
    assert p["runs"] == 4 and p["per_rule"]["train"]["jobs"] == 4
    # train: 2 runs x 2 h x 1 GPU + 2 runs x 2 h x 2 GPUs; evaluate: 4 x 0.5 h; refstats 1 h; figures no GPU
    assert p["per_rule"]["train"]["gpu_hours"] == 12.0
    assert p["gpu_hours"] == pytest.approx(12 + 2 + 1)
    assert p["per_paper"]["lcw"]["runs"] == 2 and p["per_paper"]["lmgae"]["runs"] == 2
    assert p["largest_job"]["hours"] == 2.0 and p["largest_job"]["source"] == "declared runtime"
    assert "GPU-hours" in format_plan(p)


def test_benchmark_file_replaces_declared_runtime(tmp_path):
    run = next(r for r in plan.__globals__["expand_runs"](_cfg()) if r.startswith("mnist-ae"))
    bench = tmp_path / "results" / "benchmarks" / "train" / f"{run}.tsv"
    bench.parent.mkdir(parents=True)
    bench.write_text("s\th:m:s\tmax_rss\n36000.0\t10:00:00\t1\n")  # measured: 10 h
    p = plan(_cfg(), tmp_path)
    assert p["measured_jobs"] == 1
    assert p["largest_job"] == {"rule": "train", "name": run, "hours": 10.0, "source": "benchmark file"}
    assert p["per_rule"]["train"]["gpu_hours"] == pytest.approx(12 - 2 + 10)


def test_snapshot_protocol_and_its_evaluate_runtime(tmp_path):
    cfg = _cfg()
    # a cheaper protocol for the snapshots: 6 minutes an evaluation instead of resources.evaluate's 30
    cfg["protocols"]["fid_only"] = {**cfg["protocols"]["p"], "prd": False, "evaluate_runtime": 6}
    cfg["experiments"]["lcw_a"].update(snapshots=[5, 10], snapshot_protocol="fid_only")
    p = plan(validate_config(cfg), tmp_path)
    # 2 runs x 2 snapshots x 0.1 h; the runs' own evaluations stay at 4 x 0.5 h
    assert p["per_rule"]["evaluate_snapshot"] == {"jobs": 4, "hours": pytest.approx(0.4), "gpu_hours": pytest.approx(0.4)}
    assert p["per_rule"]["evaluate"]["hours"] == 2.0
    # same reference split and size: the snapshots share the runs' reference statistics
    assert p["per_rule"]["refstats"]["jobs"] == 1
    cfg["protocols"]["fid_only"]["ref_n"] = 20
    assert plan(validate_config(cfg), tmp_path)["per_rule"]["refstats"]["jobs"] == 2

"""The command line: bad input is one line on stderr with exit status 2, and nothing partial is left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lcwbench(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "lcwbench.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _one_error_line(res, pattern):
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("lcwbench: error: ") and pattern in lines[-1], res.stderr
    assert "Traceback" not in res.stderr


def test_bad_json_spec(tmp_path):
    res = lcwbench("train", "--spec", "{nope", "--out-dir", str(tmp_path / "r"))
    _one_error_line(res, "--spec is not valid JSON")


def test_unknown_dataset_in_spec(tmp_path):
    spec = {"run": "x", "dataset": "svhn", "data": {}, "method": "ae", "params": {}, "seed": 0}
    res = lcwbench("train", "--spec", json.dumps(spec), "--out-dir", str(tmp_path / "r"), "--device", "cpu")
    _one_error_line(res, "unknown data set 'svhn'")
    assert not (tmp_path / "r" / "model.pt").exists()


def test_missing_data_root(tmp_path):
    spec = {"run": "x", "dataset": "mnist", "data": {}, "method": "ae", "params": {}, "seed": 0}
    res = lcwbench("train", "--spec", json.dumps(spec), "--out-dir", str(tmp_path / "r"), "--device", "cpu",
                   "--data-root", str(tmp_path / "nodata"))
    _one_error_line(res, "train-images-idx3-ubyte.gz")
    assert not (tmp_path / "r" / "model.pt").exists()


def test_validate_config_reports_file_and_key(tmp_path):
    cfg = (ROOT / "config" / "smoke.yaml").read_text().replace("method: cwae", "method: cwae2")
    path = tmp_path / "bad.yaml"
    path.write_text(cfg)
    res = lcwbench("validate-config", str(path))
    _one_error_line(res, "bad.yaml: invalid config: unknown method 'cwae2'")
    ok = lcwbench("validate-config", str(ROOT / "config" / "config.yaml"))
    assert ok.returncode == 0 and "valid" in ok.stdout


def test_missing_model_for_evaluate(tmp_path):
    spec = {"run": "x", "dataset": "mnist", "data": {}, "method": "ae", "params": {}, "seed": 0}
    res = lcwbench("evaluate", "--run-dir", str(tmp_path), "--spec", json.dumps(spec), "--protocol-name", "p",
                   "--protocol", "{}", "--fid", '{"extractor": "standin"}', "--refstats", str(tmp_path / "r.npz"),
                   "--out", str(tmp_path / "metrics.json"), "--device", "cpu")
    _one_error_line(res, "model file not found")
    assert not (tmp_path / "metrics.json").exists()


def test_threads_flag_limits_torch(monkeypatch):
    """--threads (the DAG passes each rule's threads) reaches torch.set_num_threads before the command runs."""
    import torch

    from lcwbench import cli

    seen = []
    monkeypatch.setattr(torch, "set_num_threads", seen.append)
    parser = cli.build_parser()
    args = parser.parse_args(["train", "--spec", "{}", "--out-dir", "x", "--threads", "3"])
    cli.set_threads(args.threads)
    assert seen == [3]
    cli.set_threads(parser.parse_args(["train", "--spec", "{}", "--out-dir", "x"]).threads)
    assert seen == [3]  # no flag: torch keeps its default


def test_threads_flag_rejects_zero(tmp_path):
    spec = {"run": "x", "dataset": "mnist", "data": {}, "method": "ae", "params": {}, "seed": 0}
    res = lcwbench("train", "--spec", json.dumps(spec), "--out-dir", str(tmp_path / "r"), "--threads", "0")
    _one_error_line(res, "--threads must be >= 1, got 0")

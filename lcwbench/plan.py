"""What a config asks of a cluster, without running Snakemake: jobs per rule and per paper, GPU-hours
and the largest single job.

Each job's hours come from its ``benchmark:`` file under ``results/benchmarks/`` when a previous run
left one (measured wall time), else from the runtime the rule declares in ``resources`` (an upper
bound: the Slurm time limit). GPU-hours count jobs that request a GPU; the declared ``gpu`` count
multiplies their hours. A run belongs to the papers of its table cells, else to the prefix of its
experiment's name (``lcw_``, ``lmgae_``, ``gldo_``, ...).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from lcwbench.config import evaluate_resources, expand_runs, refstats_users


def _measured_hours(path: Path) -> float | None:
    """Wall time of a Snakemake benchmark TSV (column ``s``), in hours; None if absent or unreadable."""
    try:
        with path.open() as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        return float(rows[-1]["s"]) / 3600 if rows else None
    except (OSError, KeyError, ValueError):
        return None


def _papers(spec: dict[str, Any]) -> list[str]:
    papers = sorted({c.split("/")[0] for c in spec.get("cells", [])})
    return papers or sorted({e.split("_")[0] for e in spec["experiments"]})


def plan(cfg: dict[str, Any], workdir: str | Path = ".") -> dict[str, Any]:
    """Job counts and hour estimates of the configured DAG's compute jobs (train, evaluate, evaluate_snapshot,
    refstats, figures)."""
    workdir = Path(workdir)
    runs = expand_runs(cfg)
    res = cfg["resources"]
    jobs: list[dict[str, Any]] = []

    def add(rule: str, name: str, resources: dict[str, Any], papers: list[str], bench: Path) -> None:
        measured = _measured_hours(workdir / bench)
        hours = measured if measured is not None else resources["runtime"] / 60
        jobs.append({"rule": rule, "name": name, "papers": papers, "hours": hours, "measured": measured is not None,
                     "gpus": int(resources.get("gpu", 0))})

    for run, spec in runs.items():
        papers = _papers(spec)
        add("train", run, {**res["train"], **spec["resources"]}, papers, Path(f"results/benchmarks/train/{run}.tsv"))
        add("evaluate", run, evaluate_resources(cfg, spec["protocol"]), papers,
            Path(f"results/benchmarks/evaluate/{run}.tsv"))
        add("run_figures", run, {**res["small"], "gpu": 0}, papers, Path(f"results/benchmarks/figures/{run}.tsv"))
        for step in spec.get("snapshots", []):
            add("evaluate_snapshot", f"{run}@step{step}", evaluate_resources(cfg, spec["snapshot_protocol"]), papers,
                Path(f"results/benchmarks/evaluate/{run}-step{step}.tsv"))
    for ref in sorted(refstats_users(runs)):
        key = ref[len("results/refstats/"):-len(".npz")]
        add("refstats", key, res["refstats"], [], Path(f"results/benchmarks/refstats/{key}.tsv"))

    per_rule: dict[str, dict[str, float]] = defaultdict(lambda: {"jobs": 0, "hours": 0.0, "gpu_hours": 0.0})
    per_paper: dict[str, dict[str, float]] = defaultdict(lambda: {"runs": 0, "jobs": 0, "gpu_hours": 0.0})
    for job in jobs:
        gpu_h = job["hours"] * job["gpus"]
        r = per_rule[job["rule"]]
        r["jobs"] += 1
        r["hours"] += job["hours"]
        r["gpu_hours"] += gpu_h
        for paper in job["papers"] or ["(shared)"]:
            p = per_paper[paper]
            p["jobs"] += 1
            p["gpu_hours"] += gpu_h / max(1, len(job["papers"]))
            p["runs"] += job["rule"] == "train"
    largest = max(jobs, key=lambda j: j["hours"]) if jobs else None
    return {
        "runs": len(runs),
        "jobs": len(jobs) + len(cfg["tables"]) + len(cfg["figures"]) + 2,  # + tables, figures, aggregate, all
        "per_rule": {k: {kk: round(vv, 2) for kk, vv in v.items()} for k, v in sorted(per_rule.items())},
        "per_paper": {k: {kk: round(vv, 2) for kk, vv in v.items()} for k, v in sorted(per_paper.items())},
        "gpu_hours": round(sum(j["hours"] * j["gpus"] for j in jobs), 1),
        "measured_jobs": sum(j["measured"] for j in jobs),
        "largest_job": None if largest is None else {
            "rule": largest["rule"], "name": largest["name"], "hours": round(largest["hours"], 2),
            "source": "benchmark file" if largest["measured"] else "declared runtime"},
    }


def format_plan(p: dict[str, Any]) -> str:
    lines = [f"{p['runs']} runs, {p['jobs']} jobs; {p['gpu_hours']} GPU-hours estimated "
             f"({p['measured_jobs']} jobs from benchmark files, the rest from declared runtimes)", "",
             f"{'rule':<18}{'jobs':>8}{'hours':>12}{'GPU-hours':>12}"]
    for rule, r in p["per_rule"].items():
        lines.append(f"{rule:<18}{int(r['jobs']):>8}{r['hours']:>12.1f}{r['gpu_hours']:>12.1f}")
    lines += ["", f"{'paper':<14}{'runs':>8}{'jobs':>8}{'GPU-hours':>12}"]
    for paper, r in p["per_paper"].items():
        lines.append(f"{paper:<14}{int(r['runs']):>8}{int(r['jobs']):>8}{r['gpu_hours']:>12.1f}")
    if p["largest_job"]:
        j = p["largest_job"]
        lines += ["", f"largest job: {j['rule']} {j['name']} ({j['hours']} h, {j['source']})"]
    return "\n".join(lines)

"""Command line: ``lcwbench <command>``. The Snakemake rules call these; users may too.

Bad input ends with one line ``lcwbench: error: <what and where>`` on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lcwbench.errors import LcwbenchError


def _json(text: str, what: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LcwbenchError(f"--{what} is not valid JSON: {exc}") from None


def cmd_train(a) -> None:
    from lcwbench.runner import train_run

    spec = _json(a.spec, "spec")
    path = train_run(
        spec,
        a.out_dir,
        data_root=a.data_root,
        download=a.download,
        device=a.device,
        checkpoint_every=a.checkpoint_every,
        progress=a.progress,
        max_steps=a.max_steps,
        base_model=a.base_model,
        precision=a.precision,
    )
    print(f"wrote {path}")


def cmd_standin_weights(a) -> None:
    from lcwbench.metrics import make_standin_weights

    print(f"wrote {make_standin_weights(a.out, seed=a.seed)}")


def cmd_refstats(a) -> None:
    from lcwbench.evaluate import compute_refstats

    n = None if a.n == "all" else int(a.n)
    out = compute_refstats(
        a.dataset, _json(a.data, "data"), a.split, n, _json(a.fid, "fid"), a.out,
        standin_weights=a.standin_weights, data_root=a.data_root, download=a.download, device=a.device,
    )
    print(f"wrote {out}")


def cmd_evaluate(a) -> None:
    from lcwbench.evaluate import evaluate_run
    from lcwbench.runner import check_spec

    spec = check_spec(_json(a.spec, "spec"))
    res = evaluate_run(
        a.run_dir, spec, a.protocol_name, _json(a.protocol, "protocol"), _json(a.fid, "fid"),
        a.refstats, a.out, standin_weights=a.standin_weights, data_root=a.data_root, download=a.download,
        device=a.device, snapshot_step=a.snapshot_step,
    )
    print(json.dumps({k: v["value"] for k, v in res["metrics"].items()}, indent=1))


def cmd_aggregate(a) -> None:
    from lcwbench.io import write_text
    from lcwbench.tables import summarize

    df = summarize(a.metrics)
    write_text(a.out, df.to_csv(index=False, float_format="%.6g"))
    print(f"wrote {a.out} ({len(df)} rows)")


def cmd_table(a) -> None:
    from lcwbench.tables import read_reported, render_table, summarize, write_table

    runs = _json(a.cells, "cells")
    metric_map = _json(a.metric_map, "metric-map") if a.metric_map else None
    df = render_table(a.paper, a.table, read_reported(a.reported), summarize(a.metrics), runs, metric_map=metric_map)
    write_table(df, a.csv, a.md, a.title or f"{a.paper} {a.table}", html_path=a.html)
    print(f"wrote {a.csv}, {a.md}{f' and {a.html}' if a.html else ''} ({len(df)} rows)")


def cmd_figures(a) -> None:
    """Per-run figures: samples, reconstructions beside test images (LCW Fig. 5), LT interpolations (Fig. 7)."""
    from lcwbench import figures
    from lcwbench.io import make_dir
    from lcwbench.runner import check_spec, load_model, load_split

    spec = check_spec(_json(a.spec, "spec"))
    out = make_dir(a.out_dir, "figure directory")
    model = load_model(Path(a.run_dir) / "model.pt")
    figures.sample_grid(model, out / "samples.png", seed=spec["seed"], title=spec["run"])
    if getattr(model, "has_encoder", True):
        test = load_split(spec, "test", a.data_root, a.download)
        if test.is_image:
            x = test.to_float(test.x[:16])
            figures.reconstruction_figure(model, x, out / "reconstructions.png", title="test images | reconstructions")
    if hasattr(model, "lg"):
        figures.lt_interpolations(model, out / "lt_interpolations.png", seed=spec["seed"])
    print(f"wrote {out}")


def cmd_latent_figure(a) -> None:
    """LCW Fig. 4: encoded test data vs Latent Trick samples for 2-D latent models."""
    from lcwbench import figures
    from lcwbench.runner import load_model, load_split

    panels = _json(a.panels, "panels")
    models = {label: (load_model(base), load_model(lt) if lt else None) for label, (base, lt) in panels.items()}
    ds = load_split({"dataset": a.dataset, "data": {}}, a.split, a.data_root, a.download)
    n = min(a.n, len(ds))
    x = ds.to_float(ds.x[:n])
    figures.latent_comparison(models, x, a.out, labels=None if ds.y is None else ds.y[:n])
    print(f"wrote {a.out}")


def cmd_ucurve(a) -> None:
    """LMGAE Fig. 3 / GLDO Fig. 8: a metric against a swept parameter (model capacity, eps), mean +- std
    over seeds, active dims on a second axis."""
    from lcwbench import capacity

    data = capacity.ucurve_data(_json(a.points, "points"), a.metrics, a.metric)
    capacity.plot_ucurve(data, a.out, true_dim=a.true_dim, title=a.title or "",
                         x_label=a.x_label or capacity.x_axis_label(a.x_param), x_scale=a.x_scale)
    print(f"wrote {a.out} and {Path(a.out).with_suffix('.csv')}")


def cmd_mask_trajectories(a) -> None:
    """LMGAE Fig. 5: mask values over training for several capacities."""
    from lcwbench import capacity

    capacity.mask_trajectories(_json(a.logs, "logs"), a.out, threshold=a.threshold, title=a.title or "")
    print(f"wrote {a.out}")


# metrics.json entries summarised in the CSV of each comparison figure (those a run lacks are skipped)
COMPARISON_METRICS = {
    "manifold_scatter": ["mse", "rec_error", "manifold_dist", "manifold_dist_rec", "fid"],
    "variant_grid": ["mse", "psnr", "rec_error", "fid"],
}


def cmd_comparison_figure(a) -> None:
    """Geng Fig. 4 (manifold_scatter), Fig. 5 (latent_prior), Fig. 6 (variant_grid), with a CSV beside."""
    from lcwbench import comparison_figures as cf
    from lcwbench.runner import load_model, load_split

    models = {label: load_model(path) for label, path in _ordered(a.models, "models").items()}
    ds = load_split({"dataset": a.dataset, "data": _json(a.data, "data")}, a.split, a.data_root, a.download)
    x = ds.to_float(ds.x[: min(a.n, len(ds))])
    names = COMPARISON_METRICS.get(a.kind)  # latent_prior's CSV holds its own latent statistics
    summary = cf.metric_summary(_ordered(a.metrics, "metrics"), names) if a.metrics and names else None
    if a.kind == "manifold_scatter":
        cf.manifold_scatter(models, x, a.out, seed=a.seed, summary=summary, title=a.title, dataset=a.dataset)
    elif a.kind == "latent_prior":
        cf.latent_prior(models, x, a.out, seed=a.seed, title=a.title)
    else:
        cf.variant_grid(models, x, a.out, seed=a.seed, summary=summary, title=a.title)
    print(f"wrote {a.out} and {Path(a.out).with_suffix('.csv')}")


def _ordered(text: str, what: str) -> dict:
    """A JSON mapping, or a list of [label, value] pairs (keeps the row order through sorted JSON)."""
    obj = _json(text, what)
    try:
        return dict(obj)
    except (TypeError, ValueError):
        raise LcwbenchError(f"--{what} must be a JSON object or a list of [label, value] pairs") from None


def cmd_metric_figure(a) -> None:
    """GLDO Fig. 7 (a): one metric per experiment, mean +- std over seeds (PNG + CSV)."""
    from lcwbench import comparison_figures as cf

    summary = cf.metric_summary(_ordered(a.metrics, "metrics"), [a.metric])
    cf.metric_points(summary, a.out, metric=a.metric, title=a.title)
    print(f"wrote {a.out} and {Path(a.out).with_suffix('.csv')}")


def cmd_code_interpolations(a) -> None:
    """GLDO Fig. 3: decoded lines between learned codes of training-image pairs, per model (PNG + CSV)."""
    from lcwbench import figures
    from lcwbench.runner import load_model

    models = {label: load_model(path) for label, path in _ordered(a.models, "models").items()}
    figures.code_interpolations(models, a.out, pairs=a.pairs, k=a.steps, seed=a.seed, title=a.title)
    print(f"wrote {a.out} and {Path(a.out).with_suffix('.csv')}")


def cmd_plan(a) -> None:
    """Jobs per rule and per paper, GPU-hours (benchmark files where present, else declared runtimes)."""
    from lcwbench.config import load_config
    from lcwbench.plan import format_plan, plan

    p = plan(load_config(a.config), a.workdir)
    print(json.dumps(p, indent=1) if a.json else format_plan(p))


def cmd_validate(a) -> None:
    from lcwbench.config import expand_runs, load_config

    cfg = load_config(a.config)
    runs = expand_runs(cfg)
    print(f"{a.config}: valid; {len(cfg['experiments'])} experiments, {len(runs)} runs")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lcwbench", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, data=True):
        sp.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        sp.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's choice); the DAG passes the rule's threads")
        if data:
            sp.add_argument("--data-root", default=None)
            sp.add_argument("--download", action="store_true")

    sp = sub.add_parser("train", help="train one run")
    sp.add_argument("--spec", required=True, help="run spec as JSON (see lcwbench.config.expand_runs)")
    sp.add_argument("--out-dir", required=True)
    sp.add_argument("--checkpoint-every", type=int, default=1000)
    sp.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (no final model)")
    sp.add_argument("--progress", action="store_true")
    sp.add_argument("--base-model", default=None, help="model.pt of the base run (stage-2 methods)")
    sp.add_argument(
        "--precision", default="auto", choices=["auto", "fp32", "bf16"],
        help="auto: bf16 autocast for image models on a GPU, fp32 otherwise",
    )
    common(sp)
    sp.set_defaults(fn=cmd_train)

    sp = sub.add_parser("standin-weights", help="write a stand-in Inception weights file (tests, CI)")
    sp.add_argument("--out", required=True)
    sp.add_argument("--seed", type=int, default=0)
    sp.set_defaults(fn=cmd_standin_weights)

    sp = sub.add_parser("refstats", help="reference-set feature statistics")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--data", default="{}")
    sp.add_argument("--split", required=True)
    sp.add_argument("--n", required=True, help="number of reference items or 'all'")
    sp.add_argument("--fid", required=True)
    sp.add_argument("--standin-weights", default=None)
    sp.add_argument("--out", required=True)
    common(sp)
    sp.set_defaults(fn=cmd_refstats)

    sp = sub.add_parser("evaluate", help="evaluate one trained run")
    sp.add_argument("--run-dir", required=True)
    sp.add_argument("--spec", required=True)
    sp.add_argument("--protocol-name", required=True)
    sp.add_argument("--protocol", required=True)
    sp.add_argument("--fid", required=True)
    sp.add_argument("--refstats", required=True)
    sp.add_argument("--standin-weights", default=None)
    sp.add_argument("--snapshot-step", type=int, default=None,
                    help="evaluate the run's snapshot after this training step instead of model.pt")
    sp.add_argument("--out", required=True)
    common(sp)
    sp.set_defaults(fn=cmd_evaluate)

    sp = sub.add_parser("aggregate", help="tidy summary of metrics.json files")
    sp.add_argument("--out", required=True)
    sp.add_argument("metrics", nargs="*")
    sp.set_defaults(fn=cmd_aggregate)

    sp = sub.add_parser("table", help="render one paper table (reported beside reproduced)")
    sp.add_argument("--paper", required=True)
    sp.add_argument("--table", required=True)
    sp.add_argument("--title", default=None)
    sp.add_argument("--reported", required=True)
    sp.add_argument("--csv", required=True)
    sp.add_argument("--md", required=True)
    sp.add_argument("--html", default=None, help="also write the table as an HTML page (for the Snakemake report)")
    sp.add_argument("--cells", required=True,
                    help='JSON {run: {"cells": ["paper/table/dataset/method", ...], "group": ..., "sweep": ...}}')
    sp.add_argument("--metric-map", default=None,
                    help='JSON {reported metric: metrics.json metric}, e.g. {"fid": "fid_interp"} for GLDO Table 3')
    sp.add_argument("metrics", nargs="*")
    sp.set_defaults(fn=cmd_table)

    sp = sub.add_parser("figures", help="per-run figures (samples, reconstructions, LT interpolations)")
    sp.add_argument("--run-dir", required=True)
    sp.add_argument("--spec", required=True)
    sp.add_argument("--out-dir", required=True)
    common(sp)
    sp.set_defaults(fn=cmd_figures)

    sp = sub.add_parser("latent-figure", help="2-D latents vs Latent Trick samples (LCW Fig. 4)")
    sp.add_argument("--panels", required=True, help='JSON {label: [base model.pt, latent-trick model.pt or null]}')
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--split", default="test")
    sp.add_argument("--n", type=int, default=2000)
    sp.add_argument("--out", required=True)
    common(sp)
    sp.set_defaults(fn=cmd_latent_figure)

    sp = sub.add_parser("ucurve", help="metric vs a swept parameter over seeds (LMGAE Fig. 3, GLDO Fig. 8), with CSV")
    sp.add_argument("--points", required=True, help='JSON {run: {"curve": label, "x": M, "seed": s}}')
    sp.add_argument("--metric", default="fid")
    sp.add_argument("--true-dim", type=int, default=None)
    sp.add_argument("--x-param", default="latent_dim", help="the swept parameter (names the x axis)")
    sp.add_argument("--x-label", default=None, help="x axis label (default from --x-param)")
    sp.add_argument("--x-scale", default="linear", choices=["linear", "log", "categorical"])
    sp.add_argument("--title", default=None)
    sp.add_argument("--out", required=True)
    sp.add_argument("metrics", nargs="+")
    sp.set_defaults(fn=cmd_ucurve)

    sp = sub.add_parser("mask-trajectories", help="LMGAE mask values over training (Fig. 5)")
    sp.add_argument("--logs", required=True, help='JSON {label: train_log.csv}')
    sp.add_argument("--threshold", type=float, default=0.1)
    sp.add_argument("--title", default=None)
    sp.add_argument("--out", required=True)
    sp.set_defaults(fn=cmd_mask_trajectories)

    sp = sub.add_parser("comparison-figure",
                        help="Geng Figs. 4-6: manifold scatter, latent vs prior, variant grid (PNG + CSV)")
    sp.add_argument("--kind", required=True, choices=["manifold_scatter", "latent_prior", "variant_grid"])
    sp.add_argument("--models", required=True,
                    help='JSON [[label, model.pt], ...] or {label: model.pt}: one run per row/panel, in order')
    sp.add_argument("--metrics", default=None,
                    help='JSON [[label, [metrics.json, ...]], ...] or a mapping: summarised over seeds in the CSV')
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--data", default="{}")
    sp.add_argument("--split", default="test")
    sp.add_argument("--n", type=int, default=5000, help="data points drawn (the first n of the split)")
    sp.add_argument("--seed", type=int, default=0, help="seed of the noise the figure draws")
    sp.add_argument("--title", default=None)
    sp.add_argument("--out", required=True)
    common(sp)
    sp.set_defaults(fn=cmd_comparison_figure)

    sp = sub.add_parser("metric-figure", help="one metric per experiment, mean +- std over seeds (GLDO Fig. 7)")
    sp.add_argument("--metrics", required=True,
                    help='JSON [[label, [metrics.json, ...]], ...] or a mapping: one point per label, in order')
    sp.add_argument("--metric", default="fid")
    sp.add_argument("--title", default=None)
    sp.add_argument("--out", required=True)
    sp.set_defaults(fn=cmd_metric_figure)

    sp = sub.add_parser("code-interpolations",
                        help="interpolations between learned codes of training images, GLO vs GLDO (GLDO Fig. 3)")
    sp.add_argument("--models", required=True, help='JSON [[label, model.pt], ...]: one block of rows per model')
    sp.add_argument("--pairs", type=int, default=4, help="pairs of training images (rows per model)")
    sp.add_argument("--steps", type=int, default=8, help="images per row, end points included")
    sp.add_argument("--seed", type=int, default=0, help="seed of the choice of pairs")
    sp.add_argument("--title", default=None)
    sp.add_argument("--out", required=True)
    sp.set_defaults(fn=cmd_code_interpolations)

    sp = sub.add_parser("plan", help="jobs per rule and paper, estimated GPU-hours, largest job of a config")
    sp.add_argument("--config", default="config/config.yaml")
    sp.add_argument("--workdir", default=".", help="where results/benchmarks/ of earlier runs live")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(fn=cmd_plan)

    sp = sub.add_parser("validate-config", help="check a workflow config")
    sp.add_argument("config")
    sp.set_defaults(fn=cmd_validate)
    return p


def set_threads(n: int | None) -> None:
    """Limit torch to ``n`` CPU threads, so parallel jobs on one machine do not oversubscribe its cores."""
    if n is None:
        return
    if n < 1:
        raise LcwbenchError(f"--threads must be >= 1, got {n}")
    import torch

    torch.set_num_threads(n)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        set_threads(getattr(args, "threads", None))
        args.fn(args)
    except LcwbenchError as exc:
        print(f"lcwbench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file-system problem no reader anticipated: still one line naming the path
        where = f": {exc.filename}" if exc.filename else ""
        print(f"lcwbench: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Model-capacity sweeps: the LMGAE paper's U-curves (Fig. 3) and mask trajectories (Fig. 5).

``ucurve_data`` gathers, for every curve (an experiment sweeping the latent size M, or any other
swept parameter such as GLDO's eps for its Fig. 8, or a training step for GLDO Fig. 4) and every x, the
mean and standard deviation over seeds of one metric and of the active dimensions (methods with a
mask report ``active_dims``); ``plot_ucurve`` draws it with the active dimensions on a second axis
and the true dimension marked, and writes the numbers as CSV beside the figure.
``mask_trajectories`` reads the per-epoch mask values ``m0 ... m{M-1}`` that LMGAE logs in
``train_log.csv`` and draws one panel per capacity.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from lcwbench.errors import LcwbenchError  # noqa: E402
from lcwbench.figures import save_fig  # noqa: E402
from lcwbench.io import write_text  # noqa: E402

UCURVE_COLUMNS = ["curve", "x", "metric", "mean", "std", "n_seeds", "active_dims_mean", "active_dims_std",
                  "active_dims_per_seed", "values_per_seed", "protocol", "runs"]


def ucurve_data(points: dict[str, dict[str, Any]], metrics_files: list[str | Path], metric: str) -> pd.DataFrame:
    """``points`` maps run name -> {"curve": label, "x": swept value, "seed": seed}; one row per (curve, x)."""
    by_run: dict[str, dict[str, Any]] = {}
    for path in metrics_files:
        try:
            m = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise LcwbenchError(f"metrics file {path} is unreadable: {exc}") from None
        by_run[m["run"]] = m
    missing = sorted(set(points) - set(by_run))
    if missing:
        more = " ..." if len(missing) > 3 else ""
        raise LcwbenchError(f"no metrics.json given for run(s) {', '.join(missing[:3])}{more}")
    rows = []
    for run, pt in points.items():
        metrics = by_run[run]["metrics"]
        if metric not in metrics:
            raise LcwbenchError(f"run {run} has no metric {metric!r}; it has {', '.join(sorted(metrics))}")
        active = metrics.get("active_dims", {}).get("value")
        protocol = json.dumps(metrics[metric].get("protocol", {}), sort_keys=True)
        rows.append({"curve": pt["curve"], "x": pt["x"], "seed": pt["seed"], "run": run,
                     "value": float(metrics[metric]["value"]), "active": active, "protocol": protocol})
    df = pd.DataFrame(rows)
    out = []
    for (curve, x), g in df.groupby(["curve", "x"], sort=True):
        if g["protocol"].nunique() > 1:
            raise LcwbenchError(f"curve {curve!r} at x={x}: runs were evaluated under different protocols")
        g = g.sort_values("seed")
        act = g["active"].dropna().astype(float)
        out.append({
            "curve": curve, "x": x, "metric": metric,
            "mean": g["value"].mean(), "std": g["value"].std(ddof=1) if len(g) > 1 else float("nan"),
            "n_seeds": len(g),
            "active_dims_mean": act.mean() if len(act) else float("nan"),
            "active_dims_std": act.std(ddof=1) if len(act) > 1 else float("nan"),
            "active_dims_per_seed": " ".join(str(int(a)) for a in act),
            "values_per_seed": " ".join(f"{v:.4g}" for v in g["value"]),
            "protocol": g["protocol"].iloc[0],
            "runs": " ".join(g["run"]),
        })
    return pd.DataFrame(out, columns=UCURVE_COLUMNS)


LOG_Y_RATIO = 20  # plot_ucurve uses a log y axis when the means span more than this factor


def use_log_y(values) -> bool:
    """True when positive values span more than ``LOG_Y_RATIO`` (e.g. LMGAE's distances 30x WAE-GAN's)."""
    v = pd.Series(values, dtype=float).dropna()
    return bool(len(v)) and v.min() > 0 and v.max() / v.min() > LOG_Y_RATIO


X_SCALES = ("linear", "log", "categorical")


def x_axis_label(x_param: str = "latent_dim") -> str:
    """The x label of a ucurve: the LMGAE wording for the latent size, else the parameter's name."""
    if x_param == "latent_dim":
        return "model capacity M (latent_dim)"
    if x_param == "step":
        return "training step (generator iterations)"
    return f"value of {x_param}"


def _x_positions(data: pd.DataFrame, x_scale: str) -> tuple[dict, list]:
    """x value -> plotted position; identity except on a categorical axis (sorted values at 0, 1, ...)."""
    values = sorted(data["x"].unique())
    if x_scale == "categorical":
        return {v: i for i, v in enumerate(values)}, values
    return {v: v for v in values}, values


def plot_ucurve(data: pd.DataFrame, out: str | Path, *, true_dim: int | None = None, title: str = "",
                x_label: str = "model capacity M (latent_dim)", x_scale: str = "linear") -> Path:
    """Metric vs x per curve (mean +- std band), active dims on a right axis; CSV written beside ``out``.

    ``x_scale``: "linear" (integer ticks, the LMGAE capacity axis), "log", or "categorical" (the sorted x
    values equally spaced and labelled, e.g. GLDO Fig. 8's eps values 1 ... 100,000)."""
    if x_scale not in X_SCALES:
        raise LcwbenchError(f"x_scale must be one of {', '.join(X_SCALES)}, got {x_scale!r}")
    if x_scale == "log" and len(data) and not (data["x"].astype(float) > 0).all():
        raise LcwbenchError("a log x axis needs x values > 0")
    pos, values = _x_positions(data, x_scale)
    out = Path(out)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    metric = data["metric"].iloc[0] if len(data) else "metric"
    if metric == "fid" and len(data) and "raw vectors" in data["protocol"].iloc[0]:
        metric = "Frechet distance (raw vectors)"
    elif metric == "fid" and len(data) and '"is_standin": true' in data["protocol"].iloc[0]:
        metric = "FID (STAND-IN extractor)"
    for curve, g in data.groupby("curve", sort=True):
        g = g.sort_values("x")
        ax.errorbar(g["x"].map(pos), g["mean"], yerr=g["std"].fillna(0), marker="o", capsize=3,
                    label=f"{curve} ({metric})")
    ax.set_xlabel(x_label)
    if x_scale == "categorical":
        ax.set_xticks(range(len(values)), [f"{v:,g}" for v in values], fontsize=8)
    elif x_scale == "log":
        ax.set_xscale("log")
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)
    if use_log_y(data["mean"]):
        ax.set_yscale("log")  # one curve far above the other would flatten the lower one's U
        metric += ", log scale"
    ax.set_ylabel(metric)
    act = data.dropna(subset=["active_dims_mean"])
    handles, labels = ax.get_legend_handles_labels()
    if len(act):
        ax2 = ax.twinx()
        for curve, g in act.groupby("curve", sort=True):
            g = g.sort_values("x")
            ax2.errorbar(g["x"].map(pos), g["active_dims_mean"], yerr=g["active_dims_std"].fillna(0), marker="s",
                         linestyle="--", color="tab:green", capsize=3, label=f"{curve} active dims")
        ax2.set_ylabel("active latent dimensions")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    if true_dim is not None and (x_scale != "categorical" or true_dim in pos):
        handles.append(ax.axvline(pos.get(true_dim, true_dim), color="grey", linestyle=":"))
        labels.append(f"true dimension {true_dim}")
    ax.legend(handles, labels, fontsize=8, loc="upper center")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_fig(fig, out, dpi=120)
    write_text(out.with_suffix(".csv"), data.to_csv(index=False))
    return out


def read_mask_log(path: str | Path) -> pd.DataFrame:
    """Per-epoch mask values of an LMGAE run: columns step, m0 ... m{M-1}."""
    path = Path(path)
    if not path.is_file():
        raise LcwbenchError(f"training log not found: {path}")
    log = pd.read_csv(path)
    cols = [c for c in log.columns if c.startswith("m") and c[1:].isdigit()]
    if not cols:
        raise LcwbenchError(f"{path} has no mask columns m0, m1, ...: not an LMGAE run")
    return log[["step", *sorted(cols, key=lambda c: int(c[1:]))]]


def mask_trajectories(logs: dict[str, str | Path], out: str | Path, *, threshold: float = 0.1,
                      title: str = "") -> Path:
    """One panel per ``label -> train_log.csv``: every mask entry against the training step; the
    active-dimension threshold dashed. The values are also written as CSV beside ``out``."""
    out = Path(out)
    fig, axes = plt.subplots(1, len(logs), figsize=(4.2 * len(logs), 3.4), squeeze=False)
    frames = []
    for ax, (label, path) in zip(axes[0], logs.items()):
        log = read_mask_log(path)
        for col in log.columns[1:]:
            ax.plot(log["step"], log[col], linewidth=1)
        final = log.iloc[-1, 1:]
        ax.axhline(threshold, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(f"{label}: {int((final >= threshold).sum())} active", fontsize=9)
        ax.set_xlabel("training step")
        ax.set_ylim(-0.05, 1.05)
        frames.append(log.melt(id_vars="step", var_name="dim", value_name="mask").assign(run=label))
    axes[0][0].set_ylabel("mask value m_i")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_fig(fig, out, dpi=120)
    write_text(out.with_suffix(".csv"), pd.concat(frames).to_csv(index=False))
    return out

"""Multi-method comparison figures of Geng et al. (seed 004; ``/work/shared/reference/figures.md``).

* :func:`manifold_scatter` (Fig. 4, swiss roll): one row per method, three columns - the input
  manifold (test points), the reconstructed manifold ``D(E(x))`` of the same points and the manifold
  generated from the prior (``model.sample``). Input and reconstruction are coloured by the input's
  position along the roll (its norm, monotone in the roll parameter t), so a reconstruction that
  keeps the topology shows the same colour gradient.
* :func:`latent_prior` (Fig. 5): one panel per method with a 2-D latent - the embedding ``E(x)`` of
  the test points (coloured as above) over samples of the prior ``N(0, I)`` (grey); methods that map
  the prior before decoding (Geng's latent generator g, ALAE's mapping F) also show the mapped samples
  ``model.sample_latent`` (orange), the codes their decoder actually receives when generating.
* :func:`variant_grid` (Fig. 6, MNIST ablation): one row per variant, three image blocks -
  reconstructions (rows of test images, each followed by its reconstructions), interpolations
  ``D((1 - a) E(x1) + a E(x2))`` with a = 0 .. 1 in 8 steps between pairs of test images, and samples.

* :func:`metric_points` (GLDO Fig. 7 (a), FID of GLO/GLDO with the Lap1 and the perceptual loss on
  CelebA): one metric per labelled experiment, mean +- std over seeds as a point with an error bar, the
  seeds' own values as small dots beside it.

Each figure gets a CSV beside it (``out.with_suffix(".csv")``): for Figs. 4 and 6 the metrics of
the runs behind each row, mean +- std over seeds (:func:`metric_summary`, from ``metrics.json``); for
Fig. 5 the statistics of the plotted codes at the figure's seed, including the Frechet distance
between Gaussians fitted to ``E(x)`` and to the latent samples the decoder gets (0 when the prior
matches the embedding). Models run in eval mode without gradients; noise is drawn with ``seed``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lcwbench.errors import LcwbenchError
from lcwbench.figures import _as_float, _encode, _generator, _grid_array, _inference, _need_encoder, plt, save_fig
from lcwbench.io import write_text
from lcwbench.methods.base import Method
from lcwbench.metrics.fid import frechet_distance_vectors

KINDS = ("manifold_scatter", "latent_prior", "variant_grid")
SUMMARY_COLUMNS = ["label", "metric", "mean", "std", "n_seeds", "values_per_seed", "runs", "protocol"]
LATENT_COLUMNS = ["label", "seed", "n", "latent_samples", "code_mean", "code_std", "sample_mean", "sample_std",
                  "frechet_codes_vs_samples", "frechet_codes_vs_prior"]
GRID_COLS = 8  # images per row of each block of variant_grid
GRID_ROWS = 4
POINT = 3.0  # scatter marker size
CMAP = "viridis"


# ----------------------------------------------------------------------------------------------- numbers


def metric_summary(metrics: Mapping[str, Sequence[str | Path]], names: Sequence[str]) -> pd.DataFrame:
    """Mean +- std over seeds of the metrics ``names`` for each label -> list of ``metrics.json`` files.

    Metrics a label's runs lack are left out; runs of one label evaluated under different protocols
    raise :class:`LcwbenchError` (they are never pooled)."""
    rows = []
    for label, files in metrics.items():
        loaded = []
        for path in files:
            try:
                loaded.append(json.loads(Path(path).read_text()))
            except (OSError, json.JSONDecodeError) as exc:
                raise LcwbenchError(f"metrics file {path} is unreadable: {exc}") from None
        for name in names:
            have = [m for m in loaded if name in m["metrics"]]
            if not have:
                continue
            protos = {json.dumps(m["metrics"][name].get("protocol", {}), sort_keys=True) for m in have}
            if len(protos) > 1:
                raise LcwbenchError(f"{label}: the runs' {name!r} were evaluated under different protocols")
            have.sort(key=lambda m: m["seed"])
            values = np.array([float(m["metrics"][name]["value"]) for m in have])
            rows.append({
                "label": label, "metric": name, "mean": values.mean(),
                "std": values.std(ddof=1) if len(values) > 1 else float("nan"), "n_seeds": len(values),
                "values_per_seed": " ".join(f"{v:.6g}" for v in values),
                "runs": " ".join(m["run"] for m in have), "protocol": protos.pop(),
            })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


# ----------------------------------------------------------------------------------------------- helpers


def _check_models(models: Mapping[str, object], what: str) -> None:
    if not models:
        raise LcwbenchError(f"{what} needs at least one model")
    for label, model in models.items():
        _need_encoder(model, f"{what} ({label})")


def _check_vectors2d(x: torch.Tensor, what: str) -> None:
    if x.dim() != 2 or x.shape[1] != 2 or len(x) < 1:
        raise LcwbenchError(f"{what} needs 2-D vector data (N x 2, e.g. the swiss roll); got shape {tuple(x.shape)}")


def _frame(points: np.ndarray, pad: float = 0.15) -> tuple[np.ndarray, float]:
    """Centre and half-width of a square frame around ``points`` (ignoring the extreme 0.5% each side)."""
    lo = np.percentile(points, 0.5, axis=0)
    hi = np.percentile(points, 99.5, axis=0)
    half = (1 + pad) * max(float((hi - lo).max()) / 2, 1e-6)
    return (lo + hi) / 2, half


def _square(ax, center: np.ndarray, half: float) -> None:
    ax.set_xlim(center[0] - half, center[0] + half)
    ax.set_ylim(center[1] - half, center[1] + half)
    ax.set_aspect("equal", adjustable="box")
    ax.tick_params(labelsize=7)


def _outside(points: np.ndarray, center: np.ndarray, half: float) -> int:
    return int((np.abs(points - center) > half).any(axis=1).sum())


def _maps_prior(model) -> bool:
    """Whether the model decodes something other than the N(0, I) prior (its own ``sample_latent``)."""
    return type(model).sample_latent is not Method.sample_latent


# ----------------------------------------------------------------------------------------------- figures


def manifold_scatter(models: Mapping[str, object], x: torch.Tensor, out, seed: int = 0,
                     summary: pd.DataFrame | None = None, title: str | None = None,
                     dataset: str = "swissroll") -> Path:
    """Fig. 4: per model (row) the input points, their reconstructions and as many generated points.

    ``x``: N x 2 data points (the test split) of ``dataset``, whose known manifold gives the generated
    points' distance in the panel titles. ``summary`` (from :func:`metric_summary`) is written as
    the CSV beside ``out``; without it the CSV holds the figure's own numbers. Returns ``out``.
    """
    from lcwbench.metrics import manifold_distance, manifold_reference, mse

    out = Path(out)
    _check_models(models, "manifold_scatter")
    x = _as_float(x).cpu()
    _check_vectors2d(x, "manifold_scatter")
    manifold = manifold_reference(dataset)
    if manifold is None:
        raise LcwbenchError(f"manifold_scatter: data set {dataset!r} has no known manifold (swissroll has)")
    reference = manifold[0]
    colour = x.norm(dim=1).numpy()
    rows = []
    for label, model in models.items():
        with _inference(model):
            dev = next(iter(model.parameters())).device
            rec = model.reconstruct(x.to(dev)).cpu().double()
            gen = model.sample(len(x), generator=_generator(model, seed)).cpu().double()
        if rec.shape != x.shape or gen.shape != x.shape:
            raise LcwbenchError(f"manifold_scatter: model {label!r} does not produce 2-D points")
        rows.append((label, rec.numpy(), gen.numpy(), mse(x, rec), manifold_distance(gen, reference)))
    data = x.double().numpy()
    center, half = _frame(data, pad=0.25)
    fig, axes = plt.subplots(len(rows), 3, figsize=(9.6, 3.1 * len(rows) + 0.5), dpi=100, squeeze=False,
                             layout="constrained")
    for i, (label, rec, gen, rec_mse, gen_dist) in enumerate(rows):
        ax_in, ax_rec, ax_gen = axes[i]
        ax_in.scatter(data[:, 0], data[:, 1], s=POINT, c=colour, cmap=CMAP, linewidths=0)
        ax_rec.scatter(rec[:, 0], rec[:, 1], s=POINT, c=colour, cmap=CMAP, linewidths=0)
        ax_gen.scatter(gen[:, 0], gen[:, 1], s=POINT, color="tab:orange", linewidths=0)
        ax_in.set_title(f"{label}: input ({len(data)} test points)", fontsize=9)
        ax_rec.set_title(f"{label}: reconstruction (MSE {rec_mse:.2g})", fontsize=9)
        ax_gen.set_title(f"{label}: generated (dist. to roll {gen_dist:.2g})", fontsize=9)
        for ax, pts in ((ax_in, data), (ax_rec, rec), (ax_gen, gen)):
            _square(ax, center, half)
            k = _outside(pts, center, half)
            if k:
                ax.text(0.02, 0.02, f"{k} points outside the frame", transform=ax.transAxes, fontsize=7)
    fig.suptitle(title or f"input | reconstructed | generated manifold (seed {seed}); colour = position on the roll",
                 fontsize=10)
    save_fig(fig, out)
    if summary is None:
        own = [{"label": r[0], "metric": m, "mean": v, "std": float("nan"), "n_seeds": 1,
                "values_per_seed": f"{v:.6g}", "runs": "", "protocol": f"the figure's points, seed {seed}"}
               for r in rows for m, v in (("mse", r[3]), ("manifold_dist", r[4]))]
        summary = pd.DataFrame(own, columns=SUMMARY_COLUMNS)
    write_text(out.with_suffix(".csv"), summary.to_csv(index=False))
    return out


def latent_prior(models: Mapping[str, object], x: torch.Tensor, out, seed: int = 0, title: str | None = None) -> Path:
    """Fig. 5: per model the embedding E(x) of ``x`` over N(0, I) prior samples (and the mapped samples
    ``sample_latent`` where the model maps its prior). Latents must be 2-D. The CSV beside ``out``
    holds the codes' statistics (:data:`LATENT_COLUMNS`). Returns ``out``."""
    out = Path(out)
    _check_models(models, "latent_prior")
    x = _as_float(x).cpu()
    if len(x) < 2:
        raise LcwbenchError("latent_prior needs at least two data points")
    colour = x.reshape(len(x), -1).norm(dim=1).numpy()
    panels, stats = [], []
    for label, model in models.items():
        gen = _generator(model, seed)
        with _inference(model):
            codes = _encode(model, x).double()
            if codes.dim() != 2 or codes.shape[1] != 2:
                raise LcwbenchError(
                    f"latent_prior: model {label!r} has latent shape {tuple(codes.shape[1:])}; the figure needs a 2-D"
                    " latent (latent_dim: 2)"
                )
            prior = torch.randn(len(x), 2, generator=gen, device=gen.device).cpu().double()
            mapped = model.sample_latent(len(x), generator=gen).cpu().double() if _maps_prior(model) else None
        c, p = codes.numpy(), prior.numpy()
        m = None if mapped is None else mapped.numpy()
        samples = p if m is None else m
        panels.append((label, c, p, m))
        stats.append({
            "label": label, "seed": seed, "n": len(c),
            "latent_samples": "N(0, I) prior" if m is None else "model.sample_latent (mapped prior)",
            "code_mean": " ".join(f"{v:.4g}" for v in c.mean(axis=0)),
            "code_std": " ".join(f"{v:.4g}" for v in c.std(axis=0, ddof=1)),
            "sample_mean": " ".join(f"{v:.4g}" for v in samples.mean(axis=0)),
            "sample_std": " ".join(f"{v:.4g}" for v in samples.std(axis=0, ddof=1)),
            "frechet_codes_vs_samples": frechet_distance_vectors(c, samples),
            "frechet_codes_vs_prior": frechet_distance_vectors(c, p),
        })
    ncol = len(panels)
    fig, axes = plt.subplots(1, ncol, figsize=(3.4 * ncol, 3.9), dpi=100, squeeze=False, layout="constrained")
    for ax, (label, c, p, m) in zip(axes[0], panels):
        pts = np.concatenate([c, p] + ([m] if m is not None else []))
        center, half = _frame(pts, pad=0.1)
        ax.scatter(p[:, 0], p[:, 1], s=POINT, color="0.75", linewidths=0, label="z ~ N(0, I)")
        if m is not None:
            ax.scatter(m[:, 0], m[:, 1], s=POINT, color="tab:orange", alpha=0.6, linewidths=0,
                       label="mapped prior samples")
        ax.scatter(c[:, 0], c[:, 1], s=POINT, c=colour, cmap=CMAP, linewidths=0, label="E(x)")
        _square(ax, center, half)
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=6, loc="upper right", markerscale=3)
    fig.suptitle(title or f"latent embedding E(x) (colour = position on the roll) vs prior samples (seed {seed})",
                 fontsize=10)
    save_fig(fig, out)
    write_text(out.with_suffix(".csv"), pd.DataFrame(stats, columns=LATENT_COLUMNS).to_csv(index=False))
    return out


def _variant_blocks(model, x: torch.Tensor, seed: int) -> list[np.ndarray]:
    """Reconstruction, interpolation and sample grids (H x W x 3 arrays) of one model."""
    n_half = GRID_ROWS // 2 * GRID_COLS  # images whose reconstructions are shown
    with _inference(model):
        dev = next(iter(model.parameters())).device
        real = x[: n_half].to(dev)
        rec = model.reconstruct(real)
        pairs = []
        for r in range(GRID_ROWS // 2):
            sl = slice(r * GRID_COLS, (r + 1) * GRID_COLS)
            pairs += [real[sl], rec[sl]]
        recon = torch.cat(pairs).cpu()
        a = x[n_half : n_half + GRID_ROWS].to(dev)
        b = x[n_half + GRID_ROWS : n_half + 2 * GRID_ROWS].to(dev)
        za, zb = model.encode(a), model.encode(b)
        alpha = torch.linspace(0, 1, GRID_COLS, device=dev).view(1, GRID_COLS, *([1] * (za.dim() - 1)))
        path = (1 - alpha) * za[:, None] + alpha * zb[:, None]
        interp = model.decode(path.reshape(-1, *za.shape[1:])).cpu()
        samples = model.sample(GRID_ROWS * GRID_COLS, generator=_generator(model, seed)).cpu()
    return [_grid_array(t.float(), GRID_COLS) for t in (recon, interp, samples)]


def variant_grid(models: Mapping[str, object], x: torch.Tensor, out, seed: int = 0,
                 summary: pd.DataFrame | None = None, title: str | None = None) -> Path:
    """Fig. 6: per variant (row) reconstructions, interpolations and samples. ``x``: at least
    ``GRID_ROWS * (GRID_COLS // 2 + 2)`` = 24 test images. The CSV beside ``out`` is ``summary``
    (empty when None). Returns ``out``."""
    out = Path(out)
    _check_models(models, "variant_grid")
    need = GRID_ROWS // 2 * GRID_COLS + 2 * GRID_ROWS
    if x.dim() != 4 or len(x) < need:
        raise LcwbenchError(f"variant_grid needs at least {need} images (N x C x H x W); got shape {tuple(x.shape)}")
    x = _as_float(x[:need])
    rows = [(label, _variant_blocks(model, x, seed)) for label, model in models.items()]
    h, w = rows[0][1][0].shape[:2]
    scale = max(1.0, 240 / w)
    size = (3 * w * scale / 100 + 1.2, len(rows) * (h * scale / 100 + 0.35) + 0.5)
    fig, axes = plt.subplots(len(rows), 3, figsize=size, dpi=100, squeeze=False, layout="constrained")
    heads = ("reconstructions (test row, then its reconstruction)", "interpolations E(x1) -> E(x2)",
             f"samples (seed {seed})")
    for i, (label, blocks) in enumerate(rows):
        for j, block in enumerate(blocks):
            ax = axes[i, j]
            ax.imshow(block, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(heads[j], fontsize=9)
            if j == 0:
                ax.set_ylabel(label, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=10)
    save_fig(fig, out)
    summary = summary if summary is not None else pd.DataFrame(columns=SUMMARY_COLUMNS)
    write_text(out.with_suffix(".csv"), summary.to_csv(index=False))
    return out


def _metric_label(summary: pd.DataFrame, metric: str) -> str:
    """The y label: the metric, marked where its numbers come from the stand-in extractor."""
    if metric.startswith("fid") and summary["protocol"].str.contains('"is_standin": true').any():
        return f"{metric} (STAND-IN extractor)"
    return metric


def metric_points(summary: pd.DataFrame, out, metric: str = "fid", title: str | None = None) -> Path:
    """GLDO Fig. 7 (a): ``metric`` per label of ``summary`` (:func:`metric_summary`, rows in the order
    to plot) as mean +- std over seeds, each seed's value as a dot. Every label needs the metric. The
    CSV beside ``out`` is ``summary``'s rows of ``metric``. Returns ``out``."""
    out = Path(out)
    rows = summary[summary["metric"] == metric].reset_index(drop=True)
    missing = [label for label in dict.fromkeys(summary["label"]) if label not in set(rows["label"])]
    if missing or rows.empty:
        raise LcwbenchError(f"metric_points: no {metric!r} for {', '.join(missing) or 'any label'}")
    fig, ax = plt.subplots(figsize=(1.3 * len(rows) + 2.2, 3.8), dpi=100, layout="constrained")
    pos = np.arange(len(rows))
    ax.errorbar(pos, rows["mean"], yerr=rows["std"].fillna(0), fmt="o", color="tab:blue", capsize=5,
                markersize=7, label="mean +- std over seeds", zorder=3)
    for i, values in enumerate(rows["values_per_seed"]):
        v = [float(t) for t in str(values).split()]
        ax.scatter(np.full(len(v), i - 0.12), v, s=10, color="0.5", zorder=2,
                   label="one seed" if i == 0 else None)
    for i, (m, n) in enumerate(zip(rows["mean"], rows["n_seeds"])):
        ax.annotate(f"{m:.3g} (n={n})", (i, m), xytext=(8, 0), textcoords="offset points", fontsize=7,
                    va="center")
    ax.set_xticks(pos, rows["label"])
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylabel(_metric_label(rows, metric))
    ax.legend(fontsize=7, loc="best")
    if title:
        ax.set_title(title, fontsize=9)
    save_fig(fig, out)
    write_text(out.with_suffix(".csv"), rows.to_csv(index=False))
    return out

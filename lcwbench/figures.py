"""Qualitative figures: sample grids, reconstructions, interpolations and 2-D latent scatters.

The LCW paper's figures (``/work/shared/reference/figures.md``, section "LCW / CW2") are qualitative:

* Fig. 3 / samples: :func:`sample_grid`.
* Fig. 5, reconstructions (001 L162): :func:`reconstruction_figure` - real test images in odd columns,
  their reconstructions D(E(x)) in the even columns beside them.
* Fig. 6 and Fig. 7, the two kinds of interpolation of a Latent Trick model (001 L182, L211):
  :func:`lt_interpolations` - a straight line between LG(z'_1) and LG(z'_k) in the latent space
  (red in Fig. 7) against LG applied to the straight line between z'_1 and z'_k in the noise space
  (blue in Fig. 7). The paper does not say how its latent picture was projected to 2-D; here it is
  PCA fitted on LG of 2000 noise samples [harness choice].
* Fig. 4, 2-D latents (001 L108, L152): :func:`latent_comparison` - encoded validation data (top) and
  LG(N(0, I)) (bottom) for autoencoders trained with a 2-D latent.
* :func:`interpolation_strip`: decoded straight lines between the codes of two images (used by the
  other papers' figures).
* :func:`code_interpolations` (GLDO Fig. 3, GLO vs GLDO on CelebA-64): decoded straight lines between
  the learned codes of pairs of training images, one block of rows per model, with a CSV of the pairs.

Every function takes loaded models and tensors (images as float in [0, 1] or uint8), a ``seed`` for
any noise it draws, and an output path; it returns the path(s) written. Models run in eval mode
under ``torch.no_grad()`` (their previous train/eval mode is restored afterwards). Every file is
written through :func:`lcwbench.io.atomic_path`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

import lcwbench._tv_compat  # noqa: E402,F401  (must precede any torchvision import, save_grid's included)
from lcwbench.errors import LcwbenchError  # noqa: E402
from lcwbench.io import atomic_path, write_text  # noqa: E402

DPI = 100
ENCODE_BATCH = 1000
PCA_SAMPLES = 2000  # LG outputs the latent-path projection is fitted on
GRID_PAD = 2  # pixels between images, as in lcwbench.evaluate.save_grid
COLOR_A = "tab:red"  # straight line in the latent space (Fig. 7 red)
COLOR_B = "tab:blue"  # LG of the straight line in the noise space (Fig. 7 blue)
LABEL_A = "line in latent"
LABEL_B = "LG(line in noise)"

__all__ = [
    "code_interpolations",
    "interpolation_strip",
    "latent_comparison",
    "lt_interpolations",
    "reconstruction_figure",
    "sample_grid",
]


# ----------------------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _inference(*models: torch.nn.Module) -> Iterator[None]:
    """Eval mode and no gradients for ``models``; their previous modes come back afterwards."""
    modes = [m.training for m in models]
    try:
        for m in models:
            m.eval()
        with torch.no_grad():
            yield
    finally:
        for m, mode in zip(models, modes):
            m.train(mode)


def _device(model: torch.nn.Module) -> torch.device:
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    return first.device if first is not None else torch.device("cpu")


def _generator(model: torch.nn.Module, seed: int) -> torch.Generator:
    return torch.Generator(device=_device(model)).manual_seed(int(seed))


def _as_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in [0, 1] (as ``Dataset.to_float``); anything else -> float32."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32) / 255.0
    return x.to(torch.float32)


def _need_encoder(model, what: str) -> None:
    if not getattr(model, "has_encoder", True):
        raise LcwbenchError(f"{what} needs a model with an encoder; {getattr(model, 'name', model)!r} has none")


def _need_images(x: torch.Tensor, what: str) -> None:
    if x.dim() != 4:
        raise LcwbenchError(f"{what} needs images (N x C x H x W); got a tensor of shape {tuple(x.shape)}")


def _encode(model, x: torch.Tensor) -> torch.Tensor:
    """Codes of all rows of ``x`` (float or uint8) in batches; model already in inference mode; on the CPU."""
    dev = _device(model)
    parts = [model.encode(_as_float(x[i : i + ENCODE_BATCH]).to(dev)).cpu() for i in range(0, len(x), ENCODE_BATCH)]
    return torch.cat(parts).float() if parts else torch.empty(0)


def _grid_array(images: torch.Tensor, nrow: int) -> np.ndarray:
    """H x W x 3 float array in [0, 1] of ``images`` laid out as ``lcwbench.evaluate.save_grid`` does."""
    from torchvision.utils import make_grid

    grid = make_grid(images.detach().cpu().float().clamp(0, 1), nrow=nrow, padding=GRID_PAD, pad_value=1.0)
    return grid.permute(1, 2, 0).numpy()


def save_fig(fig, out: Path, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``out`` as PNG atomically and close it."""
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return out


def _save_image_grid(images: torch.Tensor, out: Path, nrow: int) -> Path:
    from lcwbench.evaluate import save_grid

    save_grid(images, out, nrow=nrow)
    return out


def _image_figure(
    grid: np.ndarray,
    out: Path,
    title: str | None = None,
    row_labels: Mapping[float, str] | None = None,
) -> Path:
    """``grid`` (H x W x 3) in a figure, with an optional title and labels left of given pixel rows."""
    h, w = grid.shape[:2]
    scale = max(1, min(4, round(480 / max(h, w))))  # small images (MNIST) are drawn larger
    img_w, img_h = w * scale / DPI, h * scale / DPI
    margin = 0.05
    left = 1.6 if row_labels else margin
    top = 0.45 if title else margin
    fig_w, fig_h = left + img_w + margin, top + img_h + margin
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=DPI)
    ax = fig.add_axes((left / fig_w, margin / fig_h, img_w / fig_w, img_h / fig_h))
    ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    for y, text in (row_labels or {}).items():
        ax.text(-3 * GRID_PAD, y, text, ha="right", va="center", fontsize=8, clip_on=False)
    if title:
        fig.text(0.5, 1 - 0.08 / fig_h, title, ha="center", va="top", fontsize=11)
    return save_fig(fig, out)


def _row_center(row: int, height: int) -> float:
    """Pixel y of the middle of grid row ``row`` (images ``height`` tall, GRID_PAD apart)."""
    return GRID_PAD + row * (height + GRID_PAD) + height / 2


def _scatter_samples(samples: np.ndarray, out: Path, title: str | None) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5), dpi=DPI, layout="constrained")
    if samples.shape[1] >= 2:
        ax.scatter(samples[:, 0], samples[:, 1], s=4, alpha=0.6, color="tab:blue", linewidths=0)
        ax.set_xlabel("x[0]")
        ax.set_ylabel("x[1]")
    else:
        ax.hist(samples[:, 0], bins=50, color="tab:blue")
        ax.set_xlabel("x[0]")
    ax.set_title(title or f"{len(samples)} samples (first two coordinates)", fontsize=10)
    return save_fig(fig, out)


def _projection(cloud: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], tuple[str, str]]:
    """A map to 2-D: the coordinates themselves for d <= 2, else PCA fitted on ``cloud`` (numpy SVD)."""
    d = cloud.shape[1]
    if d <= 2:

        def keep(a: np.ndarray) -> np.ndarray:
            return a if d == 2 else np.concatenate([a, np.zeros_like(a)], axis=1)

        return keep, ("z[0]", "z[1]" if d == 2 else "")
    mean = cloud.mean(axis=0)
    _, s, vt = np.linalg.svd(cloud - mean, full_matrices=False)
    comps = vt[:2].copy()
    # SVD leaves each component's sign free: fix it (largest entry positive) so the picture is stable
    comps *= np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])[:, None]
    var = s**2 / max(float((s**2).sum()), 1e-300)

    def pca(a: np.ndarray) -> np.ndarray:
        return (a - mean) @ comps.T

    return pca, (f"PC1 ({var[0]:.0%} of variance)", f"PC2 ({var[1]:.0%} of variance)")


def _paths_figure(
    cloud: np.ndarray,
    paths_a: np.ndarray,
    paths_b: np.ndarray,
    axis_labels: tuple[str, str],
    out: Path,
    title: str,
) -> Path:
    """One panel per pair: the light ``cloud`` with path A (red) and path B (blue), all already 2-D."""
    rows = len(paths_a)
    ncol = min(rows, 4)
    nrow = -(-rows // ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(3.2 * ncol, 3.2 * nrow + 0.4), dpi=DPI, squeeze=False, layout="constrained"
    )
    pts = np.concatenate([cloud, paths_a.reshape(-1, 2), paths_b.reshape(-1, 2)])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 0.05 * np.maximum(hi - lo, 1e-6)
    for i, ax in enumerate(axes.ravel()):
        if i >= rows:
            ax.set_axis_off()
            continue
        ax.scatter(cloud[:, 0], cloud[:, 1], s=2, color="0.8", linewidths=0, zorder=1)
        for path, color, label in ((paths_a[i], COLOR_A, LABEL_A), (paths_b[i], COLOR_B, LABEL_B)):
            ax.plot(path[:, 0], path[:, 1], color=color, lw=0.6, alpha=0.5, zorder=2)
            ax.scatter(path[:, 0], path[:, 1], s=14, color=color, linewidths=0, zorder=3, label=label)
        ax.scatter(paths_a[i][[0, -1], 0], paths_a[i][[0, -1], 1], s=30, facecolors="none", edgecolors="k",
                   zorder=4, label="endpoints LG(z'1), LG(z'k)")
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.set_title(f"pair {i + 1}", fontsize=9)
        ax.set_xlabel(axis_labels[0], fontsize=8)
        ax.set_ylabel(axis_labels[1], fontsize=8)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=7, loc="best", markerscale=1.0)
    fig.suptitle(title, fontsize=10)
    return save_fig(fig, out)


# ----------------------------------------------------------------------------------------------- figures


def sample_grid(model, out, n: int = 64, seed: int = 0, nrow: int = 8, title: str | None = None) -> Path:
    """``n`` samples ``model.sample(n, generator)`` (generator seeded with ``seed``) as a PNG.

    Images: a grid ``nrow`` wide (``lcwbench.evaluate.save_grid`` without a title, a matplotlib figure
    with one). Vectors: a scatter of the first two coordinates (a histogram for 1-D samples).
    """
    out = Path(out)
    if n < 1 or nrow < 1:
        raise LcwbenchError(f"sample_grid needs n >= 1 and nrow >= 1, got n={n}, nrow={nrow}")
    with _inference(model):
        samples = model.sample(n, generator=_generator(model, seed)).detach().cpu().float()
    if samples.dim() == 4:
        if title is None:
            return _save_image_grid(samples, out, nrow)
        return _image_figure(_grid_array(samples, nrow), out, title)
    if samples.dim() == 2:
        return _scatter_samples(samples.numpy(), out, title)
    raise LcwbenchError(f"sample_grid: samples of shape {tuple(samples.shape[1:])} are neither images nor vectors")


def reconstruction_figure(model, x: torch.Tensor, out, n: int = 16, title: str | None = None) -> Path:
    """LCW Fig. 5: the first ``n`` images of ``x`` in odd columns, D(E(x)) beside each in the even ones.

    Eight pairs (16 columns) per row.
    """
    out = Path(out)
    _need_encoder(model, "reconstruction_figure")
    _need_images(x, "reconstruction_figure")
    n = min(int(n), len(x))
    if n < 1:
        raise LcwbenchError("reconstruction_figure needs at least one image")
    real = _as_float(x[:n])
    with _inference(model):
        dev = _device(model)
        rec = model.decode(model.encode(real.to(dev))).cpu().float()
    pairs = torch.stack([real, rec], dim=1).reshape(-1, *real.shape[1:])
    nrow = 2 * min(n, 8)
    if title is None:
        return _save_image_grid(pairs, out, nrow)
    return _image_figure(_grid_array(pairs, nrow), out, title)


def _latent_generator(lt_model):
    lg = getattr(lt_model, "lg", None)
    if lg is None or not hasattr(lt_model, "sample_latent"):
        raise LcwbenchError(
            f"lt_interpolations needs a latent_trick model (with a latent generator .lg); "
            f"got {getattr(lt_model, 'name', type(lt_model).__name__)!r}"
        )
    return lg


def lt_interpolations(
    lt_model, out, k: int = 10, rows: int = 4, seed: int = 0, title: str | None = None
) -> tuple[Path, Path]:
    """LCW Fig. 6 / Fig. 7: the two interpolations of a Latent Trick model between the same endpoints.

    For each of ``rows`` pairs z'_1, z'_k ~ N(0, I_noise) (drawn with ``seed``):

    * A ("line in latent", Fig. 7 red): D((1 - a) LG(z'_1) + a LG(z'_k)), a = 0 .. 1 in ``k`` steps;
    * B ("LG(line in noise)", Fig. 7 blue): D(LG((1 - a) z'_1 + a z'_k)).

    ``out``: the decoded paths, the A row above the B row for each pair, labelled on the left (for
    vector data, the decoded paths in the first two data coordinates over decoded LG samples).
    ``out.stem + "_latent.png"`` beside it: the latent paths (A red, B blue) over a light scatter of
    LG of ``PCA_SAMPLES`` noise samples, projected with PCA fitted on that scatter (the coordinates
    themselves when the latent has at most 2 dimensions). Returns ``(out, latent_out)``.
    """
    out = Path(out)
    latent_out = out.with_name(out.stem + "_latent.png")
    lg = _latent_generator(lt_model)
    if k < 2 or rows < 1:
        raise LcwbenchError(f"lt_interpolations needs k >= 2 and rows >= 1, got k={k}, rows={rows}")
    noise_dim = int(getattr(lg, "noise_dim", 0) or lt_model.cfg.noise_dim)
    dev = _device(lt_model)
    gen = _generator(lt_model, seed)
    with _inference(lt_model):
        z1 = torch.randn(rows, noise_dim, generator=gen, device=dev)
        zk = torch.randn(rows, noise_dim, generator=gen, device=dev)
        cloud_noise = torch.randn(PCA_SAMPLES, noise_dim, generator=gen, device=dev)
        alpha = torch.linspace(0, 1, k, device=dev).view(1, k, 1)
        w1, wk = lg(z1), lg(zk)  # rows x latent
        latent_dim = w1.shape[1]
        path_a = (1 - alpha) * w1[:, None] + alpha * wk[:, None]  # rows x k x latent
        noise_path = (1 - alpha) * z1[:, None] + alpha * zk[:, None]  # rows x k x noise
        path_b = lg(noise_path.reshape(-1, noise_dim)).reshape(rows, k, latent_dim)
        cloud = lg(cloud_noise)
        both = torch.stack([path_a, path_b], dim=1).reshape(-1, latent_dim)  # pair-major: A row, then B row
        decoded = lt_model.decode(both).cpu().float()
        decoded_cloud = lt_model.decode(cloud).cpu().float() if decoded.dim() == 2 else None

    # the decoded paths
    if decoded.dim() == 4:
        height = decoded.shape[2]
        labels = {}
        for i in range(rows):
            labels[_row_center(2 * i, height)] = f"{i + 1}A: {LABEL_A}"
            labels[_row_center(2 * i + 1, height)] = f"{i + 1}B: {LABEL_B}"
        _image_figure(_grid_array(decoded, k), out, title, row_labels=labels)
    elif decoded.dim() == 2:
        data = decoded.numpy().astype(np.float64).reshape(rows, 2, k, -1)
        flat = decoded_cloud.numpy().astype(np.float64)
        keep2 = _projection(flat[:, :2])[0]
        _paths_figure(
            keep2(flat[:, :2]),
            np.stack([keep2(p[:, :2]) for p in data[:, 0]]),
            np.stack([keep2(p[:, :2]) for p in data[:, 1]]),
            ("x[0]", "x[1]"),
            out,
            title or "decoded interpolations (first two data coordinates) over decoded LG samples",
        )
    else:
        raise LcwbenchError(f"lt_interpolations: decoded shape {tuple(decoded.shape[1:])} is neither image nor vector")

    # the latent paths (Fig. 7)
    cloud_np = cloud.cpu().double().numpy()
    project, axis_labels = _projection(cloud_np)
    pa = np.stack([project(p) for p in path_a.cpu().double().numpy()])
    pb = np.stack([project(p) for p in path_b.cpu().double().numpy()])
    how = "PCA of" if latent_dim > 2 else "over"
    _paths_figure(
        project(cloud_np), pa, pb, axis_labels, latent_out,
        f"latent paths ({how} LG of {PCA_SAMPLES} noise samples): red = {LABEL_A}, blue = {LABEL_B}",
    )
    return out, latent_out


def latent_comparison(
    models: Mapping[str, tuple[object, object | None]],
    x: torch.Tensor,
    out,
    seed: int = 0,
    labels: torch.Tensor | None = None,
) -> Path:
    """LCW Fig. 4: one column per named autoencoder with a 2-D latent.

    Top: ``base.encode(x)`` (coloured by ``labels`` when given). Bottom: ``lt.sample_latent(len(x))``,
    LG of N(0, I) noise drawn with ``seed`` (an empty panel where ``lt`` is None). Both panels of a
    column share square axis limits. A latent that is not 2-D raises :class:`LcwbenchError`.
    """
    out = Path(out)
    if not models:
        raise LcwbenchError("latent_comparison needs at least one model")
    if len(x) < 1:
        raise LcwbenchError("latent_comparison needs at least one data point")
    if labels is not None and len(labels) != len(x):
        raise LcwbenchError(f"latent_comparison: {len(labels)} labels for {len(x)} data points")
    columns = []
    for name, pair in models.items():
        base, lt = pair
        _need_encoder(base, f"latent_comparison ({name})")
        with _inference(base):
            top = _encode(base, x)
        if top.dim() != 2 or top.shape[1] != 2:
            raise LcwbenchError(
                f"latent_comparison: model {name!r} has latent shape {tuple(top.shape[1:])}; Fig. 4 needs a 2-D latent"
                " (train it with latent_dim: 2)"
            )
        bottom = None
        if lt is not None:
            with _inference(lt):
                bottom = lt.sample_latent(len(x), generator=_generator(lt, seed)).cpu().float()
            if bottom.dim() != 2 or bottom.shape[1] != 2:
                raise LcwbenchError(
                    f"latent_comparison: the Latent Trick model of {name!r} gives codes of shape "
                    f"{tuple(bottom.shape[1:])}; Fig. 4 needs a 2-D latent"
                )
        columns.append((name, top.numpy(), None if bottom is None else bottom.numpy()))

    ncol = len(columns)
    fig, axes = plt.subplots(2, ncol, figsize=(3.3 * ncol + (0.8 if labels is not None else 0), 6.8), dpi=DPI,
                             squeeze=False, layout="constrained")
    lab = None if labels is None else labels.detach().cpu().numpy()
    mappable = None
    for j, (name, top, bottom) in enumerate(columns):
        pts = top if bottom is None else np.concatenate([top, bottom])
        center = (pts.min(axis=0) + pts.max(axis=0)) / 2
        half = 0.55 * max(float((pts.max(axis=0) - pts.min(axis=0)).max()), 1e-6)
        ax_top, ax_bot = axes[0, j], axes[1, j]
        if lab is None:
            ax_top.scatter(top[:, 0], top[:, 1], s=1.5, alpha=0.5, color="tab:blue", linewidths=0)
        else:
            mappable = ax_top.scatter(top[:, 0], top[:, 1], s=1.5, alpha=0.6, c=lab, cmap="tab10",
                                      vmin=lab.min() - 0.5, vmax=lab.max() + 0.5, linewidths=0)
        ax_top.set_title(f"{name}: E(x)", fontsize=10)
        if bottom is None:
            ax_bot.text(0.5, 0.5, "no Latent Trick model", ha="center", va="center", transform=ax_bot.transAxes)
            ax_bot.set_xticks([])
            ax_bot.set_yticks([])
        else:
            ax_bot.scatter(bottom[:, 0], bottom[:, 1], s=1.5, alpha=0.5, color="tab:orange", linewidths=0)
        ax_bot.set_title(f"{name}: LG(ε), ε ~ N(0, I)", fontsize=10)
        for ax in (ax_top, ax_bot):
            ax.set_xlim(center[0] - half, center[0] + half)
            ax.set_ylim(center[1] - half, center[1] + half)
            ax.set_aspect("equal", adjustable="box")
            ax.tick_params(labelsize=7)
    if mappable is not None:
        ticks = np.unique(lab)
        cbar = fig.colorbar(mappable, ax=axes[0, :].tolist(), ticks=ticks if len(ticks) <= 20 else None, shrink=0.9)
        cbar.set_label("label", fontsize=8)
        cbar.ax.tick_params(labelsize=7)
    return save_fig(fig, out)


def interpolation_strip(
    model, x_a: torch.Tensor, x_b: torch.Tensor, out, k: int = 10, title: str | None = None,
    with_inputs: bool = False,
) -> Path:
    """Decoded straight lines D((1 - a) E(x_a[i]) + a E(x_b[i])), a = 0 .. 1 in ``k`` steps: one row per pair.

    ``x_a``/``x_b``: matching batches of images (or one image each). ``with_inputs`` adds the real
    x_a[i] at the left and x_b[i] at the right of each row.
    """
    out = Path(out)
    _need_encoder(model, "interpolation_strip")
    if x_a.dim() == 3:
        x_a = x_a.unsqueeze(0)
    if x_b.dim() == 3:
        x_b = x_b.unsqueeze(0)
    _need_images(x_a, "interpolation_strip")
    _need_images(x_b, "interpolation_strip")
    if x_a.shape != x_b.shape or len(x_a) < 1:
        raise LcwbenchError(
            f"interpolation_strip needs two non-empty batches of the same shape; got {tuple(x_a.shape)} and "
            f"{tuple(x_b.shape)}"
        )
    if k < 2:
        raise LcwbenchError(f"interpolation_strip needs k >= 2, got {k}")
    a, b = _as_float(x_a), _as_float(x_b)
    with _inference(model):
        dev = _device(model)
        rows = _decode_lines(model, model.encode(a.to(dev)), model.encode(b.to(dev)), k)
    ncol = k
    if with_inputs:
        rows = torch.cat([a[:, None], rows, b[:, None]], dim=1)
        ncol = k + 2
    images = rows.reshape(-1, *rows.shape[2:])
    if title is None:
        return _save_image_grid(images, out, ncol)
    return _image_figure(_grid_array(images, ncol), out, title)


def _decode_lines(model, za: torch.Tensor, zb: torch.Tensor, k: int) -> torch.Tensor:
    """D((1 - a) za[i] + a zb[i]), a = 0 .. 1 in ``k`` steps: pairs x k x image, on the CPU (model in
    inference mode)."""
    alpha = torch.linspace(0, 1, k, device=za.device).view(1, k, *([1] * (za.dim() - 1)))
    path = (1 - alpha) * za[:, None] + alpha * zb[:, None]  # pairs x k x latent
    decoded = model.decode(path.reshape(-1, *za.shape[1:])).cpu().float()
    return decoded.reshape(len(za), k, *decoded.shape[1:])


def choose_pairs(n: int, pairs: int, seed: int) -> list[tuple[int, int]]:
    """``pairs`` disjoint pairs of indices in 0 .. n-1, drawn by a permutation seeded with ``seed``."""
    if pairs < 1 or 2 * pairs > n:
        raise LcwbenchError(f"cannot draw {pairs} disjoint pairs from {n} items (need 1 <= 2 * pairs <= n)")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))[: 2 * pairs].tolist()
    return [(perm[2 * i], perm[2 * i + 1]) for i in range(pairs)]


def _learned_codes(model, label: str) -> torch.Tensor:
    codes = getattr(model, "codes", None)
    if not isinstance(codes, torch.Tensor) or codes.dim() != 2 or len(codes) < 2:
        raise LcwbenchError(
            f"code_interpolations: model {label!r} ({getattr(model, 'name', type(model).__name__)!r}) has no learned"
            " per-image codes (a trained glo or gldo run has)"
        )
    return codes.detach()


def code_interpolations(
    models: Mapping[str, object], out, pairs: int = 4, k: int = 8, seed: int = 0, title: str | None = None
) -> tuple[Path, list[dict]]:
    """GLDO Fig. 3: for each model (GLO, GLDO), decoded straight lines between the learned codes of
    ``pairs`` pairs of training images, D((1 - a) z_i + a z_j) for a = 0 .. 1 in ``k`` steps.

    The pairs (:func:`choose_pairs` with ``seed``) are the same training images for every model, so
    all models must have learned codes for the same number of images (the same training set). Rows are
    stacked model by model and labelled ``<label> i->j``. The CSV beside ``out`` has one row per model
    and pair: label, pair, index_a, index_b, steps, the Euclidean distance of the two codes and their
    norms. Returns ``(out, rows)``."""
    out = Path(out)
    if not models:
        raise LcwbenchError("code_interpolations needs at least one model")
    if k < 2:
        raise LcwbenchError(f"code_interpolations needs k >= 2, got {k}")
    codes = {label: _learned_codes(model, label) for label, model in models.items()}
    sizes = {label: len(c) for label, c in codes.items()}
    if len(set(sizes.values())) > 1:
        raise LcwbenchError(f"code_interpolations: the models learned codes for different training sets: {sizes}")
    chosen = choose_pairs(next(iter(sizes.values())), pairs, seed)
    ia = torch.tensor([a for a, _ in chosen])
    ib = torch.tensor([b for _, b in chosen])
    blocks, labels, rows = [], {}, []
    for label, model in models.items():
        z = codes[label]
        with _inference(model):
            za, zb = z[ia.to(z.device)], z[ib.to(z.device)]
            decoded = _decode_lines(model, za, zb, k)
        if decoded.dim() != 5:
            raise LcwbenchError(f"code_interpolations: model {label!r} does not decode images")
        height = decoded.shape[3]
        for i, (a, b) in enumerate(chosen):
            labels[_row_center(len(blocks) * pairs + i, height)] = f"{label} {a}->{b}"
            rows.append({"label": label, "pair": i, "index_a": a, "index_b": b, "steps": k,
                         "code_distance": float((za[i] - zb[i]).norm()), "norm_a": float(za[i].norm()),
                         "norm_b": float(zb[i].norm())})
        blocks.append(decoded.reshape(-1, *decoded.shape[2:]))
    images = torch.cat(blocks)
    _image_figure(_grid_array(images, k), out, title, row_labels=labels)
    write_text(out.with_suffix(".csv"), pd.DataFrame(rows).to_csv(index=False))
    return out, rows

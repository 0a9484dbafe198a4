"""Reference statistics and run evaluation.

Reference statistics are computed once per (dataset as images, split, n, extractor, weights) and
saved as ``.npz`` (mean, covariance and the pool3 features, which PRD and KID need); every run's
evaluation loads them and never recomputes them. The extractor's weights hash is stored with them,
and an evaluation whose extractor hashes differently refuses to compare against them.

Every metric in ``metrics.json`` is ``{"value": ..., "protocol": {...}}`` so that numbers computed
differently are never compared silently.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import lcwbench._tv_compat  # noqa: F401  (must run before any torchvision import below)
from lcwbench.config import dataset_key
from lcwbench.errors import LcwbenchError
from lcwbench.io import atomic_path, write_json
from lcwbench.runner import configure_backend, load_model, load_split, pick_device

SAMPLE_SEED_OFFSET = 10_000  # generation noise stream, distinct from the training seed's stream
REF_SUBSET_SEED = 0  # which reference images make up a subset of size ref_n


class Features:
    """Maps samples to the features the generation metrics use: Inception for images, identity for vectors."""

    def __init__(self, fid_cfg: dict[str, Any], standin_weights: str | None, device: torch.device, is_image: bool):
        self.is_image = is_image
        self.batch_size = fid_cfg.get("batch_size", 50)
        if is_image:
            from lcwbench.metrics import FeatureExtractor

            weights = standin_weights if fid_cfg["extractor"] == "standin" else fid_cfg.get("weights")
            self.extractor = FeatureExtractor(
                fid_cfg["extractor"], weights=weights, device=device, batch_size=self.batch_size
            )
            self.protocol = dict(self.extractor.protocol)
        else:
            self.extractor = None
            self.protocol = {
                "extractor": "none (Frechet distance on the raw vectors)",
                "is_standin": False,
                "weights_sha256": None,
                "implementation": "lcwbench",
            }
        self.protocol["fid_arithmetic"] = fid_cfg.get("implementation", "torch-fidelity")

    def __call__(self, batches) -> dict[str, np.ndarray]:
        if self.extractor is not None:
            return self.extractor.features_from_batches(batches)
        pool = np.concatenate([b.detach().reshape(b.shape[0], -1).cpu().double().numpy() for b in batches])
        return {"pool3": pool}


def _batches(x: torch.Tensor, to_float, batch_size: int, device: torch.device):
    for i in range(0, x.shape[0], batch_size):
        yield to_float(x[i : i + batch_size].to(device))


def compute_refstats(
    dataset: str,
    data: dict[str, Any] | None,
    split: str,
    n: int | None,
    fid_cfg: dict[str, Any],
    out: str | Path,
    *,
    standin_weights: str | None = None,
    data_root=None,
    download: bool = False,
    device: str = "auto",
) -> Path:
    dev = pick_device(device)
    configure_backend(dev)
    image_data = {k: v for k, v in (data or {}).items() if k != "max_items"}
    ds = load_split({"dataset": dataset, "data": image_data}, split, data_root, download)
    idx = torch.arange(len(ds))
    if n is not None and n < len(ds):
        idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(REF_SUBSET_SEED))[:n].sort().values
    elif n is not None and n > len(ds):
        raise LcwbenchError(
            f"reference set {dataset}/{split} has {len(ds)} items but the protocol asks for ref_n={n};"
            " lower ref_n or use null for the whole split"
        )
    feats = Features(fid_cfg, standin_weights, dev, ds.is_image)
    t0 = time.perf_counter()
    f = feats(_batches(ds.x[idx], ds.to_float, feats.batch_size, dev))
    pool = f["pool3"]
    protocol = {
        **feats.protocol,
        "ref_dataset": dataset_key(dataset, data),
        "ref_split": split,
        "ref_n": int(len(idx)),
        "ref_selection": "all" if len(idx) == len(ds) else f"random subset, seed {REF_SUBSET_SEED}",
        "sample_shape": list(ds.sample_shape),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            mu=pool.mean(axis=0),
            sigma=np.cov(pool, rowvar=False),
            pool3=pool.astype(np.float32),
            protocol=np.array(json.dumps(protocol, sort_keys=True)),
        )
    return Path(out)


def load_refstats(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise LcwbenchError(f"reference statistics not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in ("mu", "sigma", "pool3")}
            out["protocol"] = json.loads(str(z["protocol"]))
    except (OSError, ValueError, KeyError) as exc:
        raise LcwbenchError(f"reference statistics {path} are unreadable: {str(exc)[:160]}") from None
    return out


def _fid(mu1, s1, mu2, s2, arithmetic: str) -> float:
    from lcwbench.metrics import fid_cleanfid, fid_from_stats

    if arithmetic == "clean-fid":
        return float(fid_cleanfid(mu1, s1, mu2, s2))
    return float(fid_from_stats(mu1, s1, mu2, s2))


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8) -> None:
    from torchvision.utils import make_grid

    grid = make_grid(images.detach().cpu().clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    arr = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    from PIL import Image

    img = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


MANIFOLD_GEN_DEFINITION = "mean Euclidean distance from each generated point to the nearest reference point"
MANIFOLD_REC_DEFINITION = "mean Euclidean distance from each reconstruction to the nearest reference point"


def manifold_generation_metric(pool: np.ndarray, spec, protocol_name: str) -> dict[str, dict[str, Any]]:
    """``manifold_dist`` of generated vectors for data sets with a known noise-free manifold (swiss roll);
    an empty dict for the others."""
    from lcwbench.metrics import manifold_distance, manifold_reference

    manifold = manifold_reference(spec["dataset"])
    if manifold is None:
        return {}
    proto = {"protocol": protocol_name, "dataset": dataset_key(spec["dataset"], spec.get("data")),
             "split": "generated", "n": int(len(pool)), "reference": manifold[1],
             "definition": MANIFOLD_GEN_DEFINITION}
    return {"manifold_dist": {"value": manifold_distance(pool, manifold[0]), "protocol": proto}}


def reconstruction_metrics(model, test, protocol, spec, dev, run_dir: Path, recs=None) -> dict[str, dict[str, Any]]:
    """rec_error, mse, psnr and latent off-diagonal covariance on the first ``n_rec`` items of ``rec_split``;
    for data with a known manifold also the reconstructions' distance to it (``manifold_dist_rec``).
    The reconstructions are appended to the list ``recs`` when one is given."""
    from lcwbench.metrics import manifold_distance, manifold_reference, mse, offdiag_cov, psnr, rec_error

    n_rec = min(protocol["n_rec"], len(test))
    xs, xhats, zs = [], [], []
    with torch.no_grad():
        for xb in _batches(test.x[:n_rec], test.to_float, 500, dev):
            z = model.encode(xb)
            xs.append(xb.cpu())
            zs.append(z.cpu())
            xhats.append(model.decode(z).cpu())
    x, xhat, z = torch.cat(xs), torch.cat(xhats), torch.cat(zs)
    if recs is not None:
        recs.append(xhat)
    proto = {"split": protocol["rec_split"], "n": n_rec, "dataset": dataset_key(spec["dataset"], spec.get("data"))}
    definitions = {
        "rec_error": (rec_error(x, xhat), "per-image sum of squared error, mean"),
        "mse": (mse(x, xhat), "mean squared error per entry"),
        "offdiag_cov": (offdiag_cov(z), "mean |off-diagonal| of latent covariance"),
        **model.latent_metrics(z),
    }
    metrics = {k: {"value": v, "protocol": {**proto, "definition": d}} for k, (v, d) in definitions.items()}
    manifold = None if test.is_image else manifold_reference(spec["dataset"])
    if manifold is not None:
        metrics["manifold_dist_rec"] = {
            "value": manifold_distance(xhat, manifold[0]),
            "protocol": {**proto, "reference": manifold[1], "definition": MANIFOLD_REC_DEFINITION},
        }
    if test.is_image:
        metrics["psnr"] = {"value": psnr(x, xhat, data_range=1.0),
                           "protocol": {**proto, "definition": "mean per-image PSNR, data range 1"}}
        pairs = torch.stack([x[:32], xhat[:32]], dim=1).reshape(-1, *x.shape[1:])
        save_grid(pairs, run_dir / "reconstructions.png")
    return metrics


SEARCH_DEFAULTS = {"steps": 1000, "lr": 0.01, "loss": "l2", "batch_size": 500}


INTERP_SEED_OFFSET = 20_000  # the interpolation noise stream, distinct from the sampling stream


def interpolation_fid(model, feats, ref, n: int, seed: int, dev, base_protocol) -> dict[str, Any]:
    """FID of ``n`` images decoded at ``t z1 + (1 - t) z2`` with z1, z2 from the method's sampling
    distribution and t ~ U(0, 1) per pair (GLDO Table 3; the paper does not say where on the path it
    samples: a uniform t covers the whole path) [harness choice]."""
    gen = torch.Generator(device=dev).manual_seed(seed + INTERP_SEED_OFFSET)

    def batches():
        done = 0
        with torch.no_grad():
            while done < n:
                b = min(feats.batch_size, n - done)
                z1, z2 = model.sample_latent(b, generator=gen), model.sample_latent(b, generator=gen)
                t = torch.rand(b, *([1] * (z1.dim() - 1)), generator=gen, device=dev)
                done += b
                yield model.decode(t * z1 + (1 - t) * z2)

    pool = feats(batches())["pool3"]
    value = _fid(pool.mean(axis=0), np.cov(pool, rowvar=False), ref["mu"], ref["sigma"],
                 base_protocol["fid_arithmetic"])
    return {"value": value, "protocol": {**base_protocol, "interpolation": "t ~ U(0,1) between two sampled codes"}}


def reconstruction_fid(xhat: torch.Tensor, feats, ref, base_protocol, metrics, dev) -> dict[str, Any]:
    """FID of the test reconstructions against the protocol's reference statistics (GLDO Table 8's
    "Reconstruction" row). The reconstructions are those of the run's other reconstruction metrics
    (encoder, or latent search for GLO-like models), so their split and count are those metrics'."""
    pool = feats(_batches(xhat, lambda b: b, feats.batch_size, dev))["pool3"]
    value = _fid(pool.mean(axis=0), np.cov(pool, rowvar=False), ref["mu"], ref["sigma"],
                 base_protocol["fid_arithmetic"])
    rec_proto = next((m["protocol"] for k, m in metrics.items() if k in ("mse", "rec_error")), {})
    return {"value": value, "protocol": {**base_protocol, "reconstructions": {
        k: rec_proto[k] for k in ("split", "n", "search") if k in rec_proto}}}


def search_reconstruction_metrics(
    model, test, protocol, spec, dev, run_dir: Path, recs=None
) -> dict[str, dict[str, Any]]:
    """PSNR and MSE of test images reconstructed by latent search, the network frozen (GLDO Table 2).

    Methods with their own ``reconstruct_by_search`` (GLO, GLDO) use it; other generators (GANs)
    search through ``decode`` from N(0, I) starts. The loss is the protocol's (default squared L2, the
    same for every method so that the PSNRs compare) [harness choice; the paper does not say]."""
    from lcwbench.latent_search import search_codes
    from lcwbench.metrics import mse, psnr

    search = {**SEARCH_DEFAULTS, **protocol["search"]}
    n = min(search["n"], len(test))
    x = test.to_float(test.x[:n].to(dev))
    kwargs = {"steps": search["steps"], "lr": search["lr"], "seed": spec["seed"], "loss": search["loss"],
              "batch_size": search["batch_size"]}
    if hasattr(model, "reconstruct_by_search"):
        res = model.reconstruct_by_search(x, **kwargs)
    else:
        res = search_codes(model.decode, x, model.cfg.latent_dim, **kwargs)
    x, xhat = x.cpu(), res.reconstructions.cpu()
    if recs is not None:
        recs.append(xhat)
    # The steps the search took are a result of the run, not part of the protocol: runs that converged
    # after different numbers of steps were still measured the same way and pool into one table row.
    proto = {"split": protocol["rec_split"], "n": n, "dataset": dataset_key(spec["dataset"], spec.get("data")),
             "search": search}
    how = f"test images reconstructed by latent search ({search['loss']} loss, <= {search['steps']} Adam steps)"
    metrics = {
        "mse": {"value": mse(x, xhat), "search_steps_taken": res.steps,
                "protocol": {**proto, "definition": f"mean squared error per entry; {how}"}},
    }
    if test.is_image:
        metrics["psnr"] = {"value": psnr(x, xhat, data_range=1.0), "search_steps_taken": res.steps,
                           "protocol": {**proto, "definition": f"mean per-image PSNR, data range 1; {how}"}}
        pairs = torch.stack([x[:32], xhat[:32]], dim=1).reshape(-1, *x.shape[1:])
        save_grid(pairs, run_dir / "reconstructions.png")
    return metrics


def evaluate_run(
    run_dir: str | Path,
    spec: dict[str, Any],
    protocol_name: str,
    protocol: dict[str, Any],
    fid_cfg: dict[str, Any],
    refstats: str | Path,
    out: str | Path,
    *,
    standin_weights: str | None = None,
    data_root=None,
    download: bool = False,
    device: str = "auto",
    snapshot_step: int | None = None,
) -> dict[str, Any]:
    """Evaluate the run's ``model.pt`` under ``protocol`` into ``out`` (``metrics.json``); grids go beside
    ``out``. With ``snapshot_step`` the model is the run's snapshot after that training step
    (:func:`lcwbench.train.loop.snapshot_path`), and the result names the run ``<run>@step<N>``."""
    from lcwbench.metrics import compute_prd, inception_score, kid, prd_f_beta
    from lcwbench.train.loop import snapshot_path

    t_start = time.perf_counter()
    run_dir = Path(run_dir)
    dev = pick_device(device)
    configure_backend(dev)
    if snapshot_step is None:
        model = load_model(run_dir / "model.pt", dev)
    else:
        snap = snapshot_path(run_dir, snapshot_step)
        if not snap.is_file():
            raise LcwbenchError(
                f"no snapshot of step {snapshot_step} at {snap}: list the step in the experiment's snapshots and"
                " retrain the run"
            )
        model = load_model(snap, dev)
    ref = load_refstats(refstats)
    test = load_split({"dataset": spec["dataset"], "data": spec.get("data")}, protocol["rec_split"], data_root,
                      download)
    feats = Features(fid_cfg, standin_weights, dev, test.is_image)
    if ref["protocol"].get("weights_sha256") != feats.protocol.get("weights_sha256"):
        raise LcwbenchError(
            f"reference statistics {refstats} were computed with extractor weights "
            f"{ref['protocol'].get('weights_sha256')} but this evaluation uses {feats.protocol.get('weights_sha256')};"
            " delete the stale statistics so the workflow recomputes them"
        )

    # --- generation -----------------------------------------------------------------------------
    n_gen = protocol["n_gen"]
    gen = torch.Generator(device=dev).manual_seed(spec["seed"] + SAMPLE_SEED_OFFSET)
    first: list[torch.Tensor] = []

    def sample_batches():
        done = 0
        with torch.no_grad():
            while done < n_gen:
                b = min(feats.batch_size, n_gen - done)
                x = model.sample(b, generator=gen)
                if not first:
                    first.append(x[:64].cpu())
                done += b
                yield x

    t0 = time.perf_counter()
    g = feats(sample_batches())
    gen_seconds = time.perf_counter() - t0
    pool = g["pool3"]
    base = {
        **{k: v for k, v in ref["protocol"].items() if k != "seconds"},
        "protocol": protocol_name,
        "n_gen": n_gen,
    }
    metrics: dict[str, dict[str, Any]] = {}
    fid_value = _fid(pool.mean(axis=0), np.cov(pool, rowvar=False), ref["mu"], ref["sigma"], base["fid_arithmetic"])
    metrics["fid"] = {"value": fid_value, "protocol": base}
    if "logits" in g:
        m, s = inception_score(g["logits"], splits=protocol["is_splits"])
        metrics["is"] = {"value": float(m), "std": float(s), "protocol": {**base, "is_splits": protocol["is_splits"]}}
    if protocol.get("kid"):
        m, s = kid(pool, ref["pool3"].astype(np.float64))
        metrics["kid"] = {"value": float(m), "std": float(s), "protocol": base}
    if protocol.get("prd"):
        n_prd = min(len(pool), len(ref["pool3"]))
        precision, recall = compute_prd(pool[:n_prd], ref["pool3"][:n_prd].astype(np.float64))
        f8, f18 = prd_f_beta(precision, recall, beta=8)
        prd_proto = {**base, "prd_n": n_prd, "num_clusters": 20, "num_angles": 1001, "num_runs": 10}
        metrics["f8"] = {"value": float(f8), "protocol": prd_proto}
        metrics["f1_8"] = {"value": float(f18), "protocol": prd_proto}

    if not test.is_image:
        metrics.update(manifold_generation_metric(pool, spec, protocol_name))

    if protocol.get("interp_fid"):
        metrics["fid_interp"] = interpolation_fid(model, feats, ref, n_gen, spec["seed"], dev, base)

    # --- reconstruction and latent (methods with an encoder; latent search for the others) ---------
    out = Path(out)
    if test.is_image:
        save_grid(first[0], out.parent / "samples.png")
    recs: list[torch.Tensor] = []
    if getattr(model, "has_encoder", True):
        metrics.update(reconstruction_metrics(model, test, protocol, spec, dev, out.parent, recs))
    elif protocol.get("search"):
        metrics.update(search_reconstruction_metrics(model, test, protocol, spec, dev, out.parent, recs))
    if protocol.get("rec_fid") and recs and test.is_image:
        metrics["fid_reconstruction"] = reconstruction_fid(recs[0], feats, ref, base, metrics, dev)
    result = {
        "run": spec["run"] if snapshot_step is None else f"{spec['run']}@step{snapshot_step}",
        "dataset": spec["dataset"],
        "method": spec["method"],
        "seed": spec["seed"],
        "params": spec.get("params", {}),
        "data": spec.get("data", {}),
        "standin": bool(feats.protocol.get("is_standin")),
        "metrics": metrics,
        "sample_seed": spec["seed"] + SAMPLE_SEED_OFFSET,
    }
    if snapshot_step is not None:
        result["step"] = int(snapshot_step)
    write_json(out, result)  # no timings inside: the same seed gives the same metrics.json
    print(f"generation+features {gen_seconds:.1f}s, evaluation {time.perf_counter() - t_start:.1f}s")
    return result

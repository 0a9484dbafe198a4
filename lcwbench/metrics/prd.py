r"""Precision and recall for distributions (PRD), Sajjadi et al., NeurIPS 2018.

Both sets of features are quantised jointly by k-means into ``num_clusters`` cells. With P the
reference (real) histogram and Q the evaluated (generated) histogram over the cells, the PRD curve is
traced over slopes lambda = tan(theta), theta in (0, pi/2):

    alpha(lambda) = sum_w min(lambda * P(w), Q(w))      (precision)
    beta(lambda)  = alpha(lambda) / lambda               (recall)

Both are clipped to [0, 1]. The curve is averaged over ``num_runs`` independent clusterings.
The summary is the pair (F_8, F_{1/8}) of maximal F-scores along the curve: F_8 weights recall (how
much of the reference is covered), F_{1/8} weights precision (how much of the generated mass is
realistic).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lcwbench.errors import LcwbenchError

ANGLE_EPSILON = 1e-10


def _slopes(num_angles: int) -> np.ndarray:
    if num_angles < 3:
        raise LcwbenchError(f"PRD needs num_angles >= 3, got {num_angles}")
    theta = np.linspace(ANGLE_EPSILON, np.pi / 2 - ANGLE_EPSILON, num_angles)
    return np.tan(theta)


def prd_from_histograms(
    eval_hist: Any, ref_hist: Any, num_angles: int = 1001
) -> tuple[np.ndarray, np.ndarray]:
    """PRD curve of two histograms over the same cells (each normalised to sum 1 here).

    ``eval_hist`` is Q (generated), ``ref_hist`` is P (reference). Returns ``(precision, recall)``,
    arrays of length ``num_angles`` ordered by increasing slope lambda = tan(theta), theta evenly
    spaced in [1e-10, pi/2 - 1e-10] (an odd ``num_angles`` puts the middle point at lambda = 1).
    """
    q = np.asarray(eval_hist, dtype=np.float64).ravel()
    p = np.asarray(ref_hist, dtype=np.float64).ravel()
    if q.shape != p.shape or q.size == 0:
        raise LcwbenchError(f"PRD histograms must have the same non-zero length, got {q.size} and {p.size}")
    if (q < 0).any() or (p < 0).any() or q.sum() <= 0 or p.sum() <= 0:
        raise LcwbenchError("PRD histograms must be non-negative with a positive total")
    q = q / q.sum()
    p = p / p.sum()
    lam = _slopes(num_angles)
    precision = np.minimum(lam[:, None] * p[None, :], q[None, :]).sum(axis=1)
    recall = precision / lam
    return np.clip(precision, 0.0, 1.0), np.clip(recall, 0.0, 1.0)


def _run_seed(seed: int, run: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(run)]).generate_state(1)[0])


def compute_prd(
    eval_features: Any,
    ref_features: Any,
    num_clusters: int = 20,
    num_angles: int = 1001,
    num_runs: int = 10,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """PRD curve (precision, recall) of generated ``eval_features`` against ``ref_features``.

    Both sets must have the same number of samples (the paper's balanced setting). For each of
    ``num_runs`` runs the union is clustered by ``sklearn.cluster.MiniBatchKMeans`` (``n_init=10``,
    ``random_state`` derived from ``(seed, run)``), each set's cluster assignments are histogrammed and
    normalised, and :func:`prd_from_histograms` gives the run's curve; curves are averaged over runs.
    """
    from sklearn.cluster import MiniBatchKMeans

    q_feat = np.asarray(eval_features, dtype=np.float64)
    p_feat = np.asarray(ref_features, dtype=np.float64)
    if q_feat.ndim != 2 or p_feat.ndim != 2 or q_feat.shape[1] != p_feat.shape[1]:
        raise LcwbenchError(f"PRD features must be N x D with equal D, got {q_feat.shape} and {p_feat.shape}")
    if q_feat.shape[0] != p_feat.shape[0]:
        raise LcwbenchError(
            "PRD needs equally many evaluated and reference samples, "
            f"got {q_feat.shape[0]} and {p_feat.shape[0]}"
        )
    if not (np.isfinite(q_feat).all() and np.isfinite(p_feat).all()):
        raise LcwbenchError("PRD features contain NaN or infinite values")
    n = q_feat.shape[0]
    if num_clusters < 1 or 2 * n < num_clusters:
        raise LcwbenchError(
            f"PRD with {num_clusters} clusters needs at least {num_clusters} samples in all, got {2 * n}"
        )
    if num_runs < 1:
        raise LcwbenchError(f"PRD needs num_runs >= 1, got {num_runs}")
    data = np.concatenate([q_feat, p_feat], axis=0)
    precisions, recalls = [], []
    for run in range(num_runs):
        km = MiniBatchKMeans(n_clusters=num_clusters, n_init=10, random_state=_run_seed(seed, run))
        labels = km.fit_predict(data)
        q_hist = np.bincount(labels[:n], minlength=num_clusters) / n
        p_hist = np.bincount(labels[n:], minlength=num_clusters) / n
        prec, rec = prd_from_histograms(q_hist, p_hist, num_angles=num_angles)
        precisions.append(prec)
        recalls.append(rec)
    return np.mean(precisions, axis=0), np.mean(recalls, axis=0)


def _f_beta(precision: np.ndarray, recall: np.ndarray, beta: float) -> np.ndarray:
    b2 = beta * beta
    num = (1.0 + b2) * precision * recall
    den = b2 * precision + recall
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def prd_f_beta(precision: Any, recall: Any, beta: float = 8) -> tuple[float, float]:
    """(F_beta, F_{1/beta}) of a PRD curve: the maxima over the curve of

        F_b(p, r) = (1 + b^2) p r / (b^2 p + r)   (0 where p = r = 0).

    With the default beta = 8 this is (F_8, F_{1/8}): recall-weighted first, precision-weighted second.
    """
    p = np.asarray(precision, dtype=np.float64).ravel()
    r = np.asarray(recall, dtype=np.float64).ravel()
    if p.shape != r.shape or p.size == 0:
        raise LcwbenchError(
            f"precision and recall must be non-empty and of equal length, got {p.size} and {r.size}"
        )
    if beta <= 0:
        raise LcwbenchError(f"beta must be positive, got {beta}")
    return float(_f_beta(p, r, beta).max()), float(_f_beta(p, r, 1.0 / beta).max())

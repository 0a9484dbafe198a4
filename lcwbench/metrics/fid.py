"""FID, Inception Score and KID from precomputed features, via torch-fidelity's own arithmetic.

All functions take numpy arrays (torch tensors are accepted too) and return plain Python floats.
``fid_cleanfid`` offers clean-fid's Fréchet-distance arithmetic (``scipy.linalg.sqrtm``) as an
alternative to torch-fidelity's (eigenvalues of sigma1 @ sigma2).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

import lcwbench._tv_compat  # noqa: F401  (torch_fidelity / cleanfid import torchvision)
from lcwbench.errors import LcwbenchError

# torch-fidelity 0.4.0 defaults, passed explicitly so results do not depend on its defaults module
ISC_SHUFFLE = True
RNG_SEED = 2020
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
KID_DEGREE = 3
KID_COEF0 = 1.0


def _matrix(x: Any, what: str) -> np.ndarray:
    if torch.is_tensor(x):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise LcwbenchError(f"{what} must be a 2-D array (samples x features), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise LcwbenchError(f"{what} contain NaN or infinite values")
    return a


def feature_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (``rowvar=False``) of an N x D feature matrix (N >= 2).

    Uses torch-fidelity's ``fid_features_to_statistics``; returns float64 ``(mu (D,), sigma (D, D))``.
    """
    from torch_fidelity.metric_fid import fid_features_to_statistics

    a = _matrix(features, "features")
    if a.shape[0] < 2:
        raise LcwbenchError(f"FID statistics need at least 2 samples, got {a.shape[0]}")
    stats = fid_features_to_statistics(torch.from_numpy(a))
    mu = np.asarray(stats["mu"], dtype=np.float64)
    sigma = np.atleast_2d(np.asarray(stats["sigma"], dtype=np.float64))
    return mu, sigma


def _check_stats(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> tuple[np.ndarray, ...]:
    mu1, mu2 = (np.atleast_1d(np.asarray(m, dtype=np.float64)) for m in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(s, dtype=np.float64)) for s in (sigma1, sigma2))
    d = mu1.shape[0]
    if mu1.ndim != 1 or mu2.shape != mu1.shape or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise LcwbenchError(
            f"FID statistics do not match: mu {mu1.shape} vs {mu2.shape}, "
            f"sigma {sigma1.shape} vs {sigma2.shape}"
        )
    return mu1, sigma1, mu2, sigma2


def fid_from_stats(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Fréchet distance ||mu1-mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) with torch-fidelity's arithmetic."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    mu1, sigma1, mu2, sigma2 = _check_stats(mu1, sigma1, mu2, sigma2)
    out = fid_statistics_to_metric({"mu": mu1, "sigma": sigma1}, {"mu": mu2, "sigma": sigma2}, verbose=False)
    return float(out[KEY_METRIC_FID])


def fid_cleanfid(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """The same Fréchet distance computed by clean-fid's ``frechet_distance`` (``scipy.linalg.sqrtm``).

    clean-fid 0.1.35 passes ``disp=False`` to ``sqrtm``, which SciPy 1.16+ deprecates; that warning is
    silenced here (it is clean-fid's, not the caller's).
    """
    from cleanfid.fid import frechet_distance

    mu1, sigma1, mu2, sigma2 = _check_stats(mu1, sigma1, mu2, sigma2)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*disp.*", category=DeprecationWarning)
        return float(frechet_distance(mu1, sigma1, mu2, sigma2))


def frechet_distance_vectors(x: Any, y: Any) -> float:
    """Fréchet distance between the Gaussian fits of two sets of vectors (N x D each, no network)."""
    a, b = _matrix(x, "x"), _matrix(y, "y")
    if a.shape[1] != b.shape[1]:
        raise LcwbenchError(f"vector sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")
    return fid_from_stats(*feature_stats(a), *feature_stats(b))


def inception_score(
    logits: Any, splits: int = 10, shuffle: bool = ISC_SHUFFLE, rng_seed: int = RNG_SEED
) -> tuple[float, float]:
    """Inception Score (mean, std over ``splits``) of N x K logits, via torch-fidelity.

    IS = exp(E_x KL(p(y|x) || p(y))) per split, p(y|x) = softmax(logits). Samples are permuted with
    ``numpy.random.RandomState(rng_seed)`` first when ``shuffle`` (torch-fidelity's default, seed 2020),
    so the result is deterministic.
    """
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    a = _matrix(logits, "logits")
    if splits < 1 or a.shape[0] < splits:
        raise LcwbenchError(f"Inception Score needs at least splits={splits} >= 1 samples, got {a.shape[0]}")
    out = isc_features_to_metric(
        torch.from_numpy(a), splits=int(splits), shuffle=bool(shuffle), rng_seed=rng_seed
    )
    return float(out[KEY_METRIC_ISC_MEAN]), float(out[KEY_METRIC_ISC_STD])


def kid(
    feat1: Any,
    feat2: Any,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    degree: int = KID_DEGREE,
    gamma: float | None = None,
    coef0: float = KID_COEF0,
    rng_seed: int = RNG_SEED,
) -> tuple[float, float]:
    """Kernel Inception Distance (mean, std over ``subsets``) via torch-fidelity.

    Unbiased MMD^2 with the polynomial kernel (x.y * gamma + coef0)^degree, gamma = 1/D by default,
    on ``subsets`` random subsets of ``min(subset_size, N1, N2)`` samples from each set (drawn with
    ``numpy.random.RandomState(rng_seed)``). Values slightly below 0 are legitimate.
    """
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    a, b = _matrix(feat1, "KID features"), _matrix(feat2, "KID features")
    if a.shape[1] != b.shape[1]:
        raise LcwbenchError(f"KID feature sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")
    size = min(int(subset_size), a.shape[0], b.shape[0])
    if size < 2:
        raise LcwbenchError(f"KID needs at least 2 samples in each set, got {a.shape[0]} and {b.shape[0]}")
    if subsets < 1:
        raise LcwbenchError(f"KID needs subsets >= 1, got {subsets}")
    out = kid_features_to_metric(
        torch.from_numpy(a),
        torch.from_numpy(b),
        kid_subsets=int(subsets),
        kid_subset_size=size,
        kid_kernel="poly",
        kid_kernel_poly_degree=degree,
        kid_kernel_poly_gamma=gamma,
        kid_kernel_poly_coef0=coef0,
        rng_seed=rng_seed,
        verbose=False,
    )
    return float(out[KEY_METRIC_KID_MEAN]), float(out[KEY_METRIC_KID_STD])

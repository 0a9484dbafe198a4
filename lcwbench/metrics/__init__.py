"""Evaluation metrics: FID / IS / KID (torch-fidelity), PRD, reconstruction and latent statistics.

Importing this package is cheap: torch-fidelity, clean-fid and scikit-learn are imported on first use.
"""

from lcwbench.metrics.fid import (
    feature_stats,
    fid_cleanfid,
    fid_from_stats,
    frechet_distance_vectors,
    inception_score,
    kid,
)
from lcwbench.metrics.inception import (
    ENV_WEIGHTS,
    WEIGHTS_FILENAME,
    WEIGHTS_URL,
    FeatureExtractor,
    make_standin_weights,
    resolve_weights,
)
from lcwbench.metrics.latent import active_dims, offdiag_cov
from lcwbench.metrics.manifold import MANIFOLD_DATASETS, manifold_distance, manifold_reference, nearest_distances
from lcwbench.metrics.prd import compute_prd, prd_f_beta, prd_from_histograms
from lcwbench.metrics.recon import mse, psnr, rec_error

__all__ = [
    "ENV_WEIGHTS",
    "WEIGHTS_FILENAME",
    "WEIGHTS_URL",
    "MANIFOLD_DATASETS",
    "FeatureExtractor",
    "active_dims",
    "compute_prd",
    "feature_stats",
    "fid_cleanfid",
    "fid_from_stats",
    "frechet_distance_vectors",
    "inception_score",
    "kid",
    "make_standin_weights",
    "manifold_distance",
    "manifold_reference",
    "mse",
    "nearest_distances",
    "offdiag_cov",
    "prd_f_beta",
    "prd_from_histograms",
    "psnr",
    "rec_error",
    "resolve_weights",
]

"""Distances between samples and distributions used as training objectives."""

from lcwbench.distances.cw import (
    cw_normality,
    cw_sampling,
    cw_sampling_silverman,
    pairwise_sq_dists,
    silverman_gamma,
)
from lcwbench.distances.mmd import IMQ_SCALES, mmd_imq
from lcwbench.distances.sliced import random_directions, sliced_wasserstein

__all__ = [
    "IMQ_SCALES",
    "cw_normality",
    "cw_sampling",
    "cw_sampling_silverman",
    "mmd_imq",
    "pairwise_sq_dists",
    "random_directions",
    "silverman_gamma",
    "sliced_wasserstein",
]

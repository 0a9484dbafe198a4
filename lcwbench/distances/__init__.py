"""Distances between samples and distributions used as training objectives."""

from lcwbench.distances.cw import (
    cw_normality,
    cw_sampling,
    cw_sampling_silverman,
    pairwise_sq_dists,
    silverman_gamma,
)

__all__ = ["cw_normality", "cw_sampling", "cw_sampling_silverman", "pairwise_sq_dists", "silverman_gamma"]

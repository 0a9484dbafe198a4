"""MMD with the IMQ kernel and the sliced Wasserstein distance against loop implementations."""

from __future__ import annotations

import itertools

import pytest
import torch

from lcwbench.distances import mmd_imq, random_directions, sliced_wasserstein
from lcwbench.errors import LcwbenchError


def _imq_loop(a, b, dim, scales):
    sq = sum((float(p) - float(q)) ** 2 for p, q in zip(a, b))
    return sum(2 * dim * s / (2 * dim * s + sq) for s in scales)


def test_mmd_imq_matches_loops_with_unbiased_diagonal_exclusion():
    x = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]], dtype=torch.float64)
    y = torch.tensor([[1.0, 1.0], [-1.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    scales = (0.5, 2.0)
    n, d = x.shape
    xx = sum(_imq_loop(x[i], x[j], d, scales) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(_imq_loop(y[i], y[j], d, scales) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(_imq_loop(x[i], y[j], d, scales) for i in range(n) for j in range(n)) / (n * n)
    expected = xx + yy - 2 * xy
    assert mmd_imq(x, y, scales).item() == pytest.approx(expected, rel=1e-12)
    # the biased estimate (diagonals kept) differs, so the exclusion is really tested
    biased = (xx * n * (n - 1) + n * len(scales)) / n**2 + (yy * n * (n - 1) + n * len(scales)) / n**2 - 2 * xy
    assert abs(biased - expected) > 1e-3


def test_mmd_imq_unbiased_is_near_zero_for_same_distribution_and_grows_with_shift():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(200, 4, generator=g), torch.randn(200, 4, generator=g)
    assert abs(mmd_imq(a, b).item()) < 0.05
    assert mmd_imq(a, b + 3.0).item() > 1.0


def test_mmd_imq_errors():
    with pytest.raises(LcwbenchError, match="dimension"):
        mmd_imq(torch.zeros(3, 2), torch.zeros(3, 3))
    with pytest.raises(LcwbenchError, match="at least 2"):
        mmd_imq(torch.zeros(1, 2), torch.zeros(3, 2))


def test_sliced_wasserstein_one_dimensional_exact():
    # in 1-D every unit direction is +1 or -1; sorted projections differ by 1 at every position
    x = torch.tensor([[0.0], [1.0]])
    y = torch.tensor([[2.0], [1.0]])
    assert sliced_wasserstein(x, y, num_projections=50).item() == pytest.approx(1.0, abs=1e-6)


def test_sliced_wasserstein_matches_loop_with_same_directions():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 2, generator=g, dtype=torch.float64)
    y = torch.randn(5, 2, generator=g, dtype=torch.float64) + 1.0
    p = 7
    theta = random_directions(2, p, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    assert torch.allclose(theta.norm(dim=0), torch.ones(p, dtype=torch.float64))
    total = 0.0
    for k in range(p):
        px = sorted(float(x[i] @ theta[:, k]) for i in range(5))
        py = sorted(float(y[i] @ theta[:, k]) for i in range(5))
        total += sum((a - b) ** 2 for a, b in zip(px, py)) / 5
    got = sliced_wasserstein(x, y, p, generator=torch.Generator().manual_seed(11))
    assert got.item() == pytest.approx(total / p, rel=1e-12)
    # sorting gives the optimal 1-D coupling: no permutation does better on any direction
    k = 0
    px = [float(x[i] @ theta[:, k]) for i in range(5)]
    py = sorted(float(y[i] @ theta[:, k]) for i in range(5))
    best = min(sum((a - b) ** 2 for a, b in zip(sorted(px), perm)) for perm in itertools.permutations(py))
    assert best == pytest.approx(sum((a - b) ** 2 for a, b in zip(sorted(px), py)))


def test_sliced_wasserstein_zero_for_identical_sets_and_flattens_images():
    x = torch.rand(6, 1, 3, 3)
    assert sliced_wasserstein(x, x[torch.randperm(6)], 100).item() == pytest.approx(0.0, abs=1e-10)


def test_sliced_wasserstein_needs_equal_sizes():
    with pytest.raises(LcwbenchError, match="equal size"):
        sliced_wasserstein(torch.zeros(4, 3), torch.zeros(5, 3))
    with pytest.raises(LcwbenchError, match="num_projections"):
        sliced_wasserstein(torch.zeros(4, 3), torch.zeros(4, 3), 0)

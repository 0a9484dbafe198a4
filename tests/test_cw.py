"""CW distances against values computed by hand from the formulas with plain Python loops."""

from __future__ import annotations

import math

import pytest
import torch

from lcwbench.distances import (
    cw_normality,
    cw_sampling,
    cw_sampling_silverman,
    pairwise_sq_dists,
    silverman_gamma,
)
from lcwbench.errors import LcwbenchError


def _sq(a, b):
    return sum((ai - bi) ** 2 for ai, bi in zip(a, b))


def _loops_normality(z, gamma):
    n, d = len(z), len(z[0])
    k = 2 * d - 3
    pair = sum((gamma + _sq(zi, zj) / k) ** -0.5 for zi in z for zj in z) / n**2
    norm = sum((gamma + 0.5 + _sq(zi, [0.0] * d) / k) ** -0.5 for zi in z) * 2 / n
    return (1 + gamma) ** -0.5 + pair - norm


def _loops_sampling(x, y, gamma):
    n, d = len(x), len(x[0])

    def phi(s):
        return (1 + 4 * s / (2 * d - 3)) ** -0.5

    def mean_phi(a, b):
        return sum(phi(_sq(ai, bj) / (4 * gamma)) for ai in a for bj in b) / n**2

    return (mean_phi(x, x) + mean_phi(y, y) - 2 * mean_phi(x, y)) / (2 * math.sqrt(math.pi * gamma))


def test_silverman_gamma_hand_value():
    # (1.06 * 0.5 * 32^(-1/5))^2 = (0.53 / 2)^2
    assert silverman_gamma(0.5, 32) == pytest.approx((0.53 / 2) ** 2, rel=1e-12)


def test_pairwise_sq_dists_matches_loops_and_is_nonnegative():
    a = torch.tensor([[0.0, 0.0, 1.0], [1.0, 2.0, 3.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 0.0, 0.0], [1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], dtype=torch.float64)
    got = pairwise_sq_dists(a, b)
    want = [[_sq(ai, bj) for bj in b.tolist()] for ai in a.tolist()]
    for row_got, row_want in zip(got.tolist(), want):
        assert row_got == pytest.approx(row_want)
    assert (pairwise_sq_dists(b, b).diagonal() >= 0).all()


def test_cw_normality_tiny_hand_example():
    # n = 2, D = 3 (2D-3 = 3), gamma = 1: every term by hand.
    z = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], dtype=torch.float64)
    # |z1-z2|^2 = 3, |z1|^2 = 1, |z2|^2 = 2
    pair = (2 * (1 + 0) ** -0.5 + 2 * (1 + 3 / 3) ** -0.5) / 4
    norm = ((1.5 + 1 / 3) ** -0.5 + (1.5 + 2 / 3) ** -0.5) * 2 / 2
    want = 2**-0.5 + pair - norm
    assert cw_normality(z, gamma=1.0).item() == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("n,d", [(5, 3), (7, 8)])
def test_cw_normality_default_gamma_matches_loops(n, d):
    g = torch.Generator().manual_seed(n * d)
    z = torch.randn(n, d, generator=g, dtype=torch.float64)
    gamma = (4 / (3 * n)) ** 0.4
    assert cw_normality(z).item() == pytest.approx(_loops_normality(z.tolist(), gamma), rel=1e-10)


def test_cw_normality_smaller_for_gaussian_than_shifted():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(256, 8, generator=g)
    assert cw_normality(z) < cw_normality(z + 2.0)


@pytest.mark.parametrize("n,d,gamma", [(4, 3, 0.5), (6, 10, 0.02)])
def test_cw_sampling_matches_loops(n, d, gamma):
    g = torch.Generator().manual_seed(d)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, d, generator=g, dtype=torch.float64) + 0.3
    want = _loops_sampling(x.tolist(), y.tolist(), gamma)
    assert cw_sampling(x, y, gamma).item() == pytest.approx(want, rel=1e-10)


def test_cw_sampling_tiny_hand_example():
    # n = 1, D = 3, gamma = 1/4: phi(s) = (1 + 4s/3)^(-1/2), s = |x-y|^2 / (4 gamma) = |x-y|^2
    x = torch.tensor([[0.0, 0.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([[0.0, 0.0, 3.0]], dtype=torch.float64)  # |x-y|^2 = 9 -> phi = (1 + 12)^(-1/2)
    want = (1 + 1 - 2 * 13**-0.5) / (2 * math.sqrt(math.pi / 4))
    assert cw_sampling(x, y, 0.25).item() == pytest.approx(want, rel=1e-12)


def test_cw_sampling_flattens_images_and_is_zero_for_identical_samples():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(5, 1, 4, 4, generator=g, dtype=torch.float64)
    assert cw_sampling(x, x.clone(), 0.1).item() == pytest.approx(0.0, abs=1e-12)
    y = torch.rand(5, 1, 4, 4, generator=g, dtype=torch.float64)
    want = _loops_sampling(x.reshape(5, -1).tolist(), y.reshape(5, -1).tolist(), 0.1)
    assert cw_sampling(x, y, 0.1).item() == pytest.approx(want, rel=1e-10)


def test_cw_sampling_silverman_uses_std_of_y_without_gradient():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(8, 5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(8, 5, generator=g, dtype=torch.float64, requires_grad=True)
    gamma = silverman_gamma(y.detach().std().item(), 8)
    got = cw_sampling_silverman(x, y)
    assert got.item() == pytest.approx(_loops_sampling(x.tolist(), y.tolist(), gamma), rel=1e-10)
    got.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_cw_gradients_finite_at_coincident_points():
    z = torch.zeros(4, 6, requires_grad=True)
    cw_normality(z).backward()
    assert torch.isfinite(z.grad).all()


def test_cw_errors_are_one_line():
    with pytest.raises(LcwbenchError, match="equal shape"):
        cw_sampling(torch.zeros(3, 4), torch.zeros(4, 4), 0.1)
    with pytest.raises(LcwbenchError, match="D >= 2"):
        cw_normality(torch.zeros(3, 1))

"""Metrics against values worked out by hand; Inception loading and safety with stand-in weights.

No test touches the network: an autouse fixture points the torch hub cache at an empty temporary
directory and replaces torch.hub's downloader with one that fails.
"""

from __future__ import annotations

import math
import pickle
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from lcwbench.errors import LcwbenchError
from lcwbench.io import sha256_file
from lcwbench.metrics import (
    ENV_WEIGHTS,
    WEIGHTS_FILENAME,
    FeatureExtractor,
    active_dims,
    compute_prd,
    feature_stats,
    fid_cleanfid,
    fid_from_stats,
    frechet_distance_vectors,
    inception_score,
    kid,
    make_standin_weights,
    mse,
    offdiag_cov,
    prd_f_beta,
    prd_from_histograms,
    psnr,
    rec_error,
    resolve_weights,
)
from lcwbench.metrics import inception as inception_mod


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """Empty torch hub dir, no weights env var, and a downloader that always fails."""
    monkeypatch.delenv(ENV_WEIGHTS, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    calls = []

    def _no_network(url, dst, *args, **kwargs):
        calls.append((url, dst))
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_network)
    return calls


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Path:
    return make_standin_weights(tmp_path_factory.mktemp("standin") / "standin.pth", seed=0)


# ------------------------------------------------------------------------------------------- FID


def test_fid_diagonal_gaussians_closed_form():
    mu1, var1 = np.array([0.0, 1.0]), np.array([1.0, 4.0])
    mu2, var2 = np.array([2.0, 1.0]), np.array([4.0, 9.0])
    # ||mu1-mu2||^2 = 4;  sum(v1 + v2 - 2 sqrt(v1 v2)) = (1 + 4 - 2*2) + (4 + 9 - 2*6) = 2
    expected = 4.0 + 2.0
    assert fid_from_stats(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, abs=1e-9)
    assert fid_cleanfid(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, abs=1e-6)


def test_fid_equal_covariances_is_squared_mean_difference():
    sigma = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.5]])
    mu1, mu2 = np.array([1.0, 0.0, -1.0]), np.array([0.0, 2.0, -1.0])
    assert fid_from_stats(mu1, sigma, mu2, sigma) == pytest.approx(1.0 + 4.0, abs=1e-6)
    assert fid_cleanfid(mu1, sigma, mu2, sigma) == pytest.approx(5.0, abs=1e-6)


def test_fid_mismatched_stats_raise():
    with pytest.raises(LcwbenchError, match="do not match"):
        fid_from_stats(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_feature_stats_by_hand():
    x = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 3.0]])
    mu, sigma = feature_stats(x)
    n = len(x)
    mean = [sum(r[j] for r in x) / n for j in range(2)]
    cov = [
        [sum((r[i] - mean[i]) * (r[j] - mean[j]) for r in x) / (n - 1) for j in range(2)] for i in range(2)
    ]
    assert mu == pytest.approx(mean)
    assert sigma == pytest.approx(np.array(cov))
    assert sigma[0, 1] == pytest.approx(0.5)  # deviations (-1,-1), (0,1), (1,0): (1 + 0 + 0) / 2
    with pytest.raises(LcwbenchError, match="at least 2"):
        feature_stats(x[:1])


def test_frechet_distance_vectors_shifted_copy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    shift = np.array([1.0, 2.0, 0.0, -1.0])
    # same covariance, means differ by `shift`: FD = 1 + 4 + 0 + 1
    assert frechet_distance_vectors(x, x + shift) == pytest.approx(6.0, abs=1e-6)
    assert frechet_distance_vectors(x, x) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(LcwbenchError, match="dimension"):
        frechet_distance_vectors(x, x[:, :3])


# -------------------------------------------------------------------------------------------- IS


def test_inception_score_uniform_logits_is_one():
    mean, std = inception_score(np.zeros((20, 7)), splits=10)
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_two_confident_classes_is_two():
    logits = np.zeros((10, 5))
    logits[0::2, 0] = 100.0
    logits[1::2, 3] = 100.0
    mean, std = inception_score(logits, splits=1)
    assert mean == pytest.approx(2.0, abs=1e-9)
    assert std == 0.0
    # without shuffling and 5 splits of two samples (one of each class), every split scores 2 as well
    mean5, std5 = inception_score(logits, splits=5, shuffle=False)
    assert mean5 == pytest.approx(2.0, abs=1e-9)
    assert std5 == pytest.approx(0.0, abs=1e-9)


def test_inception_score_hand_computed():
    # p1 = softmax(0, ln 3) = (1/4, 3/4), p2 = (3/4, 1/4), marginal (1/2, 1/2)
    logits = np.array([[0.0, math.log(3.0)], [math.log(3.0), 0.0]])
    kl = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)  # the same for both samples
    mean, _ = inception_score(logits, splits=1)
    assert mean == pytest.approx(math.exp(kl), rel=1e-12)
    with pytest.raises(LcwbenchError, match="splits"):
        inception_score(logits, splits=10)


# ------------------------------------------------------------------------------------------- KID


def _mmd2_unbiased_by_hand(x, y):
    d = len(x[0])

    def k(a, b):
        return (sum(ai * bi for ai, bi in zip(a, b)) / d + 1.0) ** 3

    m = len(x)
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return (kxx + kyy) / (m * (m - 1)) - 2.0 * kxy / (m * m)


def test_kid_full_set_matches_hand_mmd():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 3)), rng.normal(loc=0.5, size=(6, 3))
    # one subset of all 6 samples: a permutation, to which the MMD sums are invariant
    mean, std = kid(x, y, subsets=1, subset_size=6)
    assert mean == pytest.approx(_mmd2_unbiased_by_hand(x.tolist(), y.tolist()), rel=1e-10)
    assert std == 0.0


def test_kid_same_distribution_near_zero_shifted_larger():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(200, 8)), rng.normal(size=(200, 8))
    same, _ = kid(x, y, subsets=20)  # subset_size shrinks to 200 automatically
    shifted, _ = kid(x, y + 1.0, subsets=20)
    assert abs(same) < 0.05
    assert shifted > 0.5
    assert kid(x, x, subsets=5) == kid(x, x, subsets=5)  # deterministic (fixed rng_seed)


# ------------------------------------------------------------------------------------------- PRD


def test_prd_identical_histograms_hit_one():
    h = np.array([0.1, 0.2, 0.3, 0.4])
    precision, recall = prd_from_histograms(h, h, num_angles=1001)
    assert precision[500] == pytest.approx(1.0, abs=1e-12)  # lambda = tan(pi/4) = 1
    assert recall[500] == pytest.approx(1.0, abs=1e-12)
    f8, f18 = prd_f_beta(precision, recall, beta=8)
    assert f8 == pytest.approx(1.0, abs=1e-9)
    assert f18 == pytest.approx(1.0, abs=1e-9)


def test_prd_two_bin_histograms_by_hand():
    q = np.array([0.8, 0.2])  # evaluated (generated)
    p = np.array([0.2, 0.8])  # reference
    precision, recall = prd_from_histograms(q, p, num_angles=5)
    # theta = eps, pi/8, pi/4, 3pi/8, pi/2 - eps (up to eps = 1e-10, hence the 1e-9 tolerances);
    # lambda = ~0, sqrt2 - 1, 1, sqrt2 + 1, ~inf
    s = math.sqrt(2.0)
    # alpha(l) = min(0.2 l, 0.8) + min(0.8 l, 0.2)
    # l = sqrt2-1 (0.414): 0.2 l + 0.2;  l = 1: 0.2 + 0.2;  l = sqrt2+1 (2.414): 0.2 l + 0.2
    assert precision[1] == pytest.approx(0.2 * (s - 1) + 0.2, abs=1e-9)
    assert recall[1] == pytest.approx(0.2 + 0.2 / (s - 1), abs=1e-9)
    assert precision[2] == pytest.approx(0.4, abs=1e-12)
    assert recall[2] == pytest.approx(0.4, abs=1e-12)
    assert precision[3] == pytest.approx(0.2 * (s + 1) + 0.2, abs=1e-9)
    assert recall[3] == pytest.approx(0.2 + 0.2 / (s + 1), abs=1e-9)
    # end points: lambda -> 0 gives (0, 1); lambda -> inf gives (1, 0)
    assert precision[0] == pytest.approx(0.0, abs=1e-9) and recall[0] == pytest.approx(1.0, abs=1e-12)
    assert precision[4] == pytest.approx(1.0, abs=1e-12) and recall[4] == pytest.approx(0.0, abs=1e-9)


def test_prd_f_beta_by_hand():
    precision = np.array([0.2, 0.9, 0.0])
    recall = np.array([0.9, 0.3, 0.0])

    def f(p, r, b):
        return (1 + b * b) * p * r / (b * b * p + r)

    f2, f_half = prd_f_beta(precision, recall, beta=2)
    assert f2 == pytest.approx(max(f(0.2, 0.9, 2), f(0.9, 0.3, 2)))
    assert f_half == pytest.approx(max(f(0.2, 0.9, 0.5), f(0.9, 0.3, 0.5)))
    # F_2 favours recall: the first point wins; F_1/2 favours precision: the second point wins
    assert f2 == pytest.approx(5 * 0.18 / (0.8 + 0.9))
    assert f_half == pytest.approx(1.25 * 0.27 / (0.225 + 0.3))
    assert prd_f_beta(np.zeros(3), np.zeros(3)) == (0.0, 0.0)


def test_compute_prd_identical_and_disjoint_sets():
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(30, 3))
    precision, recall = compute_prd(ref.copy(), ref, num_clusters=4, num_angles=101, num_runs=2, seed=0)
    assert precision.shape == recall.shape == (101,)
    assert precision[50] == pytest.approx(1.0, abs=1e-12) and recall[50] == pytest.approx(1.0, abs=1e-12)
    assert prd_f_beta(precision, recall) == pytest.approx((1.0, 1.0), abs=1e-9)

    far = ref + 100.0  # every cluster holds points of one set only
    precision, recall = compute_prd(far, ref, num_clusters=2, num_angles=101, num_runs=2, seed=0)
    assert np.allclose(precision, 0.0) and np.allclose(recall, 0.0)
    assert prd_f_beta(precision, recall) == (0.0, 0.0)

    other = rng.normal(size=(30, 3)) * 2.0
    a = compute_prd(other, ref, num_clusters=5, num_angles=51, num_runs=2, seed=7)
    b = compute_prd(other, ref, num_clusters=5, num_angles=51, num_runs=2, seed=7)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_compute_prd_requires_equal_sizes():
    with pytest.raises(LcwbenchError, match="equally many"):
        compute_prd(np.zeros((10, 2)), np.zeros((12, 2)))


# ------------------------------------------------------------------------------ reconstruction


def _recon_pair():
    x = torch.zeros(2, 1, 2, 2)
    y = torch.zeros(2, 1, 2, 2)
    y[0] = 0.1  # mse 0.01 -> PSNR 20 dB; squared-error sum 4 * 0.01 = 0.04
    y[1] = 0.5  # mse 0.25 -> PSNR 10 log10(4); squared-error sum 4 * 0.25 = 1.0
    return x, y


def test_psnr_by_hand():
    x, y = _recon_pair()
    assert psnr(x, y) == pytest.approx((20.0 + 10.0 * math.log10(4.0)) / 2.0, rel=1e-6)
    assert psnr(x * 255, y * 255, data_range=255.0) == pytest.approx(psnr(x, y), rel=1e-6)
    assert psnr(x, x) == pytest.approx(100.0)  # mse clamped at 1e-10
    assert psnr(x.numpy(), y.numpy()) == pytest.approx(psnr(x, y))


def test_rec_error_and_mse_by_hand():
    x, y = _recon_pair()
    assert rec_error(x, y) == pytest.approx((0.04 + 1.0) / 2.0, rel=1e-6)
    assert mse(x, y) == pytest.approx((4 * 0.01 + 4 * 0.25) / 8.0, rel=1e-6)
    assert mse(x.numpy(), y.numpy()) == pytest.approx(mse(x, y))
    with pytest.raises(LcwbenchError, match="shapes differ"):
        mse(x, y[:1])


# -------------------------------------------------------------------------------------- latent


def test_offdiag_cov_by_hand():
    # deviations from the mean (2, 3): (-1,-1), (0,1), (1,0) -> cov_xy = (1 + 0 + 0) / 2
    assert offdiag_cov(np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 3.0]])) == pytest.approx(0.5)
    # perfectly anti-correlated columns: cov_xy = -1, mean absolute value 1
    assert offdiag_cov(torch.tensor([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])) == pytest.approx(1.0)
    assert offdiag_cov(np.array([[1.0], [2.0], [5.0]])) == 0.0


def test_active_dims():
    assert active_dims(np.array([0.05, 0.1, 0.5, 0.099])) == 2
    assert active_dims(torch.tensor([0.3, 0.2, 0.01]), threshold=0.25) == 1


# ----------------------------------------------------------------------------------- Inception


def test_uint8_conversion_rounds():
    x = torch.tensor([0.0, 0.49 / 255, 0.51 / 255, 254.6 / 255, 1.0, 1.2, -0.1]).reshape(1, 1, 1, 7)
    out = inception_mod._to_uint8(x)
    assert out.shape == (1, 3, 1, 7) and out.dtype == torch.uint8
    assert out[0, 0, 0].tolist() == [0, 0, 1, 255, 255, 255, 0]  # truncation would give 254 for 254.6
    with pytest.raises(LcwbenchError, match="N x C x H x W"):
        inception_mod._to_uint8(torch.zeros(2, 2, 8, 8))


def test_standin_features(standin):
    rng_before = torch.random.get_rng_state()
    fe = FeatureExtractor("standin", weights=standin, batch_size=3)
    assert torch.equal(rng_before, torch.random.get_rng_state())  # construction leaves the global RNG alone
    assert fe.is_standin is True
    assert fe.protocol["is_standin"] is True
    assert fe.protocol["weights_sha256"] == sha256_file(standin)
    assert fe.protocol["extractor"] == "standin-inception-v3-compat(random init)"
    assert fe.protocol["rounding"] == "round"
    assert fe.protocol["implementation"].startswith("torch-fidelity ")

    gen = torch.Generator().manual_seed(0)
    gray = torch.rand(4, 1, 28, 28, generator=gen)
    rgb = torch.rand(4, 3, 32, 32, generator=gen)
    f_gray = fe.features(gray)
    f_rgb = fe.features(rgb)
    for f in (f_gray, f_rgb):
        assert f["pool3"].shape == (4, 2048) and f["logits"].shape == (4, 1008)
        assert f["pool3"].dtype == np.float64
        for v in f.values():
            assert np.isfinite(v).all()
            assert not np.allclose(v, v[:1])  # images differ -> features differ
        assert np.abs(f["pool3"]).mean() > 1e-3  # not the degenerate ~1e-8 of PyTorch's default init
    # grayscale is repeated to RGB; extraction is deterministic (streamed in uneven batches here)
    again = fe.features_from_batches(iter([gray[:1].repeat(1, 3, 1, 1), (gray[1:].repeat(1, 3, 1, 1), None)]))
    for key in ("pool3", "logits"):
        np.testing.assert_allclose(again[key], f_gray[key], rtol=1e-5, atol=1e-6)


def test_standin_file_is_deterministic(standin, tmp_path):
    again = make_standin_weights(tmp_path / "again.pth", seed=0)
    assert sha256_file(again) == sha256_file(standin)


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def test_unsafe_weights_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    zipped = tmp_path / "evil.pth"
    torch.save({"Conv2d_1a_3x3.conv.weight": _Evil(marker)}, zipped)
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    for path in (zipped, raw):
        with pytest.raises(LcwbenchError, match="refused by the safe loader"):
            FeatureExtractor("inception", weights=str(path))
        with pytest.raises(LcwbenchError, match="refused by the safe loader"):
            FeatureExtractor("standin", weights=path)
    assert not marker.exists()


def test_wrong_state_dict_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"layer.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(LcwbenchError, match="does not match torch-fidelity's Inception-v3"):
        FeatureExtractor("standin", weights=path)
    torch.save([torch.zeros(2)], path)
    with pytest.raises(LcwbenchError, match="does not hold a state dict"):
        FeatureExtractor("standin", weights=path)


def test_offline_without_weights_explains_how_to_provide_them(_offline):
    with pytest.raises(LcwbenchError) as err:
        resolve_weights(None)
    message = str(err.value)
    assert "fid.weights" in message and ENV_WEIGHTS in message and WEIGHTS_FILENAME in message
    assert "\n" not in message
    assert len(_offline) == 1  # the (failing) downloader was tried once
    with pytest.raises(LcwbenchError, match="not available offline"):
        FeatureExtractor("inception")


def test_missing_weights_path_is_named(monkeypatch, tmp_path):
    missing = tmp_path / "nope" / WEIGHTS_FILENAME
    with pytest.raises(LcwbenchError, match=r"not found: .*nope.*fid\.weights"):
        resolve_weights(str(missing))
    with pytest.raises(LcwbenchError, match="not found: .*nope"):
        FeatureExtractor("standin", weights=missing)
    monkeypatch.setenv(ENV_WEIGHTS, str(missing))
    with pytest.raises(LcwbenchError, match=f"not found: .*nope.*{ENV_WEIGHTS}"):
        resolve_weights(None)
    with pytest.raises(LcwbenchError, match="make_standin_weights"):
        FeatureExtractor("standin")


def test_weights_resolution_order(monkeypatch, tmp_path, standin, _offline):
    explicit = tmp_path / "explicit.pth"
    explicit.write_bytes(b"x")
    env = tmp_path / "env.pth"
    env.write_bytes(b"y")
    monkeypatch.setenv(ENV_WEIGHTS, str(env))
    assert resolve_weights(str(explicit)) == explicit
    assert resolve_weights(None) == env
    monkeypatch.delenv(ENV_WEIGHTS)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILENAME
    cached.parent.mkdir(parents=True)
    shutil.copyfile(standin, cached)
    assert resolve_weights(None) == cached
    assert _offline == []  # a cached copy needs no download


def test_download_goes_to_hub_cache(monkeypatch, standin):
    seen = []

    def _fake_download(url, dst, *args, **kwargs):
        seen.append(url)
        shutil.copyfile(standin, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", _fake_download)
    fe = FeatureExtractor("inception")
    assert seen == [inception_mod.WEIGHTS_URL]
    assert fe.weights_path == (Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILENAME).resolve()
    assert fe.protocol["extractor"] == "inception-v3-compat" and fe.protocol["is_standin"] is False

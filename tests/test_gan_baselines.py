"""The GLDO paper's GAN baselines (DCGAN, WGAN-GP, BEGAN), their discriminators, and the PCA baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

# Importing the modules registers the methods.
import lcwbench.methods.began  # noqa: F401
import lcwbench.methods.dcgan  # noqa: F401
import lcwbench.methods.pca  # noqa: F401
import lcwbench.methods.wgan_gp  # noqa: F401
from lcwbench.errors import LcwbenchError
from lcwbench.methods import build_method
from lcwbench.methods.began import m_global, update_k
from lcwbench.methods.wae_gan import gradient_penalty
from lcwbench.models.discriminators import BEGANDiscriminator, ConvDiscriminator, build_discriminator
from lcwbench.runner import load_model
from lcwbench.train import train
from lcwbench.train.loop import save_model

SHAPE = (1, 32, 32)
# small discriminators: the tests run beside training jobs (the generator is always Table 7's)
SMALL = {
    "dcgan": {"d_width": 4, "d_fc_width": 16},
    "wgan_gp": {"d_width": 4, "d_fc_width": 16, "n_critic": 2},
    "began": {"d_width": 4, "d_hidden": 8, "d_repeats": 1},
}
TERMS = {
    "dcgan": {"total", "d", "g", "d_real", "d_fake"},
    "wgan_gp": {"total", "critic", "gp", "w_dist", "gen"},
    "began": {"total", "m_global", "d", "g", "l_real", "l_fake", "k"},
}
GANS = sorted(SMALL)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: tiny convolutions on a CPU shared with training jobs are many times faster so."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _images(n: int, shape=SHAPE, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed))


def _gan(name: str, **extra):
    torch.manual_seed(0)
    return build_method(name, {**SMALL[name], **extra}, SHAPE)


# -- discriminators ----------------------------------------------------------------------------------
@pytest.mark.parametrize("side", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_discriminator_output_shapes(side, channels):
    torch.manual_seed(0)
    shape = (channels, side, side)
    x = _images(2, shape)
    for kind in ("dcgan", "wgan_gp"):
        d = build_discriminator(shape, kind, width=4, fc_width=8)
        assert d(x).shape == (2,)
    d = build_discriminator(shape, "began", width=4, hidden=8, repeats=1)
    assert isinstance(d, BEGANDiscriminator)
    assert d(x).shape == x.shape
    energy = d.energy(x)
    assert energy.shape == (2,)
    torch.testing.assert_close(energy, (d(x) - x).abs().flatten(1).mean(1))


def test_discriminator_norms_and_widths():
    dc = build_discriminator((3, 32, 32), "dcgan")
    wg = build_discriminator((3, 32, 32), "wgan_gp")

    def kinds(m):
        return {type(x) for x in m.modules()}

    assert nn.BatchNorm2d in kinds(dc) and nn.BatchNorm1d in kinds(dc)
    assert not {nn.BatchNorm1d, nn.BatchNorm2d} & kinds(wg) and nn.GroupNorm in kinds(wg) and nn.LayerNorm in kinds(wg)
    none = build_discriminator((3, 32, 32), "wgan_gp", norm="none")
    assert not {nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm} & kinds(none)
    # mirror of the Table 7 32x32 generator: conv 64, conv 128, FC 1024, FC 1; no norm on the first layer
    convs = [m for m in dc.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in dc.modules() if isinstance(m, nn.Linear)]
    assert [c.out_channels for c in convs] == [64, 128]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(128 * 8 * 8, 1024), (1024, 1)]
    assert isinstance(dc.net[1], nn.LeakyReLU) and dc.net[1].negative_slope == 0.2
    # DCGAN init: weights N(0, 0.02), zero biases
    w = torch.cat([m.weight.detach().flatten() for m in convs + linears])
    assert abs(w.std().item() - 0.02) < 0.002 and all(float(m.bias.detach().abs().max()) == 0 for m in convs + linears)
    big = ConvDiscriminator((3, 128, 128), width=64)
    assert [m.out_channels for m in big.modules() if isinstance(m, nn.Conv2d)] == [64, 128, 256, 512, 512, 512]


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 64), (3, 16, 16), (784,), (3, 256, 256)])
def test_discriminator_unsupported_shapes(shape):
    for kind in ("dcgan", "wgan_gp", "began"):
        with pytest.raises(LcwbenchError, match="S in 32, 64, 128"):
            build_discriminator(shape, kind)


def test_discriminator_bad_options():
    with pytest.raises(LcwbenchError, match="unknown discriminator kind"):
        build_discriminator((3, 32, 32), "lsgan")
    with pytest.raises(LcwbenchError, match="norm"):
        build_discriminator((3, 32, 32), "dcgan", norm="instance")
    with pytest.raises(LcwbenchError, match="no normalisation"):
        build_discriminator((3, 32, 32), "began", norm="batch")


# -- GAN methods -------------------------------------------------------------------------------------
def test_gan_defaults():
    dc = build_method("dcgan", {}, SHAPE).cfg
    assert (dc.lr, dc.beta1, dc.beta2, dc.noise_dim, dc.latent_dim, dc.batch_size) == (2e-4, 0.5, 0.999, 100, 100, 64)
    assert (dc.d_norm, dc.d_width, dc.d_fc_width, dc.init_std, dc.d_init_std) == ("batch", 64, 1024, 0.01, 0.02)
    wg = build_method("wgan_gp", {}, SHAPE).cfg
    assert (wg.lr, wg.beta1, wg.beta2, wg.n_critic, wg.gp_weight, wg.d_norm) == (1e-4, 0.5, 0.9, 5, 10.0, "layer")
    be = build_method("began", {}, SHAPE).cfg
    assert (be.lr, be.gamma, be.lambda_k, be.noise_dim, be.batch_size) == (1e-4, 0.5, 0.001, 100, 64)
    with pytest.raises(LcwbenchError, match="batch norm"):
        build_method("wgan_gp", {"d_norm": "batch"}, SHAPE)
    with pytest.raises(LcwbenchError, match="S in 32, 64, 128"):
        build_method("dcgan", {}, (1, 28, 28))
    with pytest.raises(LcwbenchError, match="gamma"):
        build_method("began", {"gamma": 0.0}, SHAPE)


def _snapshot(method) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in method.named_parameters()}


def _record_steps(method, opts) -> list[tuple[str, dict, dict]]:
    """Wrap each optimiser's step to record (name, parameters before, parameters after)."""
    calls: list[tuple[str, dict, dict]] = []
    for key, opt in opts.items():

        def step(*args, _orig=opt.step, _key=key, **kwargs):
            before = _snapshot(method)
            out = _orig(*args, **kwargs)
            calls.append((_key, before, _snapshot(method)))
            return out

        opt.step = step
    return calls


def _changed(a: dict, b: dict) -> set[str]:
    return {n for n in a if not torch.equal(a[n], b[n])}


@pytest.mark.parametrize("name", GANS)
def test_gan_step_updates_only_the_right_network(name):
    m = _gan(name)
    assert not m.has_encoder
    opts = m.build_optimizers()
    assert set(opts) == {"d", "g"}
    calls = _record_steps(m, opts)
    start = _snapshot(m)
    terms = m.train_step(_images(4), opts)
    end = _snapshot(m)

    assert set(terms) == TERMS[name]
    assert all(v.dim() == 0 and not v.requires_grad and torch.isfinite(v) for v in terms.values())
    n_critic = m.cfg.n_critic if name == "wgan_gp" else 1
    assert [c[0] for c in calls] == ["d"] * n_critic + ["g"]
    own = {
        k: {n for n in start if n.startswith(prefix)} for k, prefix in (("d", "discriminator."), ("g", "generator."))
    }
    assert own["d"] and own["g"] and own["d"] | own["g"] == set(start)
    prev = start
    for key, before, after in calls:
        assert not _changed(prev, before), "parameters changed outside an optimiser step"
        changed = _changed(before, after)
        assert changed <= own[key], f"{key} step changed {sorted(changed - own[key])}"
        weights = {n for n in own[key] if n.endswith("weight")}
        assert weights <= changed, f"{key} step left {sorted(weights - changed)} unchanged"
        prev = after
    assert not _changed(prev, end)


@pytest.mark.parametrize("name", GANS)
def test_gan_samples_and_no_encoder(name):
    m = _gan(name).eval()
    with torch.no_grad():
        s = m.sample(3, torch.Generator().manual_seed(1))
        s2 = m.sample(3, torch.Generator().manual_seed(1))
    assert s.shape == (3, *SHAPE) and s.min() >= 0 and s.max() <= 1
    torch.testing.assert_close(s, s2)
    with pytest.raises(LcwbenchError, match="without an encoder"):
        m.encode(_images(2))


def test_wgan_gp_penalty_hand_value_with_linear_critic():
    torch.manual_seed(0)
    d = 2 * 3 * 3
    w = torch.linspace(-0.5, 0.7, d)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(d, 1))
    with torch.no_grad():
        critic[1].weight.copy_(w[None])
        critic[1].bias.fill_(0.3)
    real, fake = torch.rand(5, 2, 3, 3), torch.rand(5, 2, 3, 3)
    # a linear critic's gradient is its weight vector at every point: penalty = (|w| - 1)^2
    expected = (w.norm() - 1) ** 2
    torch.testing.assert_close(gradient_penalty(critic, real, fake), expected)

    m = _gan("wgan_gp", gp_weight=10.0)
    dim = math.prod(SHAPE)
    w = torch.linspace(-0.02, 0.03, dim)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(dim, 1))
    with torch.no_grad():
        lin[1].weight.copy_(w[None])
        lin[1].bias.fill_(-0.1)
    m.discriminator = lin
    real, fake = _images(4, seed=1), _images(4, seed=2)
    terms = m.critic_terms(real, fake)
    w_dist = w @ (real.flatten(1).mean(0) - fake.flatten(1).mean(0))
    torch.testing.assert_close(terms["w_dist"], w_dist)
    torch.testing.assert_close(terms["gp"], (w.norm() - 1) ** 2)
    torch.testing.assert_close(terms["critic"], -w_dist + 10.0 * (w.norm() - 1) ** 2)


def test_began_k_update_by_hand():
    k = torch.tensor(0.5)
    # 0.5 + 0.001 (0.5 * 0.2 - 0.05) = 0.50005
    torch.testing.assert_close(update_k(k, torch.tensor(0.2), torch.tensor(0.05), 0.5, 0.001), torch.tensor(0.50005))
    assert update_k(torch.tensor(0.9999), torch.tensor(1.0), torch.tensor(0.0), 0.5, 0.001).item() == 1.0
    assert update_k(torch.tensor(0.0001), torch.tensor(0.0), torch.tensor(1.0), 0.5, 0.001).item() == 0.0
    torch.testing.assert_close(m_global(torch.tensor(0.2), torch.tensor(0.3), 0.5), torch.tensor(0.2 + 0.2))


def test_began_train_step_k_and_m_global():
    m = _gan("began")
    assert "k" in m.state_dict() and m.k.item() == 0.0  # k_0 = 0
    m.k.fill_(0.3)
    t = m.train_step(_images(4), m.build_optimizers())
    expected = min(max(0.3 + 0.001 * (0.5 * t["l_real"].item() - t["l_fake"].item()), 0.0), 1.0)
    assert m.k.item() == pytest.approx(expected, abs=1e-7)
    assert t["k"].item() == m.k.item()
    assert t["d"].item() == pytest.approx(t["l_real"].item() - 0.3 * t["l_fake"].item(), rel=1e-5)
    assert t["g"].item() == t["l_fake"].item()
    mg = t["l_real"].item() + abs(0.5 * t["l_real"].item() - t["l_fake"].item())
    assert t["m_global"].item() == pytest.approx(mg, rel=1e-5) and t["total"].item() == t["m_global"].item()
    # a huge gain drives k to a bound, never past it
    m.cfg.lambda_k = 1e6
    m.train_step(_images(4), m.build_optimizers())
    assert m.k.item() in (0.0, 1.0)


def test_began_resumes_exactly_with_k(tmp_path):
    x = _images(16, seed=3)
    runs = {}
    for key in ("full", "part", "resumed"):
        runs[key] = _gan("began", batch_size=4, epochs=1)
        runs[key].k.fill_(0.5)  # inside (0, 1), so every step moves it
    train(runs["full"], x, lambda b: b, tmp_path / "full", seed=1, progress=False)
    train(runs["part"], x, lambda b: b, tmp_path / "part", seed=1, progress=False, checkpoint_every=2, max_steps=2)
    runs["resumed"].k.fill_(0.0)  # the checkpoint must restore it
    result = train(runs["resumed"], x, lambda b: b, tmp_path / "part", seed=1, progress=False, checkpoint_every=2)
    assert result.resumed_from_step == 2 and result.steps == 4
    a, b = runs["full"].state_dict(), runs["resumed"].state_dict()
    assert a["k"].item() != 0.5
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]


# -- PCA ---------------------------------------------------------------------------------------------
def _pca(shape, n_components, **extra):
    torch.manual_seed(0)
    return build_method("pca", {"n_components": n_components, "svd_solver": "full", **extra}, shape)


def _fit(m, x):
    return m.training_data(x, lambda b: b)


def test_pca_matches_numpy_svd():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 5)) @ np.diag([3.0, 2.0, 1.0, 0.5, 0.1])
    m = _pca((5,), 3)
    assert m.cfg.latent_dim == 3 and m.has_encoder
    _fit(m, torch.tensor(x, dtype=torch.float32))
    centred = x - x.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(m.mean.numpy(), x.mean(0), atol=1e-5)
    comps = m.components.numpy()
    np.testing.assert_allclose(np.abs((comps * vt[:3]).sum(1)), 1.0, atol=1e-5)  # equal up to sign
    np.testing.assert_allclose(m.variance.numpy(), s[:3] ** 2 / (len(x) - 1), rtol=1e-5)
    xt = torch.tensor(x, dtype=torch.float32)
    z = m.encode(xt)
    np.testing.assert_allclose(z.numpy(), centred @ comps.T, atol=1e-4)
    # full rank: reconstruction is exact
    full = _pca((5,), 5)
    _fit(full, xt)
    torch.testing.assert_close(full.reconstruct(xt), xt, atol=1e-5, rtol=0)


def test_pca_rank_one_by_hand():
    # mean (2, 0); the spread is 8 along x and 2 along y, so the first component is +-(1, 0), variance 8/3
    x = torch.tensor([[0.0, 0.0], [4.0, 0.0], [2.0, 1.0], [2.0, -1.0]])
    m = _pca((2,), 1)
    _fit(m, x)
    torch.testing.assert_close(m.mean, torch.tensor([2.0, 0.0]))
    torch.testing.assert_close(m.components.abs(), torch.tensor([[1.0, 0.0]]))
    torch.testing.assert_close(m.variance, torch.tensor([8 / 3]))
    torch.testing.assert_close(m.reconstruct(x), torch.tensor([[0.0, 0.0], [4.0, 0.0], [2.0, 0.0], [2.0, 0.0]]))
    torch.testing.assert_close(m.reconstruct(torch.tensor([[3.0, 5.0]])), torch.tensor([[3.0, 0.0]]))
    torch.testing.assert_close(m.encode(torch.tensor([[3.0, 5.0]])).abs(), torch.tensor([[1.0]]))


def test_pca_images_chunks_clamp_and_samples():
    shape = (1, 4, 4)
    x = torch.randint(0, 256, (30, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))

    def to_float(b):
        return b.float() / 255.0

    a, b = _pca(shape, 4, fit_chunk=7), _pca(shape, 4)
    out, tf = a.training_data(x, to_float)
    assert out is x and tf is to_float
    b.training_data(x, to_float)
    torch.testing.assert_close(a.components, b.components)
    torch.testing.assert_close(a.mean, to_float(x).flatten(1).mean(0))
    rec = a.decode(torch.full((2, 4), 100.0))
    assert rec.shape == (2, *shape) and rec.min() >= 0 and rec.max() <= 1
    z = a.sample_latent(4000, torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.std(0), a.variance.sqrt(), rtol=0.08, atol=0)
    s = a.sample(5, torch.Generator().manual_seed(0))
    assert s.shape == (5, *shape) and s.min() >= 0 and s.max() <= 1
    assert a.build_optimizers() == {}
    assert a.train_step(to_float(x[:8]), {}) == {"total": torch.tensor(0.0)}


def test_pca_fit_max_fits_a_seeded_subset():
    shape = (3,)
    x = torch.randn(40, *shape, generator=torch.Generator().manual_seed(1)) * torch.tensor([3.0, 1.0, 0.2])

    def fit(fit_max, seed=0):
        m = _pca(shape, 2, fit_max=fit_max, fit_chunk=4)
        torch.manual_seed(seed)
        m.training_data(x, lambda b: b)
        return m

    # The subset is what the seeded RNG draws after the solver seed: rebuild it here and check the mean.
    torch.manual_seed(0)
    torch.randint(0, 2**31 - 1, ())
    rows = torch.randperm(40)[:10].sort().values
    sub = fit(10)
    torch.testing.assert_close(sub.mean, x[rows].mean(0))
    assert not torch.allclose(sub.mean, x.mean(0))
    torch.testing.assert_close(fit(10).components, sub.components)  # same seed, same subset
    assert not torch.allclose(fit(10, seed=1).mean, sub.mean)
    # fit_max at or above the data size fits everything, like the default.
    torch.testing.assert_close(fit(40).mean, x.mean(0))
    torch.testing.assert_close(fit(40).components, fit(None).components)
    with pytest.raises(LcwbenchError, match="fit_max must be null or >= 1, got 0"):
        _pca(shape, 2, fit_max=0)


def test_pca_errors():
    m = _pca((5,), 3)
    with pytest.raises(LcwbenchError, match="not fitted"):
        m.encode(torch.zeros(2, 5))
    with pytest.raises(LcwbenchError, match="n_components"):
        _fit(_pca((5,), 4), torch.rand(3, 5))  # only 3 items
    with pytest.raises(LcwbenchError, match="exceeds the data dimension"):
        _pca((5,), 6)
    with pytest.raises(LcwbenchError, match="latent_dim"):
        build_method("pca", {"n_components": 3, "latent_dim": 4}, (5,))
    defaults = build_method("pca", {}, (3, 32, 32)).cfg
    assert (defaults.n_components, defaults.latent_dim, defaults.epochs) == (100, 100, 1)


def test_pca_through_the_training_loop(tmp_path):
    shape = (1, 4, 4)
    x = torch.rand(24, *shape, generator=torch.Generator().manual_seed(0))
    m = _pca(shape, 3, batch_size=8)
    data, to_float = m.training_data(x, lambda b: b)
    result = train(m, data, to_float, tmp_path, seed=0, progress=False)
    assert result.steps == 3 and result.history[0]["total"] == 0.0
    assert bool(m.fitted)


# -- save / load ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*GANS, "pca"])
def test_save_load_round_trip(tmp_path, name):
    if name == "pca":
        m = _pca(SHAPE, 5)
        _fit(m, _images(12))
    else:
        m = _gan(name)
        if name == "began":
            m.k.fill_(0.37)
    m.eval()
    save_model(m, tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt")
    assert type(loaded) is type(m) and loaded.cfg == m.cfg
    a, b = m.state_dict(), loaded.state_dict()
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.sample(3, torch.Generator().manual_seed(5)), m.sample(3, torch.Generator().manual_seed(5))
        )
    if name == "began":
        assert loaded.k.item() == pytest.approx(0.37)
    if name == "pca":
        x = _images(3, seed=9)
        torch.testing.assert_close(loaded.reconstruct(x), m.reconstruct(x))

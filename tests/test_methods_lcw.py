"""The methods beyond AE/CWAE: VAE, WAE-MMD, CW^2, CW-/SW-Generator and the Latent Trick stage."""

from __future__ import annotations

import math

import pytest
import torch

from lcwbench.distances import cw_normality, cw_sampling, cw_sampling_silverman, silverman_gamma
from lcwbench.errors import LcwbenchError
from lcwbench.methods import build_method, get_method
from lcwbench.methods.latent_trick import LatentTrick, build_on_base
from lcwbench.runner import load_model
from lcwbench.train import train
from lcwbench.train.loop import save_model

SHAPE = (1, 28, 28)
SMALL = {"width": 16, "depth": 1}  # keep the MLPs tiny: the tests run beside a training job

TERMS = {
    "vae": {"total", "rec", "kl"},
    "wae_mmd": {"total", "rec", "mmd"},
    "cw2": {"total", "log_cw_rec", "log_cw_latent", "rec"},
    "cw_generator": {"total", "cw"},
    "sw_generator": {"total", "sw"},
}


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed))


def _uint8(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, *SHAPE), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _to_float(b: torch.Tensor) -> torch.Tensor:
    return b.float() / 255.0


def _step(method, x):
    return method.train_step(x, method.build_optimizers())


@pytest.mark.parametrize("name", sorted(TERMS))
def test_defaults_one_step_and_samples(name):
    torch.manual_seed(0)
    m = build_method(name, {}, SHAPE)
    terms = _step(m, _images(16))
    assert set(terms) == TERMS[name]
    assert all(torch.isfinite(v) and v.dim() == 0 and not v.requires_grad for v in terms.values())
    m.eval()
    with torch.no_grad():
        s = m.sample(4, torch.Generator().manual_seed(1))
    assert s.shape == (4, *SHAPE) and s.min() >= 0 and s.max() <= 1


def test_defaults_and_sources():
    cfgs = {n: build_method(n, {}, SHAPE).cfg for n in ("vae", "wae_mmd", "cw2")}
    assert (cfgs["vae"].latent_dim, cfgs["vae"].lr, cfgs["vae"].batch_size, cfgs["vae"].beta) == (8, 1e-3, 128, 1.0)
    assert cfgs["wae_mmd"].lambda_ == 10.0
    assert (cfgs["cw2"].latent_dim, cfgs["cw2"].lr, cfgs["cw2"].lambda_, cfgs["cw2"].gamma) == (8, 1e-3, 1.0, None)
    for n in ("cw_generator", "sw_generator"):
        cfg = build_method(n, {}, SHAPE).cfg
        assert (cfg.noise_dim, cfg.batch_size, cfg.lr, cfg.latent_dim) == (32, 256, 5e-4, 32)
    assert build_method("sw_generator", {}, SHAPE).cfg.num_projections == 5000
    with pytest.raises(LcwbenchError, match="latent_dim .* must be left out"):
        build_method("cw_generator", {"latent_dim": 4}, SHAPE)
    with pytest.raises(LcwbenchError, match="gamma must be > 0"):
        build_method("cw2", {"gamma": 0.0}, SHAPE)


def test_vae_encode_is_the_mean():
    torch.manual_seed(0)
    m = build_method("vae", {**SMALL, "beta": 0.5}, SHAPE)
    x = _images(8)
    z1, z2 = m.encode(x), m.encode(x)
    assert z1.shape == (8, 8) and torch.equal(z1, z2)
    mean, logvar = m.posterior(x)
    assert torch.equal(mean, z1) and logvar.shape == (8, 8)
    terms = m.losses(x)
    assert torch.allclose(terms["total"], terms["rec"] + 0.5 * terms["kl"])
    expected_kl = 0.5 * (mean**2 + logvar.exp() - 1 - logvar).sum(1).mean()
    assert torch.allclose(terms["kl"], expected_kl)


def test_cw2_loss_formula_silverman_and_fixed_gamma():
    torch.manual_seed(0)
    m = build_method("cw2", {**SMALL, "lambda": 2.0}, SHAPE)
    x = _images(16)
    terms = m.losses(x)
    z = m.encode(x)
    x_hat = m.decode(z)
    expected = torch.log(cw_sampling_silverman(x_hat, x)) + 2.0 * torch.log(cw_normality(z))
    assert torch.allclose(terms["total"], expected)
    assert torch.allclose(terms["rec"], (x_hat - x).pow(2).flatten(1).sum(1).mean())
    assert not terms["rec"].requires_grad
    fixed = build_method("cw2", {**SMALL, "gamma": 0.0116}, SHAPE)
    fixed.load_state_dict(m.state_dict())
    assert torch.allclose(fixed.losses(x)["log_cw_rec"], torch.log(cw_sampling(x_hat, x, 0.0116)))


@pytest.mark.parametrize("name", ["cw_generator", "sw_generator"])
def test_generators_have_no_encoder(name):
    cls = get_method(name)
    assert cls.has_encoder is False and cls.needs_base is False
    m = build_method(name, SMALL, SHAPE)
    with pytest.raises(LcwbenchError, match="without an encoder"):
        m.encode(_images(2))
    assert m.sample_latent(3).shape == (3, 32)


def _base(latent_dim=8):
    torch.manual_seed(0)
    return build_method("ae", {**SMALL, "latent_dim": latent_dim}, SHAPE)


def _lt(base, **params):
    return build_on_base({"width": 32, "depth": 2, "batch_size": 16, **params}, base)


def test_latent_trick_training_data_and_gamma():
    base = _base()
    lt = _lt(base)
    assert LatentTrick.needs_base and lt.has_encoder
    assert lt.cfg.latent_dim == 8 and lt.cfg.base_method == "ae" and lt.cfg.base_config["latent_dim"] == 8
    x = _uint8(40)
    z, ident = lt.training_data(x, _to_float)
    assert z.shape == (40, 8)
    with torch.no_grad():
        by_hand = base.encoder(x.float() / 255.0)
    assert torch.allclose(z, by_hand)
    std = by_hand.std().item()
    assert lt.gamma.item() == pytest.approx((1.06 * std * 16 ** (-0.2)) ** 2, rel=1e-5)
    assert lt.gamma.item() == pytest.approx(silverman_gamma(std, 16), rel=1e-5)
    assert torch.equal(ident(z[:3]), z[:3])
    assert "gamma" in lt.state_dict()


def test_latent_trick_trains_only_the_latent_generator():
    base = _base()
    lt = _lt(base)
    z, _ = lt.training_data(_uint8(40), _to_float)
    before_base = {k: v.clone() for k, v in lt.base.state_dict().items()}
    before_lg = {k: v.clone() for k, v in lt.lg.state_dict().items()}
    opts = lt.build_optimizers()
    assert {id(p) for g in opts["main"].param_groups for p in g["params"]} == {id(p) for p in lt.lg.parameters()}
    lt.train()
    assert not lt.base.training and lt.lg.training
    terms = lt.train_step(z[:16], opts)
    assert set(terms) == {"total", "cw"} and torch.isfinite(terms["total"])
    assert all(p.grad is None and not p.requires_grad for p in lt.base.parameters())
    assert all(torch.equal(v, before_base[k]) for k, v in lt.base.state_dict().items())
    assert any(not torch.equal(v, before_lg[k]) for k, v in lt.lg.state_dict().items() if v.is_floating_point())
    lt.eval()
    with torch.no_grad():
        s = lt.sample(4, torch.Generator().manual_seed(0))
    assert s.shape == (4, *SHAPE) and 0 <= s.min() and s.max() <= 1
    x = _images(3)
    assert torch.equal(lt.encode(x), base.encode(x))


def test_latent_trick_round_trip_through_load_model(tmp_path):
    lt = _lt(_base())
    z, _ = lt.training_data(_uint8(40), _to_float)
    lt.train()
    lt.train_step(z[:16], lt.build_optimizers())
    save_model(lt, tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt")
    assert isinstance(loaded, LatentTrick) and loaded.cfg.base_method == "ae"
    assert loaded.gamma.item() == lt.gamma.item()
    lt.eval()
    with torch.no_grad():
        a = lt.sample(5, torch.Generator().manual_seed(4))
        b = loaded.sample(5, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)


def test_latent_trick_base_checks():
    with pytest.raises(LcwbenchError, match="no base model"):
        build_method("latent_trick", {}, SHAPE)
    base = _base()
    with pytest.raises(LcwbenchError, match="differs from the base's latent_dim 8"):
        _lt(base, latent_dim=4)
    gen = build_method("cw_generator", SMALL, SHAPE)
    with pytest.raises(LcwbenchError, match="has no encoder"):
        _lt(gen)
    lt = build_method("latent_trick", {"batch_size": 16}, SHAPE, base=base)  # the runner's path
    assert lt.cfg.base_method == "ae" and lt.base is base
    with pytest.raises(LcwbenchError, match="bandwidth is unset"):
        lt.train_step(torch.zeros(16, 8), lt.build_optimizers())


@pytest.mark.parametrize("name", ["cw2", "latent_trick"])
def test_end_to_end_one_epoch(tmp_path, name):
    torch.manual_seed(0)
    if name == "cw2":
        method = build_method("cw2", {**SMALL, "epochs": 1, "batch_size": 16}, SHAPE)
        x, to_float = method.training_data(_images(64), lambda b: b)
    else:
        method = _lt(_base(), epochs=1)
        x, to_float = method.training_data(_uint8(64), _to_float)
    result = train(method, x, to_float, tmp_path, seed=0, progress=False)
    assert result.steps == 4 and all(math.isfinite(v) for v in result.history[-1].values())

"""Geng et al. (004): loss terms by hand, the two stages, ablation switches, Mimicry nets, resume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lcwbench.methods.geng as geng
from lcwbench.errors import LcwbenchError
from lcwbench.io import torch_load
from lcwbench.methods import build_method
from lcwbench.models.mimicry import latent_mlp, mimicry_discriminator, mimicry_encoder, mimicry_generator
from lcwbench.runner import load_model, train_run

torch.set_num_threads(1)

TINY = {
    "latent_dim": 2,
    "width": 8,
    "depth": 1,
    "latent_width": 8,
    "latent_depth": 1,
    "batch_size": 4,
    "epochs": 2,
    "latent_epochs": 1,
}


def _method(shape=(2,), **params):
    return build_method("geng", {**TINY, **params}, shape)


def _linear(weight, bias=None) -> nn.Linear:
    w = torch.tensor(weight, dtype=torch.float32)
    layer = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(w)
        if bias is not None:
            layer.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return layer


def _state(modules) -> dict[str, torch.Tensor]:
    return {f"{i}.{k}": v.clone() for i, m in enumerate(modules) for k, v in m.state_dict().items()}


def _same(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- the loss terms by hand ---------------------------------------------------------------------------
def test_interp_critic_loss_by_hand():
    d_real = torch.tensor([[1.0], [2.0]])
    d_mix = torch.tensor([[0.5], [0.0]])
    d_interp = torch.tensor([[0.3], [0.1]])
    mu = torch.tensor([0.2, 0.4])
    # (1 + 4)/2 + (0.4^2 + 0.1^2)/2 + (0^2 + 0.4^2)/2
    got = geng.interp_critic_loss(d_real, d_mix, d_interp, mu, 0.1)
    assert got.item() == pytest.approx(2.5 + 0.085 + 0.08)


def test_ae_loss_by_hand():
    x = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    x_hat = torch.tensor([[1.0, 1.0], [1.0, 3.0]])
    t = geng.ae_loss(x, x_hat, torch.tensor([[2.0], [0.0]]), torch.tensor([[1.0], [1.0]]), 0.5, 0.25)
    assert t["rec"].item() == pytest.approx((1 + 0 + 0 + 4) / 4)
    assert t["adv_interp"].item() == pytest.approx(2.0)
    assert t["adv_rec"].item() == pytest.approx(1.0)
    assert t["ae"].item() == pytest.approx(1.25 + 0.5 * 2.0 + 0.25 * 1.0)
    plain = geng.ae_loss(x, x_hat, None, None, 0.5, 0.25)
    assert plain["ae"].item() == pytest.approx(1.25) and plain["adv_rec"].item() == 0.0
    scaled = geng.ae_loss(x, x_hat, None, None, 0.5, 0.25, rec_scale=4.0)
    assert scaled["ae"].item() == pytest.approx(5.0) and scaled["rec"].item() == pytest.approx(1.25)


def test_rec_scale_auto_is_four_for_images_one_for_vectors():
    img = build_method("geng", {"latent_dim": 4, "arch": "mlp", "width": 8, "depth": 1}, (1, 4, 4))
    vec = build_method("geng", {"latent_dim": 2, "width": 8, "depth": 1}, (2,))
    given = build_method("geng", {"latent_dim": 2, "width": 8, "depth": 1, "rec_scale": 2.5}, (2,))
    assert (img.rec_scale, vec.rec_scale, given.rec_scale) == (4.0, 1.0, 2.5)


def test_hinge_losses_by_hand():
    d_real = torch.tensor([0.5, 2.0, -1.0])  # relu(1 - d): 0.5, 0, 2
    d_fake = torch.tensor([-2.0, 0.0, 0.5])  # relu(1 + d): 0, 1, 1.5
    assert geng.hinge_d_loss(d_real, d_fake).item() == pytest.approx(5.0 / 3.0)
    assert geng.hinge_g_loss(d_fake).item() == pytest.approx(0.5)


def test_mu_range():
    torch.manual_seed(0)
    mu = geng.sample_mu(20000, torch.zeros(1))
    assert mu.shape == (20000,) and mu.min() >= 0 and mu.max() <= 0.5
    assert mu.mean().item() == pytest.approx(0.25, abs=0.01) and mu.max() > 0.49


def test_stage1_terms_with_fixed_linear_nets(monkeypatch):
    """E = identity, no BN, G = 2 x identity, d(v) = v0 - v1, mu fixed: every term by hand."""
    m = _method(latent_bn=False, lambda_=0.1, gamma=0.2, w1=0.5, w2=0.5)
    m.encoder = _linear([[1.0, 0.0], [0.0, 1.0]])
    m.decoder = _linear([[2.0, 0.0], [0.0, 2.0]])
    m.critic = _linear([[1.0, -1.0]])
    m.stage1_steps.fill_(10)
    monkeypatch.setattr(geng, "sample_mu", lambda n, like: torch.tensor([0.2, 0.4]))
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    # x_hat = 2x; x_mu = 2 (mu x + (1 - mu) flip(x)) = [[0.4, 3.2], [1.2, 1.6]]
    t = m.train_step(x, m.build_optimizers())
    assert t["rec"].item() == pytest.approx(5 / 4)
    assert t["adv_interp"].item() == pytest.approx((2.8**2 + 0.4**2) / 2)  # d(x_mu) = -2.8, -0.4
    assert t["adv_rec"].item() == pytest.approx((2**2 + 4**2) / 2)  # d(x_hat) = 2, -4
    assert t["total"].item() == pytest.approx(1.25 + 0.5 * 4.0 + 0.5 * 10.0)
    # d(x) = 1, -2; mix = 0.2 x + 0.8 x_hat = 1.8 x -> 1.8, -3.6; targets 0.1 and mu + 0.1
    expected = 2.5 + (1.7**2 + 3.7**2) / 2 + (3.1**2 + 0.9**2) / 2
    assert t["critic"].item() == pytest.approx(expected)
    assert t["stage"].item() == 1.0 and t["latent_d"].item() == 0.0


def test_stage2_terms_are_the_hinge_losses():
    m = _method(n_dis=1)
    m.stage1_steps.fill_(0)
    m.latent_disc = _linear([[1.0, -0.5]], [0.25])
    x = torch.randn(4, 2)
    opts = m.build_optimizers()
    m.eval()
    with torch.no_grad():
        real = m.encode(x)
    d_before = _linear([[1.0, -0.5]], [0.25])
    torch.manual_seed(3)
    with torch.no_grad():
        fake = m.latent_gen(torch.randn(4, 2))
        expected_d = geng.hinge_d_loss(d_before(real), d_before(fake))
    m.train()
    torch.manual_seed(3)
    t = m.train_step(x, opts)
    assert t["latent_d"].item() == pytest.approx(expected_d.item(), rel=1e-6)
    assert t["stage"].item() == 2.0 and t["total"].item() == t["latent_g"].item()
    assert t["rec"].item() == 0.0 and t["critic"].item() == 0.0


# -- the stages ------------------------------------------------------------------------------------
def test_stage1_leaves_latent_gan_alone_and_stage2_freezes_autoencoder():
    torch.manual_seed(0)
    m = _method()
    x = torch.randn(8, 2)
    data, _ = m.training_data(x, lambda b: b)
    assert int(m.stage1_steps) == (2 - 1) * (8 // 4)
    opts = m.build_optimizers()
    m.train()
    latent = _state([m.latent_gen, m.latent_disc])
    ae = _state(m.ae_modules())
    for _ in range(2):
        assert m.stage() == 1
        m.train_step(data[:4], opts)
    assert _same(latent, _state([m.latent_gen, m.latent_disc]))
    assert not _same(ae, _state(m.ae_modules()))
    assert not opts["latent_d"].state and not opts["latent_g"].state
    ae = _state(m.ae_modules())  # BN running statistics included
    for _ in range(2):
        assert m.stage() == 2
        m.train_step(data[:4], opts)
    assert _same(ae, _state(m.ae_modules()))
    assert not _same(latent, _state([m.latent_gen, m.latent_disc]))
    assert all(not mod.training for mod in m.ae_modules()) and m.latent_gen.training
    m.train()  # the loop's train() keeps the frozen stage in eval mode
    assert not m.encoder.training and m.latent_disc.training
    assert int(m.step) == 4


def test_stage_boundary_must_be_set():
    m = _method()
    with pytest.raises(LcwbenchError, match="training_data"):
        m.train_step(torch.randn(4, 2), m.build_optimizers())


def test_ablation_switches():
    full = _method()
    assert isinstance(full.bn, nn.BatchNorm1d) and not full.bn.affine and full.critic is not None
    assert "critic" in full.build_optimizers()
    no_bn = _method(latent_bn=False)
    assert isinstance(no_bn.bn, nn.Identity)
    assert isinstance(_method(latent_bn_affine=True).bn.weight, nn.Parameter)
    plain = _method(regulariser=False)
    assert plain.critic is None and "critic" not in plain.build_optimizers()
    plain.stage1_steps.fill_(5)
    t = plain.train_step(torch.randn(4, 2), plain.build_optimizers())
    assert t["total"].item() == t["rec"].item() and t["critic"].item() == 0.0 and t["adv_rec"].item() == 0.0
    # BN latent: zero mean, unit variance per dimension on a training batch
    torch.manual_seed(1)
    z = full.train().encode(torch.randn(64, 2) * 5 + 3)
    assert z.mean(0).abs().max() < 1e-5 and (z.var(0, unbiased=False) - 1).abs().max() < 1e-3
    with pytest.raises(LcwbenchError, match="latent_epochs"):
        _method(latent_epochs=2)
    assert build_method("geng", {**TINY, "lambda": 0.3}, (2,)).cfg.lambda_ == 0.3


def test_sample_encode_shapes_vector_and_image():
    m = _method(noise_dim=3).eval()
    assert m.sample(5).shape == (5, 2) and m.latent_gen[0].in_features == 3
    assert m.encode(torch.randn(3, 2)).shape == (3, 2)
    img = build_method("geng", {**TINY, "latent_dim": 4, "conv_width": 4}, (1, 32, 32)).eval()
    assert img.arch == "mimicry"
    s = img.sample(3)
    assert s.shape == (3, 1, 32, 32) and s.min() >= 0 and s.max() <= 1
    assert img.reconstruct(torch.rand(2, 1, 32, 32)).shape == (2, 1, 32, 32)
    flat = build_method("geng", {**TINY, "arch": "mlp"}, (1, 28, 28)).eval()
    out = flat.sample(2)
    assert out.shape == (2, 1, 28, 28) and out.min() >= 0 and out.max() <= 1
    with pytest.raises(LcwbenchError, match="32 or 64"):
        build_method("geng", TINY, (1, 28, 28))


def test_image_training_through_both_stages():
    torch.manual_seed(0)
    m = build_method("geng", {**TINY, "latent_dim": 4, "conv_width": 4, "batch_size": 2}, (3, 32, 32))
    x, _ = m.training_data(torch.rand(4, 3, 32, 32), lambda b: b)
    opts = m.build_optimizers()
    m.train()
    stages = [m.train_step(x[i % 2 * 2 : i % 2 * 2 + 2], opts)["stage"].item() for i in range(4)]
    assert stages == [1.0, 1.0, 2.0, 2.0]


# -- Mimicry nets ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_mimicry_shapes(size, channels):
    x = torch.rand(2, channels, size, size)
    z = mimicry_encoder(channels, size, 5, 4)(x)
    assert z.shape == (2, 5)
    out = mimicry_generator(channels, size, 5, 4)(z)
    assert out.shape == (2, channels, size, size) and out.min() >= 0 and out.max() <= 1
    for norm in ("none", "batch", "spectral"):
        assert mimicry_discriminator(channels, size, 4, out_dim=3, norm=norm)(x).shape == (2, 3)
    assert mimicry_discriminator(channels, size, 4)(x).shape == (2, 1)


def test_mimicry_rejects_other_sizes_and_latent_mlp():
    for build in (
        lambda: mimicry_encoder(3, 28, 4, 4),
        lambda: mimicry_generator(3, 128, 4, 4),
        lambda: mimicry_discriminator(3, 48, 4),
    ):
        with pytest.raises(LcwbenchError, match="32, 64"):
            build()
    net = latent_mlp(3, 2, 8, 2)
    assert net(torch.randn(4, 3)).shape == (4, 2)
    assert sum(isinstance(layer, nn.Linear) for layer in net) == 3
    assert len(latent_mlp(3, 2, 8, 0)) == 1


# -- training loop: resume across and inside stage 2 -----------------------------------------------------
def _spec():
    params = {**TINY, "epochs": 3, "latent_epochs": 1}
    return {
        "run": "g",
        "dataset": "swissroll",
        "data": {"max_items": 16},
        "method": "geng",
        "params": params,
        "seed": 5,
    }


@pytest.mark.parametrize("stop", [7, 10])  # resume before the stage switch at step 8, and after it
def test_resume_bitwise(tmp_path, stop):
    spec = _spec()  # 4 steps per epoch, 12 steps, stage 2 from step 8
    full = train_run(spec, tmp_path / "full", device="cpu", checkpoint_every=3)
    part = train_run(spec, tmp_path / "part", device="cpu", checkpoint_every=3, max_steps=stop)
    assert part.name == "ckpt.pt" and torch_load(part)["step"] == {7: 6, 10: 9}[stop]
    resumed = train_run(spec, tmp_path / "part", device="cpu", checkpoint_every=3)
    a, b = load_model(full), load_model(resumed)
    assert _same(a.state_dict(), b.state_dict())
    assert int(a.step) == 12 and int(a.stage1_steps) == 8
    log = (tmp_path / "full" / "train_log.csv").read_text()
    assert log == (tmp_path / "part" / "train_log.csv").read_text()
    assert [line.split(",")[-1] for line in log.splitlines()[1:]] == ["1.0", "1.0", "2.0"]


@pytest.mark.parametrize("name", ["vae", "wae_mmd"])
def test_lcw_family_baselines_can_share_the_mimicry_nets(name):
    m = build_method(name, {"arch": "mimicry", "latent_dim": 6, "conv_width": 8}, (3, 32, 32))
    ref_enc = mimicry_encoder(3, 32, 12 if name == "vae" else 6, 8)  # the VAE's encoder gives mean and log-variance
    ref_dec = mimicry_generator(3, 32, 6, 8)
    assert type(m.encoder) is type(ref_enc) and type(m.decoder) is type(ref_dec)
    assert [p.shape for p in m.encoder.parameters()] == [p.shape for p in ref_enc.parameters()]
    assert [p.shape for p in m.decoder.parameters()] == [p.shape for p in ref_dec.parameters()]
    out = m.decode(m.encode(torch.rand(2, 3, 32, 32)))
    assert out.shape == (2, 3, 32, 32) and bool(((out >= 0) & (out <= 1)).all())
    with pytest.raises(LcwbenchError, match="arch 'mimicry' needs square"):
        build_method(name, {"arch": "mimicry"}, (1, 28, 28))

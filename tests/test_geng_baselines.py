"""The Geng et al. baselines AAE, IntroVAE, AGE and ALAE: loss terms against hand values, config
defaults, the update structure, short training runs on vectors and 32x32 images, and exact resume."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

# Importing the modules registers the methods.
import lcwbench.methods.aae  # noqa: F401
import lcwbench.methods.age  # noqa: F401
import lcwbench.methods.alae  # noqa: F401
import lcwbench.methods.introvae  # noqa: F401
from lcwbench.errors import LcwbenchError
from lcwbench.methods import build_method, get_method
from lcwbench.methods.aae import discriminator_loss as aae_d_loss
from lcwbench.methods.aae import generator_loss as aae_g_loss
from lcwbench.methods.adv_ae_common import frozen, resolve_arch
from lcwbench.methods.age import cosine_distance, gaussian_fit_kl, to_sphere
from lcwbench.methods.alae import discriminator_loss as alae_d_loss
from lcwbench.methods.alae import r1_penalty
from lcwbench.methods.introvae import encoder_loss, generator_loss, kl_per_sample, margin_hinge
from lcwbench.train import train

METHODS = ("aae", "introvae", "age", "alae")
VEC = (2,)
IMG = (3, 32, 32)
# tiny nets: the tests share two CPU cores with training jobs
TINY_VEC = {"width": 8, "depth": 1, "latent_width": 8, "latent_depth": 1, "latent_dim": 2}
TINY_IMG = {"conv_width": 2, "latent_width": 8, "latent_depth": 1, "latent_dim": 4}
EXTRA = {"alae": {"f_depth": 1}, "introvae": {"margin": 1.0}, "age": {"g_steps": 2}}
TERMS = {
    "aae": {"total", "rec", "d", "g", "d_prior", "d_code"},
    "introvae": {"total", "rec", "kl_real", "kl_rec", "kl_fake", "hinge", "loss_g"},
    "age": {"total", "kl_real", "kl_fake", "rec_x", "kl_g", "rec_z", "loss_g"},
    "alae": {"total", "d_adv", "r1", "g", "latent", "d_real", "d_fake"},
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _method(name: str, shape, **params):
    torch.manual_seed(0)
    tiny = TINY_VEC if len(shape) == 1 else TINY_IMG
    return build_method(name, {**tiny, **EXTRA.get(name, {}), **params}, shape)


def _vectors(n=32, seed=0):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) * 0.5


def _images(n=8, seed=0):
    return torch.rand(n, *IMG, generator=torch.Generator().manual_seed(seed))


# -- config defaults ----------------------------------------------------------------------------------
def test_config_defaults_carry_the_papers_values():
    expected = {
        "aae": {"latent_dim": 256, "lr": 2e-4, "batch_size": 64, "beta1": 0.5, "beta2": 0.999},
        "introvae": {
            "latent_dim": 512,
            "lr": 2e-4,
            "batch_size": 64,
            "beta1": 0.9,
            "beta2": 0.999,
            "alpha": 0.25,
            "beta": 0.05,
            "margin": 120.0,
            "alpha_g": None,
            "hinge": "sample",
        },
        "age": {
            "latent_dim": 64,
            "lr": 2e-4,
            "batch_size": 64,
            "beta1": 0.5,
            "beta2": 0.999,
            "rec_x_weight": 10.0,
            "rec_z_weight": 1000.0,
            "g_steps": 3,
        },
        "alae": {
            "latent_dim": 50,
            "lr": 0.002,
            "batch_size": 128,
            "beta1": 0.0,
            "beta2": 0.99,
            "gamma": 10.0,
            "f_depth": 5,
            "latent_depth": 2,
        },
    }
    shared = {"epochs": 25, "arch": "auto", "width": 128, "depth": 3, "conv_width": 64, "latent_width": 512}
    for name, values in expected.items():
        cfg = get_method(name).Config()
        cfg.check()
        for key, value in {**shared, **values}.items():
            assert getattr(cfg, key) == value, (name, key)
    assert get_method("aae").Config().latent_depth == 3


@pytest.mark.parametrize(
    "name, params",
    [
        ("aae", {"arch": "conv"}),
        ("aae", {"latent_depth": -1}),
        ("introvae", {"hinge": "mean"}),
        ("introvae", {"margin": -1.0}),
        ("age", {"g_steps": 0}),
        ("age", {"latent_dim": 1}),
        ("alae", {"gamma": -1.0}),
        ("alae", {"beta2": 1.0}),
    ],
)
def test_bad_parameters_are_one_clear_error(name, params):
    with pytest.raises(LcwbenchError):
        build_method(name, params, VEC)


def test_arch_resolution_and_unsupported_image_sizes():
    assert resolve_arch("auto", (2,)) == "mlp"
    assert resolve_arch("auto", (3, 64, 64)) == "mimicry"
    assert resolve_arch("mlp", (1, 28, 28)) == "mlp"
    with pytest.raises(LcwbenchError, match="image_size"):
        build_method("aae", TINY_IMG, (1, 28, 28))
    # the MLP nets take any shape, images included (sigmoid output in [0, 1])
    m = _method("aae", (1, 28, 28), arch="mlp", width=8, depth=1)
    with torch.no_grad():
        x = m.reconstruct(torch.rand(3, 1, 28, 28))
    assert x.shape == (3, 1, 28, 28) and float(x.min()) >= 0 and float(x.max()) <= 1


# -- loss terms against hand values -------------------------------------------------------------------
def test_aae_discriminator_and_generator_bce_on_fixed_logits():
    ln3 = math.log(3.0)
    prior = torch.tensor([0.0, ln3])  # -log sigmoid: ln 2, ln(4/3)
    code = torch.tensor([0.0, -ln3])  # -log(1 - sigmoid): ln 2, ln(4/3)
    expected = (math.log(2) + math.log(4 / 3)) / 2 * 2  # = ln(8/3)
    assert aae_d_loss(prior, code).item() == pytest.approx(expected)
    assert aae_d_loss(prior, code).item() == pytest.approx(math.log(8 / 3))
    # the encoder wants its codes classified as prior samples: -log sigmoid(0) = ln 2, -log sigmoid(-ln 3) = ln 4
    assert aae_g_loss(code).item() == pytest.approx((math.log(2) + math.log(4)) / 2)
    # the same as torch's BCE with logits
    ref = nn.functional.binary_cross_entropy_with_logits(prior, torch.ones(2)) + (
        nn.functional.binary_cross_entropy_with_logits(code, torch.zeros(2))
    )
    assert aae_d_loss(prior, code).item() == pytest.approx(ref.item())


def test_introvae_kl_and_margin_hinge():
    mean = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, 0.0], [math.log(2.0), 0.0]])
    kl = kl_per_sample(mean, logvar)
    # 0.5 (mu^2 + sigma^2 - 1 - log sigma^2), summed over dimensions
    assert kl.tolist() == pytest.approx([0.5, 0.5 * (1.0 - math.log(2.0))])
    kl_vals = torch.tensor([0.5, 2.0])
    assert margin_hinge(kl_vals, 1.0, "sample").item() == pytest.approx(0.25)  # mean(relu([0.5, -1]))
    assert margin_hinge(kl_vals, 1.0, "batch").item() == pytest.approx(0.0)  # relu(1 - 1.25)
    assert margin_hinge(kl_vals, 3.0, "batch").item() == pytest.approx(1.75)
    with pytest.raises(LcwbenchError):
        margin_hinge(kl_vals, 1.0, "mean")
    # L_E = KL(x) + alpha ([m - KL(x_r)]^+ + [m - KL(x_p)]^+) + beta rec
    kl_real = torch.tensor([1.0, 3.0])
    kl_rec = torch.tensor([0.5, 2.0])  # hinge at m = 1: 0.25
    kl_fake = torch.tensor([0.0, 0.0])  # hinge at m = 1: 1
    terms = encoder_loss(kl_real, kl_rec, kl_fake, torch.tensor(10.0), alpha=0.5, beta=0.1, margin=1.0)
    assert terms["hinge"].item() == pytest.approx(1.25)
    assert terms["loss"].item() == pytest.approx(2.0 + 0.5 * 1.25 + 0.1 * 10.0)
    # L_G = alpha (KL(x_r) + KL(x_p)) + beta rec
    g = generator_loss(kl_rec, torch.tensor([1.0, 1.0]), torch.tensor(10.0), alpha=0.5, beta=0.1)
    assert g.item() == pytest.approx(0.5 * (1.25 + 1.0) + 1.0)


def test_age_gaussian_fit_kl_sphere_and_cosine_distance():
    # dim 0: values 1, 3 -> m 2, s^2 1 -> (1 + 4)/2 - 0 - 1/2 = 2
    # dim 1: values -0.5, 0.5 -> m 0, s^2 0.25 -> 0.125 - 0.5 ln 0.25 - 0.5
    z = torch.tensor([[1.0, -0.5], [3.0, 0.5]])
    d1 = 0.125 - 0.5 * math.log(0.25) - 0.5
    assert gaussian_fit_kl(z).item() == pytest.approx((2.0 + d1) / 2)
    # zero for a batch with zero mean and unit (biased) variance in every dimension
    assert gaussian_fit_kl(torch.tensor([[1.0, -1.0], [-1.0, 1.0]])).item() == pytest.approx(0.0, abs=1e-7)
    s = to_sphere(torch.tensor([[3.0, 4.0], [0.0, -2.0]]))
    torch.testing.assert_close(s, torch.tensor([[0.6, 0.8], [0.0, -1.0]]))
    a = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    b = torch.tensor([[0.0, 1.0], [5.0, 0.0]])
    assert cosine_distance(a, b).item() == pytest.approx(0.5)  # (1 - 0 + 1 - 1) / 2


def test_alae_r1_penalty_of_a_linear_discriminator_is_its_squared_weight_norm():
    d = nn.Linear(3, 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([[1.0, 2.0, 2.0]]))
    x = torch.randn(5, 3, requires_grad=True)
    r1 = r1_penalty(d(x).squeeze(1), x)
    assert r1.item() == pytest.approx(9.0)
    # differentiable: d r1 / d w = 2 w
    (grad,) = torch.autograd.grad(r1, d.weight)
    assert grad[0].tolist() == pytest.approx([2.0, 4.0, 4.0])
    # through a linear encoder too: D(E(x)) = w_D^T W_E x has the gradient W_E^T w_D
    e = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        e.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]))
    dd = nn.Linear(2, 1)
    with torch.no_grad():
        dd.weight.copy_(torch.tensor([[3.0, 1.0]]))
    x = torch.randn(4, 3, requires_grad=True)
    assert r1_penalty(dd(e(x)).squeeze(1), x).item() == pytest.approx(9.0 + 1.0 + 1.0)
    # the adversarial part: softplus(-real) + softplus(fake)
    assert alae_d_loss(torch.zeros(2), torch.zeros(2)).item() == pytest.approx(2 * math.log(2))


def test_frozen_blocks_parameter_gradients_and_restores_flags():
    a, b = nn.Linear(2, 2), nn.Linear(2, 1)
    b.bias.requires_grad_(False)
    x = torch.randn(3, 2)
    with frozen(b):
        out = b(a(x)).sum()
    out.backward()
    assert a.weight.grad is not None and b.weight.grad is None
    assert b.weight.requires_grad and not b.bias.requires_grad


# -- update structure ---------------------------------------------------------------------------------
def _params(*modules):
    return {id(p) for m in modules for p in m.parameters()}


def _opt_params(opt):
    return {id(p) for g in opt.param_groups for p in g["params"]}


def test_optimisers_cover_the_right_networks():
    aae = _method("aae", VEC)
    opts = aae.build_optimizers()
    assert _opt_params(opts["ae"]) == _params(aae.encoder, aae.decoder)
    assert _opt_params(opts["disc"]) == _params(aae.discriminator)
    assert _opt_params(opts["gen"]) == _params(aae.encoder)
    for name in ("introvae", "age"):
        m = _method(name, VEC)
        opts = m.build_optimizers()
        assert _opt_params(opts["e"]) == _params(m.encoder) and _opt_params(opts["g"]) == _params(m.decoder)
    alae = _method("alae", VEC)
    opts = alae.build_optimizers()
    assert _opt_params(opts["ed"]) == _params(alae.encoder, alae.discriminator)
    assert _opt_params(opts["fg"]) == _params(alae.mapping, alae.generator)


def test_aae_generator_phase_leaves_the_discriminator_alone():
    m = _method("aae", VEC)
    opts = m.build_optimizers()
    x = _vectors(16)
    inputs = []
    m.discriminator.register_forward_hook(lambda mod, args, out: inputs.append(args[0].detach().clone()))
    d_before = _method("aae", VEC).discriminator
    d_before.load_state_dict(m.discriminator.state_dict())
    m.train_step(x, opts)
    # D is called on prior samples and codes (its update), then on the codes of the encoder's phase
    assert len(inputs) == 3
    # only the discriminator update moved D: one Adam step for each of its parameters ...
    assert all(opts["disc"].state[p]["step"].item() == 1 for p in m.discriminator.parameters())
    # ... and D's gradients are those of the discriminator loss alone, at D's parameters before the step
    loss = aae_d_loss(d_before(inputs[0]).squeeze(1), d_before(inputs[1]).squeeze(1))
    expected = torch.autograd.grad(loss, list(d_before.parameters()))
    for p, g in zip(m.discriminator.parameters(), expected):
        torch.testing.assert_close(p.grad, g)


def test_alae_latent_update_skips_f_and_d():
    m = _method("alae", VEC)
    opts = m.build_optimizers()
    m.train_step(_vectors(16), opts)
    # F and G step in update 2 only, E and D in update 1 only, except G and E which also step in update 3
    assert all(opts["fg"].state[p]["step"].item() == 1 for p in m.mapping.parameters())
    assert all(opts["fg"].state[p]["step"].item() == 2 for p in m.generator.parameters())
    assert all(opts["ed"].state[p]["step"].item() == 1 for p in m.discriminator.parameters())
    assert all(opts["ed"].state[p]["step"].item() == 2 for p in m.encoder.parameters())


def test_introvae_generator_gradient_is_beta_rec_plus_alpha_kl():
    """The decoder's gradient in one step is that of beta * rec + alpha_g * (KL(E'(x_r)) + KL(E'(x_p)))
    with E' the updated encoder: checked against a recomputation with the same noise."""
    m = _method("introvae", VEC, alpha=0.3, beta=0.7, alpha_g=0.4)
    x = _vectors(8)
    ref = _method("introvae", VEC, alpha=0.3, beta=0.7, alpha_g=0.4)
    ref.load_state_dict(m.state_dict())
    opts = m.build_optimizers()
    ropts = ref.build_optimizers()
    torch.manual_seed(5)
    m.train_step(x, opts)
    g_grads = [p.grad.clone() for p in m.decoder.parameters()]
    # recompute: same draws (eps, then z_p), encoder step, then the decoder's gradient from scratch
    torch.manual_seed(5)
    mean, logvar = ref.posterior(x)
    eps = torch.randn_like(mean)
    z_p = torch.randn_like(mean)
    x_r = ref.decoder(mean + torch.exp(0.5 * logvar) * eps)
    x_p = ref.decoder(z_p)
    rec = ((x_r - x) ** 2).sum(1).mean()
    e_terms = encoder_loss(
        kl_per_sample(mean, logvar),
        kl_per_sample(*ref.posterior(x_r.detach())),
        kl_per_sample(*ref.posterior(x_p.detach())),
        rec,
        0.3,
        0.7,
        ref.cfg.margin,
    )
    grads_e = torch.autograd.grad(e_terms["loss"], list(ref.encoder.parameters()), retain_graph=True)
    for p, g in zip(ref.encoder.parameters(), grads_e):
        p.grad = g
    ropts["e"].step()
    loss_g = generator_loss(
        kl_per_sample(*ref.posterior(x_r)), kl_per_sample(*ref.posterior(x_p)), rec, alpha=0.4, beta=0.7
    )
    expected = torch.autograd.grad(loss_g, list(ref.decoder.parameters()))
    for a, b in zip(g_grads, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


# -- training, inference shapes, resume ----------------------------------------------------------------
@pytest.mark.parametrize("name", METHODS)
def test_trains_on_vectors_and_infers(name, tmp_path):
    m = _method(name, VEC, batch_size=8, epochs=2)
    x = _vectors(32)
    result = train(m, x, lambda b: b, tmp_path, seed=0, progress=False)
    assert result.steps == 8 and len(result.history) == 2
    assert set(result.history[-1]) == TERMS[name] | {"epoch", "step"}
    assert all(math.isfinite(v) for row in result.history for v in row.values())
    m.eval()
    with torch.no_grad():
        z = m.encode(x[:5])
        assert z.shape == (5, 2)
        assert m.decode(z).shape == (5, 2)
        assert m.reconstruct(x[:5]).shape == (5, 2)
        s = m.sample(6, generator=torch.Generator().manual_seed(1))
        assert s.shape == (6, 2) and torch.isfinite(s).all()
        # sampling is reproducible from a generator
        torch.testing.assert_close(s, m.sample(6, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("name", METHODS)
def test_trains_on_tiny_images_and_infers(name, tmp_path):
    m = _method(name, IMG, batch_size=4, epochs=1)
    x = _images(8)
    result = train(m, x, lambda b: b, tmp_path, seed=0, progress=False)
    assert result.steps == 2
    assert all(math.isfinite(v) for row in result.history for v in row.values())
    m.eval()
    with torch.no_grad():
        z = m.encode(x[:3])
        assert z.shape == (3, 4)
        rec = m.reconstruct(x[:3])
        s = m.sample(3)
    for out in (rec, s):
        assert out.shape == (3, *IMG)
        assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_latents_of_age_lie_on_the_sphere_and_alae_samples_are_g_of_f():
    age = _method("age", VEC, latent_dim=3)
    age.eval()
    with torch.no_grad():
        z = age.encode(torch.randn(4, 2))
        p = age.sample_latent(5)
    assert z.norm(dim=1).tolist() == pytest.approx([1.0] * 4)
    assert p.norm(dim=1).tolist() == pytest.approx([1.0] * 5)
    alae = _method("alae", VEC)
    alae.eval()
    with torch.no_grad():
        s = alae.sample(4, generator=torch.Generator().manual_seed(2))
        zz = torch.randn(4, 2, generator=torch.Generator().manual_seed(2))
        torch.testing.assert_close(s, alae.generator(alae.mapping(zz)))
        x = torch.randn(3, 2)
        torch.testing.assert_close(alae.reconstruct(x), alae.generator(alae.encoder(x)))
    vae_like = _method("introvae", VEC)
    with torch.no_grad():
        x = torch.randn(3, 2)
        torch.testing.assert_close(vae_like.encode(x), vae_like.posterior(x)[0])


@pytest.mark.parametrize("name", METHODS)
def test_resume_is_bitwise(name, tmp_path):
    x = _vectors(32, seed=3)
    runs = {key: _method(name, VEC, batch_size=8, epochs=1) for key in ("full", "part", "resumed")}
    train(runs["full"], x, lambda b: b, tmp_path / "full", seed=1, progress=False)
    train(runs["part"], x, lambda b: b, tmp_path / "part", seed=1, progress=False, checkpoint_every=2, max_steps=2)
    torch.manual_seed(123)  # the checkpoint must restore every random state
    result = train(runs["resumed"], x, lambda b: b, tmp_path / "part", seed=1, progress=False, checkpoint_every=2)
    assert result.resumed_from_step == 2 and result.steps == 4
    a, b = runs["full"].state_dict(), runs["resumed"].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]

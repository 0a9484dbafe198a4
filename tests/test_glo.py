"""GLO / GLDO: Table 7 generators, reconstruction losses, the methods' training step, the GLDO penalty,
the Gaussian fit, latent search and checkpointing. Tiny shapes only (the CPU is shared)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

import lcwbench.methods.gldo as gldo_mod  # noqa: F401  (registers "gldo")
import lcwbench.methods.glo as glo_mod  # noqa: F401  (registers "glo")
from lcwbench import losses
from lcwbench.errors import LcwbenchError
from lcwbench.io import sha256_file
from lcwbench.latent_search import search_codes
from lcwbench.methods import build_method
from lcwbench.methods.gldo import loss_gradient_norms
from lcwbench.methods.glo import RowAdam, fit_full_gaussian, project_to_sphere
from lcwbench.models.glo_nets import Tanh01, build_generator, init_normal
from lcwbench.runner import load_model
from lcwbench.train.loop import save_model


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread avoids the multi-thread overhead on a busy CPU (up to 100x here)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TINY = {"arch": "mlp", "width": 8, "depth": 1, "latent_dim": 3, "batch_size": 4, "rec_loss": "l2"}


def _method(name, shape=(6,), n=10, seed=0, **params):
    torch.manual_seed(seed)
    m = build_method(name, {**TINY, **params}, shape)
    x = torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed + 1))
    data, to_float = m.training_data(x, lambda b: b)
    return m, data, to_float


@pytest.fixture(scope="module")
def standin_vgg(tmp_path_factory):
    # convolutions up to relu3_3 only (what the default layers need): a small file
    return losses.make_standin_vgg_weights(tmp_path_factory.mktemp("vgg") / "standin.pth", seed=3, upto="relu3_3")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No env var, an empty torch hub dir, and a downloader that fails like a machine without network."""
    monkeypatch.delenv(losses.ENV_VGG, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def no_network(*args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "hub"


# --------------------------------------------------------------------------------------------------
# generators


@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32), (3, 64, 64), (3, 128, 128)])
def test_table7_generators_shape_and_range(shape):
    torch.manual_seed(0)
    g = init_normal(build_generator(shape, 100)).eval()
    with torch.no_grad():
        out = g(torch.randn(2, 100) * 50)  # large codes push the output activation to its limits
    assert out.shape == (2, *shape)
    assert out.min() >= 0 and out.max() <= 1
    last = list(g.children())[-1]
    assert isinstance(last, Tanh01 if shape[1] == 128 else nn.Sigmoid)


def test_table7_32px_layers():
    g = build_generator((1, 32, 32), 100)
    convs = [
        (m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
        for m in g.modules()
        if isinstance(m, nn.ConvTranspose2d)
    ]
    assert convs == [(128, 64, (4, 4), (2, 2), (1, 1)), (64, 1, (4, 4), (2, 2), (1, 1))]
    fcs = [(m.in_features, m.out_features) for m in g.modules() if isinstance(m, nn.Linear)]
    assert fcs == [(100, 1024), (1024, 128 * 8 * 8)]
    assert all(m.negative_slope == 0.2 for m in g.modules() if isinstance(m, nn.LeakyReLU))
    big = build_generator((3, 128, 128), 512)
    convs = [
        (m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0])
        for m in big.modules()
        if isinstance(m, nn.ConvTranspose2d)
    ]
    assert convs == [
        (512, 512, 4, 2),
        (512, 512, 4, 2),
        (512, 256, 4, 2),
        (256, 128, 4, 2),
        (128, 64, 4, 2),
        (64, 3, 3, 1),
    ]


def test_tanh01():
    t = torch.tensor([-1e9, -1.0, 0.0, 2.0, 1e9])
    assert torch.allclose(Tanh01()(t), (torch.tanh(t) + 1) / 2)
    assert Tanh01()(t)[0] == 0 and Tanh01()(t)[-1] == 1


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 64), (3, 48, 48), (6,), (1, 1, 32, 32)])
def test_unsupported_shapes_are_one_clear_error(shape):
    with pytest.raises(LcwbenchError, match="Table 7 generators need square"):
        build_generator(shape, 100)


def test_init_normal_std():
    torch.manual_seed(0)
    g = init_normal(build_generator((3, 32, 32), 100), std=0.01)
    big = [m for m in g.modules() if isinstance(m, nn.Linear)][1].weight.detach()  # 1024 x 8192
    assert abs(float(big.std()) - 0.01) < 2e-4 and abs(float(big.mean())) < 2e-4
    for m in g.modules():
        if isinstance(m, nn.Linear | nn.ConvTranspose2d):
            assert torch.all(m.bias == 0)
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


# --------------------------------------------------------------------------------------------------
# losses


def test_l2_loss_is_per_image_sum_batch_mean():
    a, b = torch.zeros(2, 1, 2, 2), torch.tensor([1.0, 2.0]).view(2, 1, 1, 1).expand(2, 1, 2, 2)
    assert torch.equal(losses.l2_loss(a, b, reduction="none"), torch.tensor([4.0, 16.0]))
    assert float(losses.l2_loss(a, b)) == 10.0


def test_laplacian_pyramid_is_exact_and_constant_images_have_no_band_pass():
    x = torch.rand(2, 3, 13, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    bands = losses.laplacian_pyramid(x, 4)
    assert [tuple(b.shape[-2:]) for b in bands] == [(13, 9), (7, 5), (4, 3), (2, 2)]
    assert torch.allclose(losses.reconstruct_from_pyramid(bands), x, atol=1e-12)
    const = torch.full((1, 2, 8, 8), 0.3, dtype=torch.float64)
    bands = losses.laplacian_pyramid(const, 3)
    assert all(float(b.abs().max()) < 1e-12 for b in bands[:-1])
    assert torch.allclose(bands[-1], torch.full((1, 2, 2, 2), 0.3, dtype=torch.float64))


def test_lap1_hand_values():
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert float(losses.lap1_loss(x, x)) == 0.0
    # a constant difference c lives only in the low-pass residual: 3 levels -> 2x2 residual, weight 2^(-4)
    c = 0.1
    want = 2.0 ** (-2 * 2) * 3 * 2 * 2 * c
    got = losses.lap1_loss(x + c, x, levels=3, reduction="none")
    assert torch.allclose(got, torch.full((2,), want, dtype=torch.float64), rtol=1e-9)
    # levels=2: 4x4 residual, weight 2^(-2)
    assert math.isclose(float(losses.lap1_loss(x + c, x, levels=2)), 0.25 * 3 * 16 * c, rel_tol=1e-9)
    # one level: the plain L1 sum per image
    d = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert torch.allclose(losses.lap1_loss(x + d, x, levels=1, reduction="none"), d.abs().flatten(1).sum(1))
    with pytest.raises(LcwbenchError, match="unknown reconstruction loss"):
        losses.make_rec_loss("l1")


def test_perceptual_loss_with_standin(standin_vgg):
    loss = losses.make_rec_loss("perceptual", vgg_weights=standin_vgg, l2_weight=2.0)
    assert loss.protocol["is_standin"] is True
    assert loss.protocol["weights_sha256"] == sha256_file(standin_vgg)
    assert loss.protocol["layers"] == ["relu1_2", "relu2_2", "relu3_3"]
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 1, 16, 16, generator=gen), torch.rand(2, 1, 16, 16, generator=gen)
    assert float(loss(x, x)) == 0.0
    x_hat = y.clone().requires_grad_(True)
    per = loss(x_hat, x, reduction="none")
    assert per.shape == (2,) and bool((per > 0).all())
    no_l2 = losses.PerceptualLoss(standin_vgg, l2_weight=0.0)(y, x, reduction="none")
    assert torch.allclose(per.detach() - no_l2, 2.0 * (y - x).pow(2).flatten(1).mean(1), rtol=1e-5)
    per.sum().backward()
    assert x_hat.grad is not None and float(x_hat.grad.abs().sum()) > 0
    # the same seed gives the same file; the VGG weights are not in any state_dict
    again = losses.make_standin_vgg_weights(standin_vgg.parent / "again.pth", seed=3, upto="relu3_3")
    assert sha256_file(again) == sha256_file(standin_vgg)
    assert loss.state_dict() == {}
    with pytest.raises(LcwbenchError, match="lacks features.17.weight"):
        losses.PerceptualLoss(standin_vgg, layers=("relu4_1",))


def test_vgg_weights_resolution_and_offline_error(offline, standin_vgg, monkeypatch):
    with pytest.raises(LcwbenchError, match=r"not available offline .*LCWBENCH_VGG_WEIGHTS") as err:
        losses.PerceptualLoss()
    assert "\n" not in str(err.value)
    with pytest.raises(LcwbenchError, match="VGG-16 weights file not found"):
        losses.resolve_vgg_weights(offline / "missing.pth")
    # torchvision's cache is used without downloading
    cached = losses.hub_vgg_path()
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(standin_vgg.read_bytes())
    assert losses.resolve_vgg_weights() == cached
    # the environment variable wins over the cache, a configured path over both
    monkeypatch.setenv(losses.ENV_VGG, str(standin_vgg))
    assert losses.resolve_vgg_weights() == standin_vgg
    assert losses.resolve_vgg_weights(cached) == cached


# --------------------------------------------------------------------------------------------------
# GLO training step


def test_glo_defaults():
    cfg = build_method("glo", {}, (1, 32, 32)).cfg
    assert (cfg.latent_dim, cfg.batch_size, cfg.lr, cfg.code_lr, cfg.init_std) == (100, 64, 1e-3, 3e-3, 0.01)
    assert cfg.sphere is True and cfg.rec_loss == "lap1"
    dcfg = build_method("gldo", {}, (3, 64, 64)).cfg
    assert dcfg.sphere is False and dcfg.rec_loss == "perceptual" and dcfg.eps == 1000.0 and dcfg.mix is False
    with pytest.raises(LcwbenchError, match="needs images"):
        build_method("glo", {"rec_loss": "lap1"}, (6,))
    with pytest.raises(LcwbenchError, match="rec_loss must be one of"):
        build_method("glo", {"rec_loss": "l1"}, (6,))


def test_glo_step_updates_only_the_batch_codes_and_the_generator():
    m, data, to_float = _method("glo", sphere=False)
    opts = m.build_optimizers()
    codes0 = m.codes.detach().clone()
    gen0 = [p.detach().clone() for p in m.generator.parameters()]
    idx = torch.tensor([1, 4, 7, 9])
    terms = m.train_step(to_float(data[idx]), opts)
    assert set(terms) == {"total", "rec"} and all(not v.requires_grad for v in terms.values())
    rest = torch.tensor([i for i in range(10) if i not in idx.tolist()])
    assert torch.equal(m.codes[rest], codes0[rest])
    delta = (m.codes[idx] - codes0[idx]).detach().abs()
    # Adam's first step moves every coordinate by lr * |g| / (|g| + eps), g = exp_avg / (1 - beta1)
    g = opts["codes"].state[m.codes]["exp_avg"][idx] / 0.1
    assert torch.allclose(delta, 3e-3 * g.abs() / (g.abs() + 1e-8), rtol=1e-3)
    assert all(not torch.equal(p, p0) for p, p0 in zip(m.generator.parameters(), gen0))
    # per-row Adam: a second step on overlapping rows counts steps per row
    m.train_step(to_float(data[torch.tensor([0, 1, 2, 3])]), opts)
    steps = opts["codes"].state[m.codes]["row_step"]
    assert steps.tolist() == [1, 2, 1, 1, 1, 0, 0, 1, 0, 1]


def test_unit_sphere_projection():
    z = torch.tensor([[3.0, 4.0], [0.0, -2.0]])
    assert torch.allclose(project_to_sphere(z), torch.tensor([[0.6, 0.8], [0.0, -1.0]]))
    m, data, to_float = _method("glo", sphere=True, latent_dim=5)
    assert torch.allclose(m.codes.norm(dim=1), torch.ones(10))
    opts = m.build_optimizers()
    for start in (0, 4):
        m.train_step(to_float(data[torch.arange(start, start + 4)]), opts)
    assert torch.allclose(m.codes.norm(dim=1), torch.ones(10), atol=1e-6)


def test_variants_log_their_terms():
    m, data, to_float = _method("glo", wd_weight=1e-3, np_weight=1e-2, spectral_norm=True)
    assert any("parametrizations" in k for k in m.state_dict())
    terms = m.train_step(to_float(data[torch.arange(4)]), m.build_optimizers())
    assert set(terms) == {"total", "rec", "wd", "np"}
    assert math.isclose(float(terms["total"]), float(terms["rec"] + terms["wd"]), rel_tol=1e-6)


def test_lr_halving_schedule():
    m, data, to_float = _method("glo", n=8, lr_halve_every=1)  # 2 steps per epoch, halve every epoch
    opts = m.build_optimizers()
    lrs = []
    for step in range(5):
        m.train_step(to_float(data[torch.arange(4) + 4 * (step % 2)]), opts)
        lrs.append((opts["gen"].param_groups[0]["lr"], opts["codes"].param_groups[0]["lr"]))
    assert lrs == [(1e-3, 3e-3), (1e-3, 3e-3), (5e-4, 1.5e-3), (5e-4, 1.5e-3), (2.5e-4, 7.5e-4)]


# --------------------------------------------------------------------------------------------------
# GLDO


def test_gradient_norms_of_a_linear_generator_match_the_hand_formula():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    z = torch.randn(4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    norms, grads, per = loss_gradient_norms(lambda v: v @ a.T, losses.l2_loss, z, x)
    hand = 2 * (z @ a.T - x) @ a  # rows: 2 A^T (A z_i - x_i)
    assert torch.allclose(grads, hand) and torch.allclose(norms, hand.norm(dim=1))
    assert torch.allclose(per, (z @ a.T - x).pow(2).sum(1))


class _Recorder(torch.optim.Optimizer):
    """Stands in for the code optimiser: records the gradient it is given."""

    def __init__(self, params):
        super().__init__(params, {})
        self.grads = []

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                self.grads.append(p.grad.to_dense().clone())


@pytest.mark.parametrize("eps", [0.0, 0.5])
def test_gldo_step_generator_gets_the_penalty_codes_do_not(eps):
    # depth 0: G(z) = W z + b, so the penalty has the closed form ||2 W^T (W z + b - x)||
    m, data, to_float = _method("gldo", depth=0, eps=eps, n=8)
    lin = m.generator.net[0]
    w0, b0 = lin.weight.detach().clone().double().requires_grad_(True), lin.bias.detach().clone().double()
    b0.requires_grad_(True)
    idx = torch.tensor([0, 3, 5, 6])
    x, _ = to_float(data[idx])
    z = m.codes.detach()[idx].clone().double()
    r = z @ w0.T + b0 - x.double()
    hand = r.pow(2).sum(1).mean() + eps * (2 * r @ w0).norm(dim=1).mean()
    gw, gb = torch.autograd.grad(hand, (w0, b0))
    opts = {"gen": torch.optim.SGD(m.generator.parameters(), lr=1.0), "codes": _Recorder([m.codes])}
    terms = m.train_step(to_float(data[idx]), opts)
    assert torch.allclose(lin.weight.double(), w0.detach() - gw, atol=1e-6)
    assert torch.allclose(lin.bias.double(), b0.detach() - gb, atol=1e-6)
    assert math.isclose(float(terms["total"]), float(hand.detach()), rel_tol=1e-5)
    assert math.isclose(float(terms["grad_pen"]), float((2 * r @ w0).norm(dim=1).mean().detach()), rel_tol=1e-5)
    code_grad = opts["codes"].grads[0]
    want = 2 * r @ w0.detach() / 4  # reconstruction only: d(mean_i l_i)/dz_i
    assert torch.allclose(code_grad[idx].double(), want, atol=1e-6)
    assert torch.all(code_grad[[1, 2, 4, 7]] == 0)


def test_gldo_mix_runs_and_differs_from_plain():
    terms = {}
    for mix in (False, True):
        m, data, to_float = _method("gldo", mix=mix, eps=10.0, n=8)
        torch.manual_seed(5)
        terms[mix] = m.train_step(to_float(data[torch.arange(4)]), m.build_optimizers())
        assert set(terms[mix]) == {"total", "rec", "grad_pen"}
    assert terms[False]["rec"] == terms[True]["rec"]
    assert terms[False]["grad_pen"] != terms[True]["grad_pen"]


def test_gldo_perceptual_double_backprop_with_standin(standin_vgg):
    m, data, to_float = _method(
        "gldo", shape=(3, 16, 16), n=4, batch_size=2, rec_loss="perceptual", vgg_weights=str(standin_vgg)
    )
    terms = m.train_step(to_float(data[torch.tensor([0, 2])]), m.build_optimizers())
    assert all(torch.isfinite(v) for v in terms.values()) and float(terms["grad_pen"]) > 0
    assert m.rec_protocol()["is_standin"] is True
    assert not any(k.startswith("rec_fn") for k in m.state_dict())


# --------------------------------------------------------------------------------------------------
# sampling, checkpointing, latent search


def test_full_covariance_fit_and_sampling():
    gen = torch.Generator().manual_seed(0)
    mix = torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.5, 0.0], [-0.3, 0.2, 0.4]])
    z = torch.randn(500, 3, generator=gen) @ mix.T + torch.tensor([1.0, -2.0, 0.5])
    mean, chol = fit_full_gaussian(z)
    assert torch.allclose(mean, z.double().mean(0), atol=1e-12)
    np.testing.assert_allclose((chol @ chol.T).numpy(), np.cov(z.double().numpy(), rowvar=False), rtol=1e-5)
    m, _, _ = _method("glo", n=500)
    with torch.no_grad():
        m.codes.copy_(z)
    s = m.sample_latent(20000, torch.Generator().manual_seed(1))
    assert int(m.fit_step) == int(m.n_steps)
    assert torch.allclose(s.mean(0), z.mean(0), atol=0.05)
    np.testing.assert_allclose(
        np.cov(s.double().numpy(), rowvar=False), np.cov(z.double().numpy(), rowvar=False), atol=0.05
    )
    assert torch.equal(s, m.sample_latent(20000, torch.Generator().manual_seed(1)))


def test_gaussian_refit_at_epoch_end():
    m, data, to_float = _method("glo", n=8)  # 2 steps per epoch
    opts = m.build_optimizers()
    m.train_step(to_float(data[torch.arange(4)]), opts)
    assert int(m.fit_step) == -1
    m.train_step(to_float(data[torch.arange(4, 8)]), opts)
    assert int(m.fit_step) == 2
    mean, _ = fit_full_gaussian(m.codes)
    assert torch.allclose(m.code_mean, mean.float())


def test_save_load_round_trip(tmp_path):
    m, data, to_float = _method("gldo", n=8, sphere=True)
    opts = m.build_optimizers()
    for i in range(2):
        m.train_step(to_float(data[torch.arange(4) + 4 * i]), opts)
    save_model(m, tmp_path / "model.pt")
    back = load_model(tmp_path / "model.pt")
    assert type(back).__name__ == "GLDO" and back.codes.shape == (8, 3)
    sa, sb = m.state_dict(), back.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    m.eval()
    with torch.no_grad():
        assert torch.equal(
            m.sample(6, torch.Generator().manual_seed(2)), back.sample(6, torch.Generator().manual_seed(2))
        )
    with pytest.raises(LcwbenchError, match="no encoder"):
        back.encode(torch.zeros(1, 6))
    assert back.has_encoder is False


def test_row_adam_state_round_trip():
    p = nn.Parameter(torch.zeros(5, 2))
    opt = RowAdam([p], lr=0.1)
    p.grad = torch.sparse_coo_tensor(torch.tensor([[1, 3]]), torch.ones(2, 2), (5, 2), check_invariants=True)
    opt.step()
    again = RowAdam([nn.Parameter(p.detach().clone())], lr=0.1)
    again.load_state_dict(copy.deepcopy(opt.state_dict()))  # as through a checkpoint file: no shared tensors
    q = again.param_groups[0]["params"][0]
    for o in (opt, again):
        param = o.param_groups[0]["params"][0]
        param.grad = torch.sparse_coo_tensor(torch.tensor([[3]]), torch.ones(1, 2), (5, 2), check_invariants=True)
        o.step()
    assert torch.equal(p, q)


def test_latent_search_is_deterministic_frozen_and_converges():
    gen = torch.Generator().manual_seed(0)
    g = nn.Linear(3, 6)
    with torch.no_grad():
        g.weight.copy_(torch.randn(6, 3, generator=gen))
        g.bias.zero_()
    target_z = torch.randn(5, 3, generator=gen)
    with torch.no_grad():
        x = g(target_z)
    before = [p.detach().clone() for p in g.parameters()]
    a = search_codes(g, x, 3, steps=1000, lr=0.1, loss="l2", seed=4, tol=1e-7)
    b = search_codes(g, x, 3, steps=1000, lr=0.1, loss="l2", seed=4, tol=1e-7)
    assert torch.equal(a.codes, b.codes) and a.steps == b.steps and a.converged and a.steps < 1000
    assert float(a.losses.max()) < 1e-4 and torch.allclose(a.codes, target_z, atol=1e-2)
    assert all(torch.equal(p, q) and p.grad is None for p, q in zip(g.parameters(), before))
    c = search_codes(g, x, 3, steps=7, lr=0.05, seed=4, tol=0.0)
    assert c.steps == 7 and c.converged is False
    d = search_codes(g, x, 3, steps=20, lr=0.05, seed=5, tol=0.0, batch_size=2)
    assert d.codes.shape == (5, 3) and not torch.equal(
        d.codes, search_codes(g, x, 3, steps=20, lr=0.05, seed=4, tol=0.0, batch_size=2).codes
    )


def test_reconstruct_by_search_keeps_the_model():
    m, data, to_float = _method("glo", sphere=True)
    m.train()
    state = {k: v.clone() for k, v in m.state_dict().items()}
    res = m.reconstruct_by_search(torch.rand(3, 6), steps=5)
    assert m.training and res.reconstructions.shape == (3, 6)
    assert torch.allclose(res.codes.norm(dim=1), torch.ones(3), atol=1e-6)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in state.items())


def test_resume_ends_bitwise_where_uninterrupted_run_ends(tmp_path, shared_data):
    from lcwbench.io import torch_load
    from lcwbench.runner import train_run

    spec = {
        "run": "t",
        "dataset": "mnist",
        "data": {"max_items": 64, "image_size": 32},
        "method": "gldo",
        "params": {
            "epochs": 3,
            "arch": "mlp",
            "width": 8,
            "depth": 1,
            "latent_dim": 4,
            "batch_size": 16,
            "rec_loss": "lap1",
            "mix": True,
            "eps": 10.0,
            "lr_halve_every": 1,
        },
        "seed": 7,
    }
    full = train_run(spec, tmp_path / "full", data_root=shared_data, device="cpu", checkpoint_every=3)
    # interrupted after step 7 (last checkpoint at step 6, mid-epoch 2), then resumed
    part = train_run(spec, tmp_path / "part", data_root=shared_data, device="cpu", checkpoint_every=3, max_steps=7)
    assert torch_load(part)["step"] == 6
    resumed = train_run(spec, tmp_path / "part", data_root=shared_data, device="cpu", checkpoint_every=3)
    a, b = load_model(full), load_model(resumed)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert int(a.fit_step) == int(a.n_steps) == 12
    assert (tmp_path / "full" / "train_log.csv").read_text() == (tmp_path / "part" / "train_log.csv").read_text()

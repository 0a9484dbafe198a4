"""GLDO Table 5 mapping networks on a frozen GLO (glo_glf, glo_tsv, glann): the flow's likelihood and
inverse, the TSV loss terms, the IMLE matching, the frozen base, sampling, saving and a bitwise resume.
A tiny GLO base (MLP generator, a few codes) is built in each test; one thread (the CPU is shared)."""

from __future__ import annotations

import math

import pytest
import torch

import lcwbench.methods.glo as glo_mod  # noqa: F401  (registers "glo")
import lcwbench.methods.glo_mapping as gm  # noqa: F401  (registers "glo_glf", "glo_tsv", "glann")
from lcwbench.errors import LcwbenchError
from lcwbench.methods import build_method
from lcwbench.runner import load_model
from lcwbench.train import train
from lcwbench.train.loop import save_model


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    # the first optimiser step of a process imports torch's compiler stack (seconds on a busy machine):
    # pay it here, in the setup, not inside the first test
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p])
    opt.zero_grad()
    p.sum().backward()
    opt.step()
    yield
    torch.set_num_threads(before)


SHAPE = (1, 4, 4)  # tiny images: the GLO generator is an MLP with a sigmoid output
N = 16  # training images = codes
BASE = {"arch": "mlp", "width": 8, "depth": 1, "latent_dim": 3, "batch_size": 4, "rec_loss": "l2", "epochs": 1}
SMALL = {
    "glo_glf": {"width": 8, "depth": 1, "transforms": 2, "batch_size": 4, "epochs": 3},
    "glo_tsv": {"width": 8, "depth": 2, "batch_size": 4, "epochs": 3, "lr": 1e-3},
    "glann": {"width": 8, "depth": 2, "noise_dim": 2, "batch_size": 4, "epochs": 3},
}
METHODS = sorted(SMALL)


def _identity(b):
    return b


def _base(seed: int = 0, **params):
    """A GLO with N codes (fresh codes, a few training steps so they are not just the start point)."""
    torch.manual_seed(seed)
    base = build_method("glo", {**BASE, **params}, SHAPE)
    x = torch.rand(N, *SHAPE, generator=torch.Generator().manual_seed(seed + 1))
    data, to_float = base.training_data(x, _identity)
    opts = base.build_optimizers()
    base.train()
    for i in range(3):
        base.train_step(to_float(data[4 * i : 4 * i + 4]), opts)
    base.zero_grad(set_to_none=True)  # as a base loaded from its model file
    return base.eval(), x


def _method(name: str, seed: int = 0, **params):
    base, x = _base(seed)
    torch.manual_seed(seed + 10)
    m = build_method(name, {**SMALL[name], **params}, SHAPE, base=base)
    data, to_float = m.training_data(x, _identity)
    return m, data, to_float


def _steps(m, data, to_float, k: int = 3):
    opts = m.build_optimizers()
    m.train()
    out = {}
    for i in range(k):
        out = m.train_step(to_float(data[(4 * i) % N : (4 * i) % N + 4]), opts)
    return out


# --------------------------------------------------------------------------------------------------
# GLO-GLF


def _set_coupling(layer, shift: float, scale: float) -> None:
    """Make a coupling layer's conditioner output the constant (shift, unconstrained scale)."""
    last = layer.hyper[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([shift, scale]).repeat(last.bias.numel() // 2))


def test_flow_one_layer_log_det_against_hand_value():
    base, _ = _base(latent_dim=2)
    torch.manual_seed(3)
    m = build_method("glo_glf", {"transforms": 1, "width": 4, "depth": 1}, SHAPE, base=base)
    flow = m.flow  # no training_data: the standardisation is the identity (shift 0, scale 1)
    assert torch.equal(m.code_shift, torch.zeros(2)) and torch.equal(m.code_scale, torch.ones(2))
    b, a = 0.3, 0.5
    _set_coupling(flow.transform.transforms[0], b, a)
    z = torch.tensor([[0.7, -1.2], [-0.1, 0.4]])
    log_s = a / (1 + abs(a) / math.log(1000.0))  # zuko's soft-bounded log-scale, slope 1e-3
    y1 = z[:, 1] * math.exp(log_s) + b  # the mask keeps coordinate 0 and transforms coordinate 1
    expected = -math.log(2 * math.pi) - 0.5 * (z[:, 0] ** 2 + y1**2) + log_s
    assert torch.allclose(m.log_prob(z), expected, atol=1e-6)
    assert torch.allclose(flow().transform(z), torch.stack([z[:, 0], y1], dim=1), atol=1e-6)


def test_flow_nll_with_standardisation_is_the_gaussian_of_the_codes_when_flow_is_identity():
    m, data, _ = _method("glo_glf")
    for layer in m.flow.transform.transforms:
        _set_coupling(layer, 0.0, 0.0)
    z = data
    mean, std = z.double().mean(0), z.double().std(0)
    assert torch.allclose(m.code_shift.double(), mean, atol=1e-6) and torch.allclose(m.code_scale.double(), std)
    expected = torch.distributions.Normal(mean, std).log_prob(z.double()).sum(-1)
    assert torch.allclose(m.log_prob(z).double(), expected, atol=1e-4)
    assert torch.allclose(m.losses(z)["nll"].double(), -expected.mean(), atol=1e-4)


def test_flow_is_invertible_and_sampling_inverts_it():
    m, data, to_float = _method("glo_glf", transforms=3)
    _steps(m, data, to_float)
    z = data
    u = m.flow().transform(m.standardise(z))
    assert torch.allclose(m.unstandardise(m.flow().transform.inv(u)), z, atol=1e-5)
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    eps = torch.randn(5, 3, generator=g1)
    expected = m.unstandardise(m.flow().transform.inv(eps))
    assert torch.allclose(m.sample_latent(5, generator=g2), expected)


# --------------------------------------------------------------------------------------------------
# GLO-TSV


def test_tsv_loss_terms_against_hand_values():
    z = torch.tensor([[1.0, 2.0]])
    z_hat = torch.tensor([[0.5, 2.5]])
    mu = torch.tensor([[0.0, 1.0]])
    logsd = torch.tensor([[0.0, math.log(2.0)]])
    loggamma = torch.tensor(math.log(0.5))
    t = gm.tsv_loss_terms(z, z_hat, mu, logsd, loggamma)
    kl = 0.5 * ((0 + 1 - 0 - 1) + (1 + 4 - 2 * math.log(2.0) - 1))  # = 2 - ln 2
    gen = 2 * ((0.5 / 0.5) ** 2 / 2 + math.log(0.5) + 0.5 * math.log(2 * math.pi))
    assert math.isclose(float(t["kl"]), kl, rel_tol=1e-6) and math.isclose(float(t["gen"]), gen, rel_tol=1e-6)
    assert math.isclose(float(t["total"]), kl + gen, rel_tol=1e-6) and math.isclose(float(t["gamma"]), 0.5)
    # a batch of two equal rows: the same per-batch-mean values
    t2 = gm.tsv_loss_terms(z.repeat(2, 1), z_hat.repeat(2, 1), mu.repeat(2, 1), logsd.repeat(2, 1), loggamma)
    assert math.isclose(float(t2["total"]), kl + gen, rel_tol=1e-6)


def test_tsv_architecture_and_sampling():
    m, data, to_float = _method("glo_tsv")
    assert m.noise_size == 3 and m.enc.out_features == 3 + 8 and m.dec_out.in_features == 3 + 8
    out = _steps(m, data, to_float)
    assert set(out) == {"total", "kl", "gen", "gamma"} and float(out["gamma"]) != 1.0
    m.eval()
    g1, g2 = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    u = torch.randn(4, 3, generator=g1)
    nu = torch.randn(4, 3, generator=g1)
    expected = m.decode_noise(u) + m.loggamma.exp() * nu
    assert torch.allclose(m.sample_latent(4, generator=g2), expected)
    m.cfg.decoder_noise = False
    assert torch.allclose(m.sample_latent(4, generator=torch.Generator().manual_seed(2)), m.decode_noise(u))


# --------------------------------------------------------------------------------------------------
# GLANN


def test_nearest_assignment_hand_example_and_blocks():
    z = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 5.0]])
    y = torch.tensor([[9.0, 1.0], [0.0, 4.0], [0.5, 0.2], [100.0, 100.0]])
    for block in (1, 4, 5, gm.NN_BLOCK):
        idx, d2 = gm.nearest_assignment(z, y, block=block)
        assert idx.tolist() == [2, 0, 1]
        assert torch.allclose(d2, torch.tensor([0.29, 2.0, 1.0]), atol=1e-5)


def test_glann_matching_fills_the_noise_of_each_code():
    m, data, to_float = _method("glann")
    assert m.matched_noise.shape == (N, 2)
    m.eval()  # deterministic mapping (batch-norm running statistics) to check the distances
    torch.manual_seed(0)
    m.match()
    z = m.standardise(m.base_codes())
    d2 = (m.mapping(m.matched_noise) - z).pow(2).sum(1)
    assert torch.allclose(m.nn_dist, d2.mean(), atol=1e-5)
    # the pool: pool_factor x (N // batch) x batch noise vectors; the first match replays it
    torch.manual_seed(0)
    pool = torch.randn(2 * 4 * 4, 2)
    idx, _ = gm.nearest_assignment(z, m.mapping(pool))
    assert torch.equal(m.matched_noise, pool[idx])


def test_glann_steps_rematch_each_epoch_and_reset_adam():
    m, data, to_float = _method("glann")
    opts = m.build_optimizers()
    m.train()
    m.train_step(to_float(data[:4]), opts)
    first = m.matched_noise.clone()
    assert first.abs().sum() > 0 and int(m.n_steps) == 1
    for i in range(1, 4):
        m.train_step(to_float(data[4 * i : 4 * i + 4]), opts)
    assert torch.equal(m.matched_noise, first)  # one epoch = 4 steps: the same matches
    state_step = [s["step"] for s in opts["main"].state.values()]
    assert all(float(s) == 4 for s in state_step)
    m.train_step(to_float(data[:4]), opts)  # epoch 2: new matches, fresh Adam moments
    assert not torch.equal(m.matched_noise, first)
    assert all(float(s["step"]) == 1 for s in opts["main"].state.values())


# --------------------------------------------------------------------------------------------------
# all three


@pytest.mark.parametrize("name", METHODS)
def test_training_leaves_the_base_frozen(name):
    m, data, to_float = _method(name)
    before = {k: v.clone() for k, v in m.base.state_dict().items()}
    _steps(m, data, to_float, k=5)
    assert m.training and not m.base.training
    after = m.base.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(not p.requires_grad and p.grad is None for p in m.base.parameters())
    ids = {id(p) for g in m.build_optimizers()["main"].param_groups for p in g["params"]}
    assert not ids & {id(p) for p in m.base.parameters()}


@pytest.mark.parametrize("name", METHODS)
def test_sample_shapes_decode_and_no_encoder(name):
    m, data, to_float = _method(name)
    _steps(m, data, to_float)
    m.eval()
    with torch.no_grad():
        x = m.sample(5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, *SHAPE) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert m.sample_latent(7).shape == (7, 3) and m.cfg.latent_dim == 3 and not m.has_encoder
    z = m.sample_latent(2)
    assert torch.equal(m.decode(z), m.base.decode(z))
    with pytest.raises(LcwbenchError, match="no encoder"):
        m.encode(x)
    res = m.reconstruct_by_search(x[:2], steps=3)
    assert res.reconstructions.shape == (2, *SHAPE) and m.base.cfg.sphere
    assert torch.allclose(res.codes.norm(dim=1), torch.ones(2), atol=1e-5)


@pytest.mark.parametrize("name", METHODS)
def test_save_and_load_rebuilds_the_base(tmp_path, name):
    m, data, to_float = _method(name)
    _steps(m, data, to_float)
    m.eval()
    save_model(m, tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt")
    assert loaded.cfg.base_method == "glo" and loaded.base.codes.shape == (N, 3)
    a = m.sample(4, generator=torch.Generator().manual_seed(1))
    b = loaded.sample(4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", METHODS)
def test_short_train_and_bitwise_resume(tmp_path, name):
    params = {"lr_decay_every": 1}  # a step-dependent learning rate too

    def fresh():
        return _method(name, **params)

    m, data, to_float = fresh()
    full = train(m, data, to_float, tmp_path / "full", seed=5, checkpoint_every=3, progress=False)
    assert full.steps == 12 and full.epochs == 3
    # interrupted after step 7 (last checkpoint at step 6, mid-epoch 2), then resumed
    m2, data2, tf2 = fresh()
    part = train(m2, data2, tf2, tmp_path / "part", seed=5, checkpoint_every=3, progress=False, max_steps=7)
    assert part.steps == 7
    m3, data3, tf3 = fresh()
    resumed = train(m3, data3, tf3, tmp_path / "part", seed=5, checkpoint_every=3, progress=False)
    assert resumed.resumed_from_step == 6 and resumed.steps == 12
    sa, sb = m.state_dict(), m3.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert full.history == resumed.history
    assert (tmp_path / "full" / "train_log.csv").read_text() == (tmp_path / "part" / "train_log.csv").read_text()
    assert int(m3.n_steps) == 12


def test_config_checks():
    base, x = _base()
    with pytest.raises(LcwbenchError, match="latent_dim 5 differs"):
        build_method("glann", {"latent_dim": 5}, SHAPE, base=base)
    with pytest.raises(LcwbenchError, match="must be a 'glo' or 'gldo'"):
        build_method("glo_glf", {}, SHAPE, base=build_method("ae", {"arch": "mlp", "width": 8, "depth": 1}, SHAPE))
    with pytest.raises(LcwbenchError, match="needs 'base'|built on a trained model"):
        build_method("glo_tsv", {}, SHAPE)
    m = build_method("glo_tsv", {"width": 4, "depth": 1}, SHAPE, base=base)
    with pytest.raises(LcwbenchError, match="base has 16 codes but the training set has 8"):
        m.training_data(x[:8], _identity)
    with pytest.raises(LcwbenchError, match="lr_decay"):
        build_method("glann", {"lr_decay": 0.0}, SHAPE, base=base)
    untrained = build_method("glo", BASE, SHAPE)
    with pytest.raises(LcwbenchError, match="train the base first"):
        build_method("glo_glf", {}, SHAPE, base=untrained).training_data(x, _identity)

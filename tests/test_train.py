"""The shared training loop: bitwise resume, NaN stop, checkpoint safety, batch/data checks."""

from __future__ import annotations

import pytest
import torch

from lcwbench.errors import LcwbenchError, NonFiniteLossError
from lcwbench.io import torch_load
from lcwbench.methods import build_method
from lcwbench.runner import load_model, train_run
from lcwbench.train import train


def _spec(method="cwae", **params):
    return {
        "run": "t",
        "dataset": "mnist",
        "data": {"max_items": 256},
        "method": method,
        "params": {"epochs": 3, "batch_size": 32, **params},
        "seed": 7,
    }


def _assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


RESUME_PARAMS = {
    "ae": {},
    "cwae": {},
    # four optimisers, a step counter and a step-dependent schedule (schedule_r 1: lr drop at step 5)
    "lmgae": {"width": 16, "depth": 1, "critic_width": 16, "critic_depth": 1, "latent_dim": 4, "schedule_r": 1},
}


@pytest.mark.parametrize("method", sorted(RESUME_PARAMS))
def test_resume_ends_bitwise_where_uninterrupted_run_ends(tmp_path, shared_data, method):
    spec = _spec(method, **RESUME_PARAMS[method])
    full = train_run(spec, tmp_path / "full", data_root=shared_data, device="cpu", checkpoint_every=5)
    # interrupted after step 13 (last checkpoint at step 10, mid-epoch 2), then resumed
    part = train_run(spec, tmp_path / "part", data_root=shared_data, device="cpu", checkpoint_every=5, max_steps=13)
    assert part.name == "ckpt.pt" and torch_load(part)["step"] == 10
    resumed = train_run(spec, tmp_path / "part", data_root=shared_data, device="cpu", checkpoint_every=5)
    _assert_same_weights(load_model(full), load_model(resumed))
    assert (tmp_path / "full" / "train_log.csv").read_text() == (tmp_path / "part" / "train_log.csv").read_text()
    assert not (tmp_path / "part" / "ckpt.pt").exists()


def test_same_seed_same_model_different_seed_different(tmp_path, shared_data):
    a = load_model(train_run(_spec(epochs=1), tmp_path / "a", data_root=shared_data, device="cpu"))
    b = load_model(train_run(_spec(epochs=1), tmp_path / "b", data_root=shared_data, device="cpu"))
    _assert_same_weights(a, b)
    spec = {**_spec(epochs=1), "seed": 8}
    c = load_model(train_run(spec, tmp_path / "c", data_root=shared_data, device="cpu"))
    assert not torch.equal(a.state_dict()["encoder.net.0.weight"], c.state_dict()["encoder.net.0.weight"])


def test_nan_loss_stops_with_step_and_term(tmp_path):
    method = build_method("ae", {"epochs": 2, "batch_size": 4}, (3,))
    x = torch.ones(16, 3)
    x[9] = float("nan")  # lands in some batch of epoch 1
    with pytest.raises(NonFiniteLossError, match=r"loss term 'total' became nan at step \d+ \(epoch 1\)"):
        train(method, x, lambda b: b, tmp_path, seed=0, progress=False)
    assert not (tmp_path / "model.pt").exists()


def test_diverging_learning_rate_is_reported(tmp_path, shared_data):
    spec = _spec("ae", lr=1e12, epochs=3)
    with pytest.raises(NonFiniteLossError, match="lr=1e\\+?12"):
        train_run(spec, tmp_path / "nan", data_root=shared_data, device="cpu")
    assert not (tmp_path / "nan" / "model.pt").exists()


def test_batch_larger_than_dataset(tmp_path):
    method = build_method("ae", {"batch_size": 64}, (3,))
    with pytest.raises(LcwbenchError, match="batch_size 64 is larger than the training set \\(10 items\\)"):
        train(method, torch.zeros(10, 3), lambda b: b, tmp_path, seed=0, progress=False)


def test_truncated_checkpoint_is_one_clear_error(tmp_path, shared_data):
    spec = _spec("ae")
    ckpt = train_run(spec, tmp_path, data_root=shared_data, device="cpu", checkpoint_every=5, max_steps=6)
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) // 2])
    with pytest.raises(LcwbenchError, match="unreadable"):
        train_run(spec, tmp_path, data_root=shared_data, device="cpu")


def test_checkpoint_pickle_that_would_run_code_is_refused(tmp_path, shared_data):
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "ckpt.pt").write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(LcwbenchError, match="refused by the safe loader"):
        train_run(_spec("ae"), tmp_path, data_root=shared_data, device="cpu")
    assert not marker.exists()


def test_unknown_method_param_and_bad_values():
    with pytest.raises(LcwbenchError, match=r"unknown parameter\(s\) latnt_dim; valid: .*latent_dim"):
        build_method("ae", {"latnt_dim": 3}, (3,))
    with pytest.raises(LcwbenchError, match="latent_dim must be >= 1, got 0"):
        build_method("ae", {"latent_dim": 0}, (3,))
    with pytest.raises(LcwbenchError, match="'lr' must be of type float, got 'fast'"):
        build_method("ae", {"lr": "fast"}, (3,))
    with pytest.raises(LcwbenchError, match="unknown method 'gan'; valid: aae, ae, .*cwae"):
        build_method("gan", {}, (3,))


def test_cwae_lambda_alias_and_loss_terms():
    torch.manual_seed(0)
    m = build_method("cwae", {"lambda": 2.5}, (1, 28, 28))
    assert m.cfg.lambda_ == 2.5
    terms = m.losses(torch.rand(16, 1, 28, 28))
    assert torch.allclose(terms["total"], terms["rec"] + 2.5 * terms["log_cw"])

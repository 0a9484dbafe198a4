"""Vector data sets with a known structure: the LMGAE low-dimensional-manifold benchmark and a swiss roll.

``synthetic`` (LMGAE): a fixed random network ``g: R^n -> R^D`` with one hidden leaky-ReLU layer,

    h = leaky_relu(A z + a),   x = B h + b,   z ~ N(0, sigma^2 I_n),

so the data lie on an n-dimensional (piecewise linear) manifold in R^D. ``A`` (hidden x n) and ``a``
are drawn N(0, 1/n); ``B`` (D x hidden) is drawn N(0, gain^2/hidden) with the Kaiming gain
``sqrt(2 / (1 + slope^2))`` so that each coordinate of ``x`` has variance about ``sigma^2``; ``b`` is
N(0, 1/hidden). The network's random draws depend only on gen_seed and the layer sizes; the latent
draws for train and test come from two further streams derived from gen_seed, so the splits are
independent but fixed.

``swissroll``: ``t ~ U(1.5 pi, 4.5 pi)``, ``x = (t cos t, t sin t) / (4.5 pi)`` so every point lies in
the unit square ``[-1, 1]^2``; then isotropic Gaussian noise with standard deviation ``noise`` (in
these normalised units) is added. Train and test use separate streams derived from ``seed``.

All arithmetic is done in float64 on the CPU and the result cast to float32, so a seed gives the same
numbers on every machine.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lcwbench.data.base import (
    Dataset,
    check_params,
    check_split,
    float_param,
    int_param,
    optional_max_items,
    take_first,
)
from lcwbench.errors import LcwbenchError

SPLITS = ("train", "test")
SPLIT_STREAM = {"train": 1, "test": 2}  # stream 0 is the generating network

SYNTHETIC_DEFAULTS = {
    "true_dim": 8,
    "out_dim": 128,
    "hidden": 128,
    "gen_seed": 0,
    "n_train": 20000,
    "n_test": 5000,
    "sigma": 1.0,
    "negative_slope": 0.2,
}
SWISSROLL_DEFAULTS = {"n": 5000, "noise": 0.0, "seed": 0}
SWISSROLL_SCALE = 4.5 * math.pi  # largest radius of the roll: divides it into [-1, 1]^2


def _generator(seed: int, stream: int) -> torch.Generator:
    """A torch generator for one named stream of a seed (SeedSequence spreads nearby seeds apart)."""
    state = np.random.SeedSequence([int(seed), int(stream)]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def _no_image_size(name: str, image_size) -> None:
    if image_size is not None:
        raise LcwbenchError(f"{name}: image_size does not apply to a vector data set; remove it")


def lmgae_network(
    true_dim: int, out_dim: int, hidden: int, gen_seed: int, negative_slope: float = 0.2
) -> dict[str, torch.Tensor]:
    """The fixed random generator network (float64 weights) for these settings."""
    g = _generator(gen_seed, 0)
    gain = math.sqrt(2.0 / (1.0 + negative_slope**2))
    A = torch.randn(hidden, true_dim, generator=g, dtype=torch.float64) / math.sqrt(true_dim)
    a = torch.randn(hidden, generator=g, dtype=torch.float64) / math.sqrt(true_dim)
    B = torch.randn(out_dim, hidden, generator=g, dtype=torch.float64) * (gain / math.sqrt(hidden))
    b = torch.randn(out_dim, generator=g, dtype=torch.float64) / math.sqrt(hidden)
    return {"A": A, "a": a, "B": B, "b": b}


def load_synthetic(split: str, *, image_size=None, max_items=None, **params) -> Dataset:
    name = "synthetic"
    check_params(name, params, tuple(SYNTHETIC_DEFAULTS))
    check_split(name, split, SPLITS)
    _no_image_size(name, image_size)
    max_items = optional_max_items(name, max_items)
    p = {**SYNTHETIC_DEFAULTS, **params}
    true_dim = int_param(name, "true_dim", p["true_dim"])
    out_dim = int_param(name, "out_dim", p["out_dim"])
    hidden = int_param(name, "hidden", p["hidden"])
    gen_seed = int_param(name, "gen_seed", p["gen_seed"], minimum=0)
    n_train = int_param(name, "n_train", p["n_train"])
    n_test = int_param(name, "n_test", p["n_test"])
    sigma = float_param(name, "sigma", p["sigma"], minimum=0.0)
    slope = float_param(name, "negative_slope", p["negative_slope"], minimum=0.0)
    if true_dim > out_dim:
        raise LcwbenchError(f"{name}: true_dim ({true_dim}) must not exceed out_dim ({out_dim})")

    net = lmgae_network(true_dim, out_dim, hidden, gen_seed, slope)
    n = n_train if split == "train" else n_test
    g = _generator(gen_seed, SPLIT_STREAM[split])
    z = torch.randn(n, true_dim, generator=g, dtype=torch.float64) * sigma
    h = torch.nn.functional.leaky_relu(z @ net["A"].T + net["a"], negative_slope=slope)
    x = (h @ net["B"].T + net["b"]).to(torch.float32)
    x, _ = take_first(x, None, max_items)
    resolved = {
        "true_dim": true_dim,
        "out_dim": out_dim,
        "hidden": hidden,
        "gen_seed": gen_seed,
        "n_train": n_train,
        "n_test": n_test,
        "sigma": sigma,
        "negative_slope": slope,
        "max_items": max_items,
    }
    meta = {
        "name": name,
        "split": split,
        "n": int(x.shape[0]),
        "shape": list(x.shape[1:]),
        "source": "generated",
        "params": resolved,
        "true_dim": true_dim,
        "checksum": "not applicable (generated)",
    }
    return Dataset(name=name, split=split, x=x, y=None, meta=meta)


def load_swissroll(split: str, *, image_size=None, max_items=None, **params) -> Dataset:
    name = "swissroll"
    check_params(name, params, tuple(SWISSROLL_DEFAULTS))
    check_split(name, split, SPLITS)
    _no_image_size(name, image_size)
    max_items = optional_max_items(name, max_items)
    p = {**SWISSROLL_DEFAULTS, **params}
    n = int_param(name, "n", p["n"])
    noise = float_param(name, "noise", p["noise"], minimum=0.0)
    seed = int_param(name, "seed", p["seed"], minimum=0)

    g = _generator(seed, SPLIT_STREAM[split])
    t = 1.5 * math.pi + 3.0 * math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    x = torch.stack((t * torch.cos(t), t * torch.sin(t)), dim=1) / SWISSROLL_SCALE
    eps = torch.randn(n, 2, generator=g, dtype=torch.float64)
    if noise > 0:
        x = x + noise * eps
    x, _ = take_first(x.to(torch.float32), None, max_items)
    meta = {
        "name": name,
        "split": split,
        "n": int(x.shape[0]),
        "shape": list(x.shape[1:]),
        "source": "generated",
        "params": {"n": n, "noise": noise, "seed": seed, "scale": SWISSROLL_SCALE, "max_items": max_items},
        "true_dim": 1,
        "checksum": "not applicable (generated)",
    }
    return Dataset(name=name, split=split, x=x, y=None, meta=meta)

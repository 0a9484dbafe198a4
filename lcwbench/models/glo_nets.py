"""The generators of the GLDO paper (Guo et al., 003 Table 7), picked by image side.

All three map ``(N, noise_dim)`` codes to ``(N, C, S, S)`` images in [0, 1], with ``C`` the channels of
the data (1 for MNIST / Fashion-MNIST, 3 for colour images). Layer tuples below are (in, out, kernel,
stride, padding), the format the paper states at 003 L1655-1657.

* 32x32 (MNIST and Fashion-MNIST resized to 32, CIFAR-10; 003 L825-827, L1509-1551): FC 1024, BN1d,
  LeakyReLU(0.2); FC 128*8*8, BN1d, LeakyReLU(0.2); reshape 128x8x8; ConvT(128, 64, 4, 2, 1), BN2d,
  LeakyReLU(0.2); ConvT(64, C, 4, 2, 1); Sigmoid.
* 64x64 (CelebA-64; 003 L1553-1597): the same with an FC to 128*16*16 and a 16x16 start.
* 128x128 (LSUN / CelebA-128; 003 L1659-1703): FC 512*4*4, BN1d, LeakyReLU(0.2); reshape 512x4x4;
  five [ConvT(k 4, s 2, p 1), BN2d, LeakyReLU(0.2)] with channels 512, 512, 256, 128, 64 (8 -> 128 px);
  ConvT(64, C, 3, 1, 1); Tanh. The harness keeps every image in [0, 1], so the Tanh output ``t`` is
  mapped to ``(t + 1) / 2`` (the same function shifted and scaled) [harness choice; the paper does not
  state the input range of its Tanh model, ambiguities C9].

Where the paper prints 3 output channels for the 32x32 net (Table 7) although MNIST is grey, the last
layer here has as many channels as the data (the paper's own worked example, 003 L1705-1707, says "3
(for CIFAR-10) or 1 (for MNIST and Fashion)") [harness choice].

Initialisation: ``init_normal`` draws every Linear / (transposed) convolution weight from N(0, 0.01^2)
(003 L841 "weights initialized from Gaussian: N(0; 0.01)", read as a standard deviation of 0.01: the
paper does not say whether 0.01 is the std or the variance, ambiguities C11) [paper + harness reading].
Biases are set to zero and batch-norm layers keep PyTorch's identity init (scale 1, shift 0): a scale
drawn from N(0, 0.01) would switch the normalised signal off [harness choice].
"""

from __future__ import annotations

import torch
from torch import nn

from lcwbench.errors import LcwbenchError

SUPPORTED_SIDES = (32, 64, 128)
LEAK = 0.2  # LeakyReLU slope of every hidden layer [paper Table 7]


class Tanh01(nn.Module):
    """``(tanh(x) + 1) / 2``: the paper's Tanh output mapped to the harness's [0, 1] image range."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(x) + 1.0) / 2.0


def _fc_bn(d_in: int, d_out: int) -> list[nn.Module]:
    return [nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), nn.LeakyReLU(LEAK)]


def _up(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(LEAK)]


def _small_generator(channels: int, noise_dim: int, start: int) -> nn.Sequential:
    """The 32x32 (``start`` 8) and CelebA-64 (``start`` 16) nets of Table 7."""
    return nn.Sequential(
        *_fc_bn(noise_dim, 1024),
        *_fc_bn(1024, 128 * start * start),
        nn.Unflatten(1, (128, start, start)),
        *_up(128, 64),
        nn.ConvTranspose2d(64, channels, 4, 2, 1),
        nn.Sigmoid(),
    )


def _large_generator(channels: int, noise_dim: int) -> nn.Sequential:
    """The LSUN / 128x128 net of Table 7, Tanh mapped to [0, 1]."""
    widths = (512, 512, 512, 256, 128, 64)
    layers: list[nn.Module] = [*_fc_bn(noise_dim, 512 * 4 * 4), nn.Unflatten(1, (512, 4, 4))]
    for a, b in zip(widths[:-1], widths[1:]):
        layers += _up(a, b)
    layers += [nn.ConvTranspose2d(64, channels, 3, 1, 1), Tanh01()]
    return nn.Sequential(*layers)


def build_generator(sample_shape: tuple[int, ...], noise_dim: int) -> nn.Module:
    """The Table 7 generator for images of ``sample_shape`` (C, S, S), S in {32, 64, 128}.

    Maps ``(N, noise_dim)`` to ``(N, *sample_shape)`` with values in [0, 1]. Weights keep PyTorch's
    default init; call :func:`init_normal` for the paper's. Any other shape is one LcwbenchError.
    """
    shape = tuple(int(s) for s in sample_shape)
    if int(noise_dim) < 1:
        raise LcwbenchError(f"GLO generator: noise_dim must be >= 1, got {noise_dim}")
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in SUPPORTED_SIDES or shape[0] < 1:
        raise LcwbenchError(
            f"GLO/GLDO Table 7 generators need square C x S x S images with S in "
            f"{', '.join(map(str, SUPPORTED_SIDES))}; got sample shape {shape} "
            "(resize MNIST/Fashion-MNIST with data image_size: 32, or use arch 'mlp')"
        )
    channels, side = shape[0], shape[1]
    if side == 32:
        return _small_generator(channels, noise_dim, 8)
    if side == 64:
        return _small_generator(channels, noise_dim, 16)
    return _large_generator(channels, noise_dim)


def init_normal(module: nn.Module, std: float = 0.01) -> nn.Module:
    """Draw every Linear / Conv / ConvTranspose weight of ``module`` from N(0, std^2), zero their biases.

    Batch-norm layers are reset to scale 1, shift 0. Uses the global torch RNG. Returns ``module``.
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
                nn.init.normal_(m.weight, 0.0, std)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                m.reset_parameters()
    return module


def add_spectral_norm(module: nn.Module, linear: bool = False) -> nn.Module:
    """Put spectral normalisation on every (transposed) convolution of ``module`` (GLO-SN, 003 L1429-1430:
    "attach the spectral norm layer to the convolution layer of the generator"). Fully connected layers
    are left as they are unless ``linear`` (the paper names only the convolutions; an all-MLP generator
    has none, so there it is put on the linear layers). One power iteration per forward pass (PyTorch's
    default, as in Miyato et al.). Call after :func:`init_normal`. Returns ``module``."""
    kinds = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear) if linear else (nn.Conv2d, nn.ConvTranspose2d)
    for m in list(module.modules()):
        if isinstance(m, kinds):
            nn.utils.parametrizations.spectral_norm(m)
    return module

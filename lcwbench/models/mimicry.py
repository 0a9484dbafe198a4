"""DCGAN/SNGAN-style convolutional nets in the layout of the Mimicry library (Lee & Town 2020).

Geng et al. (004) state that their G, g, D and d "follow Mimicry" without printing the layers; the
baselines of that paper (AAE, IntroVAE, AGE, ALAE) share these builders. Everything here is written
for this harness from the published DCGAN / SNGAN "standard CNN" design (Radford et al. 2016; Miyato
et al. 2018, Table 3), which is what Mimicry's DCGAN models implement:

* :func:`mimicry_generator` (latent -> image): Linear(latent, 8w * 4 * 4) -> reshape 8w x 4 x 4 ->
  BN, ReLU -> n_up x [ConvT(4, 2, 1), BN, ReLU] halving the channels (8w -> 4w -> 2w -> w; one more
  stage at 64 px, w stays the floor) -> Conv(3, 1, 1) to the image channels -> sigmoid. The published
  nets end in tanh for data in [-1, 1]; the harness keeps images in [0, 1], so the output layer is a
  sigmoid [harness choice].
* :func:`mimicry_discriminator` (image -> ``out_dim`` scores), the "standard CNN" critic: at each of
  the n_down resolutions a Conv(3, 1, 1) then a Conv(4, 2, 1), LeakyReLU(0.1) after each, channels
  w, 2w, 4w (and 8w at 64 px); a last Conv(3, 1, 1) to 8w; Linear(8w * 4 * 4, out_dim).
  ``norm``: "spectral" (SNGAN), "batch" (DCGAN) or "none" (default: a critic that regresses
  interpolation coefficients is evaluated on several differently composed batches per step, where
  batch statistics would leak between them) [harness choice].
* :func:`mimicry_encoder` (image -> latent): the discriminator layout with batch norm after every
  hidden convolution and a Linear(8w * 4 * 4, latent_dim) head (Mimicry has no encoder; mirroring
  the critic is the usual choice, e.g. in ACAI, Berthelot et al. 2018) [harness choice].
* :func:`latent_mlp` (vectors -> vectors): ``depth`` x [Linear(width), LeakyReLU(0.2)] then a linear
  output layer, for the latent generator g and the latent discriminator D, and for the swiss-roll
  nets [harness choice; the paper gives no sizes].

n_up = n_down = log2(S / 4): 3 at 32 px (CIFAR-10, MNIST resized), 4 at 64 px (CelebA). Other image
sizes raise :class:`LcwbenchError`. ``width`` (w) defaults to 64, so the generator starts from 512
channels, Mimicry's ``ngf = 512`` [Mimicry DCGAN defaults].
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lcwbench.errors import LcwbenchError

SIZES = (32, 64)


def mimicry_geometry(sample_shape: tuple[int, ...], who: str = "") -> tuple[int, int]:
    """(channels, side) of a square image shape the Mimicry-style nets support, else LcwbenchError
    (``who``, e.g. "method 'aae'", starts the message)."""
    shape = tuple(sample_shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in SIZES or shape[0] < 1:
        raise LcwbenchError(
            f"{who + ': ' if who else ''}arch 'mimicry' needs square C x S x S images with S in"
            f" {', '.join(map(str, SIZES))}; got sample shape {shape}"
            " (set the dataset's image_size to 32 or 64, or use arch 'mlp')"
        )
    return shape[0], shape[1]
_NORMS = ("none", "batch", "spectral")
_ACTS = ("lrelu", "relu")


def _stages(image_size: int, what: str) -> int:
    if int(image_size) not in SIZES:
        raise LcwbenchError(
            f"{what}: Mimicry-style nets support image sizes {', '.join(map(str, SIZES))}, got {image_size}"
            " (resize the data with the dataset's image_size, or use arch 'mlp')"
        )
    return int(math.log2(int(image_size) // 4))


def _check_positive(what: str, **values: int) -> None:
    bad = {k: v for k, v in values.items() if int(v) < 1}
    if bad:
        raise LcwbenchError(f"{what}: {', '.join(f'{k}={v}' for k, v in bad.items())} must be >= 1")


def _down_channels(n: int, width: int) -> list[int]:
    """Channels after each stride-2 stage of the critic/encoder: w, 2w, 4w[, 8w]; the last 3x3 conv -> 8w."""
    return [width * 2 ** min(i, 3) for i in range(n)]


class _Sigmoid01(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x)


def _conv_stack(channels: int, image_size: int, width: int, norm: str, what: str) -> tuple[nn.Sequential, int]:
    """The standard-CNN feature extractor; returns (module, flattened feature size)."""
    if norm not in _NORMS:
        raise LcwbenchError(f"{what}: norm must be one of {', '.join(_NORMS)}, got {norm!r}")
    n = _stages(image_size, what)
    _check_positive(what, channels=channels, width=width)

    def conv(c_in: int, c_out: int, k: int, s: int, p: int, first: bool = False) -> list[nn.Module]:
        layer = nn.Conv2d(c_in, c_out, k, s, p)
        if norm == "spectral":
            return [nn.utils.parametrizations.spectral_norm(layer), nn.LeakyReLU(0.1)]
        if norm == "batch" and not first:
            return [layer, nn.BatchNorm2d(c_out), nn.LeakyReLU(0.1)]
        return [layer, nn.LeakyReLU(0.1)]

    chans = _down_channels(n, width)
    layers: list[nn.Module] = []
    c = channels
    for i, out in enumerate(chans):
        layers += conv(c, out, 3, 1, 1, first=(i == 0))
        layers += conv(out, out, 4, 2, 1)
        c = out
    top = width * 8
    layers += conv(c, top, 3, 1, 1)
    layers.append(nn.Flatten())
    return nn.Sequential(*layers), top * 4 * 4


class MimicryCritic(nn.Module):
    """(N, C, S, S) -> (N, out_dim)."""

    def __init__(self, channels: int, image_size: int, width: int = 64, out_dim: int = 1, norm: str = "none"):
        super().__init__()
        _check_positive("mimicry discriminator", out_dim=out_dim)
        self.features, feat = _conv_stack(channels, image_size, width, norm, "mimicry discriminator")
        head = nn.Linear(feat, out_dim)
        self.head = nn.utils.parametrizations.spectral_norm(head) if norm == "spectral" else head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class MimicryEncoder(nn.Module):
    """(N, C, S, S) -> (N, latent_dim)."""

    def __init__(self, channels: int, image_size: int, latent_dim: int, width: int = 64):
        super().__init__()
        _check_positive("mimicry encoder", latent_dim=latent_dim)
        self.features, feat = _conv_stack(channels, image_size, width, "batch", "mimicry encoder")
        self.head = nn.Linear(feat, latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class MimicryGenerator(nn.Module):
    """(N, latent_dim) -> (N, C, S, S) in [0, 1]."""

    def __init__(self, channels: int, image_size: int, latent_dim: int, width: int = 64):
        super().__init__()
        n = _stages(image_size, "mimicry generator")
        _check_positive("mimicry generator", channels=channels, latent_dim=latent_dim, width=width)
        top = width * 8
        self.start = (top, 4, 4)
        self.fc = nn.Linear(latent_dim, top * 16)
        chans = [top] + [max(top // 2 ** (i + 1), width) for i in range(n)]
        layers: list[nn.Module] = [nn.BatchNorm2d(top), nn.ReLU()]
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.BatchNorm2d(b), nn.ReLU()]
        layers += [nn.Conv2d(chans[-1], channels, 3, 1, 1), _Sigmoid01()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).reshape(z.shape[0], *self.start))


def mimicry_encoder(channels: int, image_size: int, latent_dim: int, width: int = 64) -> nn.Module:
    """Image encoder (N, channels, S, S) -> (N, latent_dim), S in {32, 64}."""
    return MimicryEncoder(channels, image_size, latent_dim, width)


def mimicry_generator(channels: int, image_size: int, latent_dim: int, width: int = 64) -> nn.Module:
    """Image generator/decoder (N, latent_dim) -> (N, channels, S, S) with values in [0, 1] (sigmoid)."""
    return MimicryGenerator(channels, image_size, latent_dim, width)


def mimicry_discriminator(
    channels: int, image_size: int, width: int = 64, out_dim: int = 1, norm: str = "none"
) -> nn.Module:
    """Image critic (N, channels, S, S) -> (N, out_dim) raw scores (no output activation)."""
    return MimicryCritic(channels, image_size, width, out_dim, norm)


def latent_mlp(
    in_dim: int, out_dim: int, width: int = 512, depth: int = 3, act: str = "lrelu", batch_norm: bool = False
) -> nn.Sequential:
    """``depth`` x [Linear(width), (BatchNorm1d), activation] then Linear(out_dim); depth 0 is one linear map.

    ``act``: "lrelu" (LeakyReLU(0.2), default) or "relu".
    """
    _check_positive("latent mlp", in_dim=in_dim, out_dim=out_dim, width=width)
    if int(depth) < 0:
        raise LcwbenchError(f"latent mlp: depth must be >= 0, got {depth}")
    if act not in _ACTS:
        raise LcwbenchError(f"latent mlp: act must be one of {', '.join(_ACTS)}, got {act!r}")
    layers: list[nn.Module] = []
    d = int(in_dim)
    for _ in range(int(depth)):
        layers.append(nn.Linear(d, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.LeakyReLU(0.2) if act == "lrelu" else nn.ReLU())
        d = int(width)
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)

"""Image discriminators of the GAN baselines of the GLDO paper (003 L831-834: DCGAN, WGAN-GP, BEGAN).

The paper trains its baselines "with the same generator" (its Table 7, built by
:func:`lcwbench.models.glo_nets.build_generator`) but does not describe their discriminators. The nets
here mirror that generator, layer for layer in reverse, at the same widths:

:class:`ConvDiscriminator` (DCGAN discriminator, WGAN-GP critic), input ``(C, S, S)`` -> one logit/score:

* S = 32 or 64 (mirror of the Table 7 32x32 / CelebA-64 generators, 003 L1509-1597):
  Conv(C, w, 4, 2, 1), LReLU(0.2) -> w x S/2 x S/2; Conv(w, 2w, 4, 2, 1), norm, LReLU(0.2) -> 2w x S/4 x S/4;
  flatten; Linear(2w (S/4)^2, fc_width), norm, LReLU(0.2); Linear(fc_width, 1).
  With w = 64 and fc_width = 1024 these are the generator's widths [paper Table 7] (the same layout
  as the discriminator Lucic et al. [36] pair with this generator, as far as we know).
* S = 128 (mirror of the Table 7 LSUN/128 generator, 003 L1659-1703):
  Conv(C, w, 3, 1, 1), LReLU(0.2); five Conv(4, 2, 1) with channels w -> 2w -> 4w -> 8w -> 8w -> 8w
  (128 -> 4 px), each followed by norm and LReLU(0.2); flatten; Linear(8w * 4 * 4, 1).

Choices and sources:

* Strided convolutions instead of pooling, LeakyReLU(0.2), no normalisation on the layer that sees the
  image, batch norm elsewhere [DCGAN paper, Radford et al. 2016, Sec. 3].
* ``norm``: "batch" (DCGAN) [DCGAN paper]; "layer" (layer normalisation over each sample's features:
  ``GroupNorm(1, C)`` after a convolution, ``LayerNorm`` after a linear layer) or "none" for the WGAN-GP
  critic, whose per-sample gradient penalty is not valid with batch norm [WGAN-GP paper, Gulrajani et
  al. 2017, Sec. 4, which recommends layer normalisation].
* Weights N(0, 0.02), biases 0 [DCGAN paper, Sec. 4]; ``init_std=None`` keeps PyTorch's default.

:class:`BEGANDiscriminator` (BEGAN, Berthelot et al. 2017, its model architecture section): an
autoencoder on images whose energy is the L1 reconstruction error ``mean |x - D(x)|``.
Encoder: Conv(C, n, 3, 1, 1), ELU; at each resolution from S down to 8 px, ``repeats`` x
[Conv(3, 1, 1), ELU], then (above 8 px) a stride-2 Conv(3, 2, 1) + ELU that halves the size and adds n
channels (n, 2n, 3n, ...); at 8 px a linear map, without non-linearity, to the embedding h in
R^hidden. Decoder: a linear map from h to n x 8 x 8, then at each resolution ``repeats`` x
[Conv(n, n, 3, 1, 1), ELU] followed by nearest-neighbour x2 upsampling, up to S px, and a last
Conv(n, C, 3, 1, 1) with no activation [BEGAN paper: 3x3 convolutions with ELU, repeated twice, filters
increased linearly on down-sampling, stride-2 sub-sampling, nearest-neighbour up-sampling, linear maps
to/from h, an 8 x 8 bottleneck, no batch norm]. n = 64 matches the Table 7 generator's narrowest layer;
hidden = 64 is an embedding size the BEGAN paper uses [harness choice].

Supported inputs: ``(C, S, S)`` with S in {32, 64, 128} (the paper's resolutions, 003 L1647-1648: 28 px
MNIST is resized to 32, 003 L825-827); anything else is an :class:`LcwbenchError`.
"""

from __future__ import annotations

import torch
from torch import nn

from lcwbench.errors import LcwbenchError

SIZES = (32, 64, 128)
NORMS = ("batch", "layer", "none")


def check_image_shape(sample_shape: tuple[int, ...], what: str) -> tuple[int, int]:
    """Return (channels, side) of a square image shape the discriminators support, else raise."""
    shape = tuple(sample_shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in SIZES or shape[0] < 1:
        raise LcwbenchError(
            f"{what} needs square images (C, S, S) with S in {', '.join(map(str, SIZES))}; got sample shape"
            f" {shape} (resize 28x28 MNIST/Fashion-MNIST to 32 with the dataset's image_size: 32)"
        )
    return shape[0], shape[1]


def _norm(kind: str, channels: int, conv: bool) -> list[nn.Module]:
    if kind == "batch":
        return [nn.BatchNorm2d(channels) if conv else nn.BatchNorm1d(channels)]
    if kind == "layer":
        return [nn.GroupNorm(1, channels) if conv else nn.LayerNorm(channels)]
    return []


def init_weights(module: nn.Module, std: float | None) -> None:
    """Conv/linear weights ~ N(0, std), biases 0; ``std=None`` leaves PyTorch's initialisation."""
    if std is None:
        return
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class ConvDiscriminator(nn.Module):
    """(N, C, S, S) images -> (N,) scores (logits for DCGAN, critic values for WGAN-GP)."""

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        norm: str = "batch",
        width: int = 64,
        fc_width: int = 1024,
        init_std: float | None = 0.02,
    ):
        super().__init__()
        if norm not in NORMS:
            raise LcwbenchError(f"discriminator norm must be one of {', '.join(NORMS)}, got {norm!r}")
        if width < 1 or fc_width < 1:
            raise LcwbenchError(f"discriminator widths must be >= 1, got width={width}, fc_width={fc_width}")
        c, s = check_image_shape(sample_shape, "the DCGAN/WGAN-GP discriminator")
        act = nn.LeakyReLU(0.2)
        layers: list[nn.Module]
        if s in (32, 64):
            q = s // 4
            layers = [
                nn.Conv2d(c, width, 4, 2, 1),
                act,
                nn.Conv2d(width, 2 * width, 4, 2, 1),
                *_norm(norm, 2 * width, True),
                act,
                nn.Flatten(),
                nn.Linear(2 * width * q * q, fc_width),
                *_norm(norm, fc_width, False),
                act,
                nn.Linear(fc_width, 1),
            ]
        else:  # 128
            chans = [width, 2 * width, 4 * width, 8 * width, 8 * width, 8 * width]
            layers = [nn.Conv2d(c, width, 3, 1, 1), act]
            for cin, cout in zip(chans[:-1], chans[1:]):
                layers += [nn.Conv2d(cin, cout, 4, 2, 1), *_norm(norm, cout, True), act]
            layers += [nn.Flatten(), nn.Linear(chans[-1] * 4 * 4, 1)]
        self.net = nn.Sequential(*layers)
        init_weights(self, init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class BEGANDiscriminator(nn.Module):
    """BEGAN's autoencoder discriminator: (N, C, S, S) -> reconstructions of the same shape.

    :meth:`energy` is the per-sample L1 reconstruction error ``mean |x - D(x)|`` over pixels.
    """

    def __init__(
        self,
        sample_shape: tuple[int, ...],
        width: int = 64,
        hidden: int = 64,
        repeats: int = 2,
        init_std: float | None = None,
    ):
        super().__init__()
        if width < 1 or hidden < 1 or repeats < 1:
            raise LcwbenchError(
                f"BEGAN discriminator: width, hidden and repeats must be >= 1, got {width}, {hidden}, {repeats}"
            )
        c, s = check_image_shape(sample_shape, "the BEGAN discriminator")
        n = width
        levels = {32: 3, 64: 4, 128: 5}[s]  # resolutions S, S/2, ..., 8
        act = nn.ELU()
        enc: list[nn.Module] = [nn.Conv2d(c, n, 3, 1, 1), act]
        ch = n
        for level in range(levels):
            for _ in range(repeats):
                enc += [nn.Conv2d(ch, ch, 3, 1, 1), act]
            if level < levels - 1:
                enc += [nn.Conv2d(ch, ch + n, 3, 2, 1), act]
                ch += n
        enc += [nn.Flatten(), nn.Linear(ch * 8 * 8, hidden)]
        dec: list[nn.Module] = [nn.Linear(hidden, n * 8 * 8), nn.Unflatten(1, (n, 8, 8))]
        for level in range(levels):
            for _ in range(repeats):
                dec += [nn.Conv2d(n, n, 3, 1, 1), act]
            if level < levels - 1:
                dec += [nn.Upsample(scale_factor=2, mode="nearest")]
        dec += [nn.Conv2d(n, c, 3, 1, 1)]
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)
        init_weights(self, init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample L1 reconstruction error, shape (N,)."""
        return (self(x) - x).abs().flatten(1).mean(dim=1)


def build_discriminator(
    sample_shape: tuple[int, ...],
    kind: str = "dcgan",
    *,
    norm: str | None = None,
    width: int = 64,
    fc_width: int = 1024,
    hidden: int = 64,
    repeats: int = 2,
    init_std: float | None = 0.02,
) -> nn.Module:
    """The discriminator of GAN ``kind`` for images of ``sample_shape``.

    ``kind``: "dcgan" (batch norm unless ``norm`` says otherwise), "wgan_gp" (layer norm unless
    ``norm`` says otherwise) or "began" (autoencoder; ``norm`` and ``fc_width`` do not apply).
    """
    if kind == "dcgan":
        return ConvDiscriminator(sample_shape, norm or "batch", width, fc_width, init_std)
    if kind == "wgan_gp":
        return ConvDiscriminator(sample_shape, norm or "layer", width, fc_width, init_std)
    if kind == "began":
        if norm not in (None, "none"):
            raise LcwbenchError(f"the BEGAN discriminator has no normalisation layers; got norm={norm!r}")
        return BEGANDiscriminator(sample_shape, width, hidden, repeats, init_std)
    raise LcwbenchError(f"unknown discriminator kind {kind!r}; valid: dcgan, wgan_gp, began")

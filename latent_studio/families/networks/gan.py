"""Generators and encoders for the latent-variable families (DCGAN and its relatives, VAE).

One generator maps a flat input vector to an image; one encoder maps an image to named heads.
Discriminators, critics, auxiliary classifiers and VAE encoders are all encoders with different
heads, so every family builds from these four classes.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

SIZES = {28: 7, 32: 4, 64: 4, 128: 4}  # image size -> resolution of the first feature map


def _stages(image_size: int) -> tuple[int, int]:
    """(start resolution, number of x2 stages): 28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4)."""
    if image_size not in SIZES:
        raise ValueError(f"image size {image_size} is not supported; choose one of {sorted(SIZES)}")
    start = SIZES[image_size]
    return start, int(math.log2(image_size // start))


def norm_2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # normalizes each sample on its own: what WGAN-GP's penalty needs
        return nn.GroupNorm(1, channels)
    if kind in ("none", "spectral"):  # spectral: the layers' weights are normalized instead (conv_encoder)
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; use batch, layer, spectral or none")


def norm_1d(kind: str, features: int) -> nn.Module:
    return {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}.get(kind, lambda _: nn.Identity())(features)


def upsample_2x(c_in: int, c_out: int, how: str, bias: bool = False) -> list[nn.Module]:
    """Double the resolution. transposed: DCGAN's stride-2 4x4 transposed conv, whose kernel overlaps
    unevenly and paints a checkerboard unless training removes it; resize: nearest-neighbour x2, then a
    3x3 conv, which overlaps evenly and cannot (Odena et al. 2016)."""
    if how == "transposed":
        return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)]
    if how == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias)]
    raise ValueError(f"unknown upsample {how!r}; use transposed or resize")


class ConvGenerator(nn.Module):
    """DCGAN generator: project to a small feature map, then x2 upsampling convs (upsample_2x) to tanh."""

    def __init__(self, input_dim: int, channels: int, image_size: int, width: int = 64, norm: str = "batch", hidden: int = 0,
                 upsample: str = "transposed"):
        super().__init__()
        start, n_up = _stages(image_size)
        top = width * 2 ** (n_up - 1)
        self.shape = (top, start, start)
        # InfoGAN's generator puts a fully connected layer (1024) before the projection.
        fc = [nn.Linear(input_dim, hidden, bias=False), norm_1d(norm, hidden), nn.ReLU(True)] if hidden else []
        self.project = nn.Sequential(
            *fc, nn.Linear(hidden or input_dim, top * start * start, bias=False), norm_1d(norm, top * start * start), nn.ReLU(True)
        )
        layers: list[nn.Module] = []
        c = top
        for _ in range(n_up - 1):
            layers += [*upsample_2x(c, c // 2, upsample), norm_2d(norm, c // 2), nn.ReLU(True)]
            c //= 2
        layers += [*upsample_2x(c, channels, upsample, bias=True), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # [B, input_dim] -> [B, C, H, W] in [-1, 1]
        return self.net(self.project(z).view(-1, *self.shape))


class MLPGenerator(nn.Module):
    """Fully connected generator; the seed experiments use tiny ones to show failure modes."""

    def __init__(self, input_dim: int, channels: int, image_size: int, hidden: list[int] = (), norm: str = "none"):
        super().__init__()
        self.shape = (channels, image_size, image_size)
        layers: list[nn.Module] = []
        d = input_dim
        for h in hidden:
            layers += [nn.Linear(d, h), norm_1d(norm, h), nn.LeakyReLU(0.2, True)]
            d = h
        layers += [nn.Linear(d, channels * image_size * image_size), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.shape)


class Encoder(nn.Module):
    """A trunk that turns an image (plus an optional one-hot condition) into features, then named
    linear heads. forward returns {"features": [B, F], head: [B, size] (or [B] when size is 1)}."""

    def __init__(self, trunk: nn.Module, features: int, heads: dict[str, int], cond_dim: int = 0, spectral: bool = False):
        super().__init__()
        self.trunk = trunk
        self.cond_dim = cond_dim
        self.features = features
        wrap = spectral_norm if spectral else (lambda layer: layer)
        self.heads = nn.ModuleDict({name: wrap(nn.Linear(features, size)) for name, size in heads.items()})

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if self.cond_dim:  # CGAN: the label enters D as constant one-hot planes beside the pixels
            planes = cond[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            x = torch.cat([x, planes.to(x)], dim=1)
        h = self.trunk(x)
        out = {"features": h}
        for name, head in self.heads.items():
            y = head(h)
            out[name] = y.squeeze(1) if head.out_features == 1 else y
        return out


def conv_encoder(
    channels: int, image_size: int, heads: dict[str, int], width: int = 64, norm: str = "batch",
    hidden: int = 0, cond_dim: int = 0,
) -> Encoder:
    """DCGAN discriminator trunk: stride-2 convs (no norm on the first), optional FC feature layer.
    norm="spectral" divides every layer's weight, heads included, by its largest singular value
    (Miyato et al. 2018) instead of normalizing activations: D is 1-Lipschitz layer by layer."""
    start, n_down = _stages(image_size)
    spectral = norm == "spectral"
    wrap = spectral_norm if spectral else (lambda layer: layer)
    layers: list[nn.Module] = [wrap(nn.Conv2d(channels + cond_dim, width, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
    c = width
    for _ in range(n_down - 1):
        layers += [wrap(nn.Conv2d(c, c * 2, 4, 2, 1, bias=spectral)), norm_2d(norm, c * 2), nn.LeakyReLU(0.2, True)]
        c *= 2
    layers.append(nn.Flatten())
    features = c * start * start
    if hidden:
        layers += [wrap(nn.Linear(features, hidden)), norm_1d(norm, hidden), nn.LeakyReLU(0.2, True)]
        features = hidden
    return Encoder(nn.Sequential(*layers), features, heads, cond_dim, spectral)


def mlp_encoder(
    channels: int, image_size: int, heads: dict[str, int], hidden: list[int] = (512, 256), norm: str = "none",
    cond_dim: int = 0,
) -> Encoder:
    layers: list[nn.Module] = [nn.Flatten()]
    d = (channels + cond_dim) * image_size * image_size
    for h in hidden:
        layers += [nn.Linear(d, h), norm_1d(norm, h), nn.LeakyReLU(0.2, True)]
        d = h
    return Encoder(nn.Sequential(*layers), d, heads, cond_dim)


def make_generator(spec: dict, input_dim: int, channels: int, image_size: int) -> nn.Module:
    spec = dict(spec)
    kind = spec.pop("kind", "conv")
    if kind == "conv":
        return ConvGenerator(input_dim, channels, image_size, **spec)
    if kind == "mlp":
        return MLPGenerator(input_dim, channels, image_size, **spec)
    raise ValueError(f"unknown generator kind {kind!r}; use conv or mlp")


def make_encoder(spec: dict, channels: int, image_size: int, heads: dict[str, int], cond_dim: int = 0) -> Encoder:
    spec = dict(spec)
    kind = spec.pop("kind", "conv")
    if kind == "conv":
        return conv_encoder(channels, image_size, heads, cond_dim=cond_dim, **spec)
    if kind == "mlp":
        return mlp_encoder(channels, image_size, heads, cond_dim=cond_dim, **spec)
    raise ValueError(f"unknown encoder kind {kind!r}; use conv or mlp")


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights (DCGAN paper); norm scales N(1, 0.02), biases zero.

    Encoder heads start at zero instead: with thousands of features, N(0, 0.02) weights give
    logits of standard deviation ~1, while zero heads let D start undecided (every BCE term at
    ln 2) and learn its first step from the features alone. Spectrally normalized layers keep
    PyTorch's init: their scale is set by the normalization, and a zero weight has no spectrum.
    """
    for m in module.modules():
        if parametrize.is_parametrized(m):
            continue
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, Encoder):
            for head in m.heads.values():
                if parametrize.is_parametrized(head):
                    continue
                nn.init.zeros_(head.weight)
                nn.init.zeros_(head.bias)

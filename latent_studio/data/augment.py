"""Differentiable augmentation for the discriminator (Zhao et al. 2020, "DiffAugment").

On a few thousand images D memorises the training set and stops teaching G. Showing D every image,
real and fake alike, through the same random colour change, shift and cutout stops that without
letting the augmentation leak into G's outputs: the transforms are differentiable, so G's gradient
passes through them, and G is rewarded only for images whose augmented versions look real.
Every transform draws its own parameters per sample from torch's global generator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def diff_augment(x: torch.Tensor, policy: list[str] | tuple[str, ...]) -> torch.Tensor:
    """`x` [B, C, H, W] in [-1, 1] through each transform named in `policy`, in order."""
    for name in policy:
        x = _TRANSFORMS[name](x)
    return x


def _per_sample(x: torch.Tensor) -> torch.Tensor:
    return torch.rand(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor) -> torch.Tensor:
    """Brightness +-0.5, saturation x0..2 around each pixel's gray, contrast x0.5..1.5 around the image mean."""
    x = x + (_per_sample(x) - 0.5)
    gray = x.mean(dim=1, keepdim=True)
    x = (x - gray) * (_per_sample(x) * 2) + gray
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_per_sample(x) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size in each direction, filling with zeros (mid-gray)."""
    b, _, h, w = x.shape
    sy, sx = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sy, sy + 1, (b, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (b, 1), device=x.device)
    rows = (torch.arange(h, device=x.device)[None] + dy + sy).clamp(0, h + 2 * sy - 1)  # in padded coordinates
    cols = (torch.arange(w, device=x.device)[None] + dx + sx).clamp(0, w + 2 * sx - 1)
    padded = F.pad(x, [sx, sx, sy, sy]).permute(0, 2, 3, 1)  # [B, H', W', C]
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of `ratio` times the image's size per image, at a random place (may overhang)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    y0 = torch.randint(-(ch // 2), h - ch // 2 + 1, (b, 1), device=x.device)
    x0 = torch.randint(-(cw // 2), w - cw // 2 + 1, (b, 1), device=x.device)
    ys, xs = torch.arange(h, device=x.device)[None], torch.arange(w, device=x.device)[None]
    in_y, in_x = (ys >= y0) & (ys < y0 + ch), (xs >= x0) & (xs < x0 + cw)
    keep = ~(in_y[:, :, None] & in_x[:, None, :])
    return x * keep[:, None].to(x.dtype)


_TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}

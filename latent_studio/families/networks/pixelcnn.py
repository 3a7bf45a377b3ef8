"""PixelCNN (van den Oord et al. 2016): an image as a product of per-pixel conditionals.

p(x) = prod_i p(x_i | x_1 .. x_{i-1}) in raster order (left to right, top to bottom). Masked
convolutions give every output pixel a view of only the pixels before it: type A (the first layer)
hides the centre pixel too, so the network never sees the value it predicts; type B (every later
layer) may see the centre, which by then holds only information from earlier pixels. One forward
pass scores all pixels of a real image at once (training and the likelihood are fast); sampling
draws one pixel per pass.

Here each pixel is binary (binarized MNIST) and the network gives one Bernoulli logit per pixel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskedConv2d(nn.Conv2d):
    """A same-size convolution that sees only the rows above and, in its own row, the pixels to the
    left: type "A" without the centre pixel, type "B" with it."""

    def __init__(self, mask_type: str, c_in: int, c_out: int, kernel_size: int):
        if mask_type not in ("A", "B"):
            raise ValueError(f"unknown mask type {mask_type!r}; use A or B")
        super().__init__(c_in, c_out, kernel_size, padding=kernel_size // 2)
        mask = torch.ones(kernel_size, kernel_size)
        c = kernel_size // 2
        mask[c, c + (mask_type == "B"):] = 0  # the centre (type A) and everything right of it
        mask[c + 1:] = 0  # every row below
        self.register_buffer("mask", mask, persistent=False)  # rebuilt from the config, never stored

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class ResidualBlock(nn.Module):
    """1x1 down to half the width, a masked 3x3 (type B), 1x1 back up; added to the input (the GAN
    book's PixelCNN block)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width // 2, 1), nn.ReLU(),
            MaskedConv2d("B", width // 2, width // 2, 3), nn.ReLU(),
            nn.Conv2d(width // 2, width, 1), nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class PixelCNN(nn.Module):
    """Binary image in {0, 1} [N, 1, H, W] -> one logit per pixel for p(x_i = 1 | pixels before i).

    A 7x7 type A convolution, `blocks` residual blocks, two 1x1 type B layers and a 1x1 output
    (with width 128 and 5 blocks, the book's network). Each output row sees `reach` rows above it,
    which is what lets sampling run on a strip of rows instead of the whole image."""

    def __init__(self, width: int = 64, blocks: int = 5, kernel_size: int = 7):
        super().__init__()
        layers: list[nn.Module] = [MaskedConv2d("A", 1, width, kernel_size), nn.ReLU()]
        layers += [ResidualBlock(width) for _ in range(blocks)]
        layers += [MaskedConv2d("B", width, width, 1), nn.ReLU(), MaskedConv2d("B", width, width, 1), nn.ReLU(), nn.Conv2d(width, 1, 1)]
        self.net = nn.Sequential(*layers)
        self.reach = kernel_size // 2 + blocks  # rows above that reach an output row

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)  # {0, 1} -> {-1, 1}: zero-centred input


def nll_bits(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of binary images under the logits, in bits per pixel, one per image."""
    nats = F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="none")
    return nats.flatten(1).mean(1) / torch.log(torch.tensor(2.0))


@torch.no_grad()
def sample(net: PixelCNN, canvas: torch.Tensor, known: torch.Tensor, generator: torch.Generator | None = None,
           on_row=None) -> torch.Tensor:
    """Fill the unknown pixels of `canvas` [N, 1, H, W] ({0, 1}; `known` a bool mask of the same
    shape, True where a pixel is given) one at a time in raster order, each drawn from the network's
    Bernoulli given every pixel before it. Known pixels are kept. A pass runs only on the rows that
    reach the current row (net.reach above it), so a 28 px digit costs about a third of full passes.
    `on_row(row, canvas)` is called after each row is complete (to show the image filling in)."""
    x = canvas.clone().float()
    known = known.expand_as(x)
    h, w = x.shape[-2:]
    for row in range(h):
        if known[..., row, :].all():
            if on_row:
                on_row(row, x)
            continue
        top = max(0, row - net.reach)
        for col in range(w):
            if known[..., row, col].all():
                continue
            logits = net(x[..., top:row + 1, :])[..., row - top, col]
            u = torch.rand(logits.shape, generator=generator, device=logits.device)
            drawn = (u < torch.sigmoid(logits.float())).to(x.dtype)
            x[..., row, col] = torch.where(known[..., row, col], x[..., row, col], drawn)
        if on_row:
            on_row(row, x)
    return x

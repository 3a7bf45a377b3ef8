"""PixelCNN on binarized digits: an explicit likelihood model beside the GANs (latent_studio/families/networks/pixelcnn.py).

No latent and no adversary: one network trained by maximum likelihood, measured by its test
negative log-likelihood in bits per pixel, and sampled one pixel at a time. The explorer's Pixel
by pixel tab draws its digits filling in and completes a digit from its top half.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from latent_studio.families.base import AUTOREGRESSIVE, Family, StepContext, register
from latent_studio.families.img2img import apply_lr_decay
from latent_studio.families.networks.pixelcnn import PixelCNN as Network
from latent_studio.families.networks.pixelcnn import nll_bits, sample
from latent_studio.runs.config import DataSpec


def binarize(images: torch.Tensor) -> torch.Tensor:
    """Dataset images in [-1, 1] -> {0, 1}: a pixel is on when it is brighter than mid-gray (the
    fixed binarization, so the test likelihood is of one definite set of images)."""
    return (images > 0).float()


@register
class PixelCNNFamily(Family):
    name = "pixelcnn"
    kind = AUTOREGRESSIVE
    example_dataset = "mnist"
    optimizer_modules = {"g": ("generator",)}
    monitored: ClassVar[bool] = False  # its render is pixel-by-pixel sampling: too slow for every log row

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        if data.channels != 1:
            raise ValueError(f"pixelcnn models binary one-channel images (binarized digits); {data.dataset!r} has {data.channels} channels")
        return {
            "arch": {"generator": {"kind": "pixelcnn", "width": 32, "blocks": 5, "kernel_size": 7}},
            "train": {"optimizer": "adam", "lr_g": 1e-3, "betas": [0.9, 0.999], "batch_size": 64, "grid_size": 32, "lr_decay_start": 0.7},
        }

    def build(self) -> nn.ModuleDict:
        a = self.cfg.arch["generator"]
        return nn.ModuleDict({"generator": Network(int(a.get("width", 32)), int(a.get("blocks", 5)), int(a.get("kernel_size", 7)))})

    def train_step(self, m: nn.ModuleDict, ctx: StepContext) -> dict[str, torch.Tensor]:
        t = self.cfg.train
        factor = apply_lr_decay(ctx, t.lr_g, t.lr_d, t.steps, t.lr_decay_start)
        real, _ = ctx.next_batch()
        x = binarize(real)
        with ctx.autocast():
            logits = m["generator"](x)
        bits = nll_bits(logits, x).mean()
        ctx.update("g", bits)
        return {"loss": bits.detach(), "bits_per_dim": bits.detach(), "lr_factor": torch.tensor(factor)}

    def fixed_inputs(self, dataset, n: int, device: torch.device) -> torch.Tensor:
        """n test-like digits spread over the dataset: the grid's second half completes their top halves."""
        idx = torch.linspace(0, len(dataset) - 1, max(n // 2, 1)).long().tolist()
        return binarize(torch.stack([dataset[i][0] for i in idx])).to(device)

    def draw(self, m: nn.ModuleDict, n: int, generator: torch.Generator | None = None, batch_size: int = 250) -> torch.Tensor:
        """n digits drawn from nothing, in [-1, 1] (in batches: one pass per pixel for each)."""
        size, device = self.cfg.data.image_size, next(m["generator"].parameters()).device
        out = []
        for start in range(0, n, batch_size):
            blank = torch.zeros(min(batch_size, n - start), 1, size, size, device=device)
            out.append(sample(m["generator"], blank, blank.bool(), generator))
        return torch.cat(out) * 2 - 1

    def as_model_sees(self, images: torch.Tensor) -> torch.Tensor:
        """Dataset images in [-1, 1] as the model knows them: binarized, back in [-1, 1]."""
        return binarize(images) * 2 - 1

    def generator_example(self, n: int = 2) -> torch.Tensor:
        d = self.cfg.data
        return (torch.rand(n, 1, d.image_size, d.image_size) > 0.5).float()

    def render(self, m: nn.ModuleDict, fixed: torch.Tensor) -> torch.Tensor:
        """The sample grid: as many digits drawn from nothing as there are fixed digits, then each
        fixed digit's top half completed (same seed at every snapshot), in [-1, 1]."""
        g = torch.Generator(device=fixed.device).manual_seed(self.cfg.seed)
        net = m["generator"]
        fresh = self.draw(m, len(fixed), g)
        return torch.cat([fresh, sample(net, fixed, top_half(fixed), g) * 2 - 1])

    def evaluate(self, m: nn.ModuleDict, test_batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """Test negative log-likelihood of the binarized test digits, in bits per pixel (and per image in nats)."""
        total, n = 0.0, 0
        for images, _ in test_batches:
            x = binarize(images)
            total += float(nll_bits(m["generator"](x), x).sum())
            n += len(x)
        if not n:
            return {}
        bits = total / n
        pixels = self.cfg.data.image_size ** 2
        return {"test_nll_bits_per_dim": round(bits, 4), "test_nll_nats": round(bits * pixels * 0.6931472, 2), "test_images": n}


def top_half(images: torch.Tensor) -> torch.Tensor:
    """The mask of the rows a completion keeps: the top half of each image."""
    known = torch.zeros_like(images, dtype=torch.bool)
    known[..., : images.shape[-2] // 2, :] = True
    return known


def largest_stroke_share(images: torch.Tensor) -> torch.Tensor:
    """Per binarized image [N, 1, H, W] in {-1, 1}: the share of its ink in its largest
    8-connected stroke. A digit is nearly one stroke (MNIST's test digits: 0.99 on average);
    pixels drawn independently are scattered dots (about 0.45). What a digit judge cannot tell:
    a classifier is confidently wrong on noise as often as not."""
    ink = (images > 0).float()
    n, _, h, w = ink.shape
    ids = torch.arange(1, h * w + 1, dtype=torch.float32).view(1, 1, h, w).expand(n, 1, h, w) * ink
    while True:  # each ink pixel takes its neighbourhood's largest id until every stroke has one
        spread = F.max_pool2d(ids, 3, 1, 1) * ink
        if torch.equal(spread, ids):
            break
        ids = spread
    shares = []
    for image in ids:
        labels = image[image > 0]
        shares.append(labels.unique(return_counts=True)[1].max().item() / len(labels) if len(labels) else 0.0)
    return torch.tensor(shares)

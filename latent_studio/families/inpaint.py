"""Context encoder (Pathak et al. 2016): fill an erased region of an image from what surrounds it.

The generator reads the image with the region blanked plus the mask as a fourth channel (so it
knows which zeros are holes, not black) and paints the whole frame; only the hole is kept. As in
the paper the loss is 0.999 of a reconstruction term (mean squared error over the hole's pixels)
and 0.001 of an adversarial one: L2 alone paints the blurry average of every plausible fill, and
the discriminator, which sees the composited image, pushes towards one sharp plausible fill. The
paper's encoder-decoder squeezes the context through a fully connected bottleneck; a U-Net
(pix2pix's generator) carries the context around the hole across at full resolution instead and
its bottleneck sees the whole 64 px frame, which suits faces whose halves mirror each other.

Training masks are random: half are squares (a quarter to a half of the side, anywhere), half
free-form brush strokes like the ones a user paints in the app, so both are in distribution.
Evaluation uses the same kinds of masks drawn from a fixed seed on the held-out split and
compares against a blur fill (the hole diffused inward from its border), the baseline any learned
fill has to beat: PSNR over the hole's pixels, and how often a small real-vs-filled judge is
fooled (latent_studio/evaluation/colorize_eval.py's fool rate) by each.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from latent_studio.data.datasets import random_flip
from latent_studio.families.base import StepContext, register
from latent_studio.families.img2img import INPAINT, Img2ImgFamily, Serving, apply_lr_decay, fixed_images, make_discriminator, make_generator
from latent_studio.families.losses import adversarial, confidence
from latent_studio.families.networks.gan import dcgan_init
from latent_studio.runs.config import DataSpec

REC_WEIGHT, ADV_WEIGHT = 0.999, 0.001  # the paper's joint loss
BLUR_FILL_STEPS = 200  # diffusion steps of the baseline fill: enough to reach the middle of a 32 px hole at 64 px


def square_masks(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """[n, 1, size, size] in {0, 1}: one square hole each, a quarter to a half of the side, anywhere."""
    masks = torch.zeros(n, 1, size, size)
    sides = torch.randint(size // 4, size // 2 + 1, (n,), generator=generator)
    for mask, side in zip(masks, sides.tolist()):
        top, left = torch.randint(0, size - side + 1, (2,), generator=generator).tolist()
        mask[:, top:top + side, left:left + side] = 1
    return masks


def stroke_masks(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """[n, 1, size, size] in {0, 1}: two to four brush strokes each (random walks of round dabs,
    3 to 8 % of the side in radius), the kind of mask a user paints over what should go."""
    yy, xx = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    masks = torch.zeros(n, 1, size, size)
    for mask in masks:
        dabs, radii = [], []  # every dab's centre and radius, drawn at once below
        for _ in range(int(torch.randint(2, 5, (), generator=generator))):
            radius = size * (0.03 + 0.05 * float(torch.rand((), generator=generator))) + 1
            point = torch.rand(2, generator=generator) * size
            angle = float(torch.rand((), generator=generator)) * 2 * math.pi
            for _ in range(int(torch.randint(4, 10, (), generator=generator))):
                angle += float(torch.randn((), generator=generator)) * 0.6
                step = radius * (1.5 + float(torch.rand((), generator=generator)) * 2)
                nxt = (point + step * torch.tensor([math.cos(angle), math.sin(angle)])).clamp(0, size - 1)
                dabs.append(point + torch.linspace(0, 1, 6)[:, None] * (nxt - point))
                radii += [radius] * 6
                point = nxt
        centres, r = torch.cat(dabs), torch.tensor(radii)
        dist2 = (yy - centres[:, 0, None, None]) ** 2 + (xx - centres[:, 1, None, None]) ** 2
        mask[0] = (dist2 <= r[:, None, None] ** 2).any(0).float()
    return masks


def random_masks(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """Squares for the even-numbered images, strokes for the odd: [n, 1, size, size] in {0, 1}."""
    masks = torch.empty(n, 1, size, size)
    masks[0::2] = square_masks(len(masks[0::2]), size, generator)
    masks[1::2] = stroke_masks(len(masks[1::2]), size, generator)
    return masks


def generator_input(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """What the generator reads: the images ([-1, 1]) with the holes set to 0, and the mask."""
    return torch.cat([images * (1 - masks), masks], dim=1)


def composite(images: torch.Tensor, fill: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The images with only their holes replaced by the fill."""
    return images * (1 - masks) + fill * masks


def blur_fill(images: torch.Tensor, masks: torch.Tensor, steps: int = BLUR_FILL_STEPS) -> torch.Tensor:
    """The baseline: each hole filled by repeated 3x3 averaging with the known pixels held fixed
    (heat diffusion inward from the hole's border), a smooth guess with no detail."""
    known = 1 - masks
    mean = (images * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True).clamp(min=1)
    x = composite(images, mean.expand_as(images), masks)
    for _ in range(steps):
        x = composite(images, F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1), masks)
    return x


def hole_psnr(output: torch.Tensor, target: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """PSNR per image over the hole's pixels only, images in [0, 1]."""
    err = ((output - target) ** 2 * masks).sum((1, 2, 3)) / (masks.sum((1, 2, 3)) * output.shape[1]).clamp(min=1)
    return 10 * torch.log10(1 / err.clamp(min=1e-10))


@register
class ContextEncoder(Img2ImgFamily):
    name = "context_encoder"
    example_dataset = "celeba"
    directions = ("fill",)
    translates = False  # the Inpaint tab serves it
    exported = ("generator",)
    eval_seed = 0  # the evaluation's masks

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        c = data.channels
        return {
            "arch": {
                # depth 5: a 2x2 bottleneck at 64 px, whose units see the whole frame
                "generator": {"kind": "unet", "in_channels": c + 1, "out_channels": c, "depth": 5, "width": 32, "max_width": 256,
                              "dropout": 0.0, "norm": "batch"},
                "discriminator": {"kind": "patch", "width": 32, "n_layers": 3, "norm": "batch"},
            },
            "train": {"optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "batch_size": 32, "adversarial": "bce",
                      "lr_decay_start": 0.5, "adv_start": 0.0},
        }

    def build(self) -> nn.ModuleDict:
        a, c = self.cfg.arch, self.cfg.data.channels
        g = a["generator"]
        if (g["in_channels"], g["out_channels"]) != (c + 1, c):
            raise ValueError(f"arch.generator must map {c + 1} channels (the image and its mask) to {c}, not "
                             f"{g['in_channels']} -> {g['out_channels']}")
        m = nn.ModuleDict({"generator": make_generator(g), "discriminator": make_discriminator({**a["discriminator"], "in_channels": c})})
        dcgan_init(m)
        return m

    def serving(self) -> Serving:
        """One route; the generator reads the photo's channels and the mask's."""
        return self.served_as(INPAINT, {"fill": ("generator", None)})

    def generator_example(self, n: int = 2) -> torch.Tensor:
        size = self.cfg.data.image_size
        masks = square_masks(n, size, torch.Generator().manual_seed(0))
        return generator_input(self.image(n, self.cfg.data.channels), masks)

    def example_batch(self, n: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        return self.image(n, self.cfg.data.channels, device), torch.zeros(n, dtype=torch.long, device=device)

    def fill(self, m: nn.ModuleDict, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """The images with their holes filled by the generator, in [-1, 1]."""
        return composite(images, m["generator"](generator_input(images, masks)).float().clamp(-1, 1), masks)

    def train_step(self, m: nn.ModuleDict, ctx: StepContext) -> dict[str, torch.Tensor]:
        t = self.cfg.train
        G, D = m["generator"], m["discriminator"]
        images = random_flip(ctx.next_batch()[0])
        masks = random_masks(len(images), images.shape[-1], torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + ctx.step))
        masks = masks.to(images.device)
        factor = apply_lr_decay(ctx, t.lr_g, t.lr_d, t.steps, t.lr_decay_start)
        hole = masks.sum().clamp(min=1) * images.shape[1]
        if ctx.step < t.adv_start * t.steps:  # reconstruction alone first, when asked
            with ctx.autocast():
                rec = ((G(generator_input(images, masks)).float() - images) ** 2 * masks).sum() / hole
            ctx.update("g", rec)
            return {"g_loss": rec.detach(), "g_rec": rec.detach(), "lr_factor": torch.tensor(factor)}
        with ctx.autocast():
            out = G(generator_input(images, masks)).float()
            filled = composite(images, out, masks)
            d_real, d_fake = D(images), D(filled.detach())
            d_loss = 0.5 * (adversarial(d_real, True, t.adversarial) + adversarial(d_fake, False, t.adversarial))
        ctx.update("d", d_loss)
        with ctx.frozen("d"), ctx.autocast():
            rec = ((out - images) ** 2 * masks).sum() / hole
            g_adv = adversarial(D(filled), True, t.adversarial)
            g_loss = REC_WEIGHT * rec + ADV_WEIGHT * g_adv
        ctx.update("g", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "g_rec": rec.detach(), "g_adv": g_adv.detach(),
                "d_real": confidence(d_real, t.adversarial).detach(), "d_fake": confidence(d_fake, t.adversarial).detach(),
                "lr_factor": torch.tensor(factor)}

    def fixed_inputs(self, dataset, n: int, device: torch.device) -> torch.Tensor:
        return fixed_images(dataset, n, device)

    def render(self, m: nn.ModuleDict, fixed: torch.Tensor) -> torch.Tensor:
        """Three rows: the holes (gray) | filled | the true images."""
        masks = random_masks(len(fixed), fixed.shape[-1], torch.Generator().manual_seed(self.eval_seed)).to(fixed.device)
        return torch.cat([composite(fixed, torch.zeros_like(fixed), masks), self.fill(m, fixed, masks), fixed])

    def evaluate(self, m: nn.ModuleDict, test_batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """On held-out images with seeded masks (squares and strokes alternating): PSNR over the
        hole of the model's fill and of the blur fill."""
        g = torch.Generator().manual_seed(self.eval_seed)
        sums = {"test_hole_psnr": 0.0, "blur_hole_psnr": 0.0}
        n = 0
        for images, _ in test_batches:
            masks = random_masks(len(images), images.shape[-1], g).to(images.device)
            true = (images + 1) / 2
            for key, out in (("test_hole_psnr", self.fill(m, images, masks)), ("blur_hole_psnr", blur_fill(images, masks))):
                sums[key] += float(hole_psnr((out + 1) / 2, true, masks).sum())
            n += len(images)
        return {**{k: round(v / n, 3) for k, v in sums.items()}, "test_images": n} if n else {}

"""SRGAN (Ledig et al. 2017), small: x4 super-resolution of photos.

Pairs are made on the fly: each training photo (a random crop) is the high-resolution target and
its antialiased bicubic x1/4 the input, as the paper does. The generator (UpscaleGenerator) learns
what bicubic upsampling misses. Its loss is a content loss plus 1e-3 of the adversarial one, as
in the paper; the paper's content loss compares VGG features, and no pretrained network exists
here, so the content loss is L1 on the pixels plus L1 between the discriminator's own features of
the output and of the true photo (feature matching, Salimans et al. 2016; pix2pixHD): features
that training on these photos taught to tell real texture from a blur. With train.adv_start (a
share of the steps) training starts with the pixel loss alone, the paper's SRResNet start, so D
meets outputs that are already close.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from latent_studio.data.datasets import random_crop_flip
from latent_studio.data.image_quality import psnr, ssim
from latent_studio.families.base import StepContext, register
from latent_studio.families.img2img import (
    UPSCALE,
    Img2ImgFamily,
    Serving,
    apply_lr_decay,
    fixed_images,
    make_discriminator,
    make_generator,
    size_multiple,
)
from latent_studio.families.losses import adversarial, confidence
from latent_studio.runs.config import DataSpec


def downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The low-resolution input for a photo: antialiased bicubic, as the benchmarks make theirs."""
    return F.interpolate(hr, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)


def bicubic(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The baseline every upscaler must beat."""
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(-1, 1)


def sharpness(images: torch.Tensor) -> torch.Tensor:
    """Mean gradient magnitude of the luma, per image: blur lowers it, detail raises it."""
    y = (images * torch.tensor([0.299, 0.587, 0.114], device=images.device).view(1, 3, 1, 1)).sum(1)
    gx, gy = y[:, :, 1:] - y[:, :, :-1], y[:, 1:] - y[:, :-1]
    return (gx[:, :-1].pow(2) + gy[:, :, :-1].pow(2)).sqrt().flatten(1).mean(1)


def _features(d: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """D's activations after each LeakyReLU (its features) and its logits."""
    feats = []
    for layer in d.net:
        x = layer(x)
        if isinstance(layer, nn.LeakyReLU):
            feats.append(x)
    return feats, x


@register
class SRGAN(Img2ImgFamily):
    name = "srgan"
    example_dataset = "photos"
    directions = ("x4",)
    translates = False  # the Upscale tab serves it
    exported = ("generator",)

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        c = data.channels
        return {
            "arch": {
                "generator": {"kind": "upscale", "in_channels": c, "out_channels": c, "width": 32, "n_blocks": 8, "scale": 4},
                "discriminator": {"kind": "patch", "width": 32, "n_layers": 3, "norm": "batch"},
            },
            "train": {"optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.9, 0.999], "batch_size": 16, "adversarial": "bce",
                      "crop": 96, "adv_start": 0.0, "l1_weight": 1.0, "lr_decay_start": 0.5},
        }

    @property
    def scale(self) -> int:
        return int(self.cfg.arch["generator"].get("scale", 4))

    def build(self) -> nn.ModuleDict:
        a = self.cfg.arch
        return nn.ModuleDict({
            "generator": make_generator(a["generator"]),
            "discriminator": make_discriminator({**a["discriminator"], "in_channels": a["generator"]["out_channels"]}),
        })

    def serving(self) -> Serving:
        """Upscale x4; inputs are read at full size (tiled), so input_size is the side it trained on."""
        g = self.cfg.arch["generator"]
        side = (self.cfg.train.crop or self.cfg.data.image_size) // self.scale
        return Serving(UPSCALE, {"x4": ("generator", None)}, g["in_channels"], side, size_multiple(g), self.scale)

    def example_batch(self, n: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        return self.image(n, self.cfg.arch["generator"]["in_channels"], device), torch.zeros(n, dtype=torch.long, device=device)

    def train_step(self, m: nn.ModuleDict, ctx: StepContext) -> dict[str, torch.Tensor]:
        t = self.cfg.train
        G, D = m["generator"], m["discriminator"]
        hr, _ = ctx.next_batch()
        if t.crop and t.crop < hr.shape[-1]:
            hr = random_crop_flip(hr, t.crop)
        lr = downscale(hr, self.scale)
        factor = apply_lr_decay(ctx, t.lr_g, t.lr_d, t.steps, t.lr_decay_start)
        if ctx.step < t.adv_start * t.steps:  # the SRResNet start: pixels only
            with ctx.autocast():
                pixel = F.l1_loss(G(lr).float(), hr.float())
            ctx.update("g", t.l1_weight * pixel)
            return {"g_loss": (t.l1_weight * pixel).detach(), "g_pixel": pixel.detach(), "lr_factor": torch.tensor(factor)}
        with ctx.autocast():
            sr = G(lr)
            d_real, d_fake = D(hr), D(sr.detach())
            d_loss = 0.5 * (adversarial(d_real, True, t.adversarial) + adversarial(d_fake, False, t.adversarial))
        ctx.update("d", d_loss)
        with ctx.frozen("d"), ctx.autocast():
            real_feats, _ = _features(D, hr)
            fake_feats, logits = _features(D, sr)
            pixel = F.l1_loss(sr.float(), hr.float())
            matched = sum(F.l1_loss(f.float(), r.detach().float()) for f, r in zip(fake_feats, real_feats)) / len(real_feats)
            g_adv = adversarial(logits, True, t.adversarial)
            g_loss = t.l1_weight * (pixel + matched) + 1e-3 * g_adv
        ctx.update("g", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "g_pixel": pixel.detach(), "g_features": matched.detach(),
                "g_adv": g_adv.detach(), "d_real": confidence(d_real, t.adversarial).detach(),
                "d_fake": confidence(d_fake, t.adversarial).detach(), "lr_factor": torch.tensor(factor)}

    def fixed_inputs(self, dataset, n: int, device: torch.device) -> torch.Tensor:
        return fixed_images(dataset, n, device)

    def upscale(self, m: nn.ModuleDict, lr: torch.Tensor) -> torch.Tensor:
        return m["generator"](lr).clamp(-1, 1)

    def render(self, m: nn.ModuleDict, fixed: torch.Tensor) -> torch.Tensor:
        """Three rows: bicubic | the generator | the true photo."""
        lr = downscale(fixed, self.scale)
        return torch.cat([bicubic(lr, self.scale), self.upscale(m, lr), fixed])

    def evaluate(self, m: nn.ModuleDict, test_batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """On the held-out photos, each made x1/4 and brought back: PSNR and SSIM of the generator
        and of bicubic against the true photo, and sharpness (mean luma gradient) of each as a
        share of the true photo's."""
        sums: dict[str, float] = {}
        n = 0
        for hr, _ in test_batches:
            lr = downscale(hr, self.scale)
            true = (hr + 1) / 2
            for name, out in (("test", (self.upscale(m, lr) + 1) / 2), ("bicubic", (bicubic(lr, self.scale) + 1) / 2)):
                for k, v in ((f"{name}_psnr", psnr(out, true)), (f"{name}_ssim", ssim(out, true)), (f"{name}_sharpness", sharpness(out))):
                    sums[k] = sums.get(k, 0.0) + float(v.sum())
            sums["real_sharpness"] = sums.get("real_sharpness", 0.0) + float(sharpness(true).sum())
            n += len(hr)
        if not n:
            return {}
        out = {k: round(v / n, 4) for k, v in sums.items()}
        for name in ("test", "bicubic"):
            out[f"{name}_sharpness_ratio"] = round(out.pop(f"{name}_sharpness") / max(out["real_sharpness"], 1e-8), 4)
        out.pop("real_sharpness")
        return {**out, "test_images": n}

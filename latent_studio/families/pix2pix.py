"""pix2pix (Isola et al. 2017): a U-Net maps a source image to its target, judged by a PatchGAN
that sees the source beside the (real or generated) target, plus L1 to the true target.

The same family colorizes: on the `colorize` dataset the source is a photo's lightness and the
target its chroma, in the colour space DataSpec.color_space names (latent_studio/data/color.py). L1 alone
would settle on the average of the plausible colours, which is gray-brown; the conditional D
penalises exactly that washed-out look, so the adversarial term is what keeps colours vivid.

train.adv_start lets G learn on L1 alone for a first share of the steps (as if starting from a
pretrained generator). With little compute that matters: a D that joins from step one drags G
towards whatever hues it currently favours, and G never learns which colours are right.

A colorizer with arch.generator.classes > 0 also learns what each photo shows: the U-Net's global
branch (latent_studio/families/networks/img2img.py) is trained jointly to classify the photo from
its lightness (the corpus's labels, ColorPairs.targets; train.class_weight weighs that
cross-entropy), and the decoder reads the same global vector, so a whole object gets the colour
its kind has. Warm-started from a colorizer without the branch, it starts out equal to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from latent_studio.data import color, color_bins
from latent_studio.data.datasets import random_crop_flip
from latent_studio.data.image_quality import colorfulness, dominant_hue_agreement, hue_agreement, l1, psnr, ssim
from latent_studio.families.base import StepContext, register
from latent_studio.families.img2img import (
    COLORIZE,
    PAIRED,
    Img2ImgFamily,
    Serving,
    apply_lr_decay,
    fixed_batch,
    make_discriminator,
    make_generator,
    seen,
    unet_depth,
)
from latent_studio.families.losses import adversarial, confidence
from latent_studio.families.networks.gan import dcgan_init
from latent_studio.runs import files
from latent_studio.runs.config import DataSpec


def is_colorizer(data: DataSpec) -> bool:
    return data.dataset == "colorize"


def io_channels(data: DataSpec) -> tuple[int, int]:
    """(source, target) channels: lightness -> chroma for colorization, else the images' own."""
    return color.io_channels(data.color_space) if is_colorizer(data) else (data.channels, data.channels)


def unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], the scale the image metrics use."""
    return ((x.float() + 1) / 2).clamp(0, 1)


class Labelled(Dataset):
    """A paired dataset with each item's label as a third element: (source, target, label)."""

    def __init__(self, pairs: Dataset, labels: torch.Tensor):
        self.pairs, self.labels = pairs, labels

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int):
        return (*self.pairs[i], self.labels[i])


def class_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the labelled photos of a batch (label -1: unknown, left out); 0 when none is."""
    known = (labels >= 0).sum().clamp(min=1)
    return F.cross_entropy(logits.float(), labels, ignore_index=-1, reduction="sum") / known


def class_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Share of the labelled photos of a batch whose label is the top class."""
    known = labels >= 0
    return ((logits.argmax(1) == labels) & known).sum() / known.sum().clamp(min=1)


# The views arch.views averages (Pix2Pix.predict): moves of the source, in pixels at the model's size
# (even: a colour-bin colorizer's scores are at half resolution), each seen as it is and mirrored.
VIEW_SHIFTS = ((0, 0), (4, 4), (4, 0), (0, 4), (2, 2), (6, 2), (2, 6), (6, 6))
VIEW_COUNTS = (1, 2, 4, 8, 16)
MAX_VIEWS_GAIN = 2.0  # the most the views' agreed colours are strengthened (a photo they wash out stays pale)


def views(n: int) -> list[tuple[int, int, bool]]:
    """The first n views, as (right, down, mirrored): 2 is the source and its mirror, 16 every move in VIEW_SHIFTS both ways."""
    if n not in VIEW_COUNTS:
        raise ValueError(f"arch.views must be one of {', '.join(map(str, VIEW_COUNTS))}, not {n!r}")
    return [(dx, dy, flip) for dx, dy in VIEW_SHIFTS[:max(1, n // 2)] for flip in ((False, True) if n > 1 else (False,))]


@register
class Pix2Pix(Img2ImgFamily):
    name = "pix2pix"
    example_dataset = "paired"
    directions = ("AtoB", "BtoA")  # which half of a pair is the source (arch.direction)

    def __init__(self, cfg):
        super().__init__(cfg)
        self.bin_weights: torch.Tensor | None = None  # colour-bin rebalancing, from the training set (training_data)

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        c_in, c_out = io_channels(data)
        bins = is_colorizer(data) and data.color_space == "lab"  # colour as a distribution: latent_studio/data/color_bins.py
        return {
            "arch": {
                "generator": {"kind": "unet", "in_channels": c_in, "out_channels": color_bins.n_bins() if bins else c_out,
                              "depth": unet_depth(data.image_size), "width": 64, "max_width": 512, "dropout": 0.0 if bins else 0.5,
                              "norm": "batch", "output": "logits" if bins else "image"},
                "discriminator": {"kind": "patch", "width": 64, "n_layers": 3, "norm": "batch"},
                "direction": "AtoB",  # the source is the dataset's A (facades: A is the photo, so label -> photo is BtoA)
                "chroma": "bins" if bins else "regression",
                "temperature": color_bins.DEFAULT_TEMPERATURE,  # bins: the annealed mean's default (the app's vividness)
                "views": 1,  # see predict
            },
            # bins: the rebalanced cross-entropy alone (weight 1), as in Zhang et al.; D is an option (adv_start < 1)
            "train": {"optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "adversarial": "bce",
                      "l1_weight": 1.0 if bins else 100.0, "adv_start": 1.0 if bins else 0.0,
                      "lr_decay_start": 0.5, "batch_size": 16 if is_colorizer(data) else 1},
        }

    def build(self) -> nn.ModuleDict:
        arch, data = self.cfg.arch, self.cfg.data
        g = arch["generator"]
        if self.bins and not (is_colorizer(data) and data.color_space == "lab"):
            raise ValueError("arch.chroma = bins predicts a*b* bins: it needs the colorize dataset in the lab color space")
        needs = (io_channels(data)[0], color_bins.n_bins()) if self.bins else io_channels(data)
        if (g["in_channels"], g["out_channels"]) != needs:
            raise ValueError(
                f"arch.generator maps {g['in_channels']} -> {g['out_channels']} channels, but dataset {data.dataset!r} in color space "
                f"{data.color_space!r} needs {' -> '.join(map(str, needs))}: set arch.generator.in_channels and out_channels"
            )

        if arch.get("direction", "AtoB") not in self.directions:
            raise ValueError(f"unknown direction {arch['direction']!r}; use AtoB or BtoA")
        # D is conditioned on the source: both stacked on channels (bins: D sees the decoded a*b*)
        d_in = g["in_channels"] + (2 if self.bins else g["out_channels"])
        d = make_discriminator({**arch["discriminator"], "in_channels": d_in})
        m = nn.ModuleDict({"generator": make_generator(g), "discriminator": d})
        dcgan_init(m)
        if self.classes:  # the global branch joins silent: a warm start begins as the run it starts from
            m["generator"].silence_fusion()
        return m

    @property
    def bins(self) -> bool:
        return self.cfg.arch.get("chroma", "regression") == "bins"

    @property
    def target_channels(self) -> int:
        """Channels of the true target a batch holds (bins: the a*b* that the loss soft-encodes)."""
        return 2 if self.bins else self.cfg.arch["generator"]["out_channels"]

    def training_data(self, dataset, labels):
        """A colour-bin colorizer weighs its loss by the training photos' own colour prior."""
        if self.bins:
            g = torch.Generator().manual_seed(self.cfg.seed)
            picks = torch.randperm(len(dataset), generator=g)[:2000].tolist()
            ab = torch.stack([dataset[i][1] for i in picks])[:, :, ::4, ::4]  # a*b* / AB_SCALE, every 4th pixel
            self.bin_weights = color_bins.rebalancing_weights(ab.permute(0, 2, 3, 1).reshape(-1, 2) * color.AB_SCALE)
        if self.classes:
            if labels is None or not bool((labels >= 0).any()):
                raise ValueError("arch.generator.classes: the global branch learns from labelled photos; this training set has none")
            if int(labels.max()) >= self.classes:
                raise ValueError(f"arch.generator.classes is {self.classes}, but the training set has {int(labels.max()) + 1} labels")
            return Labelled(dataset, labels)
        return dataset

    @property
    def classes(self) -> int:
        """Labels the generator's global branch classifies photos into (0: it has none)."""
        return self.cfg.arch["generator"].get("classes", 0)

    def warm_start(self, modules: nn.ModuleDict, run: Path) -> None:
        """A generator with a global branch may start from the same U-Net without one: the shared
        weights are copied and the branch keeps its fresh ones, whose fusion starts at zero."""
        g, source = self.cfg.arch["generator"], files.read_config(run).arch["generator"]
        if not self.classes or source.get("classes", 0):
            return super().warm_start(modules, run)
        plain = {k: v for k, v in g.items() if k not in ("classes", "global_width")}
        if plain != source:
            raise ValueError(f"train.init_from: {run}'s generator {source} is not this one without its global branch ({plain})")
        start = make_generator(plain)
        files.load_weights(start, run / "generator.safetensors")
        missing, _ = modules["generator"].load_state_dict(start.state_dict(), strict=False)
        if left := [k for k in missing if not k.startswith(("context", "classifier", "fusion"))]:
            raise ValueError(f"train.init_from: {run} leaves generator weights unset: {left[:5]}")

    def chroma_loss(self, out: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """G's reconstruction term: rebalanced cross-entropy over colour bins, or L1 to the target."""
        if self.bins:
            weights = self.bin_weights if self.bin_weights is not None else torch.ones(color_bins.n_bins())
            return color_bins.loss(out, tgt, weights)
        return F.l1_loss(out.float(), tgt.float())

    def chroma(self, out: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """G's output as the target-side image D and the metrics see (bins: the annealed mean of the
        half-resolution scores, upsampled smoothly to the input's size)."""
        if self.bins:
            t = self.cfg.arch.get("temperature", color_bins.DEFAULT_TEMPERATURE) if temperature is None else temperature
            ab = color_bins.decode(out, t)
            return F.interpolate(ab, scale_factor=2, mode="bilinear", align_corners=False)
        return out

    def serving(self) -> Serving:
        """A colorizer on the Colorize tab (vividness: a colour-bin one's temperature), else a paired
        translator; either way one direction only, the one it was trained in, and no way back."""
        return self.served_as(COLORIZE if is_colorizer(self.cfg.data) else PAIRED,
                              {self.cfg.arch.get("direction", "AtoB"): ("generator", None)},
                              controls=("vividness",) if self.bins else ())

    def example_batch(self, n: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """(A, B) as the dataset gives them: the source has the generator's input channels."""
        src, tgt = self.image(n, self.cfg.arch["generator"]["in_channels"], device), self.image(n, self.target_channels, device)
        return self.source_target((src, tgt))  # the same swap, undone: BtoA's source is B

    def source_target(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = batch
        return (b, a) if self.cfg.arch.get("direction") == "BtoA" else (a, b)

    def train_step(self, m: nn.ModuleDict, ctx: StepContext) -> dict[str, torch.Tensor]:
        t = self.cfg.train
        G, D = m["generator"], m["discriminator"]
        batch = ctx.next_batch()
        src, tgt = self.source_target(batch[:2])
        labels = batch[2] if len(batch) > 2 else None  # what each photo shows (Labelled), for the global branch
        if t.crop:  # the same window and mirror for source and target
            src, tgt = random_crop_flip(torch.cat([src, tgt], 1), t.crop).split([src.size(1), tgt.size(1)], 1)
        factor = apply_lr_decay(ctx, t.lr_g, t.lr_d, t.steps, t.lr_decay_start)
        if ctx.step < t.adv_start * t.steps:  # warm-up: G learns plausible colours first, then D sharpens them
            with ctx.autocast():
                out, class_logits = G.forward_classes(src) if labels is not None else (G(src), None)
                g_l1 = self.chroma_loss(out, tgt)
                g_loss = t.l1_weight * g_l1
                logged = {"g_l1": g_l1.detach()}
                if class_logits is not None:
                    g_class = class_loss(class_logits, labels)
                    g_loss = g_loss + t.class_weight * g_class
                    logged.update(g_class=g_class.detach(), class_accuracy=class_accuracy(class_logits, labels))
                ctx.update("g", g_loss)
            return {"g_loss": g_loss.detach(), **logged, "lr_factor": torch.tensor(factor)}
        with ctx.autocast():
            out = G(src)
            fake = self.chroma(out)  # one forward: detached for D's step, kept whole for G's
            d_real, d_fake = D(torch.cat([src, tgt], 1)), D(torch.cat([src, fake.detach()], 1))
            # halved, as in the paper, so D learns at half G's pace
            d_loss = 0.5 * (adversarial(d_real, True, t.adversarial) + adversarial(d_fake, False, t.adversarial))
        ctx.update("d", d_loss)
        with ctx.frozen("d"), ctx.autocast():
            g_adv = adversarial(D(torch.cat([src, fake], 1)), True, t.adversarial)
            g_l1 = self.chroma_loss(out, tgt)
            g_loss = g_adv + t.l1_weight * g_l1
            ctx.update("g", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "g_adv": g_adv.detach(), "g_l1": g_l1.detach(),
                "d_real": confidence(d_real, t.adversarial).detach(), "d_fake": confidence(d_fake, t.adversarial).detach(),
                "lr_factor": torch.tensor(factor)}

    def fixed_inputs(self, dataset, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        return self.source_target(fixed_batch(dataset, n, device))

    def to_rgb(self, src: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """A source and a target-side image of the same size (the true target, or a translator's
        output) -> the target as an image in [-1, 1]: a colorizer's chroma under the source's own
        lightness, exactly (a model's answer to a source goes through `output`)."""
        if not is_colorizer(self.cfg.data):
            return out
        space = self.cfg.data.color_space
        return color.with_chroma(unit(color.as_gray_rgb(src, space)), color.chroma(out, space), space) * 2 - 1

    def output(self, m: nn.ModuleDict, src: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """The generator's answer for a source of any size, as an image in [-1, 1] at the source's
        size. A colorizer runs at its own size and its chroma goes under the source's lightness
        through the guided filter (color.ChromaGuide), exactly as the app colorizes an upload, so
        the samples and the test metrics show what users get."""
        prediction = self.predict(m, self.model_sized(src), temperature)
        if not is_colorizer(self.cfg.data):
            return prediction
        space = self.cfg.data.color_space
        chroma = color.guided_chroma(color.chroma(prediction, space), unit(src))  # src is the lightness, in [-1, 1]
        return color.with_chroma(unit(color.as_gray_rgb(src, space)), chroma, space) * 2 - 1

    def predict(self, m: nn.ModuleDict, src: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """The target-side output: for a colour-bin colorizer the annealed mean at `temperature`
        (lower: more vivid; None: arch.temperature).

        arch.views (1, 2, 4, 8 or 16) shows G the source also mirrored and moved by a few pixels
        (views) and averages its answers, each put back in place. G is not equivariant: a region it
        is unsure of gets a different colour in each view, a region it knows the same one. A
        colour-bin colorizer averages the log-probabilities, a product of experts in which a colour
        one view alone proposes gets little weight: on held-out everyday photos 8 views lifted the
        share of colourful pixels given the right hue from 59% to 68%. The agreed colours are paler,
        so each photo's are scaled to be as vivid, on average, as G's own answer for the photo as
        it is (the first view): the views choose the colours, G says how colourful the photo is.
        A regression colorizer averages the images (arch.flip_average of its older runs is 2 views)."""
        n = max(self.cfg.arch.get("views") or 1, 2 if self.cfg.arch.get("flip_average", False) else 1)
        first = total = None
        for out in seen(m["generator"], src, views(n)):
            out = F.log_softmax(out.float(), 1) if self.bins else out
            first, total = (out, out) if first is None else (first, total + out)
        out = self.chroma(total / n, temperature)
        if self.bins and n > 1:
            own = self.chroma(first, temperature).norm(dim=1).mean((1, 2))
            gain = own / out.norm(dim=1).mean((1, 2)).clamp(min=1e-6)
            out = out * gain.clamp(1.0, MAX_VIEWS_GAIN).view(-1, 1, 1, 1)
        return out

    def model_sized(self, src: torch.Tensor) -> torch.Tensor:
        """A square source larger than the model's size, shrunk to it (test photos at full size)."""
        size = self.cfg.data.image_size
        if src.shape[-2:] == (size, size):
            return src
        return F.interpolate(src, size=(size, size), mode="bilinear", antialias=True, align_corners=False)

    def show_source(self, src: torch.Tensor) -> torch.Tensor:
        return color.as_gray_rgb(src, self.cfg.data.color_space) if is_colorizer(self.cfg.data) else src

    def render(self, m: nn.ModuleDict, fixed: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Three rows: source | output | true target."""
        src, tgt = fixed
        return torch.cat([self.show_source(src), self.output(m, src), self.to_rgb(src, tgt)])

    def evaluate(self, m: nn.ModuleDict, test_batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """On the test split: L1, PSNR and SSIM of outputs against true targets; for colorization
        also the plain gray image's PSNR and SSIM (the baseline to beat), colourfulness against
        the real photos', the share of colourful pixels given the right hue (within 45 degrees)
        and the share of photos whose dominant hue is right (within 45 degrees). Test images
        larger than the model's size are colorized as the app does it (see output), so metrics
        can be taken at the photos' own resolution."""
        sums: dict[str, float] = {}
        n, hue_hits = 0, [0.0, 0.0]  # colourful pixels with the right hue, colourful pixels
        dominant = [0, 0]  # photos whose dominant hue is right, photos with a dominant hue
        for batch in test_batches:
            src, tgt = self.source_target(batch)
            out, true = unit(self.output(m, src)), unit(self.to_rgb(src, tgt))
            values = {"test_l1": l1(out, true), "test_psnr": psnr(out, true), "test_ssim": ssim(out, true)}
            if is_colorizer(self.cfg.data):
                gray = unit(self.show_source(src))
                values.update(gray_psnr=psnr(gray, true), gray_ssim=ssim(gray, true), colorfulness=colorfulness(out),
                              real_colorfulness=colorfulness(true))
                share, count = hue_agreement(out, true)
                hue_hits[0], hue_hits[1] = hue_hits[0] + float((share * count).sum()), hue_hits[1] + float(count.sum())
                right, judged = dominant_hue_agreement(out, true)
                dominant[0], dominant[1] = dominant[0] + int(right.sum()), dominant[1] + int(judged.sum())
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + float(v.sum())
            n += len(src)
        if not n:
            return {}
        metrics = {k: round(v / n, 4) for k, v in sums.items()}
        if hue_hits[1]:  # over all colourful pixels of the test set
            metrics["hue_within_45"] = round(hue_hits[0] / hue_hits[1], 4)
        if dominant[1]:  # over the test photos that have a dominant hue
            metrics["dominant_hue_right"] = round(dominant[0] / dominant[1], 4)
        if "colorfulness" in metrics:
            metrics["colorfulness_ratio"] = round(metrics["colorfulness"] / max(metrics["real_colorfulness"], 1e-8), 4)
        return {**metrics, "test_images": n}

"""What pix2pix and CycleGAN share: networks built from their config entries, the linear
learning-rate decay, and the fixed images a sample grid shows."""

from __future__ import annotations

import torch
from torch import nn

from training.families.base import StepContext
from training.models.image2image import PatchDiscriminator, ResnetGenerator, UNetGenerator

# The families that map an image to an image: no latent to explore or sample, measured on test pairs.
IMAGE_TO_IMAGE = frozenset({"pix2pix", "cyclegan"})
GRID_COLUMNS = 8  # the trainer's grid has 8 columns when a family has no classes


def make_generator(spec: dict) -> nn.Module:
    """A generator from its config.json entry: kind unet (pix2pix) or resnet (CycleGAN)."""
    kwargs = {k: v for k, v in spec.items() if k != "kind"}
    if spec["kind"] == "unet":
        return UNetGenerator(**kwargs)
    if spec["kind"] == "resnet":
        return ResnetGenerator(**kwargs)
    raise ValueError(f"unknown image-to-image generator kind {spec['kind']!r}; use unet or resnet")


def make_discriminator(spec: dict) -> nn.Module:
    return PatchDiscriminator(**{k: v for k, v in spec.items() if k != "kind"})


def unet_depth(image_size: int) -> int:
    """Levels that take the image down to 1x1 at the bottleneck: 7 for 128 px, 8 for 256 px."""
    depth = image_size.bit_length() - 1
    if image_size != 2**depth:
        raise ValueError(f"a U-Net needs a power-of-two image size, not {image_size}")
    return depth


def size_multiple(spec: dict) -> int:
    """Height and width must be multiples of this for the generator to return the input's size."""
    return 2 ** (spec.get("depth", 7) if spec["kind"] == "unet" else spec.get("n_down", 2))


def linear_decay(step: int, total: int, start: float) -> float:
    """Learning-rate factor for the step after `step` completed ones: 1 until start * total steps,
    then falling linearly so the last step runs at 1 / (steps decayed) of the rate (CycleGAN's
    schedule: constant for the first half, linearly to zero over the second)."""
    begin = int(start * total)
    if step < begin or total <= begin:
        return 1.0
    return 1.0 - (step - begin) / (total - begin)


def apply_lr_decay(ctx: StepContext, lr_g: float, lr_d: float, total: int, start: float) -> float:
    """Set every optimizer's rate for this step from the step count (resumes continue the same
    schedule, since the step is in the checkpoint); returns the factor for logging."""
    factor = linear_decay(ctx.step, total, start)
    for name, opt in ctx.optimizers.items():
        for group in opt.param_groups:
            group["lr"] = (lr_g if name == "g" else lr_d) * factor
    return factor


def fixed_batch(dataset, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """n items spread evenly over the dataset, stacked: the same images at every snapshot."""
    idx = torch.linspace(0, len(dataset) - 1, min(n, GRID_COLUMNS, len(dataset))).long().tolist()
    a, b = zip(*(dataset[i] for i in idx))
    return torch.stack(a).to(device), torch.stack(b).to(device)

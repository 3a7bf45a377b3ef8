"""What pix2pix and CycleGAN share: networks built from their config entries, the linear
learning-rate decay, and the fixed images a sample grid shows."""

from __future__ import annotations

import torch
from torch import nn

from training.families.base import IMG2IMG, Family, StepContext
from training.models.img2img import PatchDiscriminator, ResnetGenerator, UNetGenerator


class Img2ImgFamily(Family):
    """A family that maps images to images: no latent to explore or sample, measured on test
    pairs, served by the Colorize & translate tab. It says which ways it translates (routes)."""

    kind = IMG2IMG

    def routes(self) -> dict[str, tuple[str, str | None]]:
        """Each direction it translates in -> (forward generator, generator back or None)."""
        raise NotImplementedError

    def route(self, direction: str | None) -> tuple[str, str | None]:
        """(forward, backward) generator names for `direction` (None: the only one there is); the
        backward one gives the round trip the Translate tab shows, when the family has one."""
        routes = self.routes()
        if direction is None and len(routes) == 1:
            return next(iter(routes.values()))
        if direction not in routes:
            ways = " or ".join(routes)
            raise ValueError(f"this {self.name} model was trained {ways} only; it cannot translate {direction}" if len(routes) == 1
                             else f"direction must be {ways} for a {self.name} model, not {direction!r}")
        return routes[direction]

    def image(self, n: int, channels: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """n random images in [-1, 1] at the run's size."""
        size = self.cfg.data.image_size
        return torch.rand(n, channels, size, size, device=device) * 2 - 1

    def generator_example(self, n: int = 2) -> torch.Tensor:
        return self.image(n, self.cfg.arch["generator"]["in_channels"])
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

"""What the image-to-image families share: networks built from their config entries, the linear
learning-rate decay, the fixed images a sample grid shows, and how a run says it is served."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from latent_studio.data.datasets import DATASETS, UnpairedImages, to_unit
from latent_studio.families.base import IMG2IMG, Family, StepContext
from latent_studio.families.networks.img2img import PatchDiscriminator, ResnetGenerator, UNetGenerator, UpscaleGenerator


@dataclass(frozen=True)
class Task:
    """What an image-to-image run does: the one declaration the family registry, the pipeline, the
    Gradio app and its API read. Runs whose tasks name the same tool share that tool's tab and API
    endpoint (both kinds of translation share Translate)."""

    name: str  # what a run's Serving.task says
    tool: str  # the tab and the API endpoint (/colorize) that serve its runs
    noun: str  # a run of it, in messages: "a colorizer"
    judged: str  # what evaluation compares its outputs against


TASKS: dict[str, Task] = {}


def declare(task: Task) -> str:
    """Add `task` to TASKS; returns its name, for the constant families put in their Serving."""
    TASKS[task.name] = task
    return task.name


COLORIZE = declare(Task("colorize", "colorize", "a colorizer", "the gray photo"))  # a photo's lightness -> its colours
PAIRED = declare(Task("paired", "translate", "a translator", "the true targets"))  # source -> target, learned from pairs
UNPAIRED = declare(Task("unpaired", "translate", "a translator", "an A-vs-B classifier"))  # between two domains, without pairs
UPSCALE = declare(Task("upscale", "upscale", "an upscaler", "bicubic"))  # a photo -> the same photo `scale` times larger, tiled
INPAINT = declare(Task("inpaint", "inpaint", "an inpainter", "a blur fill"))  # a photo and a painted mask -> the region filled


def tools() -> list[str]:
    """Every tool some task is served by, in declaration order: the Gradio app's tabs."""
    return list(dict.fromkeys(t.tool for t in TASKS.values()))


@dataclass(frozen=True)
class Serving:
    """How an image-to-image run is served: what the app, the pipeline, evaluation, the benchmarks
    and the tests read instead of asking which family a run is, so a new family is served by
    describing itself here."""

    task: str  # a declared Task's name: COLORIZE, PAIRED, UNPAIRED, UPSCALE, INPAINT or one a new family declares
    routes: dict[str, tuple[str, str | None]]  # each direction -> (generator that translates, generator back or None)
    in_channels: int  # what the generator reads: 1 (a lightness or a gray image) or 3 (RGB)
    input_size: int  # the shorter side its inputs had in training: an upload is resized to it, so textures keep their scale
    multiple: int  # input height and width must be multiples of this
    scale: int = 1  # output side / input side (an x4 upscaler would say 4)
    controls: tuple[str, ...] = ()  # what the user sets beside the photo and the direction: "vividness" (colour bins)
    square: bool = False  # trained on aligned square crops (faces): an upload's centre square is what it reads
    faces: bool = False  # trained on CelebA's aligned faces: an upload's face is found and framed as theirs (data/faces.py)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"undeclared image-to-image task {self.task!r}; declared: {', '.join(TASKS)}")

    @property
    def tool(self) -> str:
        """The tab and API endpoint that serve this run."""
        return TASKS[self.task].tool


class Img2ImgFamily(Family):
    """A family that maps images to images: no latent to explore or sample, measured on test
    pairs, served by the Colorize & translate tab as its serving() says."""

    kind = IMG2IMG
    directions: ClassVar[tuple[str, ...]]  # every direction its runs may go in: the Translate tab's choices
    translates: ClassVar[bool] = True  # False: its directions are not the Translate tab's (an upscaler has its own tab)

    def serving(self) -> Serving:
        raise NotImplementedError

    def served_as(self, task: str, routes: dict[str, tuple[str, str | None]], scale: int = 1,
                  controls: tuple[str, ...] = ()) -> Serving:
        """A Serving whose input side, channels and size multiple come from the run's generator entry,
        and its framing from the dataset's."""
        g, data = self.cfg.arch["generator"], self.cfg.data
        info = DATASETS.get(data.dataset)
        return Serving(task, routes, g["in_channels"], data.image_size, size_multiple(g), scale, controls,
                       bool(info and info.square), bool(info and info.faces))

    def route(self, direction: str | None) -> tuple[str, str | None]:
        """(forward, backward) generator names for `direction` (None: the only one there is); the
        backward one gives the round trip the Translate tab shows, when the family has one."""
        routes = self.serving().routes
        if direction is None and len(routes) == 1:
            return next(iter(routes.values()))
        if direction not in routes:
            ways = " or ".join(routes)
            raise ValueError(f"this {self.name} model was trained {ways} only; it cannot translate {direction}" if len(routes) == 1
                             else f"direction must be {ways} for a {self.name} model, not {direction!r}")
        return routes[direction]

    def source_target(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """A paired batch (A, B) as (source, target): A -> B unless the family says otherwise."""
        return batch

    def image(self, n: int, channels: int, device: torch.device | str = "cpu", size: int | None = None) -> torch.Tensor:
        """n random images in [-1, 1] at `size` (None: the run's image size)."""
        size = size or self.cfg.data.image_size
        return torch.rand(n, channels, size, size, device=device) * 2 - 1

    def generator_example(self, n: int = 2) -> torch.Tensor:
        s = self.serving()
        return self.image(n, s.in_channels, size=s.input_size)


GRID_COLUMNS = 8  # the trainer's grid has 8 columns when a family has no classes


def make_generator(spec: dict) -> nn.Module:
    """A generator from its config.json entry: kind unet (pix2pix), resnet (CycleGAN) or upscale (SRGAN)."""
    kwargs = {k: v for k, v in spec.items() if k != "kind"}
    if spec["kind"] == "unet":
        return UNetGenerator(**kwargs)
    if spec["kind"] == "resnet":
        return ResnetGenerator(**kwargs)
    if spec["kind"] == "upscale":
        return UpscaleGenerator(**kwargs)
    raise ValueError(f"unknown image-to-image generator kind {spec['kind']!r}; use unet, resnet or upscale")


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
    if spec["kind"] == "upscale":
        return 1
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


def seen(generator: nn.Module, x: torch.Tensor, moves: Sequence[tuple[int, int, bool]], batch: int = 64) -> Iterator[torch.Tensor]:
    """`generator`'s outputs for x seen in each of `moves`, (right, down, mirrored): x mirrored
    (left to right) and moved `right` and `down` pixels (the row or column a move uncovers repeats
    the image's edge), each output put back in place: moved back and mirrored back. An output at a
    fraction of x's resolution (a colorizer's half-resolution colour scores) is moved back by that
    fraction of the move. The views run together, at most `batch` images at a time: one pass of
    many images is faster than many passes of one."""
    h, w = x.shape[-2:]
    per_pass = max(1, batch // len(x))
    for start in range(0, len(moves), per_pass):
        group = moves[start:start + per_pass]
        inputs = []
        for right, down, mirrored in group:
            v = x.flip(-1) if mirrored else x
            inputs.append(F.pad(v, (right, 0, down, 0), mode="replicate")[..., :h, :w] if right or down else v)
        for (right, down, mirrored), y in zip(group, generator(torch.cat(inputs)).split(len(x))):
            r, d = right * y.shape[-1] // w, down * y.shape[-2] // h
            if r or d:
                y = F.pad(y[..., d:, r:], (0, r, 0, d), mode="replicate")
            yield y.flip(-1) if mirrored else y


def fixed_images(dataset, n: int, device: torch.device) -> torch.Tensor:
    """The first of each item, for a grid of three rows (input | output | truth) in n cells:
    n // 3 items spread evenly over the dataset, at most GRID_COLUMNS, the same at every snapshot."""
    idx = torch.linspace(0, len(dataset) - 1, min(n // 3 or 1, GRID_COLUMNS, len(dataset))).long().tolist()
    return torch.stack([dataset[i][0] for i in idx]).to(device)


def fixed_batch(dataset, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """n items spread evenly over the dataset, stacked: the same images at every snapshot. An
    unpaired dataset draws its B image at random for each item, so there the B images are spread
    evenly over B's own images instead (the same again after a resume)."""
    k = min(n, GRID_COLUMNS, len(dataset))
    if isinstance(dataset, UnpairedImages):
        return tuple(to_unit(x[torch.linspace(0, len(x) - 1, k).long()]).to(device) for x in (dataset.a, dataset.b))
    idx = torch.linspace(0, len(dataset) - 1, k).long().tolist()
    a, b = zip(*(dataset[i][:2] for i in idx))  # a labelled pair holds its label third
    return torch.stack(a).to(device), torch.stack(b).to(device)

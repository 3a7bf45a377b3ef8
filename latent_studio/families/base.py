"""What a family is: how it builds its networks from a RunConfig and how it takes one training step.

The trainer owns the loop, the data, logging and checkpoints; a family owns only its networks and
its losses. Adding a model means adding one Family subclass and registering it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset

from latent_studio.families import precision
from latent_studio.runs import files
from latent_studio.runs.config import DataSpec, LatentSample, RunConfig

FAMILIES: dict[str, type["Family"]] = {}
# What a family makes, and so which part of the app serves it: images from a latent vector (the
# explorer's latent views), from images (Colorize & translate), or pixel by pixel from a likelihood
# model (the explorer's Pixel by pixel view).
LATENT, IMG2IMG, AUTOREGRESSIVE = "latent", "img2img", "autoregressive"
EXPLORED = (LATENT, AUTOREGRESSIVE)  # the kinds the explorer page opens


def register(cls: type["Family"]) -> type["Family"]:
    FAMILIES[cls.name] = cls
    return cls


@dataclass
class StepContext:
    """What a family's train_step may use: the device, its optimizers and a source of batches."""

    device: torch.device
    optimizers: dict[str, torch.optim.Optimizer]
    next_batch: Callable[[], tuple[torch.Tensor, torch.Tensor]]
    sync_gradients: Callable[[list[torch.Tensor]], None] = lambda params: None
    dtype: torch.dtype | None = None  # autocast dtype (latent_studio.families.precision); None: fp32
    step: int = 0  # steps completed before this one (set by the trainer): what schedules read

    def autocast(self):
        """What forward passes run under: bf16 autocast where the device computes it natively."""
        return precision.autocast(self.device, self.dtype)

    def params(self, name: str) -> list[torch.Tensor]:
        return [p for group in self.optimizers[name].param_groups for p in group["params"]]

    def update(self, name: str, loss: torch.Tensor) -> None:
        """One optimizer step on `loss` for the optimizer `name` (gradients averaged across ranks)."""
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        self.sync_gradients(self.params(name))
        opt.step()

    @contextmanager
    def frozen(self, name: str) -> Iterator[None]:
        """Parameters of optimizer `name` get no gradients inside: the other player's step neither
        changes them nor wastes time computing their gradients."""
        params = self.params(name)
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)


class Family:
    name: ClassVar[str]
    kind: ClassVar[str] = LATENT  # LATENT: the explorer samples it; IMG2IMG: the Colorize & translate tab serves it
    monitored: ClassVar[bool] = True  # the trainer renders the fixed inputs at every log row to watch for collapse
    example_dataset: ClassVar[str] = "fake"  # a dataset its shape tests and benchmarks configure it for (no files read)
    exported: ClassVar[tuple[str, ...]] = ("generator",)  # what the UI loads (.safetensors)
    # exported modules named generator* are also kept at every snapshot (the app's scrubber)
    optimizer_modules: ClassVar[dict[str, tuple[str, ...]]] = {"g": ("generator",), "d": ("discriminator",)}

    def __init__(self, cfg: RunConfig):
        self.cfg = cfg

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        """Overrides of RunConfig fields that make this family's tuned default for `data`."""
        return {}

    def build(self) -> nn.ModuleDict:
        raise NotImplementedError

    def frozen_modules(self) -> set[str]:
        """train.frozen, checked: only networks a fine-tune starts from (this family's exported
        ones, read from train.init_from) can be kept as they are; freezing fresh weights would
        keep noise."""
        frozen = set(self.cfg.train.frozen)
        if frozen and not self.cfg.train.init_from:
            raise ValueError("train.frozen keeps networks as a trained run left them: set train.init_from to that run")
        if unknown := frozen - set(self.exported):
            raise ValueError(f"train.frozen: {self.name} starts only {', '.join(self.exported)} from train.init_from, "
                             f"not {', '.join(sorted(unknown))}")
        return frozen

    def train_mode(self, m: nn.ModuleDict) -> None:
        """Every network in training mode except the frozen ones, which stay in eval mode: a
        frozen network's BatchNorm statistics and dropout stay as its source run shipped them."""
        m.train()
        for key in self.cfg.train.frozen:
            m[key].eval()

    def train_step(self, m: nn.ModuleDict, ctx: StepContext) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def warm_start(self, modules: nn.ModuleDict, run: Path) -> None:
        """Start the exported networks from another run's shipped ones (train.init_from); the
        architectures must match exactly unless a family says how they may differ."""
        files.warm_start(modules, run, self.exported)

    def training_data(self, dataset: Dataset, labels: torch.Tensor | None) -> Dataset:
        """The training set as this family sees it (SGAN hides most labels); unchanged by default."""
        return dataset

    def fixed_inputs(self, dataset: Dataset | None, n: int, device: torch.device) -> LatentSample:
        """What the run's sample grid renders at every snapshot: the run's fixed noise (an
        image-to-image family would return fixed test images instead)."""
        return self.cfg.latent.fixed(n, self.cfg.seed).to(device)

    def example_batch(self, n: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Random data shaped like n items of a training batch, (images, labels) here: for the
        shared contract tests and the benchmarks, whose shapes and speed do not depend on pixels."""
        d = self.cfg.data
        images = torch.rand(n, d.channels, d.image_size, d.image_size, device=device) * 2 - 1
        return images, torch.randint(max(d.num_classes, 1), (n,), device=device)

    def generator_example(self, n: int = 2) -> torch.Tensor:
        """An input for each exported generator*: what torch.export (and ONNX) traces them with."""
        return self.cfg.latent.sample(n).generator_input()

    def render(self, m: nn.ModuleDict, sample: LatentSample) -> torch.Tensor:
        """Images in [-1, 1] for what fixed_inputs returns (the sample grid, the explorer)."""
        return m["generator"](sample.generator_input())

    def evaluate(self, m: nn.ModuleDict, test_batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """Metrics measured on the test split at the end of training (none by default)."""
        return {}

    def make_optimizers(self, m: nn.ModuleDict) -> dict[str, torch.optim.Optimizer]:
        """One optimizer per player of optimizer_modules, over its networks that train.frozen does
        not keep fixed (those get no gradients at all: nothing flows into their weights, though
        gradients still pass through them to the networks before them)."""
        t = self.cfg.train
        frozen = self.frozen_modules()
        for key in frozen:
            m[key].requires_grad_(False)
        out = {}
        for name, modules in self.optimizer_modules.items():
            params = [p for key in modules if key not in frozen for p in m[key].parameters()]
            if frozen and not params:
                raise ValueError(f"train.frozen keeps every network of the {name!r} player fixed: "
                                 f"leave one of {', '.join(modules)} to train")
            lr = t.lr_g if name == "g" else t.lr_d
            # one fused kernel per step instead of a dozen passes over the weights: the same
            # update, 10x faster on a CPU (a 45M-parameter Adam step: 30 ms against 310 ms)
            fast = {"fused": True} if t.fused_optimizer and params and params[0].device.type in ("cpu", "cuda") else {}
            if t.optimizer == "rmsprop":
                out[name] = torch.optim.RMSprop(params, lr=lr, foreach=bool(fast) or None)
            elif t.optimizer == "adam":
                out[name] = torch.optim.Adam(params, lr=lr, betas=tuple(t.betas), **fast)
            else:
                raise ValueError(f"unknown optimizer {t.optimizer!r}; use adam or rmsprop")
        return out

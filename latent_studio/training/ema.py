"""An exponential moving average of the generator's weights, and the one that ships.

A GAN's generator weights oscillate around where the two players balance; their running average sits
nearer the middle, and its samples are visibly cleaner for the same training (Karras et al. 2018,
Yazici et al. 2019). Each generator's average is kept beside the networks under its name plus `_ema`
(`generator_ema`; a CycleGAN's `generator_ab_ema` and `generator_ba_ema`), saved in the resume state,
never trained; the sample grids, the end-of-run evaluation and the shipped weights all use it.
BatchNorm's running statistics describe the live generator's activations, not the average's (measured:
the average drawn with them is darker and duller), so before each snapshot they are measured anew on
the average itself (recalibrate, BigGAN's "standing statistics"), for the latent models whose inputs
can be drawn; an image-to-image average keeps the live statistics (CycleGAN's instance norm has none).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection

import torch
from torch import nn

SUFFIX = "_ema"
EMA = "generator" + SUFFIX  # a latent model's one average, the one BatchNorm recalibration draws for


def _is_generator(name: str) -> bool:
    """`generator`, or each `generator_*` of a family with several (not their averages)."""
    return (name == "generator" or name.startswith("generator_")) and not name.endswith(SUFFIX)


def _generators(modules: nn.ModuleDict) -> list[str]:
    """The generators that have an average."""
    return [n for n in modules if _is_generator(n) and n + SUFFIX in modules]


def attach(modules: nn.ModuleDict, frozen: Collection[str] = ()) -> None:
    """Add an average of each generator, starting from the generator as it is now. A frozen
    generator (train.frozen) gets none: it is its own average, and it ships as its source left it,
    BatchNorm statistics included, which recalibrating an average of it would change."""
    names = [n for n in modules if _is_generator(n)]
    if not names:
        raise ValueError(f"train.ema averages the generators, and this family has none (it has {', '.join(modules)}); set train.ema=0")
    for name in names:
        if name not in frozen:
            modules[name + SUFFIX] = copy.deepcopy(modules[name]).requires_grad_(False)


@torch.no_grad()
def update(modules: nn.ModuleDict, decay: float, step: int) -> None:
    """After step `step`: average <- d * average + (1 - d) * generator, with d ramping up to `decay`
    over the first steps so the start of training is forgotten; buffers (BatchNorm's running
    statistics) are copied, as they describe the current generator's activations."""
    d = min(decay, (1 + step) / (10 + step))
    for name in _generators(modules):
        average, live = modules[name + SUFFIX], modules[name]
        torch._foreach_lerp_(list(average.parameters()), list(live.parameters()), 1 - d)
        for a, b in zip(average.buffers(), live.buffers()):
            a.copy_(b)


@torch.no_grad()
def recalibrate(modules: nn.ModuleDict, draw: Callable[[torch.Generator], torch.Tensor], batches: int = 16) -> None:
    """Replace the average's BatchNorm statistics with its own over `batches` inputs from draw(rng),
    a fixed-seed generator so a snapshot does not move the training's random stream."""
    if EMA not in modules:
        return
    average = modules[EMA]
    norms = [m for m in average.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the batches
    was_training = average.training
    average.train()
    rng = torch.Generator().manual_seed(0)
    for _ in range(batches):
        average(draw(rng))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    average.train(was_training)


def shipped(modules: nn.ModuleDict) -> nn.ModuleDict:
    """The networks as the app gets them: each generator replaced by its average when there is one."""
    if not any(name.endswith(SUFFIX) for name in modules):
        return modules
    kept = {name: m for name, m in modules.items() if not name.endswith(SUFFIX)}
    return nn.ModuleDict({name: modules[name + SUFFIX] if name + SUFFIX in modules else m for name, m in kept.items()})

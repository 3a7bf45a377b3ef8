"""Models as the explorer serves them: loaded once per process, shared by every session, and run
with a stopwatch.

`st.cache_resource` keeps one copy of each run's networks (on the GPU when there is one, see
latent_studio.families.device.best_device); the key includes the step config.json records, so a run that is
still training is reloaded once it writes a newer checkpoint, and never half-way (writes are
atomic). Generation runs under `torch.inference_mode()`; nothing here mutates a module, so
concurrent sessions can share them.

On a CPU the process uses LATENT_STUDIO_CPU_THREADS intra-op threads (default 1). A slider move
renders one small image, which gains little from splitting across cores; and when sessions or
training runs compete for the cores, OpenMP threads waiting for each other stall that one image
from about a millisecond to over 100 ms (see `python -m latent_studio.app.tools.slider_bench`). Sessions running side
by side use the cores instead. torch has one such setting per process, so it holds for
everything the server runs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch
from torch import Tensor

from latent_studio.families import LATENT
from latent_studio.families.run_models import LoadedRun, load_run
from latent_studio.runs.files import DIRECTIONS, CheckpointError, read_weights

CPU_THREADS = int(os.environ.get("LATENT_STUDIO_CPU_THREADS") or 1)


def prepare(run: LoadedRun) -> LoadedRun:
    """Set the CPU thread count (see the module docstring) and run a latent model's generator once,
    so the first image a user asks for does not pay for the backend's one-time setup."""
    if run.device.type == "cpu":
        torch.set_num_threads(CPU_THREADS)
    if run.family.kind == LATENT:
        generate(run, torch.zeros(1, run.config.latent.input_dim))
    return run


@st.cache_resource(max_entries=8, show_spinner="Loading the model...")
def load(path: str, revision: int) -> LoadedRun:
    """The run at `path`; `revision` (the step its config.json records) is only part of the
    cache key, so that a newer checkpoint loads afresh."""
    return prepare(load_run(path))


@st.cache_resource(max_entries=16, show_spinner="Loading that checkpoint...")
def load_snapshot(path: str, step: int) -> LoadedRun:
    """The run with the generator kept at snapshot `step` (the checkpoint scrubber)."""
    return prepare(load_run(path, step=step))


@st.cache_resource(max_entries=8)
def directions(path: str, mtime: float, dim: int) -> tuple[list[str], Tensor]:
    """Attribute names and their latent directions ([K, dim]) from <run>/directions.safetensors."""
    file = Path(path) / DIRECTIONS
    tensors = read_weights(file)
    if not tensors:
        raise CheckpointError(f"{file} holds no directions; expected one tensor of shape [{dim}] per attribute")
    bad = sorted(name for name, t in tensors.items() if tuple(t.shape) != (dim,))
    if bad:
        raise CheckpointError(f"{file}: the directions {bad} are not of shape [{dim}], the model's latent size")
    names = sorted(tensors)
    return names, torch.stack([tensors[n].float() for n in names])


@dataclass
class Generated:
    images: Tensor  # [N, C, H, W] in [-1, 1], float on the CPU
    ms: float  # wall time of the forward pass, including the copy back from the device
    device: torch.device

    @property
    def summary(self) -> str:
        """The performance line under an image: device and time per generation."""
        n = self.images.shape[0]
        per = "1 image" if n == 1 else f"{n} images"
        return f"{self.device.type} · {self.ms:.1f} ms per generation ({per})"


def generate(run: LoadedRun, inputs: Tensor) -> Generated:
    """Images for generator inputs [N, input_dim] (z, codes, class one-hot)."""
    with torch.inference_mode():
        start = time.perf_counter()
        images = run.modules["generator"](inputs.to(run.device)).float().cpu()
        ms = (time.perf_counter() - start) * 1000
    return Generated(images, ms, run.device)

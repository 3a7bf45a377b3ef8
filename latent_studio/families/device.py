"""Where a run computes, and how its model card names what trained it."""

from __future__ import annotations

import platform
from pathlib import Path

import torch


def best_device() -> torch.device:
    """CUDA when there is a GPU, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def hardware(device: torch.device) -> str:
    """What trained the run, for the model card: the GPU's name, or the CPU's and its threads."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        name = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")), name)
    return f"{name}, {torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''}"

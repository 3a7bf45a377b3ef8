"""How a training step runs fast on this device: bf16 autocast where the hardware computes bf16
natively, channels_last memory, and (off by default) torch.compile. Each has one switch in
`train` (bf16, channels_last, compile), recorded in config.json with the rest of the recipe.

Why bf16 on a CPU: with AVX512-BF16 or AMX the convolutions run about twice as fast as in fp32,
and bf16 keeps fp32's exponent range, so no loss scaler is needed. Master weights, optimizer
state and BatchNorm statistics stay fp32; the losses cast their inputs to fp32 (families/losses.py).
Without native bf16 the same ops are emulated and slower than fp32, so they fall back to fp32.

torch.compile measured on the 2-core CPU for the 64x64 DCGAN: 43 s to compile and no faster than
bf16 eager afterwards (115 vs 125 img/s), so it stays off unless asked for.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn

from latent_studio.runs.config import TrainSpec


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 in hardware: CUDA GPUs that report it, CPUs with AVX512-BF16 or AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def autocast_dtype(train: TrainSpec, device: torch.device) -> torch.dtype | None:
    """bf16 when the run asks for it and the device computes it natively; None means fp32."""
    return torch.bfloat16 if train.bf16 and native_bf16(device) else None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """The context a step's forward passes run in: autocast to `dtype`, or nothing for fp32."""
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def prepare(modules: nn.ModuleDict, train: TrainSpec) -> nn.ModuleDict:
    """Networks in the memory format and compiled form the run asks for (weights stay fp32)."""
    if train.channels_last:
        modules.to(memory_format=torch.channels_last)
    if train.compile:
        for m in modules.values():
            m.compile()  # in place: parameter names, and so checkpoints, stay the same
    return modules


def to_memory_format(x: torch.Tensor, train: TrainSpec) -> torch.Tensor:
    """An image batch in the layout the networks were prepared for."""
    return x.contiguous(memory_format=torch.channels_last) if train.channels_last and x.dim() == 4 else x


def describe(train: TrainSpec, device: torch.device) -> str:
    """For the model card: what the step actually ran with on this device."""
    parts = ["bf16 autocast" if autocast_dtype(train, device) else "fp32"]
    parts += ["channels_last"] * train.channels_last + ["torch.compile"] * train.compile + ["fused Adam"] * train.fused_optimizer
    return ", ".join(parts)

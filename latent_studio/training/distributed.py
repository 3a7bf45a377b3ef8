"""Data-parallel training under torchrun: one process per device, each on its shard of the data.

GANs run several forwards and backwards per step through networks that take turns being frozen,
and WGAN-GP differentiates through a gradient; DistributedDataParallel's hooks assume one forward
and one backward per step. So, like StyleGAN2-ADA, we do what DDP does by hand: start every rank
from rank 0's weights, and average gradients across ranks before each optimizer step. Ranks then
stay identical, which a test checks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from latent_studio.families.device import best_device


@dataclass
class World:
    rank: int = 0
    size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: str | None = None) -> World:
    """Join the process group torchrun describes (NCCL on GPUs, gloo on CPU), or run alone."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    chosen = torch.device(device) if device else best_device()
    if size == 1:
        return World(device=chosen)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local)
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return World(rank, size, chosen)


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def broadcast_module(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    if dist.is_initialized():
        for t in module.state_dict().values():
            dist.broadcast(t, 0)


def average_gradients(params: list[torch.Tensor]) -> None:
    """All-reduce the gradients of `params` as one flat buffer and divide by the world size."""
    if not dist.is_initialized():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.flatten() for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def average_buffers(module: nn.Module) -> None:
    """Average BatchNorm running statistics, so the saved model reflects every rank's data."""
    if dist.is_initialized():
        for b in module.buffers():
            if b.is_floating_point():
                dist.all_reduce(b)
                b /= dist.get_world_size()

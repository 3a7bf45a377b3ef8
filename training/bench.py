"""Speed on this machine, per family: generator latency per image and training throughput.
A benchmark that prints numbers (`python -m training bench`), not a timed test."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from training.checkpoint import best_device
from training.families import StepContext, get_family
from training.trainer import new_config

FAMILIES = ["dcgan", "lsgan", "wgan", "wgan_gp", "cgan", "acgan", "sgan", "infogan", "vae"]


def time_ms(fn: Callable[[], object], repeats: int, warmup: int = 0) -> list[float]:
    """Milliseconds of each of `repeats` calls of fn, after `warmup` untimed calls (first-call
    allocations, kernel selection). On CUDA each call is waited for, so GPU work is counted."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        out.append((time.perf_counter() - t) * 1000)
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of `values` (0 <= q <= 1), by nearest rank below: a value that was measured."""
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def bench_family(family: str, image_size: int = 28, channels: int = 1, steps: int = 10, device: torch.device | None = None) -> dict:
    """Default architecture of `family` on random data of the given shape."""
    device = device or best_device()
    overrides = [{"data": {"image_size": image_size, "channels": channels}, "train": {"steps": steps}}]
    cfg = new_config(family, "fake", steps, overrides=overrides)
    fam = get_family(family)(cfg)
    m = fam.build().to(device)
    gen = m["generator"].eval()
    with torch.inference_mode():
        one = cfg.latent.sample(1, device=device).generator_input()
        batch = cfg.latent.sample(64, device=device).generator_input()
        single = time_ms(lambda: gen(one), 50, warmup=5)
        batched = time_ms(lambda: gen(batch), 10)
    m.train()
    t = cfg.train
    x = torch.rand(t.batch_size, channels, image_size, image_size, device=device) * 2 - 1
    y = torch.randint(max(cfg.data.num_classes, 1), (t.batch_size,), device=device)
    ctx = StepContext(device, fam.make_optimizers(m), lambda: (x, y), amp=device.type == "cuda")
    fam.train_step(m, ctx)  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        fam.train_step(m, ctx)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "family": family, "image_size": image_size, "channels": channels, "device": str(device),
        "generator_params": sum(p.numel() for p in gen.parameters()),
        "gen_ms_per_image_batch1_p50": round(statistics.median(single), 3),
        "gen_ms_per_image_batch64": round(statistics.median(batched) / 64, 4),
        "train_images_per_s": round(steps * t.batch_size * t.n_critic / seconds, 1),
    }


def run(families: list[str], steps: int = 10) -> list[dict]:
    rows = [bench_family(f, steps=steps) for f in families]
    rows.append(bench_family("dcgan", 64, 3, steps=max(steps // 2, 2)))
    return rows

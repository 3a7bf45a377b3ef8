"""Speed on this machine, per family: generator latency per image and training throughput.
A benchmark that prints numbers (`python -m latent_studio bench`), not a timed test."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from latent_studio.families import LATENT, StepContext, family_names, get_family, precision
from latent_studio.families.device import best_device
from latent_studio.training.trainer import new_config


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


def train_rate(cfg, steps: int, device: torch.device, warmup: int = 2) -> float:
    """Training images per second of `cfg`'s family, recipe and precision settings on random data."""
    fam = get_family(cfg.family)(cfg)
    m = precision.prepare(fam.build().to(device), cfg.train)
    batch = tuple(precision.to_memory_format(x, cfg.train) for x in fam.example_batch(cfg.train.batch_size, device))
    ctx = StepContext(device, fam.make_optimizers(m), lambda: batch, dtype=precision.autocast_dtype(cfg.train, device))
    m.train()
    for _ in range(warmup):  # first-call allocations, kernel selection (and compilation when on)
        fam.train_step(m, ctx)
    seconds = sum(time_ms(lambda: fam.train_step(m, ctx), steps)) / 1000
    t = cfg.train
    return steps * t.batch_size * t.n_critic / seconds


def bench_family(family: str, image_size: int | None = None, channels: int | None = None, steps: int = 10,
                 device: torch.device | None = None) -> dict:
    """Default architecture and precision of `family` on random data: its example dataset's shape
    (28 px gray for latent families, 128 px photos for image-to-image ones) unless given."""
    device = device or best_device()
    cls = get_family(family)
    data = {k: v for k, v in (("image_size", image_size), ("channels", channels)) if v}
    cfg = new_config(family, cls.example_dataset, steps, image_size=image_size, overrides=[{"data": data}])
    fam = cls(cfg)
    gen = fam.build()[fam.exported[0]].to(device).eval()
    n = 64 if cls.kind == LATENT else 8  # a batch of 128 px photos is 8, not 64
    with torch.inference_mode():
        one, batch = fam.generator_example(1).to(device), fam.generator_example(n).to(device)
        single = time_ms(lambda: gen(one), 50 if cls.kind == LATENT else 10, warmup=3)
        batched = time_ms(lambda: gen(batch), 10 if cls.kind == LATENT else 3)
    return {
        "family": family, "image_size": cfg.data.image_size, "channels": cfg.data.channels, "device": str(device),
        "precision": precision.describe(cfg.train, device),
        "generator_params": sum(p.numel() for p in gen.parameters()),
        "gen_ms_per_image_batch1_p50": round(statistics.median(single), 3),
        "gen_batch": n, "gen_ms_per_image_batched": round(statistics.median(batched) / n, 4),
        "train_images_per_s": round(train_rate(cfg, steps, device), 1),
    }


def run(families: list[str] | None = None, steps: int = 10) -> list[dict]:
    """Every registered family (or those named), then the 64 px RGB DCGAN."""
    rows = [bench_family(f, steps=steps) for f in families or family_names()]
    rows.append(bench_family("dcgan", 64, 3, steps=max(steps // 2, 2)))
    return rows


# The side-by-side cases: (label, family, dataset, image size, generator steps per round).
# The 64x64 DCGAN is pytorch/examples dcgan's recipe (ngf = ndf = 64, batch 64, Adam 2e-4).
COMPARE = [
    ("DCGAN 64x64 RGB", "dcgan", "celeba", 64, 6),
    ("InfoGAN 28x28", "infogan", "mnist", 28, 20),
    ("pix2pix 128", "pix2pix", "paired", 128, 12),
    ("CycleGAN 128", "cyclegan", "unpaired", 128, 4),
]
# The reference: the same networks and recipe with every speed-up off (fp32, NCHW, eager), which is
# how pytorch/examples trains on a CPU and ran at parity with it (85-99 vs 87-97 img/s).
REFERENCE = {"bf16": False, "channels_last": False, "compile": False, "fused_optimizer": False}


def compare(rounds: int = 3, cases: list[tuple] = COMPARE, device: torch.device | None = None) -> list[dict]:
    """Training images/s of each case's default recipe against the reference, alternating the two
    `rounds` times on the same machine so a slow moment hits both; medians and their ratio."""
    device = device or best_device()
    rows = []
    for label, family, dataset, size, steps in cases:
        fast = new_config(family, dataset, steps, image_size=size)
        reference = new_config(family, dataset, steps, image_size=size, overrides=[{"train": REFERENCE}])
        rates = {"reference": [], "ours": []}
        for _ in range(rounds):
            rates["reference"].append(train_rate(reference, steps, device))
            rates["ours"].append(train_rate(fast, steps, device))
        ref, ours = statistics.median(rates["reference"]), statistics.median(rates["ours"])
        rows.append({"case": label, "family": family, "batch_size": fast.train.batch_size, "device": str(device),
                     "ours": precision.describe(fast.train, device), "reference_images_per_s": round(ref, 2),
                     "ours_images_per_s": round(ours, 2), "speedup": round(ours / ref, 2)})
    return rows

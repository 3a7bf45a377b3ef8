"""Latency of the Colorize/Translate pipeline on this machine, as a user sees it: one upload in,
one image out (decoding, the model, full-resolution merging and encoding checks included).

    python -m latent_studio.app.tools.img2img_bench [RUN ...] [--size 512] [--repeats 20] [--device cpu] [--json]

Each run (default: every shipped image-to-image run) is timed at what the app offers for it, as
its Serving says: colorize, or translate in each of its directions. A benchmark that prints
numbers, not a timed test.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from latent_studio.app.runs import shipped_folder
from latent_studio.families import IMG2IMG, kind_of
from latent_studio.families.img2img import COLORIZE, INPAINT, UPSCALE
from latent_studio.families.run_models import LoadedRun, load_run
from latent_studio.inference.pipeline import colorize, inpaint, translate, upscale
from latent_studio.runs.files import find_runs, read_config
from latent_studio.training.bench import percentile, time_ms


def sample_upload(size: int) -> bytes:
    """A gray JPEG of `size` x `size` with detail at every scale (noise over a gradient)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size]
    gray = np.clip(128 + 60 * np.sin(x / 17) * np.cos(y / 23) + rng.normal(0, 12, (size, size)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def latency(fn, repeats: int) -> dict[str, float]:
    """p50, p90 and min milliseconds of fn over `repeats` calls, after one warm-up call."""
    times = time_ms(fn, repeats, warmup=1)
    return {"p50_ms": round(statistics.median(times), 1), "p90_ms": round(percentile(times, 0.9), 1), "min_ms": round(min(times), 1)}


def tasks(run: LoadedRun, upload: bytes) -> dict[str, Callable[[], object]]:
    """What the app offers for the run, by name: colorize, upscale, inpaint (a square of half the
    side in the middle), or translate in each of its directions."""
    served = run.family.serving()
    if served.task == INPAINT:
        side = Image.open(io.BytesIO(upload)).size[0]
        mask = Image.new("L", (side, side))
        mask.paste(255, (side // 4, side // 4, 3 * side // 4, 3 * side // 4))
        return {"inpaint": lambda: inpaint(upload, mask, run)}
    if served.task == COLORIZE:
        return {"colorize": lambda: colorize(upload, run)}
    if served.task == UPSCALE:
        return {"upscale": lambda: upscale(upload, run)}
    return {f"translate {d}": lambda d=d: translate(upload, run, d) for d in served.routes}


def shipped_runs() -> list[str]:
    return [str(run) for run in find_runs(shipped_folder()) if kind_of(read_config(run).family) == IMG2IMG]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m latent_studio.app.tools.img2img_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="*", help="image-to-image run directories (default: every shipped one)")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    upload = sample_upload(args.size)
    rows = [{"task": task, "run": path, **latency(fn, args.repeats)}
            for path in args.runs or shipped_runs() for task, fn in tasks(load_run(path, args.device), upload).items()]
    for r in rows:
        r.update(size=f"{args.size}x{args.size}", device=args.device, threads=torch.get_num_threads(), repeats=args.repeats)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(f"{r['task']:<15} {r['size']} on {r['device']} ({r['threads']} threads): p50 {r['p50_ms']} ms, "
              f"p90 {r['p90_ms']} ms, min {r['min_ms']} ms over {r['repeats']} runs  [{r['run']}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())

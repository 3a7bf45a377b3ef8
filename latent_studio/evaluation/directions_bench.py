"""Measure the discovered directions of shipped runs: SeFa against GANSpace, against the labelled
attribute directions, and the time to find them; draw their strips to look at.

    python -m latent_studio.evaluation.directions_bench checkpoints/sngan-celeba checkpoints/sngan-anime \\
        --data-root ../shared/data --strips /tmp/strips [--compare] [--write]

Per run it prints the time SeFa and GANSpace take to find the top directions on --threads CPU
threads (everything else runs on one). --compare names both methods' directions and prints, per
method, how many of the top ten move some score of each judge one way for >= 80% of samples
(`evaluate`'s monotone test), how many get a name, how far identity moves, and how alike the
directions are (mean |cos| between them; SeFa's are orthogonal). For CelebA it adds the labelled
directions' numbers that `evaluate` recorded. --strips writes a sheet per run: a row per
direction (the stored ones, or DEFAULT_METHOD's), the same face moved from -REACH to +REACH, for
two faces side by side (<folder>-<run>.png). --write stores the directions in the run as `evaluate` does.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torchvision.utils import save_image

from latent_studio.evaluation import discovered
from latent_studio.families.run_models import LoadedRun, load_run
from latent_studio.inference.directions import strip
from latent_studio.runs.files import record_metrics

SHOWN = 8
COLUMNS = 7


def timed(run: LoadedRun, method: str, threads: int, repeats: int = 3) -> float:
    """Best of `repeats` wall times to find the directions, on `threads` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            discovered.find(run, method)
            best = min(best, time.perf_counter() - start)
        return best
    finally:
        torch.set_num_threads(before)


def summary(found: discovered.Discovered) -> dict:
    effects = found.info["effects"]
    d = found.directions
    out = {"named": sum(label != discovered.NOTHING for label in found.labels),
           "mean_abs_cos": round(float(((d @ d.T).abs().sum() - len(d)) / (len(d) * (len(d) - 1))), 3)}
    for title in effects[0]["best_share"]:
        out[f"moving_{title}"] = sum(e["best_share"][title] >= discovered.MIN_SHARE for e in effects)
    for noun in effects[0]["changed"]:
        out[f"changing_{noun}"] = sum(e["changed"][noun]["share"] >= discovered.CHANGE_SHARE for e in effects)
    if "identity_distance" in effects[0]:
        out["identity_distance"] = round(sum(e["identity_distance"] for e in effects) / len(effects), 3)
    return out


def labelled(run: LoadedRun) -> dict | None:
    """The attribute directions' numbers `evaluate` recorded (CelebA only)."""
    effects = run.config.metrics.get("attribute_effects")
    if not effects:
        return None
    passing = [e for e in effects.values() if e["monotone_share"] >= discovered.MIN_SHARE]
    return {"tested": len(effects), "moving_attributes": len(passing),
            "identity_distance_of_moving": round(sum(e["identity_distance"] for e in passing) / max(len(passing), 1), 3)}


@torch.inference_mode()
def strips(run: LoadedRun, found: discovered.Discovered, path: Path, seed: int = 1) -> None:
    """Rows: the top directions; columns: two faces each moved from -REACH to +REACH."""
    spec = run.config.latent
    base = spec.sample(2, torch.Generator().manual_seed(seed)).generator_input()
    weights = torch.linspace(-discovered.REACH, discovered.REACH, COLUMNS)
    rows = [torch.cat([strip(b, d, weights) for b in base]) for d in found.directions[:SHOWN]]
    images = discovered.render(run, torch.cat(rows))
    save_image(images, path, nrow=COLUMNS * len(base), normalize=True, value_range=(-1, 1), padding=2, pad_value=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--data-root")
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2, help="threads for the timing; the rest runs on one")
    parser.add_argument("--compare", action="store_true", help="name both methods' directions and compare them")
    parser.add_argument("--strips", type=Path, help="folder for the strip sheets, <folder>-<run>.png")
    parser.add_argument("--write", action="store_true", help="store the directions in each run, as evaluate does")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for path in args.runs:
        run = load_run(path)
        print(f"== {run.path.name}  (latent dim {run.config.latent.dim})")
        for method in discovered.METHODS:
            print(f"  find {method}: {timed(run, method, args.threads) * 1000:.1f} ms on {args.threads} threads")
        if args.compare:
            for method in discovered.METHODS:
                found = discovered.discover(run, args.data_root, method, args.samples)
                print(f"  {method}: {summary(found)}  (named in {found.info['name_seconds']} s on 1 thread)")
                for i, label in enumerate(found.labels):
                    print(f"    {i}: {label}")
            print(f"  sefa vs ganspace, |cos| of matching directions: "
                  f"{[round(float(v), 2) for v in (discovered.find(run, 'sefa') * discovered.find(run, 'ganspace')).sum(1).abs()]}")
            if (known := labelled(run)) is not None:
                print(f"  labelled attribute directions: {known}")
        if args.write:
            results = discovered.record(run, args.data_root, args.samples)
            record_metrics(run.path, results)
            print(f"  stored: {results}")
        if args.strips:
            found = discovered.discovered(run, args.data_root)
            args.strips.mkdir(parents=True, exist_ok=True)
            strips(run, found, args.strips / f"{run.path.parent.name}-{run.path.name}.png")  # seed-recipe/ repeats names
            for i, label in enumerate(found.labels[:SHOWN]):
                print(f"    strip row {i}: {label}")


if __name__ == "__main__":
    main()

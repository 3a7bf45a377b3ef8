"""Set how many views a colour-bin colorizer averages, and the chroma gain that gives back the
vividness the averaging takes, on training photos.

    python -m latent_studio.evaluation.calibrate_colorizer RUN --views 8 [--target 0.9] [--photos 600] --data-root DIR

arch.views (Pix2Pix.predict) averages G's colour scores over the photo seen moved and mirrored:
where the views disagree the agreed colour is paler, so the views' colours are more often right
and less vivid. arch.chroma_gain scales them so that the run's colorized photos are `target` as
colourful as the real ones (Hasler and Suesstrunk's colourfulness). It is fitted on a sample of
the training photos of one source, the everyday photos (people, animals, streets, rooms) that
users upload unless --source says otherwise, so the held-out photos `evaluate` measures stay
unseen; the chroma a gain scales is clamped to the colours Lab can hold, so the fit takes two or
three rounds.
Writes both into the run's config.json and the command into its card; evaluate the run after.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from latent_studio.data import color
from latent_studio.data.datasets import COLORIZE_SOURCES, DatasetMissing, colorize_files, data_root, decode_files, to_unit
from latent_studio.data.image_quality import colorfulness
from latent_studio.families.pix2pix import VIEW_COUNTS
from latent_studio.families.run_models import LoadedRun, load_run
from latent_studio.runs.files import CONFIG, CheckpointError, write_json

BATCH = 50


def training_sample(root: Path, n: int, source: str = "photos_128", seed: int = 0) -> torch.Tensor:
    """n training photos of one of the corpus's sources drawn at random (seeded), uint8 [n, 3, 128, 128]."""
    files = colorize_files(root, "train", (source,))[source]
    picks = torch.randperm(len(files), generator=torch.Generator().manual_seed(seed))[:n].tolist()
    return decode_files([files[i] for i in sorted(picks)], 128, 3)


def colourfulness_ratio(run: LoadedRun, photos: torch.Tensor) -> float:
    """How colourful the run's colorized photos are against the real ones (the run as configured)."""
    space, real = run.config.data.color_space, to_unit(photos)  # in [-1, 1], as the model's data
    out = []
    with torch.inference_mode():
        for i in range(0, len(real), BATCH):
            gray = color.split(real[i:i + BATCH], space)[0].to(run.device)
            out.append(((run.family.output(run.modules, gray) + 1) / 2).clamp(0, 1).cpu())
    return float(colorfulness(torch.cat(out)).mean() / colorfulness((real + 1) / 2).mean())


def calibrate(run: LoadedRun, photos: torch.Tensor, views: int, target: float, rounds: int = 4) -> tuple[float, float]:
    """(chroma gain, colourfulness ratio it gives) for `views` views: the gain is scaled by
    target / ratio until the ratio is within 1% of `target` (colourfulness is close to linear
    in the gain until the colours reach the edge of what Lab can show)."""
    arch = run.config.arch
    arch["views"], arch["chroma_gain"] = views, 1.0
    ratio = colourfulness_ratio(run, photos)
    for _ in range(rounds):
        if abs(ratio - target) <= 0.01 * target:
            break
        arch["chroma_gain"] = round(arch["chroma_gain"] * target / max(ratio, 1e-3), 3)
        ratio = colourfulness_ratio(run, photos)
    return arch["chroma_gain"], ratio


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m latent_studio.evaluation.calibrate_colorizer", description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a colour-bin colorizer's run directory")
    p.add_argument("--views", type=int, default=8, choices=VIEW_COUNTS)
    p.add_argument("--target", type=float, default=0.9, help="colourfulness against real photos (default: %(default)s)")
    p.add_argument("--photos", type=int, default=600, help="training photos to fit on (default: %(default)s)")
    p.add_argument("--source", default="photos_128", choices=COLORIZE_SOURCES, help="whose training photos (default: %(default)s)")
    p.add_argument("--data-root", help="folder holding the datasets (default: $LATENT_STUDIO_DATA, else ./data)")
    args = p.parse_args(argv)
    try:
        run = load_run(args.run)
        if run.config.arch.get("chroma") != "bins":
            raise ValueError(f"{args.run} is not a colour-bin colorizer (arch.chroma = bins)")
        photos = training_sample(data_root(args.data_root), args.photos, args.source)
    except (CheckpointError, DatasetMissing, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    gain, ratio = calibrate(run, photos, args.views, args.target)
    path = Path(args.run) / CONFIG
    raw = json.loads(path.read_text())
    raw["arch"].update(views=args.views, chroma_gain=gain)
    command = shlex.join(["python", "-m", "latent_studio.evaluation.calibrate_colorizer", *(argv if argv is not None else sys.argv[1:])])
    raw.setdefault("card", {})["calibrated_with"] = command
    write_json(path, raw)
    print(f"{args.run}: {args.views} views, chroma gain {gain} (colourfulness {ratio:.3f} of real on {len(photos)} {args.source} "
          "training photos)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

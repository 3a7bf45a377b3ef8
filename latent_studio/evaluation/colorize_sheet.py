"""A side-by-side sheet of held-out photos for judging colorizers by eye: for each photo its gray
version, what each run makes of it, and the true colour photo, in that order.

    python -m latent_studio.evaluation.colorize_sheet RUN [RUN ...] --out sheet.png [--data-root DIR]

The photos are the same every time: 48 from the colorize corpus's test splits, spread evenly
over each source's sorted files (32 everyday photos, so every few classes appear, then 6 faces,
5 flowers and 5 landscapes). Each run colorizes them as evaluation does (Pix2Pix.output: its own
size, chroma under the photo's lightness through the guided filter), so the sheet shows what the
numbers measure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image

from latent_studio.data import color
from latent_studio.data.datasets import DatasetMissing, colorize_files, data_root, decode_files, to_unit
from latent_studio.families.img2img import COLORIZE
from latent_studio.families.run_models import LoadedRun, load_run
from latent_studio.runs.files import CheckpointError

SHEET_PHOTOS = {"photos_128": 32, "celeba_64": 6, "flowers_128": 5, "summer2winter_yosemite_128": 5}
SIZE = 128  # each photo's side on the sheet
PER_ROW = 3  # photos per row
GAP = 6  # pixels between photos


def sheet_photos(root: Path) -> torch.Tensor:
    """The sheet's 48 held-out photos, uint8 [48, 3, 128, 128]."""
    files = colorize_files(root, "test", tuple(SHEET_PHOTOS))
    picks = []
    for source, count in SHEET_PHOTOS.items():
        found = files[source]
        picks += [found[i] for i in torch.linspace(0, len(found) - 1, count).round().long().tolist()]
    return decode_files(picks, SIZE, 3)


def colorized(run: LoadedRun, photos: torch.Tensor) -> torch.Tensor:
    """The run's colour version of each photo, uint8 like the photos."""
    if run.family.serving().task != COLORIZE:
        raise ValueError(f"{run.path} is not a colorizer")
    space = run.config.data.color_space
    with torch.inference_mode():
        gray = color.split(to_unit(photos), space)[0].to(run.device)
        out = run.family.output(run.modules, gray).cpu()
    return ((out + 1) * 127.5).round().clamp(0, 255).byte()


def sheet(photos: torch.Tensor, versions: list[torch.Tensor]) -> Image.Image:
    """One image: per photo the gray version, each of `versions`, then the true photo, side by side;
    PER_ROW photos to a row with a white gap between photos."""
    gray = color.as_gray_rgb(color.split(to_unit(photos), "lab")[0], "lab")  # what a colorizer reads
    gray = ((gray + 1) * 127.5).round().clamp(0, 255).byte()
    columns = [gray, *versions, photos]
    cell = SIZE * len(columns)
    rows = (len(photos) + PER_ROW - 1) // PER_ROW
    canvas = Image.new("RGB", (PER_ROW * cell + (PER_ROW - 1) * GAP, rows * SIZE + (rows - 1) * GAP), "white")
    for i in range(len(photos)):
        x, y = (i % PER_ROW) * (cell + GAP), (i // PER_ROW) * (SIZE + GAP)
        for j, images in enumerate(columns):
            canvas.paste(Image.fromarray(images[i].permute(1, 2, 0).numpy()), (x + j * SIZE, y))
    return canvas


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m latent_studio.evaluation.colorize_sheet", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="colorizer run directories, one column each")
    p.add_argument("--out", type=Path, required=True, help="the PNG to write")
    p.add_argument("--data-root", help="folder holding the datasets (default: $LATENT_STUDIO_DATA, else ./data)")
    args = p.parse_args(argv)
    try:
        photos = sheet_photos(data_root(args.data_root))
        versions = [colorized(load_run(run, "cpu"), photos) for run in args.runs]
    except (CheckpointError, DatasetMissing, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sheet(photos, versions).save(args.out)
    print(f"{args.out}: {len(photos)} photos, columns gray | {' | '.join(args.runs)} | true")
    return 0


if __name__ == "__main__":
    sys.exit(main())

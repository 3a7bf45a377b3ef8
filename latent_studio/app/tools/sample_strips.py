"""Strips cut from shipped runs' own sample grids, for README and the docs: the first rows and
columns of a run's latest grid, exactly as the trainer drew it (the same fixed inputs every
snapshot), saved as a small PNG.

    python -m latent_studio.app.tools.sample_strips --out docs/images \\
        sngan-celeba:2x8 infogan-mnist:2x10 colorize-photos:3x4 cyclegan-summer2winter:2x4
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from latent_studio import SHIPPED
from latent_studio.runs.files import read_config

PADDING = 2  # torchvision's save_image: pixels between the grid's cells


def latest_grid(run: Path) -> Path:
    grids = sorted((run / "samples").glob("step_*.png"), key=lambda p: int(p.stem.split("_")[1]))
    if not grids:
        raise SystemExit(f"{run} has no sample grids")
    return grids[-1]


def strip(run: Path, rows: int, columns: int) -> Image.Image:
    """The top-left rows x columns cells of the run's latest grid."""
    cell = read_config(run).data.image_size + PADDING
    grid = Image.open(latest_grid(run)).convert("RGB")
    return grid.crop((0, 0, min(grid.width, columns * cell + PADDING), min(grid.height, rows * cell + PADDING)))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="RUN:ROWSxCOLUMNS, RUN a folder under checkpoints/")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for spec in args.runs:
        name, _, shape = spec.partition(":")
        rows, columns = (int(n) for n in (shape or "2x8").split("x"))
        path = args.out / f"{name.replace('/', '-')}.png"
        strip(SHIPPED / name, rows, columns).save(path, optimize=True)
        print(path, f"{path.stat().st_size / 1024:.0f} kB")


if __name__ == "__main__":
    main()

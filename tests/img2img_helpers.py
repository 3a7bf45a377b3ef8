"""Tiny on-disk datasets and tiny configs for the image-to-image tests: every run takes a second."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from latent_studio.runs.config import RunConfig
from latent_studio.training.trainer import new_config

SIZE = 32  # a U-Net of depth 5 and a ResNet both take 32 px


def photo(seed: int, size: tuple[int, int] = (SIZE, SIZE)) -> Image.Image:
    """A smooth colourful image: a random colour gradient, so colour and lightness both vary."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    corners = rng.uniform(0, 255, (3, 3))
    rgb = corners[0] + np.einsum("hw,c->hwc", x, corners[1] - corners[0]) + np.einsum("hw,c->hwc", y, corners[2] - corners[0])
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def write_data_root(root: Path, n: int = 6) -> Path:
    """The three layouts the families read: colorize (photos, faces, flowers + summer2winter),
    paired facades (photo | label side by side) and unpaired summer2winter."""
    for folder, seed in ((root / "flowers_128" / "daisy", 0), (root / "celeba_64" / "img_align_celeba_64", 400)):
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(10):  # split_files holds out every tenth
            photo(seed + i).save(folder / f"{i:03d}.png")
    for split, count in (("train", 3), ("test", 1)):
        folder = root / "photos_128" / split / "imagenette_church"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            photo(500 + i + (20 if split == "test" else 0)).save(folder / f"{i}.jpg")
    for split, count in (("train", n), ("test", 2)):
        for domain in "AB":
            folder = root / "summer2winter_yosemite_128" / f"{split}{domain}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                photo(100 + i + (50 if domain == "B" else 0) + (20 if split == "test" else 0)).save(folder / f"{i}.jpg")
        folder = root / "facades" / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pair = Image.new("RGB", (2 * SIZE, SIZE))
            pair.paste(photo(200 + i), (0, 0))
            pair.paste(photo(300 + i).convert("L").convert("RGB"), (SIZE, 0))
            pair.save(folder / f"{i}.jpg")
    return root


TINY_GENERATOR = {"width": 4, "max_width": 8, "n_blocks": 1}  # the smallest of each, where a generator has it


def tiny_config(family: str, dataset: str, *overrides: dict, steps: int = 2) -> RunConfig:
    """Smallest widths, batch 2, a snapshot every 2 steps, then `overrides` in order."""
    default = new_config(family, dataset, steps, image_size=SIZE).arch["generator"]
    generator = {k: v for k, v in TINY_GENERATOR.items() if k in default}
    base = {"arch": {"generator": generator, "discriminator": {"width": 4}},
            "train": {"batch_size": 2, "log_every": 1, "snapshot_every": 2, "pool_size": 3}}
    return new_config(family, dataset, steps, image_size=SIZE, overrides=[base, *overrides])

"""How well an upload's face is found and framed as CelebA's (latent_studio.data.faces), and what that
does to inversion.

CelebA's test faces are pasted into the test split's photos (photos_128, at 256 x 256) at random scale
(1 to 2.5 times their 64 px), place and roll (+-25 degrees), so where their eyes land is known. For each:

- the eye error: where the true eyes land in the 64 px frame found, against CelebA's eye positions
  (the worse of the two eyes, in pixels at 64 px); a face not found counts as a miss;
- the same for the detector's box alone (the eyes where they sit in an average box), to show what the
  eye locator adds;
- the inversion PSNR with sngan-celeba and its inverter of the aligned original, of the face framed from
  the photo, and of the photo's centre square (what a face model read before framing).

    python -m latent_studio.evaluation.face_framing [--faces 300] [--invert 100] [--data-root DIR] [--grid out.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from latent_studio import SHIPPED
from latent_studio.data import faces
from latent_studio.data.datasets import data_root
from latent_studio.data.uploads import centre_square
from latent_studio.families.run_models import load_run
from latent_studio.inference.inversion import as_model_input, invert

SCALES, ROLL = (1.0, 2.5), 25.0
TOLERANCE = 3.0  # px at 64 px: the target for the worse eye


def eye_error(true_eyes: np.ndarray, found: np.ndarray) -> float:
    """The worse eye's distance from CelebA's place, in px at 64 px, in the frame `found` makes."""
    return float(np.linalg.norm(faces.in_frame(true_eyes, found) - faces.EYES, axis=1).max())


def measure(root: Path, count: int, inverted: int, seed: int, grid: Path | None) -> None:
    errors, box_errors, originals, framed, centres, seconds = [], [], [], [], [], []
    for photo, eyes, face_file in faces.pasted_faces(root, "test", count, seed, SCALES, ROLL):
        image = Image.fromarray(photo)
        start = time.perf_counter()
        face = faces.find_face(image)
        seconds.append(time.perf_counter() - start)
        if face is None:
            errors.append(np.inf)
            box_errors.append(np.inf)
            continue
        errors.append(eye_error(eyes, face.eyes))
        gray, _ = faces.gray(image)
        box, back = faces.detect(gray)[0]
        box_errors.append(eye_error(eyes, faces.box_guess(box, back, faces.locator()["box_eyes"])))
        if len(originals) < inverted:
            originals.append(Image.open(face_file).convert("RGB"))
            framed.append(faces.frame(image, face))
            centres.append(centre_square(image).resize((faces.FRAME, faces.FRAME), Image.LANCZOS))
    errors, box_errors = np.array(errors), np.array(box_errors)
    found = np.isfinite(errors)
    print(f"{count} CelebA test faces pasted into test photos (scale {SCALES[0]}-{SCALES[1]} x 64 px, roll +-{ROLL:.0f} deg, seed {seed})")
    print(f"detected: {found.mean():.1%}; seconds per photo (256 px): median {np.median(seconds):.3f}")
    for name, e in (("box alone", box_errors), ("box + eye locator", errors)):
        q = np.percentile(e[found], [50, 90, 95])
        print(f"{name:18s} worse eye within {TOLERANCE:.0f} px: {np.mean(e <= TOLERANCE):.1%} of all faces "
              f"({np.mean(e[found] <= TOLERANCE):.1%} of those found); error px median {q[0]:.2f}, p90 {q[1]:.2f}, p95 {q[2]:.2f}")
    if originals:
        run = load_run(SHIPPED / "sngan-celeba", device="cpu")
        scores = {}
        for name, images in (("aligned original", originals), ("framed", framed), ("centre square", centres)):
            batch = torch.stack([as_model_input(im, run) for im in images])
            scores[name] = np.array(invert(run, batch).psnr)
        print(f"inversion PSNR (sngan-celeba + inverter, {len(originals)} of the faces found):")
        for name, s in scores.items():
            print(f"  {name:17s} mean {s.mean():.2f} dB  (vs original {s.mean() - scores['aligned original'].mean():+.2f} dB)")
        if grid:
            rows = [np.hstack([np.asarray(im) for im in images[:12]]) for images in (originals, framed, centres)]
            Image.fromarray(np.vstack(rows)).resize((12 * 128, 3 * 128), Image.NEAREST).save(grid)
            print(f"wrote {grid}: rows original, framed, centre square")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--faces", type=int, default=300)
    parser.add_argument("--invert", type=int, default=100, help="how many of the faces found to invert three ways")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grid", type=Path, default=None, help="a PNG of originals, framed faces and centre squares")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    measure(data_root(args.data_root), args.faces, args.invert, args.seed, args.grid)


if __name__ == "__main__":
    main()

"""Fit the face locator that latent_studio.data.faces ships (face_locator.safetensors).

CelebA's training faces are pasted into training photos (photos_128) at random scale, place and roll, so
where their eyes land is known exactly. On those photos this fits, in order:

- box_eyes: where the eyes sit in the face detector's boxes (the median over the faces it finds);
- stage0..: a cascade of ridge regressions (a supervised descent method), each from the HOG features of
  the photo warped by the current guess of the eyes to the eyes' true place in that warped frame. Each
  stage is fitted on the guesses the stages before it leave, starting from the box's guess.

    python -m latent_studio.training.face_locator [--data-root DIR] [--faces N]

Only training images are read: the test split stays for measuring (latent_studio.evaluation.face_framing).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from safetensors.numpy import save_file

from latent_studio.data import faces
from latent_studio.data.datasets import data_root

# Each stage's view (side, start, end: see faces.window_features): wide while the guess may be far off, then
# closer around the eyes, where a few pixels matter.
VIEWS = [(48, -16, 80), (48, -16, 80), (48, 0, 64), (48, 0, 64), (48, 8, 56)]
RIDGE = 1.0  # times the mean squared feature norm: how strongly each regression is pulled to zero
SCALES, ROLL = (0.8, 3.0), 30.0  # wider than the measurement's (1 to 2.5, +-25 degrees): uploads vary more


Sample = tuple[np.ndarray, np.ndarray, tuple, np.ndarray]  # gray photo, true eyes, detector's box, its turned-to-photo matrix


def collect(root: Path, count: int, seed: int = 0) -> list[Sample]:
    """Training faces pasted into training photos, each with the box the detector is surest of; faces it misses
    or mistakes for something in the background are left out (such a box says nothing about where eyes sit)."""
    samples = []
    for photo, eyes, _ in faces.pasted_faces(root, "train", count, seed, SCALES, ROLL):
        image = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
        boxes = faces.detect(image)
        if boxes and _on_the_face(eyes, *boxes[0]):
            samples.append((image, eyes, *boxes[0]))
    print(f"the detector found {len(samples)} of {count} pasted faces")
    return samples


def _on_the_face(eyes: np.ndarray, box: tuple, back: np.ndarray) -> bool:
    """Whether a box is on the face: its rough guess of the eyes lands within half an eye distance of them."""
    guess = faces.box_guess(box, back, np.array([[0.3, 0.38], [0.7, 0.38]]))
    return bool(np.linalg.norm(guess - eyes, axis=1).max() < 0.5 * np.linalg.norm(eyes[1] - eyes[0]))


def fit(samples: list[Sample], seed: int = 0, views=VIEWS, ridge: float = RIDGE) -> dict[str, np.ndarray]:
    grays, truths = [s[0] for s in samples], [s[1] for s in samples]
    relative = []
    for _, eyes, box, back in samples:
        to_turned = cv2.invertAffineTransform(back)
        relative.append(((eyes @ to_turned[:, :2].T + to_turned[:, 2]) - box[:2]) / box[2])
    box_eyes = np.median(np.array(relative), 0)
    guesses = [faces.box_guess(box, back, box_eyes) for _, _, box, back in samples]
    # Twice the faces: each also starts from another face's box error (as it lands in CelebA's frame), so every
    # stage sees more of the ways the box misses than the faces alone show.
    rng = np.random.default_rng(seed + 1)
    n = len(grays)
    order = rng.permutation(n)
    for i in range(n):
        error = faces.in_frame(guesses[order[i]], truths[order[i]])  # another face's guess in its true frame
        back = cv2.invertAffineTransform(faces.frame_matrix(truths[i], faces.FRAME))
        grays.append(grays[i])
        truths.append(truths[i])
        guesses.append(error @ back[:, :2].T + back[:, 2])
    weights = {"box_eyes": box_eyes.astype(np.float32)}
    for stage, view in enumerate(np.array(views, dtype=np.float32)):
        x = np.array([np.append(faces.window_features(g, e, view), 1.0) for g, e in zip(grays, guesses)])
        y = np.array([(faces.in_frame(t, e) - faces.EYES).ravel() for t, e in zip(truths, guesses)])
        penalty = ridge * (x[:, :-1] ** 2).sum(1).mean() * np.eye(x.shape[1])
        penalty[-1, -1] = 0  # the bias is free
        w = np.linalg.solve(x.T @ x + penalty, x.T @ y).astype(np.float32)
        weights[f"stage{stage}"], weights[f"view{stage}"] = w, view
        guesses = [faces.refine(g, e, [(view, w)]) for g, e in zip(grays, guesses)]
        errors = np.array([np.linalg.norm(faces.in_frame(t, e) - faces.EYES, axis=1).max() for t, e in zip(truths, guesses)])
        print(f"stage {stage}: worse eye within 3 px on {np.mean(errors <= 3):.1%} of the training faces "
              f"(median {np.median(errors):.2f} px)")
    return weights


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--faces", type=int, default=1500)
    parser.add_argument("--out", default=str(faces.LOCATOR))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    weights = fit(collect(data_root(args.data_root), args.faces))
    save_file(weights, args.out)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KB) in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

"""What a colorizer's output is worth beyond pixel error: does it carry the meaning colour carries,
and can it pass for a real photo? Two judges, both small classifiers trained here.

- Semantic test (Zhang et al. 2016, section 3.2): a classifier trained on real colour photos of 15
  classes (photos_128's ten ImageNette classes and the five flower species) scores the held-out
  test photos in colour, in gray and colorized. Gray loses the cues colour gives (a yellow
  dandelion, a red fire truck); the share of that gray-to-real accuracy gap the colorized photos
  win back is the measure. The classifier is trained once, seeded, and shipped in
  checkpoints/classifiers/, so every colorizer is judged by the same one.
- Fool rate: a classifier trained to tell real test photos from their colorized versions on one
  half of the test set, scored on the other half. Its error rate is the share of photos it gets
  wrong: 50% means it cannot tell them apart, 0% that colorization is always visible.

The semantic judge sees photos at 64 px; the fool-rate judge sees the test photos at their own
128 px, so the colorizer's chroma resolution is visible to it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from latent_studio.data.datasets import decode_files, image_files, split_files, to_unit
from latent_studio.families.classifier import CLASSIFIERS, DomainClassifier, batched, fit_classifier, kept_classifier, native_crop

SEMANTIC = "colorize-semantic.safetensors"  # in the judges folder
SEMANTIC_SIZE = 64


def semantic_files(root: Path, split: str) -> tuple[list[Path], list[int], list[str]]:
    """The labelled photos of the semantic test: photos_128's ImageNette classes (their own split)
    and the flower species (every tenth file is test, as in the colorize corpus)."""
    paths, labels, names = [], [], []
    for folder in sorted((root / "photos_128" / split).glob("imagenette_*")):
        files = image_files(folder)
        paths += files
        labels += [len(names)] * len(files)
        names.append(folder.name.removeprefix("imagenette_"))
    for folder in sorted(p for p in (root / "flowers_128").iterdir() if p.is_dir()):
        files = split_files(image_files(folder), split)
        paths += files
        labels += [len(names)] * len(files)
        names.append(folder.name)
    return paths, labels, names


def semantic_classifier(root: Path, judges: Path = CLASSIFIERS, epochs: int = 12) -> tuple[DomainClassifier, dict]:
    """The semantic judge kept in `judges`, else one trained now on the real train photos (and kept)."""

    def train() -> tuple[DomainClassifier, dict]:
        paths, labels, names = semantic_files(root, "train")
        model = fit_classifier(to_unit(decode_files(paths, SEMANTIC_SIZE, 3)), torch.tensor(labels), len(names), epochs)
        test_paths, test_labels, _ = semantic_files(root, "test")
        pred = batched(model, to_unit(decode_files(test_paths, SEMANTIC_SIZE, 3))).argmax(1)
        accuracy = float((pred == torch.tensor(test_labels)).float().mean())
        return model, {"classes": names, "image_size": SEMANTIC_SIZE, "epochs": epochs, "train_images": len(paths),
                       "test_accuracy": round(accuracy, 4)}

    return kept_classifier(judges / SEMANTIC, 3, len(semantic_files(root, "test")[2]), train)


def _small(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=SEMANTIC_SIZE, mode="bilinear", antialias=True, align_corners=False)


def semantic_test(root: Path, colorize: Callable[[torch.Tensor], torch.Tensor], gray: Callable[[torch.Tensor], torch.Tensor],
                  judges: Path = CLASSIFIERS) -> dict:
    """Accuracy of the semantic judge on the test photos in colour, gray and colorized (photos in
    [-1, 1] at 128 px in, the same out), and the share of the gray-to-real gap won back."""
    judge, meta = semantic_classifier(root, judges)
    paths, labels, _ = semantic_files(root, "test")
    photos, y = to_unit(decode_files(paths, 128, 3)), torch.tensor(labels)

    def accuracy(view: Callable[[torch.Tensor], torch.Tensor]) -> float:
        return float((batched(lambda x: judge(_small(view(x))), photos, 100).argmax(1) == y).float().mean())

    acc = {"real": accuracy(lambda x: x), "gray": accuracy(gray), "colorized": accuracy(colorize)}
    gap = acc["real"] - acc["gray"]
    return {"semantic_real": round(acc["real"], 4), "semantic_gray": round(acc["gray"], 4),
            "semantic_colorized": round(acc["colorized"], 4),
            "semantic_gap_recovered": round((acc["colorized"] - acc["gray"]) / gap, 4) if gap > 0 else None,
            "semantic_test_images": len(y), "semantic_classes": len(meta["classes"])}


def fool_rate(real: torch.Tensor, colorized: torch.Tensor, epochs: int = 8) -> dict:
    """Error of a real-vs-colorized judge trained on the even-indexed test photos (both versions of
    each) and scored on the odd-indexed ones: no photo is both studied and judged."""
    fit, held = slice(0, None, 2), slice(1, None, 2)
    x = torch.cat([real[fit], colorized[fit]])
    y = torch.cat([torch.zeros(len(real[fit])), torch.ones(len(colorized[fit]))]).long()
    judge = fit_classifier(x, y, 2, epochs, seed=1, view=native_crop)
    wrong = int((batched(judge, real[held], 100).argmax(1) == 1).sum()) + int((batched(judge, colorized[held], 100).argmax(1) == 0).sum())
    return {"fool_rate": round(wrong / (2 * len(real[held])), 4), "fool_rate_images": 2 * len(real[held])}

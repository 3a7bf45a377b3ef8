"""Measure an image-to-image run on its test split and record the numbers in its config.json.

    python -m training.img2img_eval RUN [RUN ...] [--data-root DIR] [--json]

- colorization (pix2pix on `colorize`): PSNR and SSIM of the colorized test photos against the
  true colour ones, beside the plain gray image's (the baseline to beat), and colourfulness
  (Hasler and Suesstrunk) against the real photos' mean. Taken at the photos' own 128 px even
  when the model runs smaller: its chroma is upsampled under the photo's lightness, as in the app.
- pix2pix on paired data (facades): L1, PSNR and SSIM against the true targets.
- CycleGAN: mean cycle L1 per domain, and the share of translated test images that a small
  A-vs-B classifier, trained on the real train split, assigns to the target domain. The classifier
  is trained once and kept in the run directory (classifier.safetensors), so the number is
  repeatable; its own accuracy on the real test images is reported beside it.

`evaluate_run(run_dir, data_root)` is what `python -m training evaluate` dispatches to for these
families.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader

from training.checkpoint import CONFIG, CheckpointError, LoadedRun, atomic_write, load_run, read_config, write_json
from training.classifier import DomainClassifier
from training.data import DATASETS, DatasetMissing, load_dataset, to_unit
from training.families.img2img import IMAGE_TO_IMAGE
from training.families.pix2pix import is_colorizer

CLASSIFIER = "classifier.safetensors"
CLASSIFIER_SIZE = 64  # summer vs winter is plain at 64 px; a quarter of the cost of 128
BATCH = 100


def _batches(dataset, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for a, b in DataLoader(dataset, BATCH):
        yield a.to(device), b.to(device)


def _domains(dataset, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Each test image of both domains exactly once: chunks of A beside chunks of B (one side
    runs out first and is then empty). The trainer's UnpairedImages would draw B at random."""
    for i in range(0, max(len(dataset.a), len(dataset.b)), BATCH):
        yield to_unit(dataset.a[i:i + BATCH]).to(device), to_unit(dataset.b[i:i + BATCH]).to(device)


def _classifier_input(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] at any size -> the classifier's 64 px."""
    return F.interpolate(x.float(), size=CLASSIFIER_SIZE, mode="bilinear", antialias=True, align_corners=False)


def domain_classifier(
    run: LoadedRun, data_root: str | os.PathLike | None, epochs: int = 15, seed: int = 0,
) -> tuple[DomainClassifier, dict]:
    """The run's A (0) vs B (1) classifier: loaded from the run directory, else trained on the real
    train split (seeded) and saved there. Returns it in eval mode with its metadata."""
    path = run.path / CLASSIFIER
    model = DomainClassifier(run.config.data.channels, 2)
    if path.is_file():
        from safetensors import safe_open

        with safe_open(path, "pt") as f:
            meta = json.loads(f.metadata()["info"])
        model.load_state_dict(load_file(path))
        return model.eval(), meta
    torch.manual_seed(seed)
    train = load_dataset(run.config.data, data_root, "train")
    x = torch.cat([_classifier_input(to_unit(train.a)), _classifier_input(to_unit(train.b))])
    y = torch.cat([torch.zeros(len(train.a)), torch.ones(len(train.b))]).long()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(64):
            batch = x[idx]
            batch = torch.where(torch.rand(len(idx), 1, 1, 1) < 0.5, batch, batch.flip(-1))  # mirror half: no left/right cue
            loss = F.cross_entropy(model(batch), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval()
    test = load_dataset(run.config.data, data_root, "test")
    with torch.inference_mode():
        correct = sum(int((model(_classifier_input(a)).argmax(1) == 0).sum()) + int((model(_classifier_input(b)).argmax(1) == 1).sum())
                      for a, b in _domains(test, torch.device("cpu")))
    meta = {"classes": ["A", "B"], "image_size": CLASSIFIER_SIZE, "epochs": epochs, "seed": seed, "train_images": len(x),
            "test_accuracy": round(correct / (len(test.a) + len(test.b)), 4), "train_seconds": round(time.perf_counter() - start, 1)}
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"info": json.dumps(meta)}))
    return model, meta


def _target_shares(run: LoadedRun, classifier: DomainClassifier, dataset) -> dict[str, float]:
    """Share of test A translated to B that the classifier calls B, and of B -> A called A; with
    the same shares for the untranslated images (the classifier's false-positive floor)."""
    classifier = classifier.to(run.device)
    m = run.modules
    counts = {"ab": 0, "ba": 0, "real_a_as_b": 0, "real_b_as_a": 0}
    with torch.inference_mode():
        for a, b in _domains(dataset, run.device):
            if len(a):
                counts["ab"] += int((classifier(_classifier_input(m["generator_ab"](a))).argmax(1) == 1).sum())
                counts["real_a_as_b"] += int((classifier(_classifier_input(a)).argmax(1) == 1).sum())
            if len(b):
                counts["ba"] += int((classifier(_classifier_input(m["generator_ba"](b))).argmax(1) == 0).sum())
                counts["real_b_as_a"] += int((classifier(_classifier_input(b)).argmax(1) == 0).sum())
    n_a, n_b = len(dataset.a), len(dataset.b)
    return {"test_target_share_ab": round(counts["ab"] / n_a, 4), "test_target_share_ba": round(counts["ba"] / n_b, 4),
            "test_real_a_called_b": round(counts["real_a_as_b"] / n_a, 4), "test_real_b_called_a": round(counts["real_b_as_a"] / n_b, 4)}


def evaluate_run(run_dir: str | os.PathLike, data_root: str | os.PathLike | None = None, write: bool = True) -> dict:
    """The run's test-split metrics (see the module docstring), also merged into its config.json
    metrics unless write=False."""
    family = read_config(run_dir).family
    if family not in IMAGE_TO_IMAGE:
        raise ValueError(f"{run_dir} is a {family} run; img2img_eval measures pix2pix and cyclegan runs")
    run = load_run(run_dir)
    cfg = run.config
    data = cfg.data
    if is_colorizer(data):  # the test photos at the dataset's own size, however small the model ran
        data = dataclasses.replace(data, image_size=max(data.image_size, DATASETS[data.dataset].image_size))
    test = load_dataset(data, data_root, "test")
    with torch.inference_mode():
        batches = _domains(test, run.device) if cfg.family == "cyclegan" else _batches(test, run.device)
        metrics = run.family.evaluate(run.modules, batches)
    metrics["eval_image_size"], metrics["eval_step"] = data.image_size, run.config.step
    if cfg.family == "cyclegan":
        classifier, meta = domain_classifier(run, data_root)
        metrics.update(_target_shares(run, classifier, test), classifier_test_accuracy=meta["test_accuracy"],
                       test_images_a=len(test.a), test_images_b=len(test.b))
    if write:
        raw = json.loads((Path(run_dir) / CONFIG).read_text())
        raw.setdefault("metrics", {}).update(metrics)
        write_json(Path(run_dir) / CONFIG, raw)
    return metrics


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.img2img_eval", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="run directories (pix2pix or cyclegan)")
    p.add_argument("--data-root", help="folder holding the datasets (default: $LATENT_STUDIO_DATA, else ./data)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        results = {run: evaluate_run(run, args.data_root) for run in args.runs}
    except (CheckpointError, DatasetMissing, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for run, metrics in results.items():
        print(run)
        for k, v in metrics.items():
            print(f"  {k:<26} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

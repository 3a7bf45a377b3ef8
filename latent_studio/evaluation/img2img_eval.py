"""Measure an image-to-image run on its test split and record the numbers in its config.json.

    python -m latent_studio.evaluation.img2img_eval RUN [RUN ...] [--data-root DIR] [--json]

What a run is measured by follows its task (its family's Serving, latent_studio/families/img2img.py):
- colorization (pix2pix on `colorize`): PSNR and SSIM of the colorized test photos against the
  true colour ones, beside the plain gray image's (the baseline to beat), colourfulness (Hasler
  and Suesstrunk) against the real photos' and the share of colourful pixels given the right hue,
  overall and per source of the corpus; then the semantic test and the fool rate
  (latent_studio/evaluation/colorize_eval.py). Taken at the photos' own 128 px even when the model runs smaller:
  its chroma is upsampled under the photo's lightness, as in the app.
- paired translation (pix2pix on facades): L1, PSNR and SSIM against the true targets, beside the same
  for the mean training photo given as every answer.
- unpaired translation (CycleGAN): mean cycle L1 per domain; the share of translated test images that a small A-vs-B
  classifier, trained on the real train split, assigns to the target domain; and the period-2
  (checkerboard) energy of the translations relative to real photos. Between kinds of CelebA
  face (DiscoGAN, women <-> men) also whether the output is still the same person, in the
  features of the CelebA attribute judge.
- upscaling (SRGAN on photos): each held-out photo made x1/4 and brought back, PSNR, SSIM and
  sharpness (mean luma gradient, as a share of the true photo's) beside bicubic upscaling's.
- inpainting (context encoder on faces): seeded holes (squares and brush strokes) in the held-out
  images, PSNR over the hole beside a blur fill's, and the fool rate of a small real-vs-filled
  judge for the model's fills and for the blur fill.

The classifiers that judge are trained once per dataset, seeded, and kept in
checkpoints/classifiers/ beside the others, so every run is scored by the same judge and the
numbers repeat; each judge's own accuracy on real test images is reported beside its verdicts.

`evaluate_run(run_dir, data_root)` is what `python -m latent_studio evaluate` dispatches to for these
families.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from latent_studio.data import color
from latent_studio.data.datasets import DATASETS, ColorPairs, DatasetMissing, colorize_files, decode_files, load_dataset, to_unit
from latent_studio.data.datasets import data_root as data_root_path
from latent_studio.data.image_quality import checkerboard_energy, l1, psnr, ssim
from latent_studio.evaluation.colorize_eval import fool_rate, semantic_test
from latent_studio.families import IMG2IMG, family_names, get_family
from latent_studio.families.classifier import CLASSIFIERS, DomainClassifier, fit_classifier, kept_classifier, load_classifier
from latent_studio.families.img2img import COLORIZE, INPAINT, PAIRED, UNPAIRED
from latent_studio.families.inpaint import blur_fill, random_masks
from latent_studio.families.run_models import LoadedRun, load_run
from latent_studio.runs.config import DataSpec
from latent_studio.runs.files import CheckpointError, read_config, record_metrics

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


def domain_classifier(data: DataSpec, data_root: str | os.PathLike | None, judges: Path = CLASSIFIERS,
                      epochs: int = 30) -> tuple[DomainClassifier, dict]:
    """The A (0) vs B (1) judge of an unpaired dataset, kept in `judges` (one per dataset, so runs
    are compared by the same judge), else trained now on its real train split and kept."""

    def train() -> tuple[DomainClassifier, dict]:
        photos = load_dataset(data, data_root, "train")
        x = torch.cat([_classifier_input(to_unit(photos.a)), _classifier_input(to_unit(photos.b))])
        y = torch.cat([torch.zeros(len(photos.a)), torch.ones(len(photos.b))]).long()
        model = fit_classifier(x, y, 2, epochs)
        test = load_dataset(data, data_root, "test")
        with torch.inference_mode():
            correct = sum(int((model(_classifier_input(a)).argmax(1) == 0).sum()) + int((model(_classifier_input(b)).argmax(1) == 1).sum())
                          for a, b in _domains(test, torch.device("cpu")))
        return model, {"classes": ["A", "B"], "image_size": CLASSIFIER_SIZE, "epochs": epochs, "train_images": len(x),
                       "test_accuracy": round(correct / (len(test.a) + len(test.b)), 4)}

    # one judge per pair of domains: a two-folder dataset is known by its folder, a named one by its name
    key = Path(data.path).name if data.dataset == "unpaired" else data.dataset
    return kept_classifier(judges / f"domains-{key}.safetensors", data.channels, 2, train)


def _ways(run: LoadedRun) -> list[tuple[str, str, str]]:
    """(source domain, target domain, generator) for each way an unpaired run translates: A -> B,
    and B -> A when it has a way back."""
    routes = run.family.serving().routes
    return [(source, target, routes[route][0]) for source, target, route in (("a", "b", "AtoB"), ("b", "a", "BtoA")) if route in routes]


def _translations_judged(run: LoadedRun, classifier: DomainClassifier, dataset) -> dict[str, float]:
    """One pass over the test photos of the domains the run translates from, each translated once:
    - the share of A translated to B that the classifier calls B (and of B -> A called A, for a
      run that goes both ways), with the same share for the untranslated photos (the classifier's
      false-positive floor);
    - the period-2 (checkerboard) energy of the translations relative to the real photos of the
      domain they imitate (1: no more grid than a photo has; a transposed-conv generator's grid
      shows as several times)."""
    classifier = classifier.to(run.device)
    ways = _ways(run)

    def called(x: torch.Tensor, domain: str) -> int:
        return int((classifier(_classifier_input(x)).argmax(1) == "ab".index(domain)).sum())

    def grid(x: torch.Tensor) -> float:
        return float(checkerboard_energy(((x.float() + 1) / 2).clamp(0, 1)).sum())

    counts, energy = {}, {}
    with torch.inference_mode():
        for a, b in _domains(dataset, run.device):
            images = {"a": a, "b": b}
            for domain, x in images.items():
                energy[domain] = energy.get(domain, 0.0) + grid(x)
            for source, target, generator in ways:
                x = images[source]
                if len(x):
                    y = run.modules[generator](x)
                    counts[source + target] = counts.get(source + target, 0) + called(y, target)
                    counts[f"real_{source}_as_{target}"] = counts.get(f"real_{source}_as_{target}", 0) + called(x, target)
                    energy[source + target] = energy.get(source + target, 0.0) + grid(y)
    n = {"a": len(dataset.a), "b": len(dataset.b)}
    out = {}
    for source, target, _ in ways:
        out[f"test_target_share_{source}{target}"] = round(counts.get(source + target, 0) / n[source], 4)
        out[f"test_real_{source}_called_{target}"] = round(counts.get(f"real_{source}_as_{target}", 0) / n[source], 4)
        out[f"checkerboard_{source}{target}"] = round((energy[source + target] / n[source]) / (energy[target] / n[target]), 3)
    return out


def _identity_kept(run: LoadedRun, dataset) -> dict[str, float]:
    """For translations from CelebA faces (women <-> men, face -> anime): is the output still the
    same person? Distances in the features of the CelebA attribute judge from each test face to
    its translation and to a real image of the target domain drawn at random (seeded): the share
    of faces whose translation is the closer, and the ratio of the mean distances (1: no more like
    the input than a stranger)."""
    judge = load_classifier("celeba", run.device)
    if judge is None:
        return {}
    g = torch.Generator().manual_seed(0)
    closer, own, stranger, n = 0, 0.0, 0.0, 0
    with torch.inference_mode():
        for a_or_b, b_or_a, generator in _ways(run):
            source, target = getattr(dataset, a_or_b), getattr(dataset, b_or_a)
            others = target[torch.randint(len(target), (len(source),), generator=g)]
            for i in range(0, len(source), BATCH):
                x, y = to_unit(source[i:i + BATCH]).to(run.device), to_unit(others[i:i + BATCH]).to(run.device)
                f = judge.features(_classifier_input(x))
                d_out = (f - judge.features(_classifier_input(run.modules[generator](x)))).norm(dim=1)
                d_rand = (f - judge.features(_classifier_input(y))).norm(dim=1)
                closer += int((d_out < d_rand).sum())
                own, stranger, n = own + float(d_out.sum()), stranger + float(d_rand.sum()), n + len(x)
    return {"identity_closer_share": round(closer / n, 4), "identity_distance_ratio": round(own / stranger, 4)}


def _mean_photo_baseline(run: LoadedRun, data_root: str | os.PathLike | None, test) -> dict[str, float]:
    """L1, PSNR and SSIM of answering every test source with the mean training target: the blur a
    paired model has to beat to have learned anything from its input."""
    family = run.family
    train = load_dataset(run.config.data, data_root, "train")
    targets = family.source_target((train.a, train.b))[1]
    mean = (targets.float() / 255).mean(0, keepdim=True)
    sums, n = {"baseline_l1": 0.0, "baseline_psnr": 0.0, "baseline_ssim": 0.0}, 0
    for batch in _batches(test, torch.device("cpu")):
        true = (family.source_target(batch)[1].float() + 1) / 2
        guess = mean.expand_as(true)
        for key, fn in (("baseline_l1", l1), ("baseline_psnr", psnr), ("baseline_ssim", ssim)):
            sums[key] += float(fn(guess, true).sum())
        n += len(true)
    return {k: round(v / n, 4) for k, v in sums.items()}


def _fills_judged(run: LoadedRun, test) -> dict[str, float]:
    """The fool rate (latent_studio/evaluation/colorize_eval.py) of the model's fills and of the blur fill, on the
    held-out images with the same seeded holes as the family's evaluate."""
    family = run.family
    g = torch.Generator().manual_seed(family.eval_seed)
    real, ours, blur = [], [], []
    with torch.no_grad():  # not inference mode: the judges train on these
        for images, _ in _batches(test, run.device):
            masks = random_masks(len(images), images.shape[-1], g).to(run.device)
            real.append(images)
            ours.append(family.fill(run.modules, images, masks))
            blur.append(blur_fill(images, masks))
    real, ours, blur = (((torch.cat(x).cpu() + 1) / 2).clamp(0, 1) for x in (real, ours, blur))
    judged = fool_rate(real, ours)
    return {**judged, "blur_fool_rate": fool_rate(real, blur)["fool_rate"]}


def _colorizer_judged(run: LoadedRun, data: DataSpec, data_root: str | os.PathLike | None, judges: Path) -> dict:
    """The colorizer's measures per source of the corpus, and its two judges (latent_studio/evaluation/colorize_eval.py)."""
    family, m, space = run.family, run.modules, data.color_space

    def colorize(x: torch.Tensor) -> torch.Tensor:
        return family.output(m, color.split(x.to(run.device), space)[0]).cpu()

    def gray(x: torch.Tensor) -> torch.Tensor:
        return color.as_gray_rgb(color.split(x, space)[0], space)

    root = data_root_path(data_root)
    per_source, photos = {}, []
    for source, files in colorize_files(root, "test").items():
        images = decode_files(files, data.image_size, 3)
        photos.append(images)
        with torch.inference_mode():
            per_source[source] = family.evaluate(m, _batches(ColorPairs(images, space), run.device))
    real = to_unit(torch.cat(photos))
    with torch.no_grad():  # not inference mode: the fool-rate judge trains on these
        colorized = torch.cat([colorize(real[i:i + BATCH]) for i in range(0, len(real), BATCH)])
    return {"per_source": per_source, **semantic_test(root, colorize, gray, judges), **fool_rate(real, colorized)}


def evaluate_run(run_dir: str | os.PathLike, data_root: str | os.PathLike | None = None, write: bool = True,
                 judges: Path = CLASSIFIERS) -> dict:
    """The run's test-split metrics (see the module docstring), also merged into its config.json
    metrics unless write=False. The classifiers that judge the outputs are kept in `judges`."""
    family = read_config(run_dir).family
    if get_family(family).kind != IMG2IMG:
        raise ValueError(f"{run_dir} is a {family} run; img2img_eval measures image-to-image runs ({', '.join(family_names(IMG2IMG))})")
    run = load_run(run_dir)
    cfg = run.config
    data = cfg.data
    task = run.family.serving().task
    if task == COLORIZE:  # the test photos at the dataset's own size, however small the model ran
        data = dataclasses.replace(data, image_size=max(data.image_size, DATASETS[data.dataset].image_size))
    test = load_dataset(data, data_root, "test")
    unpaired = task == UNPAIRED  # two domains, each image shown once; else (source, target) pairs
    with torch.inference_mode():
        batches = _domains(test, run.device) if unpaired else _batches(test, run.device)
        metrics = run.family.evaluate(run.modules, batches)
    metrics["eval_image_size"], metrics["eval_step"] = data.image_size, run.config.step
    if unpaired:
        classifier, meta = domain_classifier(cfg.data, data_root, judges)
        metrics.update(_translations_judged(run, classifier, test), classifier_test_accuracy=meta["test_accuracy"],
                       test_images_a=len(test.a), test_images_b=len(test.b))
        if data.path == DATASETS["celeba"].path:  # from faces of real people: is it still the same one?
            metrics.update(_identity_kept(run, test))
    elif task == COLORIZE:
        metrics.update(_colorizer_judged(run, data, data_root, judges))
    elif task == PAIRED:
        metrics.update(_mean_photo_baseline(run, data_root, test))
    elif task == INPAINT:
        metrics.update(_fills_judged(run, test))
    if write:
        record_metrics(run_dir, metrics)
    return metrics


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m latent_studio.evaluation.img2img_eval", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="run directories of image-to-image families")
    p.add_argument("--data-root", help="folder holding the datasets (default: $LATENT_STUDIO_DATA, else ./data)")
    p.add_argument("--judges", type=Path, default=CLASSIFIERS, help="folder that keeps the judging classifiers (default: %(default)s)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        results = {run: evaluate_run(run, args.data_root, judges=args.judges) for run in args.runs}
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

"""Discovered directions: found in a generator without labels (latent_studio.inference.directions)
and named by what the project's judges see change along them.

The judges score every image: the dataset's classifier (CelebA's 40 attributes for faces, anime
faces included; the class for MNIST and Fashion-MNIST, one score per class) and, for
any image, its colour and brightness statistics. A direction d is shown to each judge as the
attribute test of `evaluate` does it: on fresh samples z, the share whose score rises (or falls)
from z - STEP * d through z to z + STEP * d. A score that moves one way for at least MIN_SHARE of
samples, by at least MIN_EFFECT of its spread across samples, names the direction
("mostly: Smiling +, Mouth Slightly Open +"). A class judge's scores are log-probabilities (no
ties where a class is certain) but their effect is measured in probability, so a class going from
one in a million to one in ten thousand names nothing; and a direction that turns the top class
into another for at least CHANGE_SHARE of samples, whichever classes they are, is said to change
the digit (or class). A direction that moves nothing so is said to change nothing a judge sees.

`evaluate` stores the directions with their names in <run>/discovered.safetensors; a run without
the file (or with one from an older checkpoint) gets them found and named on first use
(`discovered`), which takes seconds on a CPU, and kept in the run when its folder is writable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from latent_studio.data.datasets import celeba_attributes
from latent_studio.families.classifier import load_classifier
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.directions import first_activations, first_linear, ganspace, sefa
from latent_studio.runs.config import DataSpec
from latent_studio.runs.files import DISCOVERED, CheckpointError, atomic_write

COUNT = 10  # directions kept per run
REACH = 3.0  # the sliders' and strips' reach: a unit direction moved 3 standard deviations of the prior
STEP = 2.0  # weight in the judges' test: two thirds of the reach, as for the labelled attribute directions
MIN_SHARE = 0.8  # the share of samples a score must move one way for (the labelled directions' test)
MIN_EFFECT = 0.5  # ... by this much of the score's spread across samples, so a faint drift names nothing
CHANGE_SHARE = 0.5  # the share of samples whose top class a direction must change to be said to change it
NAMED = 3  # scores a label names at most
GANSPACE_SAMPLES = 3000
METHODS = ("sefa", "ganspace")
NOTHING = "changes nothing a judge sees"

# datasets whose images a related dataset's judge reads: anime faces by CelebA's face attributes
JUDGE_FROM = {"anime": "celeba"}


@dataclass(frozen=True)
class Judge:
    """Named scores of images in [-1, 1]: score(images) is [N, len(names)]."""

    title: str  # what it judges: attributes, classes, image statistics
    names: list[str]
    score: Callable[[Tensor], Tensor]
    features: Callable[[Tensor], Tensor] | None = None  # a classifier's features: how far an image moved
    noun: str = ""  # a class judge's: what changes when its top class does ("digit"); its scores are log-probabilities


@dataclass(frozen=True)
class Discovered:
    directions: Tensor  # [K, dim], unit rows, largest variation first
    labels: list[str]  # per direction: "mostly: Smiling +, Bangs -" or NOTHING
    info: dict  # method, step, seconds, and per direction what each judge saw (`effects`)


def image_statistics(images: Tensor) -> Tensor:
    """Per image ([N, C, H, W] in [-1, 1]): brightness, contrast and, for colour images,
    saturation and the red, green and blue tints (a channel's mean less the gray mean)."""
    x = (images.float() + 1) / 2
    gray = x.mean(1)
    columns = [gray.mean((1, 2)), gray.flatten(1).std(1)]
    if x.shape[1] == 3:
        columns.append((x.amax(1) - x.amin(1)).mean((1, 2)))
        columns += [(x[:, c] - gray).mean((1, 2)) for c in range(3)]
    return torch.stack(columns, 1)


def statistics_judge(channels: int) -> Judge:
    names = ["Brightness", "Contrast"] + (["Saturation", "Red tint", "Green tint", "Blue tint"] if channels == 3 else [])
    return Judge("image statistics", names, image_statistics)


def class_names(data: DataSpec) -> list[str]:
    """The dataset's classes as a judge names them: "digit 7" for MNIST, else the class name."""
    return [f"digit {c}" if data.dataset == "mnist" else c for c in data.class_names]


def judges(run: LoadedRun, data_root: str | None = None) -> list[Judge]:
    """The judges that read this run's images: its dataset's classifier where one is shipped (and,
    for CelebA's, where the attribute names can be read from the data), and the image statistics."""
    data = run.config.data
    out = []
    dataset = JUDGE_FROM.get(data.dataset, data.dataset)
    classifier = load_classifier(dataset)
    if classifier is not None and classifier.info["channels"] == data.channels:
        size = classifier.info["image_size"]

        def fit(x: Tensor) -> Tensor:
            return x if x.shape[-1] == size else F.interpolate(x, size=size, mode="bilinear", antialias=True)

        if classifier.info["multilabel"]:
            try:
                names = [name.replace("_o_", " o'").replace("_", " ") for name in celeba_attributes(data_root)]
            except OSError:  # no CelebA under the data root: no names to give its judge's scores
                names = []
            if len(names) == classifier.info["outputs"]:
                out.append(Judge("attributes", names, lambda x: classifier(fit(x)), lambda x: classifier.features(fit(x))))
        elif len(names := class_names(data)) == classifier.info["outputs"]:
            out.append(Judge("classes", names, lambda x: classifier(fit(x)).log_softmax(1), lambda x: classifier.features(fit(x)),
                             "digit" if data.dataset == "mnist" else "class"))
    out.append(statistics_judge(data.channels))
    return out


@torch.inference_mode()
def render(run: LoadedRun, inputs: Tensor, batch: int = 250) -> Tensor:
    """Images for generator inputs, in batches, on the CPU."""
    g = run.modules["generator"]
    return torch.cat([g(inputs[i:i + batch].to(run.device)).float().cpu() for i in range(0, len(inputs), batch)])


@torch.inference_mode()
def find(run: LoadedRun, method: str = "sefa", count: int = COUNT, seed: int = 0) -> Tensor:
    """The top `count` directions of the run's z ([count, dim]) by `method` (sefa or ganspace;
    sefa falls back to ganspace for a generator that does not start with a linear layer)."""
    spec, g = run.config.latent, run.modules["generator"]
    count = min(count, spec.dim)
    layer = first_linear(g, spec.input_dim)
    if method == "sefa" and layer is not None:
        return sefa(layer.weight[:, :spec.dim].float().cpu(), count)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use {' or '.join(METHODS)}")
    sample = spec.sample(GANSPACE_SAMPLES, torch.Generator().manual_seed(seed))
    features = torch.cat([first_activations(g, part.to(run.device)).float().cpu() for part in sample.generator_input().split(500)])
    return ganspace(sample.z, features, count)


@torch.inference_mode()
def judge(run: LoadedRun, directions: Tensor, panel: list[Judge], samples: int = 500, seed: int = 0) -> list[dict]:
    """What each judge sees each direction do, on `samples` fresh draws: per direction, every
    score that moved one way for at least half the samples ({name, sign, share, effect}, strongest
    first), the best share of any score of each judge, per class judge the share of samples whose
    top class differs between -STEP and +STEP (`changed`), and, given a feature map, how far the
    image moves at +STEP as a fraction of the distance between two random samples' images (1: a
    stranger), in the features of the first judge that has them."""
    spec = run.config.latent
    sample = spec.sample(samples, torch.Generator().manual_seed(seed + 5))
    base = sample.generator_input()
    names = [n for j in panel for n in j.names]
    features = next((j.features for j in panel if j.features is not None), None)

    def scores(images: Tensor) -> list[Tensor]:
        return [j.score(images).float() for j in panel]

    def measured(parts: list[Tensor]) -> Tensor:  # what an effect is measured in: probability for a class judge
        return torch.cat([p.exp() if j.noun else p for j, p in zip(panel, parts)], 1)

    here_images = render(run, base)
    here_parts = scores(here_images)
    here = torch.cat(here_parts, 1)
    spread = measured(here_parts).std(0).clamp_min(1e-6)
    if features is not None:
        feats_here = features(here_images)
        stranger = float((feats_here - feats_here.roll(1, 0)).norm(dim=1).mean())
    out = []
    for d in directions:
        shift = torch.zeros(base.shape[1])
        shift[:spec.dim] = STEP * d
        plus_images = render(run, base + shift)
        plus_parts, minus_parts = scores(plus_images), scores(render(run, base - shift))
        plus, minus = torch.cat(plus_parts, 1), torch.cat(minus_parts, 1)
        up = ((plus > here) & (here > minus)).float().mean(0)
        down = ((plus < here) & (here < minus)).float().mean(0)
        effect = (measured(plus_parts) - measured(minus_parts)).mean(0) / spread
        moved = []
        for i in torch.argsort(effect.abs(), descending=True).tolist():
            share = max(float(up[i]), float(down[i]))
            if share >= 0.5:
                moved.append({"name": names[i], "sign": "+" if up[i] >= down[i] else "-", "share": round(share, 3),
                              "effect": round(float(effect[i]), 3)})
        best = torch.maximum(up, down).split([len(j.names) for j in panel])
        row = {"moved": moved[:8], "best_share": {j.title: round(float(b.max()), 3) for j, b in zip(panel, best)}}
        row["changed"] = {j.noun: class_change(p.argmax(1), m.argmax(1), j.names) for j, p, m in zip(panel, plus_parts, minus_parts)
                          if j.noun}
        if features is not None:
            row["identity_distance"] = round(float((features(plus_images) - feats_here).norm(dim=1).mean()) / stranger, 4)
        out.append(row)
    return out


def class_change(plus: Tensor, minus: Tensor, names: list[str]) -> dict:
    """How a direction changes the top class ([N] indices at +STEP and -STEP): the share of samples
    whose class differs, and the most common change (from, to) with its share of all samples."""
    changed = plus != minus
    out = {"share": round(float(changed.float().mean()), 3)}
    if changed.any():
        pairs = minus[changed] * len(names) + plus[changed]
        top = pairs.mode().values
        out["most"] = [names[int(top) // len(names)], names[int(top) % len(names)], round(float((pairs == top).sum()) / len(plus), 3)]
    return out


def named(effects: dict) -> list[dict]:
    """The scores that name a direction: moved one way for MIN_SHARE of samples by at least
    MIN_EFFECT, strongest first."""
    return [m for m in effects["moved"] if m["share"] >= MIN_SHARE and abs(m["effect"]) >= MIN_EFFECT]


def label(effects: dict) -> str:
    """A direction's name from what the judges saw ("mostly: Smiling +, Bangs -"; "mostly: changes
    the digit, most often digit 7 → digit 0, digit 0 +"), or NOTHING."""
    parts = [f"changes the {noun}, most often {change['most'][0]} → {change['most'][1]}"
             for noun, change in effects.get("changed", {}).items() if change["share"] >= CHANGE_SHARE]
    parts += [f"{m['name']} {m['sign']}" for m in named(effects)][:NAMED - len(parts)]
    return "mostly: " + ", ".join(parts) if parts else NOTHING


def turned(directions: Tensor, effects: list[dict]) -> tuple[Tensor, list[dict]]:
    """Each direction (and what the judges saw) turned round where needed, so that + adds the
    change that names it most: "Smiling +" rather than "Smiling -"."""
    flip = [bool(named(e)) and named(e)[0]["sign"] == "-" for e in effects]
    signs = torch.tensor([-1.0 if f else 1.0 for f in flip])
    effects = [{**e, "moved": [{**m, "sign": "+" if m["sign"] == "-" else "-", "effect": -m["effect"]} for m in e["moved"]]} if f else e
               for e, f in zip(effects, flip)]
    return directions * signs[:, None], effects


def discover(run: LoadedRun, data_root: str | None = None, method: str = "sefa", samples: int = 500, seed: int = 0) -> Discovered:
    """Find the run's directions and name them; `info` records how long finding them took."""
    start = time.perf_counter()
    directions = find(run, method, seed=seed)
    seconds = time.perf_counter() - start
    effects = judge(run, directions, judges(run, data_root), samples, seed)
    directions, effects = turned(directions, effects)
    info = {"method": method, "step": run.config.step, "find_seconds": round(seconds, 3),
            "name_seconds": round(time.perf_counter() - start - seconds, 1), "samples": samples, "effects": effects}
    return Discovered(directions, [label(e) for e in effects], info)


def save(run_dir: Path, found: Discovered) -> None:
    meta = {"labels": json.dumps(found.labels), "info": json.dumps(found.info)}
    atomic_write(Path(run_dir) / DISCOVERED, lambda tmp: save_file({"directions": found.directions.contiguous()}, tmp, metadata=meta))


def load(run_dir: Path, dim: int) -> Discovered:
    """The stored directions; a damaged file or one for another latent size is refused by name."""
    path = Path(run_dir) / DISCOVERED
    try:
        with safe_open(path, "pt") as f:
            directions, meta = f.get_tensor("directions").float(), f.metadata() or {}
        labels, info = json.loads(meta["labels"]), json.loads(meta["info"])
    except (OSError, SafetensorError, KeyError, ValueError) as e:
        raise CheckpointError(f"{path} is not a discovered-directions file: {e}") from e
    if directions.ndim != 2 or directions.shape[1] != dim or len(labels) != len(directions) or not all(isinstance(n, str) for n in labels):
        raise CheckpointError(f"{path}: expected [K, {dim}] directions with one label each, got {tuple(directions.shape)}")
    return Discovered(directions, labels, info)


def discovered(run: LoadedRun, data_root: str | None = None, samples: int = 64) -> Discovered:
    """The run's stored directions when they were found for its current checkpoint; otherwise
    found and named now (fewer samples than `evaluate` uses) and kept in the run if it can be written."""
    try:
        found = load(run.path, run.config.latent.dim)
        if found.info.get("step") == run.config.step:
            return found
    except CheckpointError:
        pass
    found = discover(run, data_root, samples=samples)
    try:
        save(run.path, found)
    except OSError:
        pass  # a read-only run folder: the explorer keeps them for this process
    return found


DEFAULT_METHOD = "sefa"


def record(run: LoadedRun, data_root: str | None = None, samples: int = 500, seed: int = 0) -> dict:
    """`evaluate`'s part: find and name the run's directions, store them in the run, and return
    the numbers for its config.json."""
    found = discover(run, data_root, DEFAULT_METHOD, samples, seed)
    save(run.path, found)
    effects = found.info["effects"]
    out = {"discovered_method": DEFAULT_METHOD, "discovered_find_seconds": found.info["find_seconds"],
           "discovered_named": sum(lab != NOTHING for lab in found.labels)}
    for title in effects[0]["best_share"]:
        out[f"discovered_moving_{title.replace(' ', '_')}"] = sum(e["best_share"][title] >= MIN_SHARE for e in effects)
    for noun in effects[0]["changed"]:
        out[f"discovered_changing_{noun}"] = sum(e["changed"][noun]["share"] >= CHANGE_SHARE for e in effects)
    if "identity_distance" in effects[0]:
        out["discovered_identity_distance"] = round(sum(e["identity_distance"] for e in effects) / len(effects), 4)
    return out

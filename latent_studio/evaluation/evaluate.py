"""`python -m latent_studio evaluate RUN`: measure a run and record the numbers in its config.json.

For the latent models: a domain FID and Inception-Score analogue from the dataset's classifier
(with the real test set's FID as the floor), k-NN precision and recall, a nearest-neighbour
memorization check, InfoGAN's code purity and continuous-code effects, conditional models' class
accuracy, colour, brightness and border statistics against the real images, for faces the
attribute directions the explorer offers as sliders (only those that move their attribute), and
for every latent model the directions found without labels and named by the judges
(latent_studio.evaluation.discovered).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch.utils.data import DataLoader, Subset
from torchvision.utils import save_image

from latent_studio.data.datasets import celeba_attributes, load_dataset, to_unit
from latent_studio.evaluation import discovered
from latent_studio.evaluation.metrics import frechet_distance, gaussian, inception_score, nearest_neighbours, precision_recall, purity
from latent_studio.families import AUTOREGRESSIVE, IMG2IMG
from latent_studio.families.classifier import batched, load_classifier
from latent_studio.families.run_models import LoadedRun, load_run
from latent_studio.inference.onnx_export import export_report
from latent_studio.runs.config import LatentSample
from latent_studio.runs.files import DIRECTIONS, ENCODED_TEST, TEST_DIGITS, atomic_write, record_metrics


@torch.inference_mode()
def generate(run: LoadedRun, sample: LatentSample, batch_size: int = 500) -> torch.Tensor:
    """Images in [-1, 1] on the CPU for a (large) latent sample, rendered in batches."""
    out = []
    for i in range(0, len(sample.z), batch_size):
        part = LatentSample(sample.spec, sample.z[i:i + batch_size], [c[i:i + batch_size] for c in sample.categorical],
                            sample.continuous[i:i + batch_size], None if sample.labels is None else sample.labels[i:i + batch_size])
        out.append(run.family.render(run.modules, part.to(run.device)).float().cpu())
    return torch.cat(out)


def real_images(dataset) -> torch.Tensor:
    """All images of a dataset in [-1, 1] (in-memory datasets without a copy per item)."""
    if hasattr(dataset, "images"):
        return to_unit(dataset.images)
    return torch.stack([dataset[i][0] for i in range(len(dataset))])


def infogan_codes(run: LoadedRun, classifier, n: int, seed: int) -> dict:
    """Categorical purity (each code value mapped to its majority digit) and, per continuous code,
    how much sweeping it over the training range changes the image and whether the digit survives."""
    lat = run.config.latent
    g = torch.Generator().manual_seed(seed + 1)
    sample = lat.sample(n, g)
    preds = batched(classifier, generate(run, sample)).argmax(1)
    score, mapping = purity(sample.categorical[0], preds)
    out = {"purity": round(score, 4), "purity_distinct_classes": len(set(mapping.values())), "purity_mapping": mapping}
    base = lat.sample(500, g)
    for j in range(lat.continuous):
        ends = []
        for value in (-lat.continuous_range, lat.continuous_range):
            moved = LatentSample(lat, base.z, base.categorical, base.continuous.clone(), base.labels)
            moved.continuous[:, j] = value
            ends.append(generate(run, moved))
        same = (batched(classifier, ends[0]).argmax(1) == batched(classifier, ends[1]).argmax(1)).float().mean()
        out[f"cont{j}_pixel_change"] = round(float(((ends[1] - ends[0]).abs() / 2).mean()), 4)
        out[f"cont{j}_class_kept"] = round(float(same), 4)
    return out


def attribute_directions(run: LoadedRun, classifier, n: int, seed: int, names: list[str]) -> tuple[dict[str, torch.Tensor], dict]:
    """Per attribute: mean z of samples the attribute classifier calls positive minus negative."""
    sample = run.config.latent.sample(n, torch.Generator().manual_seed(seed + 2))
    positive = batched(classifier, generate(run, sample)) > 0
    directions, counts = {}, {}
    for i, name in enumerate(names):
        pos, neg = positive[:, i], ~positive[:, i]
        counts[name] = int(pos.sum())
        if pos.sum() >= 20 and neg.sum() >= 20:
            directions[name] = (sample.z[pos].mean(0) - sample.z[neg].mean(0)).contiguous()
    return directions, counts


DIRECTION_STEP = 2.0  # weight of a direction in the effect test: two thirds of the Attributes slider's reach
DIRECTION_MIN_SHARE = 0.8  # a direction ships when it moves its attribute the right way for this share of samples


def direction_effects(run: LoadedRun, classifier, features, directions: dict[str, torch.Tensor], n: int, seed: int,
                      names: list[str]) -> dict[str, dict]:
    """Per direction, on n fresh samples: the share whose attribute probability rises from
    z - step * d through z to z + step * d (both ways, as the slider moves), and identity kept:
    the mean feature distance from z's image to z + step * d's, as a fraction of the distance
    between two random samples' images (0: the same face, 1: a stranger)."""
    sample = run.config.latent.sample(n, torch.Generator().manual_seed(seed + 4))
    here = generate(run, sample)
    logits_here = batched(classifier, here)  # logits: the probability's order without its float32 ties at 0 and 1
    feats_here = batched(features, here)
    stranger = float((feats_here - feats_here.roll(1, 0)).norm(dim=1).mean())
    out = {}
    for name, d in directions.items():
        i = names.index(name)
        moved = {}
        for sign in (1, -1):
            images = generate(run, LatentSample(sample.spec, sample.z + sign * DIRECTION_STEP * d, sample.categorical,
                                                sample.continuous, sample.labels))
            moved[sign] = (batched(classifier, images)[:, i], batched(features, images))
        rises = (moved[1][0] > logits_here[:, i]) & (logits_here[:, i] > moved[-1][0])
        distance = float((moved[1][1] - feats_here).norm(dim=1).mean())
        out[name] = {"monotone_share": round(float(rises.float().mean()), 4), "identity_distance": round(distance / stranger, 4)}
    return out


def class_shares(predicted: torch.Tensor, classes: int) -> dict:
    """How the samples spread over the classes the judge sees in them: a generator that drops or
    favours a class (a partial mode collapse) shows as a share far from 1 / classes."""
    shares = torch.bincount(predicted, minlength=classes).float() / len(predicted)
    return {"class_shares": [round(float(v), 4) for v in shares],
            "class_share_min": round(float(shares.min()), 4), "class_share_max": round(float(shares.max()), 4)}


def image_statistics(fake: torch.Tensor, real: torch.Tensor, border: int = 3) -> dict:
    """Colour and brightness of the samples as ratios to the real images' (1.0: the same): mean
    brightness, saturation, contrast and, for colour images, the mean of each of red, green and
    blue (a tint shows as one channel off); the share of near-white pixels beside the real one;
    and the high-frequency energy of the outermost `border` pixels against the real images' border
    (a stripe or sawtooth along an edge shows up as a ratio well above 1)."""

    def stats(x: torch.Tensor) -> dict:
        x = (x + 1) / 2
        gray = x.mean(1)
        saturation = (x.amax(1) - x.amin(1)).mean() if x.shape[1] == 3 else torch.tensor(0.0)
        lap = (4 * gray[:, 1:-1, 1:-1] - gray[:, :-2, 1:-1] - gray[:, 2:, 1:-1] - gray[:, 1:-1, :-2] - gray[:, 1:-1, 2:]).abs()
        edge = torch.cat([lap[:, :border].flatten(1), lap[:, -border:].flatten(1), lap[:, :, :border].flatten(1),
                          lap[:, :, -border:].flatten(1)], 1)
        return {"brightness": float(gray.mean()), "near_white": float((gray > 0.9).float().mean()), "channels": x.mean((0, 2, 3)).tolist(),
                "saturation": float(saturation), "contrast": float(gray.flatten(1).std(1).mean()), "edge": float(edge.mean())}

    f, r = stats(fake), stats(real)
    out = {f"{k}_ratio": round(f[k] / r[k], 4) for k in ("brightness", "saturation", "contrast") if r[k] > 0}
    if fake.shape[1] == 3:
        out["channel_ratios"] = [round(a / b, 4) for a, b in zip(f["channels"], r["channels"])]
    out["near_white"], out["near_white_real"] = round(f["near_white"], 4), round(r["near_white"], 4)
    out["edge_energy_ratio"] = round(f["edge"] / r["edge"], 4)
    return out


def memorization(run_dir: Path, fake: torch.Tensor, train: torch.Tensor, test: torch.Tensor, shown: int = 8) -> dict:
    """Nearest training images (pixel L2) of generated samples, against the same for held-out real
    images: fakes much closer to the training set than test images are would mean copying.
    Saves nearest.png: each row is a sample followed by its three nearest training images."""
    d_fake, idx = nearest_neighbours(fake[:1000], train, k=3)
    d_test, _ = nearest_neighbours(test[:1000], train, k=1)
    rows = [torch.cat([fake[i:i + 1], train[idx[i]]]) for i in range(shown)]
    grid = torch.cat(rows)
    atomic_write(run_dir / "nearest.png", lambda tmp: save_image(grid, tmp, nrow=4, normalize=True, value_range=(-1, 1), format="png"))
    return {"nn_distance": round(float(d_fake[:, 0].mean()), 3), "nn_distance_test": round(float(d_test[:, 0].mean()), 3)}


ENCODED_LIMIT = 5000  # test images in a VAE's stored scatter: enough to see the clusters, few enough for the browser


def encode_test_set(run: LoadedRun, root: str | None, limit: int = ENCODED_LIMIT, batch: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoder means ([N, dim]) and labels ([N]) of the first `limit` test images, read with the
    run's own DataSpec; raises latent_studio.data.datasets.DatasetMissing when the data is not under `root`."""
    dataset = load_dataset(run.config.data, root, "test")
    subset = Subset(dataset, range(min(limit, len(dataset))))
    means, labels = [], []
    with torch.inference_mode():
        for x, y in DataLoader(subset, batch):
            means.append(run.modules["encoder"](x.to(run.device))["mu"].float().cpu())
            labels.append(y)
    return torch.cat(means), torch.cat(labels)


# datasets without labels to train a judge of their own, measured in a related dataset's judge's
# features instead: anime faces in the CelebA face-attribute features (hair colour, face shape, pose)
FEATURES_FROM = {"anime": "celeba"}


@torch.no_grad()
def evaluate_run(run_dir: str | Path, data_root: str | None = None, samples: int = 10000, seed: int = 0) -> dict:
    """Measure the run in `run_dir` and merge the numbers into its config.json metrics."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    cfg = run.config
    if run.family.kind == IMG2IMG:
        from latent_studio.evaluation.img2img_eval import evaluate_run as evaluate_image_to_image

        return evaluate_image_to_image(run_dir, data_root)
    if run.family.kind == AUTOREGRESSIVE:
        return evaluate_likelihood_model(run, run_dir, data_root, min(samples, LIKELIHOOD_SAMPLES), seed)
    results: dict = {"eval_step": cfg.step, "eval_samples": samples, "eval_seed": seed}
    fake = generate(run, cfg.latent.sample(samples, torch.Generator().manual_seed(seed)))
    train = real_images(load_dataset(cfg.data, data_root, "train"))
    test = real_images(load_dataset(cfg.data, data_root, "test"))
    judge = FEATURES_FROM.get(cfg.data.dataset, cfg.data.dataset)
    classifier = load_classifier(judge)
    if classifier is None:
        results["classifier"] = f"no classifier for {judge}: domain FID, IS and precision/recall skipped"
    else:
        if judge != cfg.data.dataset:
            results["features_from"] = judge
        size = classifier.info["image_size"]
        fit = (lambda x: x) if fake.shape[-1] == size else (lambda x: F.interpolate(x, size=size, mode="bilinear", antialias=True))
        feats = {name: batched(lambda x: classifier.features(fit(x)), images) for name, images in
                 (("fake", fake), ("train", train), ("test", test))}
        ref = gaussian(feats["train"])
        results["fid"] = round(frechet_distance(gaussian(feats["fake"]), ref), 3)
        results["fid_floor"] = round(frechet_distance(gaussian(feats["test"]), ref), 3)
        if not classifier.info["multilabel"]:
            fake_logits = classifier.head(feats["fake"])
            results["inception_score"] = round(inception_score(fake_logits.softmax(1)), 3)
            results["inception_score_real"] = round(inception_score(classifier.head(feats["test"]).softmax(1)), 3)
            results.update(class_shares(fake_logits.argmax(1), fake_logits.shape[1]))
        g = torch.Generator().manual_seed(seed)
        pick = lambda f: f[torch.randperm(len(f), generator=g)[:5000]]  # noqa: E731
        results["precision"], results["recall"] = (round(v, 4) for v in precision_recall(pick(feats["train"]), pick(feats["fake"])))
        results["classifier_test_accuracy"] = classifier.info["test_accuracy"]
        if cfg.latent.categorical:  # codes meant to capture classes (InfoGAN): do they?
            results.update(infogan_codes(run, lambda x: classifier(fit(x)), samples, seed))
        if cfg.latent.num_classes:
            sample = cfg.latent.sample(samples, torch.Generator().manual_seed(seed + 3))
            preds = batched(lambda x: classifier(fit(x)), generate(run, sample)).argmax(1)
            results["class_accuracy"] = round(float((preds == sample.labels).float().mean()), 4)
        if cfg.data.dataset == "celeba":
            names = celeba_attributes(data_root)
            directions, counts = attribute_directions(run, lambda x: classifier(fit(x)), samples, seed, names)
            effects = direction_effects(run, lambda x: classifier(fit(x)), lambda x: classifier.features(fit(x)), directions,
                                        min(samples, 1000), seed, names)
            shipped = {k: d for k, d in directions.items() if effects[k]["monotone_share"] >= DIRECTION_MIN_SHARE}
            atomic_write(run_dir / DIRECTIONS, lambda tmp: save_file(shipped, tmp, metadata={"positive_counts": json.dumps(counts)}))
            results["attribute_directions"] = len(shipped)
            results["attribute_effects"] = effects
    if "encoder" in run.modules and cfg.latent.dim == 2:  # the manifold view's scatter, without the dataset
        means, labels = encode_test_set(run, data_root)
        atomic_write(run_dir / ENCODED_TEST, lambda tmp: save_file({"means": means, "labels": labels}, tmp))
    results.update(discovered.record(run, data_root, min(samples, 500), seed))
    results.update(image_statistics(fake, test))
    results.update(memorization(run_dir, fake, train, test))
    record_metrics(run_dir, results)
    results["onnx"] = export_report(run_dir)
    return results


LIKELIHOOD_SAMPLES = 1000  # a PixelCNN draws one pixel per pass: 1,000 digits take minutes on a CPU core
EXAMPLES_PER_CLASS = 10


def evaluate_likelihood_model(run: LoadedRun, run_dir: Path, data_root: str | None, samples: int, seed: int) -> dict:
    """A likelihood model (PixelCNN): its test negative log-likelihood (the family's evaluate), how
    its samples spread over the classes the dataset's classifier sees in them and their image
    statistics; also keeps a few held-out images per class in the run (TEST_DIGITS) for the
    explorer to complete, so it needs no dataset at serving time."""
    cfg, family = run.config, run.family
    test = load_dataset(cfg.data, data_root, "test")
    results: dict = {"eval_step": cfg.step, "eval_samples": samples, "eval_seed": seed}
    batches = ((x.to(run.device), y) for x, y in DataLoader(test, 500))
    results.update(family.evaluate(run.modules, batches))
    fake = family.draw(run.modules, samples, torch.Generator(device=run.device).manual_seed(seed)).cpu()
    classifier = load_classifier(cfg.data.dataset)
    if classifier is not None:
        results.update(class_shares(batched(classifier, fake).argmax(1), classifier.info["outputs"]))
    real = real_images(test)
    results.update(image_statistics(fake, family.as_model_sees(real)))
    labels = torch.as_tensor(test.targets)
    picks = torch.cat([torch.nonzero(labels == k).flatten()[:EXAMPLES_PER_CLASS] for k in labels.unique()])
    digits = family.as_model_sees(real[picks]).gt(0).to(torch.uint8)
    atomic_write(run_dir / TEST_DIGITS, lambda tmp: save_file({"images": digits, "labels": labels[picks]}, tmp))
    record_metrics(run_dir, results)
    return results

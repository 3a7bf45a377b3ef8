"""Small per-dataset classifiers, trained on the real train split and shipped beside the models.

Their penultimate features stand in for Inception's in a domain FID (Inception features are
meaningless for 28x28 digits and its weights cannot be downloaded offline), their predictions score
InfoGAN's codes and conditional models' classes, and CelebA's attribute classifier turns samples
into attribute directions in latent space.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import DataLoader

from latent_studio import SHIPPED
from latent_studio.data.datasets import dataset_spec, load_dataset, random_crop_flip
from latent_studio.runs.files import atomic_write

CLASSIFIERS = SHIPPED / "classifiers"
MULTILABEL = {"celeba": 40}  # datasets whose targets are binary attribute vectors


class DomainClassifier(nn.Module):
    """Two conv blocks, a 128-d feature layer, a linear head. Works at 28 and 64 px."""

    def __init__(self, channels: int, outputs: int, width: int = 32, features: int = 128):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(True), nn.AdaptiveAvgPool2d(4),
            nn.Flatten(), nn.Linear(2 * width * 16, features), nn.ReLU(True),
        )
        self.head = nn.Linear(features, outputs)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


def classifier_path(dataset: str) -> Path:
    return CLASSIFIERS / f"{dataset}.safetensors"


def _read_meta(path: Path) -> dict:
    """The metadata a kept classifier's safetensors file carries (classes, accuracy, how it was trained)."""
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        return json.loads(f.metadata()["info"])


def _read(path: Path, channels: int, outputs: int) -> DomainClassifier:
    model = DomainClassifier(channels, outputs)
    model.load_state_dict(load_file(path))
    return model.eval()


def _save(path: Path, model: DomainClassifier, meta: dict) -> None:
    """Weights and metadata in one safetensors file, written atomically."""
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"info": json.dumps(meta)}))


def load_classifier(dataset: str, device: str | torch.device = "cpu") -> DomainClassifier | None:
    """The shipped classifier for `dataset`, in eval mode, or None when there is none."""
    path = classifier_path(dataset)
    if not path.is_file():
        return None
    meta = _read_meta(path)
    model = _read(path, meta["channels"], meta["outputs"])
    model.info = meta
    return model.to(device)


Judged = tuple[DomainClassifier, dict]  # a classifier and its metadata (classes, accuracy, how it was trained)


def kept_classifier(path: Path, channels: int, outputs: int, train: Callable[[], Judged]) -> Judged:
    """A judge kept in a safetensors file with its metadata: loaded when the file exists, else
    trained by `train` (seeded, so repeatable) and saved, so every run is scored by the same one.
    Returned in eval mode with its metadata."""
    if path.is_file():
        return _read(path, channels, outputs), _read_meta(path)
    start = time.perf_counter()
    model, meta = train()
    meta = {**meta, "train_seconds": round(time.perf_counter() - start, 1), "threads": torch.get_num_threads()}
    _save(path, model, meta)
    return model.eval(), meta


@torch.no_grad()
def batched(fn, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """fn over `images` in batches (bounded memory), concatenated."""
    return torch.cat([fn(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def rescaled_crop(x: torch.Tensor) -> torch.Tensor:
    """7/8 of each side, resized back: a small judge trained on a few thousand photos overfits
    without such views."""
    return F.interpolate(random_crop_flip(x, x.size(-1) * 7 // 8), size=x.shape[-2:], mode="bilinear", align_corners=False)


def native_crop(x: torch.Tensor) -> torch.Tensor:
    """A quarter of the area at the photo's own resolution: the fine detail where colorization
    shows (chroma bleeding over edges) at a quarter of the cost; the judge then sees whole photos."""
    return random_crop_flip(x, x.size(-1) // 2)


def fit_classifier(x: torch.Tensor, y: torch.Tensor, outputs: int, epochs: int, seed: int = 0,
                   view: Callable[[torch.Tensor], torch.Tensor] = rescaled_crop) -> DomainClassifier:
    """A DomainClassifier trained on random views of images x in [-1, 1] with labels y, seeded;
    returned in eval mode (it is fully convolutional up to an adaptive pool, so it judges whole
    images whatever the views' size). It trains with gradients on even when called under
    torch.no_grad(), as `evaluate` calls the fool-rate judge."""
    torch.manual_seed(seed)
    model = DomainClassifier(x.size(1), outputs)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=epochs * -(-len(x) // 64))
    model.train()
    with torch.enable_grad():
        for _ in range(epochs):
            for idx in torch.randperm(len(x)).split(64):
                loss = F.cross_entropy(model(view(x[idx])), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    return model.eval()


def train_classifier(dataset: str, data_root: str | None, epochs: int = 3, seed: int = 0, command: str = "") -> dict:
    """Train and ship the classifier for `dataset`; returns its metadata (with test accuracy)."""
    torch.manual_seed(seed)
    spec = dataset_spec(dataset)
    train_set, test_set = load_dataset(spec, data_root, "train"), load_dataset(spec, data_root, "test")
    multilabel = dataset in MULTILABEL
    outputs = MULTILABEL.get(dataset) or spec.num_classes
    model = DomainClassifier(spec.channels, outputs)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for x, y in DataLoader(train_set, 128, shuffle=True, generator=torch.Generator().manual_seed(seed)):
            logits = model(x)
            loss = F.binary_cross_entropy_with_logits(logits, y.float()) if multilabel else F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in DataLoader(test_set, 1000):
            pred = model(x)
            correct += ((pred > 0) == y.bool()).sum().item() if multilabel else (pred.argmax(1) == y).sum().item()
            total += y.numel()
    meta = {"dataset": dataset, "channels": spec.channels, "outputs": outputs, "image_size": spec.image_size,
            "multilabel": multilabel, "test_accuracy": round(correct / total, 4), "epochs": epochs,
            "train_seconds": round(time.perf_counter() - start, 1), "command": command, "threads": torch.get_num_threads()}
    _save(classifier_path(dataset), model, meta)
    return meta



"""What a run's config.json holds, as small dataclasses of plain JSON types.

A run directory rebuilds its model from this file alone (the checkpoint contract in DESIGN.md),
so everything the architecture and the latent sampling depend on lives here.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

FORMAT_VERSION = 1


@dataclass
class LatentSpec:
    """The generator's input: noise z, then InfoGAN codes, then a class one-hot.

    Every generator takes one flat vector of `input_dim` values, so the same network, export path
    and UI sliders serve unconditional, InfoGAN and conditional models alike.
    """

    dim: int = 100
    prior: str = "normal"  # normal | uniform (on [-1, 1])
    categorical: list[int] = field(default_factory=list)  # InfoGAN categorical code sizes
    continuous: int = 0  # InfoGAN continuous codes ...
    continuous_range: float = 1.0  # ... each ~ Uniform(-r, r)
    num_classes: int = 0  # conditional models (CGAN, ACGAN): class one-hot appended

    @property
    def input_dim(self) -> int:
        return self.dim + sum(self.categorical) + self.continuous + self.num_classes

    def sample_z(self, n: int, generator: torch.Generator | None = None, device: Any = "cpu") -> torch.Tensor:
        if self.prior == "uniform":
            return torch.rand(n, self.dim, generator=generator).mul(2).sub(1).to(device)
        return torch.randn(n, self.dim, generator=generator).to(device)

    def sample(self, n: int, generator: torch.Generator | None = None, device: Any = "cpu") -> "LatentSample":
        """Draw z, codes and labels from the prior (what the trainer feeds G)."""
        z = self.sample_z(n, generator, device)
        cats = [torch.randint(size, (n,), generator=generator).to(device) for size in self.categorical]
        r = self.continuous_range
        cont = (torch.rand(n, self.continuous, generator=generator) * 2 * r - r).to(device)
        labels = torch.randint(max(self.num_classes, 1), (n,), generator=generator).to(device)
        return LatentSample(self, z, cats, cont, labels if self.num_classes else None)

    def fixed(self, n: int, seed: int) -> "LatentSample":
        """The run's fixed noise: seeded z, with codes and classes cycling so a grid shows them all."""
        sample = self.sample(n, torch.Generator().manual_seed(seed))
        rows = torch.arange(n)
        sample.categorical = [rows % size for size in self.categorical]
        if self.num_classes:
            sample.labels = rows % self.num_classes
        return sample


@dataclass
class LatentSample:
    spec: LatentSpec
    z: torch.Tensor  # [N, dim]
    categorical: list[torch.Tensor]  # each [N] of code indices
    continuous: torch.Tensor  # [N, continuous]
    labels: torch.Tensor | None  # [N] class indices, conditional models only

    def to(self, device) -> "LatentSample":
        labels = None if self.labels is None else self.labels.to(device)
        return LatentSample(self.spec, self.z.to(device), [c.to(device) for c in self.categorical], self.continuous.to(device), labels)

    def generator_input(self) -> torch.Tensor:
        """[N, input_dim]: z | one-hot categorical codes | continuous codes | class one-hot."""
        parts = [self.z]
        parts += [torch.nn.functional.one_hot(c, size).to(self.z) for c, size in zip(self.categorical, self.spec.categorical)]
        parts.append(self.continuous.to(self.z))
        if self.labels is not None:
            parts.append(torch.nn.functional.one_hot(self.labels, self.spec.num_classes).to(self.z))
        return torch.cat(parts, dim=1)


@dataclass
class DataSpec:
    dataset: str = "fake"
    path: str | None = None  # dataset folder, relative to the data root unless absolute
    image_size: int = 28
    channels: int = 1
    normalization: dict = field(default_factory=lambda: {"mean": 0.5, "std": 0.5, "range": [-1, 1]})
    color_space: str = "gray"  # gray | rgb | lab
    num_classes: int = 0
    class_names: list[str] = field(default_factory=list)
    size: int | None = None  # number of training examples, recorded for the model card


@dataclass
class TrainSpec:
    steps: int = 1000
    batch_size: int = 64
    optimizer: str = "adam"  # adam | rmsprop
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    n_critic: int = 1  # discriminator steps per generator step
    clip: float = 0.0  # WGAN weight clipping (0 = off)
    gp_weight: float = 0.0  # WGAN-GP gradient penalty weight
    info_cat_weight: float = 1.0  # InfoGAN mutual-information term, categorical codes
    info_cont_weight: float = 0.1  # ... continuous codes
    info_cont_loss: str = "gaussian"  # gaussian (NLL with predicted std) | mse
    info_cat_jitter: float = 0.0  # InfoGAN: weight of the categorical code read from jittered fakes (0 = off)
    kl_weight: float = 1.0  # VAE
    labeled_per_class: int = 100  # SGAN: labels kept per class, the rest are unlabeled
    adversarial: str = "bce"  # pix2pix and CycleGAN: bce | mse (LSGAN)
    l1_weight: float = 100.0  # pix2pix: L1 to the true target beside the adversarial term
    adv_start: float = 0.0  # pix2pix: fraction of steps that train G on L1 alone before D and the adversarial term join
    cycle_weight: float = 10.0  # CycleGAN: L1 of A -> B -> A and B -> A -> B to where they started
    identity_weight: float = 5.0  # CycleGAN: L1 of G_AB(B) to B and G_BA(A) to A (the paper's 0.5 x cycle)
    pool_size: int = 50  # CycleGAN: past fakes each D is also shown (0 = only the current batch)
    lr_decay_start: float = 1.0  # pix2pix, CycleGAN: fraction of steps after which rates fall linearly to 0 (1 = never)
    log_every: int = 50
    snapshot_every: int = 500
    keep_snapshots: bool = True  # the generator at every snapshot, for the app's checkpoint scrubber
    grid_size: int = 64
    workers: int = 0
    bf16: bool = True  # bf16 autocast where the device computes it natively (training.precision); fp32 elsewhere
    channels_last: bool = False  # NHWC memory for conv nets: faster for some families, slower for others
    compile: bool = False  # torch.compile every network (measured no faster on CPU: training.precision)
    fused_optimizer: bool = True  # Adam's update as one fused kernel (the same math, 10x faster on a CPU)
    weights_dtype: str = "float32"  # float16 halves the shipped .safetensors


@dataclass
class RunConfig:
    family: str
    arch: dict = field(default_factory=dict)
    latent: LatentSpec = field(default_factory=LatentSpec)
    data: DataSpec = field(default_factory=DataSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    preset: str | None = None
    seed: int = 0
    step: int = 0
    metrics: dict = field(default_factory=dict)
    card: dict = field(default_factory=dict)  # model card: intended use, dataset notes, command, hardware
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        d = copy.deepcopy(d)
        return cls(
            **{k: v for k, v in d.items() if k not in ("latent", "data", "train")},
            latent=LatentSpec(**d.get("latent", {})),
            data=DataSpec(**d.get("data", {})),
            train=TrainSpec(**d.get("train", {})),
        )


def merge(base: dict, overrides: dict) -> dict:
    """Deep-merge `overrides` into a copy of `base` (nested dicts merge, everything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> dict:
    """`train.lr_g=1e-4` -> {"train": {"lr_g": 0.0001}}; the value is read as JSON when it parses."""
    import json

    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--set expects KEY=VALUE (e.g. train.lr_g=1e-4), got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    out: dict = {}
    node = out
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return out

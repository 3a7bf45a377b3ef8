"""What a run's config.json holds, as small dataclasses of plain JSON types.

A run directory rebuilds its model from this file alone (the run directory contract in docs/architecture.md),
so everything the architecture and the latent sampling depend on lives here. The dataclasses are
pydantic's: every config read from disk or built from --set overrides is checked against the
types, ranges and known keys declared here, so a wrongly typed field is refused with a message
that names it instead of surfacing later as a traceback in the trainer, the CLI or the page.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import asdict, field
from typing import Annotated, Any, Literal

import torch
from pydantic import ConfigDict, Field, ValidationError, with_config
from pydantic.dataclasses import dataclass
from typing_extensions import TypedDict

FORMAT_VERSION = 1
STRICT = ConfigDict(extra="forbid")  # an unknown key is a typo or a newer format: refused, never ignored

Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
Weight = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Rate = Annotated[float, Field(gt=0, le=1)]


class ConfigError(ValueError):
    """A config that does not match the schema; the message lists each bad field and why."""


def describe_errors(e: ValidationError) -> str:
    """One line per bad field: where it is and what is wrong (never the value: it may be huge)."""
    return "; ".join(f"{'.'.join(map(str, err['loc'])) or 'config'}: {err['msg']}" for err in e.errors())


@dataclass(config=STRICT)
class LatentSpec:
    """The generator's input: noise z, then InfoGAN codes, then a class one-hot.

    Every generator takes one flat vector of `input_dim` values, so the same network, export path
    and UI sliders serve unconditional, InfoGAN and conditional models alike.
    """

    dim: Annotated[int, Field(ge=1, le=4096)] = 100
    prior: Literal["normal", "uniform"] = "normal"  # uniform is on [-1, 1]
    # InfoGAN categorical code sizes
    categorical: Annotated[list[Annotated[int, Field(ge=2, le=1000)]], Field(max_length=16)] = field(default_factory=list)
    continuous: Annotated[int, Field(ge=0, le=64)] = 0  # InfoGAN continuous codes ...
    continuous_range: Annotated[float, Field(gt=0, le=100)] = 1.0  # ... each ~ Uniform(-r, r)
    num_classes: Annotated[int, Field(ge=0, le=1000)] = 0  # conditional models (CGAN, ACGAN): class one-hot appended

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


@dataclasses.dataclass
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


@dataclass(config=STRICT)
class DataSpec:
    dataset: str = "fake"
    path: str | None = None  # dataset folder, relative to the data root unless absolute
    image_size: Annotated[int, Field(ge=4, le=1024)] = 28
    channels: Annotated[int, Field(ge=1, le=4)] = 1
    normalization: dict[str, Any] = field(default_factory=lambda: {"mean": 0.5, "std": 0.5, "range": [-1, 1]})
    color_space: Literal["gray", "rgb", "lab"] = "gray"
    num_classes: Annotated[int, Field(ge=0, le=1000)] = 0
    class_names: list[str] = field(default_factory=list)
    size: Count | None = None  # number of training examples, recorded for the model card


@dataclass(config=STRICT)
class TrainSpec:
    steps: Positive = 1000
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 64
    optimizer: Literal["adam", "rmsprop"] = "adam"
    lr_g: Rate = 2e-4
    lr_d: Rate = 2e-4
    betas: Annotated[list[Fraction], Field(min_length=2, max_length=2)] = field(default_factory=lambda: [0.5, 0.999])
    n_critic: Annotated[int, Field(ge=1, le=100)] = 1  # discriminator steps per generator step
    clip: Weight = 0.0  # WGAN weight clipping (0 = off)
    gp_weight: Weight = 0.0  # WGAN-GP gradient penalty weight
    info_cat_weight: Weight = 1.0  # InfoGAN mutual-information term, categorical codes
    info_cont_weight: Weight = 0.1  # ... continuous codes
    info_cont_loss: Literal["gaussian", "mse"] = "gaussian"  # NLL with predicted std, or MSE to the mean
    info_cat_jitter: Weight = 0.0  # InfoGAN: weight of the categorical code read from jittered fakes (0 = off)
    kl_weight: Weight = 1.0  # VAE
    labeled_per_class: Count = 100  # SGAN: labels kept per class, the rest are unlabeled
    adversarial: Literal["bce", "mse"] = "bce"  # pix2pix and CycleGAN: bce | mse (LSGAN)
    class_weight: Weight = 0.0  # pix2pix colorizer: the global branch's cross-entropy on what a photo shows
    l1_weight: Weight = 100.0  # pix2pix: the reconstruction term (L1 to the target; a bin colorizer's cross-entropy) beside the adversarial
    adv_start: Fraction = 0.0  # pix2pix: fraction of steps that train G on L1 alone before D and the adversarial term join
    cycle_weight: Weight = 10.0  # CycleGAN: L1 of A -> B -> A and B -> A -> B to where they started
    identity_weight: Weight = 5.0  # CycleGAN: L1 of G_AB(B) to B and G_BA(A) to A (the paper's 0.5 x cycle)
    grid_weight: Weight = 0.0  # CycleGAN: a translation's period-2 (checkerboard) energy above its source's (losses.grid_excess; 0 off)
    content_weight: Weight = 10.0  # CartoonGAN: L1 between the content features of a photo and of its cartoon
    pool_size: Annotated[int, Field(ge=0, le=10_000)] = 50  # CycleGAN: past fakes each D is also shown (0 = only the current batch)
    crop: Annotated[int, Field(ge=0, le=4096)] = 0  # pix2pix, CycleGAN: random windows, randomly mirrored (data.random_crop_flip; 0 off)
    init_from: str = ""  # a run directory whose shipped networks start this run (a fine-tune; "" = fresh weights)
    d_warmup: Count = 0  # CycleGAN: first steps that train only the discriminators (a fine-tune's fresh D learns before it steers G)
    frozen: list[str] = field(default_factory=list)  # a fine-tune's networks kept as init_from left them (e.g. one CycleGAN direction)
    distill_shifts: bool = False  # CycleGAN fine-tune: L1 to the init_from generators' shift average (no D; clears the grid)
    ema: Annotated[float, Field(ge=0, lt=1)] = 0.0  # decay of each generator's weight average, which is what ships (training.ema; 0 off)
    augment: list[Literal["color", "translation", "cutout"]] = field(default_factory=list)  # GANs: DiffAugment for D (data.augment)
    lr_decay_start: Fraction = 1.0  # pix2pix, CycleGAN: fraction of steps after which rates fall linearly to 0 (1 = never)
    log_every: Positive = 50
    snapshot_every: Positive = 500
    checkpoint_seconds: Annotated[float, Field(gt=0)] = 300.0  # resume state at least this often, whatever snapshot_every says
    keep_snapshots: bool = True  # the generator at every snapshot, for the app's checkpoint scrubber
    grid_size: Annotated[int, Field(ge=1, le=1024)] = 64
    workers: Annotated[int, Field(ge=0, le=64)] = 0
    weights_dtype: Literal["float32", "float16", "bfloat16"] = "float32"  # float16 halves the shipped .safetensors
    bf16: bool = True  # bf16 autocast where the device computes it natively (latent_studio.families.precision); fp32 elsewhere
    channels_last: bool = False  # NHWC memory for conv nets: measured slower on a 2-core CPU, so off
    compile: bool = False  # torch.compile every network (measured no faster on CPU: latent_studio.families.precision)
    fused_optimizer: bool = True  # Adam's update as one fused kernel (the same math, 10x faster on a CPU)


@with_config(ConfigDict(extra="allow"))
class Card(TypedDict, total=False):
    """The model card: the keys the app shows are typed; others (a user's own notes) pass through."""

    intended_use: str
    dataset_notes: str
    notes: str
    command: str
    resumed_with: list[str]
    hardware: str
    precision: str
    train_seconds: Annotated[float, Field(ge=0)]


@dataclass(config=STRICT)
class RunConfig:
    family: str
    arch: dict[str, Any] = field(default_factory=dict)
    latent: LatentSpec = field(default_factory=LatentSpec)
    data: DataSpec = field(default_factory=DataSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    preset: str | None = None
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    step: Count = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    card: Card = field(default_factory=dict)  # model card: intended use, dataset notes, command, hardware
    format_version: Count = FORMAT_VERSION

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        """Validate `d` against the schema; a ConfigError names every field that does not fit."""
        if not isinstance(d, dict):
            raise ConfigError("a run config is a JSON object")
        try:
            return cls(**copy.deepcopy(d))
        except ValidationError as e:
            raise ConfigError(describe_errors(e)) from None
        except TypeError as e:  # a key that is not a field of RunConfig at all
            raise ConfigError(str(e).replace(cls.__name__ + ".__init__() ", "")) from None


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

"""The explorer's current latent: a seed plus the values the user changed, and how it becomes
generator input.

Everything the user did not touch comes from the seed's draw, so (seed, changes) is the whole
state: it fits in a URL, and the same state always gives the same image. No function here draws
from the global random generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import Tensor

from latent_studio.runs.config import LatentSample, LatentSpec

CODE_LIMIT = 2.0  # continuous codes' sliders: twice the usual training range of 1, so the ends show extrapolation


def z_limit(spec: LatentSpec) -> float:
    """How far a z slider reaches: about 3 standard deviations of a normal prior, 1 for a uniform one."""
    return 1.0 if spec.prior == "uniform" else 3.0


def _clamp(value: float, limit: float) -> float:
    return min(max(value, -limit), limit)


@dataclass(frozen=True)
class LatentState:
    """A seed and the user's changes to its draw: z dimensions, InfoGAN codes, the class."""

    seed: int = 0
    z: dict[int, float] = field(default_factory=dict)  # dimension -> value
    categorical: dict[int, int] = field(default_factory=dict)  # code -> chosen value
    continuous: dict[int, float] = field(default_factory=dict)  # code -> value
    label: int | None = None  # conditional models: the class

    def fit(self, spec: LatentSpec) -> LatentState:
        """Drop changes that `spec` has no place for (a link made for another model, a bad URL) and
        clamp values to their sliders' range, so whatever a link says, the page can draw it."""
        return LatentState(
            self.seed,
            {i: _clamp(v, z_limit(spec)) for i, v in self.z.items() if 0 <= i < spec.dim},
            {i: v for i, v in self.categorical.items() if 0 <= i < len(spec.categorical) and 0 <= v < spec.categorical[i]},
            {i: _clamp(v, CODE_LIMIT) for i, v in self.continuous.items() if 0 <= i < spec.continuous},
            self.label if self.label is not None and 0 <= self.label < spec.num_classes else None,
        )

    def with_z(self, dim: int, value: float) -> LatentState:
        return replace(self, z={**self.z, dim: value})

    def with_categorical(self, code: int, value: int) -> LatentState:
        return replace(self, categorical={**self.categorical, code: value})

    def with_continuous(self, code: int, value: float) -> LatentState:
        return replace(self, continuous={**self.continuous, code: value})

    def with_label(self, label: int) -> LatentState:
        return replace(self, label=label)


def draw(spec: LatentSpec, seed: int, n: int = 1) -> LatentSample:
    """n samples from the prior, the same for the same seed (on CPU, whatever device G is on)."""
    return spec.sample(n, torch.Generator().manual_seed(seed))


def build(spec: LatentSpec, state: LatentState) -> LatentSample:
    """The one sample `state` describes: the seed's draw with the user's changes written over it."""
    sample = draw(spec, state.seed)
    z = sample.z.clone()
    for dim, value in state.z.items():
        z[0, dim] = value
    categorical = [torch.tensor([state.categorical.get(i, int(c[0]))]) for i, c in enumerate(sample.categorical)]
    continuous = sample.continuous.clone()
    for code, value in state.continuous.items():
        continuous[0, code] = value
    labels = sample.labels
    if labels is not None and state.label is not None:
        labels = torch.tensor([state.label])
    return LatentSample(spec, z, categorical, continuous, labels)


def each_class(sample: LatentSample) -> LatentSample:
    """The single `sample` once per class of a conditional model: same z, labels 0..K-1."""
    k = sample.spec.num_classes
    grid = with_rows(sample, sample.z[:1].expand(k, -1))
    grid.labels = torch.arange(k)
    return grid


def with_rows(sample: LatentSample, z: Tensor) -> LatentSample:
    """One row per z in `z` ([N, dim]), each with the codes and class of the single `sample`."""
    n = z.shape[0]
    labels = None if sample.labels is None else sample.labels[:1].expand(n)
    return LatentSample(sample.spec, z, [c[:1].expand(n) for c in sample.categorical], sample.continuous[:1].expand(n, -1), labels)

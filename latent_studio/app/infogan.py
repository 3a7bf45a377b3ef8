"""InfoGAN's codes: the sweep grid that shows what a code does, and Q's reading of an image.

Q sits on the discriminator's trunk and returns, per image, the logits of each categorical code,
then the mean and then the log-std of each continuous code (latent_studio.families.infogan.QHead;
latent_studio.families.losses.split_q_output splits it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from latent_studio.app.sampling import CODE_LIMIT
from latent_studio.families.losses import split_q_output
from latent_studio.families.run_models import LoadedRun
from latent_studio.runs.config import LatentSample

SWEEP_RANGE = CODE_LIMIT  # the continuous codes' slider range: the outer columns show extrapolation


def sweep(sample: LatentSample, categorical: int | None, continuous: int | None, values: Tensor) -> LatentSample:
    """A grid of inputs around the single `sample`: one row per value of categorical code
    `categorical`, one column per entry of `values` for continuous code `continuous` (a single
    row or column where that code is None).

    Rows are in reading order (row r, column c is entry r * columns + c). z, the other codes and
    the class stay those of `sample`, so neighbouring cells differ only in the swept code.
    """
    spec = sample.spec
    rows = spec.categorical[categorical] if categorical is not None else 1
    columns = len(values) if continuous is not None else 1
    n = rows * columns
    codes = [c[:1].expand(n).clone() for c in sample.categorical]
    if categorical is not None:
        codes[categorical] = torch.arange(rows).repeat_interleave(columns)
    cont = sample.continuous[:1].expand(n, -1).clone()
    if continuous is not None:
        cont[:, continuous] = values.to(cont).repeat(rows)
    labels = None if sample.labels is None else sample.labels[:1].expand(n)
    return LatentSample(spec, sample.z[:1].expand(n, -1), codes, cont, labels)


@dataclass
class QReading:
    """What Q reads from each image: a probability per value of each categorical code, and the
    mean and std of each continuous code."""

    probabilities: list[Tensor]  # per categorical code: [N, size], rows sum to 1
    means: Tensor  # [N, continuous]
    stds: Tensor  # [N, continuous]


def read_q(q_out: Tensor, categorical: list[int], continuous: int) -> QReading:
    """Q's raw output [N, sum(categorical) + 2 * continuous] as a QReading."""
    q = split_q_output(q_out, categorical, continuous)
    return QReading([logits.softmax(dim=1) for logits in q.logits], q.means, q.log_stds.exp())


def predict(run: LoadedRun, images: Tensor) -> QReading:
    """Q's reading of `images` ([N, C, H, W] in [-1, 1]) through the run's D trunk and Q head."""
    spec = run.config.latent
    with torch.inference_mode():
        features = run.modules["discriminator"](images.to(run.device))["features"]
        return read_q(run.modules["q"](features).float().cpu(), spec.categorical, spec.continuous)

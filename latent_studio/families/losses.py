"""Loss terms shared by the families: adversarial objectives, gradient penalty, clipping, InfoGAN's
mutual-information term, the image-to-image grid term. Pure functions of tensors, so each property
is tested directly."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from latent_studio.data.image_quality import checkerboard_energy


def adversarial(logits: torch.Tensor, target_real: bool, kind: str) -> torch.Tensor:
    """The loss for D's raw outputs `logits` when they should say real (True) or fake (False).

    bce: non-saturating GAN (its value is ln 2 when D outputs 0, i.e. at initialization);
    mse: LSGAN with targets 1/0; wasserstein: the critic's -E[D] for real, +E[D] for fake;
    hinge: D's margin loss E[max(0, 1 - D)] for real, E[max(0, 1 + D)] for fake (SNGAN). G's side of
    each loss is generator_adversarial.
    """
    logits = logits.float()
    if kind == "bce":
        target = torch.full_like(logits, 1.0 if target_real else 0.0)
        return F.binary_cross_entropy_with_logits(logits, target)
    if kind == "mse":
        return F.mse_loss(logits, torch.full_like(logits, 1.0 if target_real else 0.0))
    if kind == "wasserstein":
        return -logits.mean() if target_real else logits.mean()
    if kind == "hinge":
        return F.relu(1 - logits).mean() if target_real else F.relu(1 + logits).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}; use bce, mse, wasserstein or hinge")


def generator_adversarial(logits: torch.Tensor, kind: str) -> torch.Tensor:
    """G's loss for D's outputs on its fakes: make D say real. With the hinge loss G maximises D's raw
    score (-E[D]), as in SNGAN and BigGAN; a margin on G's side would stop it once D says 1."""
    return adversarial(logits, True, "wasserstein" if kind == "hinge" else kind)


def confidence(logits: torch.Tensor, kind: str) -> torch.Tensor:
    """What D says about a batch, for logging: mean probability of real (bce) or the raw mean."""
    return torch.sigmoid(logits.float()).mean() if kind == "bce" else logits.float().mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP: E[(||grad_x D(x_hat)||_2 - 1)^2] at random points x_hat between real and fake.

    The norm is taken per sample over all of its pixels, and D must treat samples independently
    (no BatchNorm), otherwise the penalty does not constrain the critic as the paper intends.
    """
    alpha = torch.rand(real.size(0), *([1] * (real.dim() - 1)), generator=generator).to(real)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.float().sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """WGAN: keep every critic weight in [-c, c] so the critic stays (roughly) Lipschitz."""
    for p in module.parameters():
        p.clamp_(-c, c)


class QOutput(NamedTuple):
    """InfoGAN's Q head output, split by code (split_q_output)."""

    logits: list[torch.Tensor]  # per categorical code: [B, size]
    means: torch.Tensor  # [B, continuous]
    log_stds: torch.Tensor  # [B, continuous], as Q outputs them (unclamped)


def split_q_output(q_out: torch.Tensor, categorical: list[int], continuous: int) -> QOutput:
    """Q's raw output [B, sum(categorical) + 2 * continuous]: the logits of each categorical code,
    then a mean per continuous code, then a log-std per continuous code."""
    expected = sum(categorical) + 2 * continuous
    if q_out.shape[-1] != expected:
        raise ValueError(f"Q output has {q_out.shape[-1]} values per image; the codes need {expected}")
    logits = list(torch.split(q_out[:, : sum(categorical)], categorical, dim=1)) if categorical else []
    rest = q_out[:, sum(categorical):]
    return QOutput(logits, rest[:, :continuous], rest[:, continuous:])


def categorical_info_loss(logits: list[torch.Tensor], codes: list[torch.Tensor]) -> torch.Tensor:
    """The categorical codes' part of `info_loss`: cross-entropy of Q's logits for each code
    ([B, size], from split_q_output) against the value drawn ([B]), summed over the codes."""
    losses = [F.cross_entropy(x.float(), c) for x, c in zip(logits, codes)]
    return sum(losses[1:], losses[0])


def info_loss(
    q_out: torch.Tensor, categorical: list[torch.Tensor], sizes: list[int], continuous: torch.Tensor,
    cont_loss: str = "gaussian",
) -> tuple[torch.Tensor, torch.Tensor]:
    """InfoGAN's lower bound on I(c; G(z, c)), as (categorical, continuous) losses.

    q_out is Q's output [B, sum(sizes) + 2 * n_cont] (split_q_output). Categorical: cross-entropy.
    Continuous: Gaussian negative log-likelihood (constant dropped), or plain MSE to the mean.
    """
    q_out = q_out.float()
    q = split_q_output(q_out, sizes, continuous.size(1))
    cat_loss = categorical_info_loss(q.logits, categorical) if sizes else q_out.new_zeros(())
    if continuous.size(1) == 0:
        return cat_loss, q_out.new_zeros(())
    mean, log_std = q.means, q.log_stds.clamp(-5, 5)
    if cont_loss == "mse":
        return cat_loss, F.mse_loss(mean, continuous)
    if cont_loss == "gaussian":
        nll = 0.5 * ((continuous - mean) / log_std.exp()) ** 2 + log_std
        return cat_loss, nll.sum(1).mean()
    raise ValueError(f"unknown continuous-code loss {cont_loss!r}; use gaussian or mse")


GRID_FLOOR = 1e-5  # about a fifth of a typical photo's period-2 share (checkerboard_energy)


def grid_excess(output: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """How far an image-to-image output's period-2 (checkerboard) energy rises above its own
    source photo's, as a log ratio, zero where it does not; the batch mean. A resize-convolution
    decoder still leaves a faint grid that a patch discriminator does not punish (real photos
    carry fine texture of their own), and the source is the fairest reference for how much fine
    grid the output may keep: a translation has no reason to add one (a spectral penalty in the
    spirit of Durall et al. 2020). Both shares get GRID_FLOOR added, so a flat sky's near-zero
    share is not a target to chase."""
    excess = torch.log(checkerboard_energy(output) + GRID_FLOOR) - torch.log(checkerboard_energy(source) + GRID_FLOOR)
    return F.relu(excess).mean()

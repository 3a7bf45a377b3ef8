"""Colour as a distribution over quantized a*b* bins (Zhang, Isola and Efros 2016).

Regressing a*b* with L1 or L2 predicts the mean of the plausible colours, which for most objects
is a muted brown-gray. Predicting a distribution over colour bins and decoding it with an
annealed mean keeps colours vivid: at temperature 1 it is the mean, towards 0 the mode.

- Bins: a 10-unit grid over a*b*, kept where some sRGB colour lands (261 bins; the paper's 313
  also count cells that only out-of-gamut Lab values reach).
- Targets: each pixel's true a*b* soft-encoded over its 5 nearest bins (Gaussian, sigma 5).
- Rebalancing: rare colours (saturated reds, blues) get larger weights, from the training set's
  own prior, smoothed, mixed half and half with uniform, inverted, and normalised so the expected
  weight is 1; without it, the loss is dominated by the desaturated colours most pixels have.
Pure functions of tensors, each tested directly.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from latent_studio.data import color

GRID = 10.0  # bin size in a*b* units
NEIGHBOURS, SIGMA = 5, 5.0  # soft encoding
PRIOR_MIX = 0.5  # lambda: the prior mixed with uniform before it is inverted
DEFAULT_TEMPERATURE = 0.38  # the paper's annealed mean: vivid without the mode's speckles


@functools.cache
def bin_centres() -> torch.Tensor:
    """[Q, 2] a*b* centres of the grid cells that some sRGB colour falls in (Q = 261; a 48-level
    cube of sRGB finds every one that a 64-level cube does)."""
    levels = torch.linspace(0, 1, 48)
    rgb = torch.cartesian_prod(levels, levels, levels).T.reshape(3, 48, 48 * 48)
    ab = color.rgb_to_lab(rgb)[1:].reshape(2, -1).T
    cells = torch.unique(torch.round(ab / GRID), dim=0)
    return (cells * GRID).float()


def n_bins() -> int:
    return len(bin_centres())


def nearest(ab: torch.Tensor, k: int = NEIGHBOURS) -> tuple[torch.Tensor, torch.Tensor]:
    """For a*b* values [N, 2]: the k nearest bins' indices [N, k] and squared distances [N, k]."""
    d2 = torch.cdist(ab.float(), bin_centres().to(ab.device)).square()
    d2, idx = d2.topk(k, dim=1, largest=False)
    return idx, d2


def soft_encode(ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For a*b* values [N, 2]: (bin indices [N, 5], weights [N, 5] summing to 1), nearest first."""
    idx, d2 = nearest(ab)
    return idx, torch.softmax(-d2 / (2 * SIGMA**2), dim=1)


def rebalancing_weights(ab: torch.Tensor) -> torch.Tensor:
    """[Q] per-bin loss weights from a sample of the training set's a*b* values [N, 2]."""
    counts = torch.bincount(nearest(ab, 1)[0][:, 0], minlength=n_bins()).float()
    prior = counts / counts.sum()
    c = bin_centres()
    kernel = torch.exp(-torch.cdist(c, c).square() / (2 * SIGMA**2))
    smoothed = kernel @ prior
    smoothed /= smoothed.sum()
    weights = 1 / ((1 - PRIOR_MIX) * smoothed + PRIOR_MIX / n_bins())
    return weights / (smoothed * weights).sum()  # E_prior[w] = 1


def loss(logits: torch.Tensor, target_ab: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Rebalanced cross-entropy of logits [B, Q, H, W] against soft-encoded true chroma
    [B, 2, h, w] in model units (a*b* / AB_SCALE), at the logits' resolution."""
    if target_ab.shape[-2:] != logits.shape[-2:]:
        target_ab = F.interpolate(target_ab, size=logits.shape[-2:], mode="area")
    ab = (target_ab.float() * color.AB_SCALE).permute(0, 2, 3, 1).reshape(-1, 2)
    idx, soft = soft_encode(ab)
    log_p = F.log_softmax(logits.float(), dim=1).permute(0, 2, 3, 1).reshape(-1, logits.size(1))
    per_pixel = -(soft * log_p.gather(1, idx)).sum(1)
    return (per_pixel * weights.to(per_pixel)[idx[:, 0]]).mean()


def decode(logits: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE) -> torch.Tensor:
    """Logits [B, Q, H, W] -> a*b* in model units [B, 2, H, W] by the annealed mean:
    softmax(logits / T) weighs the bin centres (T = 1: the mean; T -> 0: the mode)."""
    p = torch.softmax(logits.float() / max(temperature, 1e-3), dim=1)
    return torch.einsum("bqhw,qc->bchw", p, bin_centres().to(p.device)) / color.AB_SCALE

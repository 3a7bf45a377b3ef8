"""Pure tensor operations behind the latent-space explorer.

Kept free of Streamlit and model code so the maths can be tested on its own and
reused by any front end. Vectors are [D] tensors or [N, D] batches, and every
function works on the last dimension. Nothing is modified in place: the UI keeps
latent vectors in session state, and an in-place edit would silently change
vectors the user is still looking at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

# Below this, a norm counts as zero and an angle as no angle at all.
_EPS = 1e-6

FILLS = ("random", "hanning", "zeros", "ones")


def lerp(a: Tensor, b: Tensor, t: float) -> Tensor:
    """Straight-line interpolation; torch.lerp is exact at t=0 and t=1."""
    return torch.lerp(a, b, t)


def slerp(a: Tensor, b: Tensor, t: float) -> Tensor:
    """Interpolate along the great circle from a to b.

    Gaussian latents concentrate near a sphere, so the straight line between two
    samples cuts through the sparse interior and tends to give washed-out
    images; the arc stays where the generator was trained. The direction follows
    the arc while the norm is interpolated linearly, so the endpoints are a and b
    and equal-norm inputs keep their norm throughout. Where the arc is undefined
    (a or b near zero, or the two nearly parallel or opposite) this falls back
    to lerp, row by row in a batch.
    """
    norm_a = a.norm(dim=-1, keepdim=True)
    norm_b = b.norm(dim=-1, keepdim=True)
    unit_a = a / norm_a.clamp_min(_EPS)
    unit_b = b / norm_b.clamp_min(_EPS)
    # The atan2 form of the angle stays accurate near 0 and pi, where acos(dot) does not.
    omega = 2 * torch.atan2(
        (unit_a - unit_b).norm(dim=-1, keepdim=True),
        (unit_a + unit_b).norm(dim=-1, keepdim=True),
    )
    sin_omega = torch.sin(omega)
    degenerate = (sin_omega < _EPS) | (norm_a < _EPS) | (norm_b < _EPS)
    # Dividing by 1 on degenerate rows keeps NaNs out; torch.where discards those rows anyway.
    safe_sin = torch.where(degenerate, torch.ones_like(sin_omega), sin_omega)
    direction = (
        torch.sin((1 - t) * omega) * unit_a + torch.sin(t * omega) * unit_b
    ) / safe_sin
    arc = direction * torch.lerp(norm_a, norm_b, t)
    return torch.where(degenerate, lerp(a, b, t), arc)


_METHODS: dict[str, Callable[[Tensor, Tensor, float], Tensor]] = {
    "lerp": lerp,
    "slerp": slerp,
}


def interpolate(a: Tensor, b: Tensor, steps: int, method: str = "slerp") -> Tensor:
    """Return `steps` evenly spaced frames from a to b, both endpoints included.

    The endpoints are part of the strip so the user sees the two images they
    chose at either end of the animation.
    """
    if method not in _METHODS:
        raise ValueError(
            f"unknown interpolation method {method!r}; expected one of {sorted(_METHODS)}"
        )
    if steps < 2:
        raise ValueError(
            f"steps must be at least 2 to include both endpoints, got {steps}"
        )
    step = _METHODS[method]
    return torch.stack([step(a, b, i / (steps - 1)) for i in range(steps)])


def concept_mean(vectors: Tensor | Sequence[Tensor]) -> Tensor:
    """Average a group of latent vectors ([N, D] or a sequence of [D]) into one concept.

    Averaging several examples of a concept cancels what they do not share and
    keeps what they do, which makes a steadier direction than any single sample.
    """
    if len(vectors) == 0:
        raise ValueError(
            "cannot take the mean of an empty group of vectors; add at least one"
        )
    stacked = vectors if isinstance(vectors, Tensor) else torch.stack(list(vectors))
    if stacked.ndim != 2:
        raise ValueError(
            f"expected a group of vectors shaped [N, D], got shape {tuple(stacked.shape)}"
        )
    return stacked.mean(dim=0)


def mix(a: Tensor, b: Tensor, alpha: float) -> Tensor:
    """Blend two concepts: (1 - alpha) * a + alpha * b.

    This is lerp under the name the UI uses; alpha=0.5 gives the average of two
    concept means.
    """
    return lerp(a, b, alpha)


def arithmetic(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """Latent arithmetic a - b + c, e.g. "smiling woman - woman + man"."""
    return a - b + c


def one_hot(index: int, size: int) -> Tensor:
    """Float one-hot vector, used to probe what a single latent dimension does."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is out of range for size {size}")
    vector = torch.zeros(size)
    vector[index] = 1.0
    return vector


def _fill_values(
    fill: str, window: int, like: Tensor, generator: torch.Generator | None
) -> Tensor:
    """Values for a full window; callers truncate them where the window is clipped."""
    if fill == "random":
        return torch.randn(
            window, generator=generator, dtype=like.dtype, device=like.device
        )
    if fill == "hanning":
        return torch.hann_window(
            window, periodic=False, dtype=like.dtype, device=like.device
        )
    if fill == "zeros":
        return torch.zeros(window, dtype=like.dtype, device=like.device)
    return torch.ones(window, dtype=like.dtype, device=like.device)


def perturb(
    base: Tensor,
    window: int,
    positions: Sequence[int],
    fill: str,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Return one copy of `base` per position, with [p, p + window) overwritten by `fill`.

    Sliding a window of changes along the vector shows which stretch of
    dimensions controls which feature of the image. A window that runs past the
    end is clipped, and a clipped Hann window keeps its left part rather than
    being squeezed, so every row is changed by the same shape. "random" draws a
    fresh standard-normal window for each row from `generator`.
    """
    if base.ndim != 1:
        raise ValueError(
            f"base must be a single vector shaped [D], got shape {tuple(base.shape)}"
        )
    dim = base.shape[0]
    if not 1 <= window <= dim:
        raise ValueError(f"window must be between 1 and {dim}, got {window}")
    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; expected one of {list(FILLS)}")
    bad = [p for p in positions if not 0 <= p < dim]
    if bad:
        raise ValueError(f"positions {bad} are outside [0, {dim})")
    rows = base.expand(len(positions), dim).clone()
    for row, start in zip(rows, positions):
        end = min(start + window, dim)
        row[start:end] = _fill_values(fill, window, base, generator)[: end - start]
    return rows


def window_positions(dim: int, window: int, stride: int) -> list[int]:
    """Start positions 0, stride, 2 * stride, ... whose window fits inside the vector.

    Gives the sweep for `perturb` without clipped windows at the end; empty when
    the window is longer than the vector.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    return list(range(0, dim - window + 1, stride))


def steer(z: Tensor, directions: Tensor, weights: Sequence[float]) -> Tensor:
    """z + sum_i weights[i] * directions[i]: move along named attribute directions ([K, D]).

    A direction points from images without an attribute towards images with it, so a positive
    weight adds the attribute and a negative one takes it away; z itself is left unchanged.
    """
    if directions.ndim != 2 or directions.shape[1] != z.shape[-1]:
        raise ValueError(f"directions must be shaped [K, {z.shape[-1]}], got {tuple(directions.shape)}")
    if len(weights) != directions.shape[0]:
        raise ValueError(f"got {len(weights)} weights for {directions.shape[0]} directions")
    w = torch.as_tensor(list(weights), dtype=z.dtype, device=z.device)
    return z + w @ directions.to(z)


def plane(n: int, extent: float) -> Tensor:
    """[n * n, 2] points of an n x n grid over [-extent, extent]^2, in reading order.

    Rows run from y = +extent at the top to -extent at the bottom and columns from x = -extent
    to +extent, so the decoded grid is laid out like the usual plot of the latent plane.
    """
    if n < 2:
        raise ValueError(f"the grid needs at least 2 points a side, got {n}")
    axis = torch.linspace(-extent, extent, n)
    y, x = torch.meshgrid(axis.flip(0), axis, indexing="ij")
    return torch.stack([x.flatten(), y.flatten()], dim=1)

"""Failure modes noticed while training, so a user hears about them before wasting hours.

- Discriminator dominance: D's loss near zero while G's loss climbs; G gets no useful gradient.
- Collapsed diversity: generated samples much closer to each other than real images are; the
  generator has collapsed onto a few modes.
"""

from __future__ import annotations

from collections import deque

import torch

DOMINANCE_D_LOSS = 0.05
COLLAPSE_RATIO = 0.25


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise L2 distance between the images of a batch (0 when all are identical)."""
    flat = images.detach().float().flatten(1)
    if len(flat) < 2:
        return 0.0
    d = torch.cdist(flat, flat)
    n = len(flat)
    return float(d.sum() / (n * (n - 1)))


class FailureMonitor:
    """Fed each logged step's metrics; returns warnings when a failure mode starts (once each,
    until it goes away and comes back)."""

    def __init__(self, window: int = 5, warmup: int = 300):
        self.g_losses: deque[float] = deque(maxlen=window)
        self.warmup = warmup  # every generator starts out collapsed: judge diversity after this
        self.active: set[str] = set()

    def _edge(self, name: str, on: bool, message: str) -> list[str]:
        if on and name not in self.active:
            self.active.add(name)
            return [message]
        if not on:
            self.active.discard(name)
        return []

    def update(self, step: int, metrics: dict[str, float], fake: torch.Tensor | None = None, real: torch.Tensor | None = None) -> list[str]:
        warnings: list[str] = []
        if "d_loss" in metrics and "g_loss" in metrics and "wasserstein" not in metrics:
            self.g_losses.append(metrics["g_loss"])
            climbing = len(self.g_losses) == self.g_losses.maxlen and self.g_losses[-1] > self.g_losses[0] * 1.2
            dominant = metrics["d_loss"] < DOMINANCE_D_LOSS and climbing
            warnings += self._edge("dominance", dominant,
                                   f"discriminator dominance: D loss {metrics['d_loss']:.3f} while G loss climbs to "
                                   f"{metrics['g_loss']:.2f}; G is getting little gradient (try a lower D learning rate)")
        if fake is not None and real is not None:
            ratio = diversity(fake) / max(diversity(real), 1e-8)
            metrics["diversity_ratio"] = ratio
            warnings += self._edge("collapse", ratio < COLLAPSE_RATIO and step >= self.warmup,
                                   f"collapsed diversity: samples are {ratio:.2f}x as varied as real images; the generator "
                                   f"is collapsing onto few modes")
        return warnings

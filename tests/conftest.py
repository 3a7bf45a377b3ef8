"""Shared fixtures. Core tests make tiny data; tests that need a real dataset use the data root
($LATENT_STUDIO_DATA, else ../shared/data beside the checkout) and skip, saying why, without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("LATENT_STUDIO_DATA") or ROOT.parent / "shared" / "data")

# Small networks and batches: every training path runs in a second or two on a 2-core CPU.
TINY = {
    "arch": {"generator": {"width": 8}, "discriminator": {"width": 8}},
    "train": {"batch_size": 8, "log_every": 2, "snapshot_every": 2},
}


@pytest.fixture
def real_data() -> Path:
    if not (SHARED_DATA / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (set LATENT_STUDIO_DATA to the folder holding MNIST/)")
    return SHARED_DATA


def checked_train_step(family, m, ctx) -> list[str]:
    """Run one train_step, asserting that each optimizer's update changes its own parameters and
    no other player's; returns the order of the updates."""
    import torch

    groups = {name: [p for key in keys for p in m[key].parameters()] for name, keys in family.optimizer_modules.items()}
    seen: list[str] = []
    original_update = ctx.update

    def checked_update(name, loss):
        others = {o: [p.detach().clone() for p in ps] for o, ps in groups.items() if o != name}
        mine = [p.detach().clone() for p in groups[name]]
        original_update(name, loss)
        for o, before in others.items():
            assert all(torch.equal(a, b) for a, b in zip(before, groups[o])), f"{name} step changed {o}'s parameters"
        assert any(not torch.equal(a, b) for a, b in zip(mine, groups[name])), f"{name} step changed nothing"
        seen.append(name)

    ctx.update = checked_update
    family.train_step(m, ctx)
    return seen

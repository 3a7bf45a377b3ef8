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

"""Attribute sliders for models that ship directions.safetensors (a CelebA DCGAN): the current
z moved along each named direction, z + sum_i w_i * direction_i, live while dragging."""

from __future__ import annotations

import streamlit as st

from latent_studio.app import models
from latent_studio.app.views import Page
from latent_studio.app.views.steering import direction_sliders
from latent_studio.runs.files import DIRECTIONS, CheckpointError

TITLE = "Attributes"
PANEL = "attribute_panel"
WEIGHTS = "attribute_weights"  # {run path: {attribute: weight}}, kept while other tabs are open


def label(name: str) -> str:
    """An attribute as people write it: Mouth_Slightly_Open -> Mouth Slightly Open, and CelebA's
    5_o_Clock_Shadow -> 5 o'Clock Shadow."""
    return name.replace("_o_", " o'").replace("_", " ")


def available(page: Page) -> bool:
    run = page.run
    return (run.path / DIRECTIONS).is_file()


def render(page: Page) -> None:
    run = page.run
    spec = run.config.latent
    file = run.path / DIRECTIONS
    try:
        names, directions = models.directions(str(run.path), file.stat().st_mtime, spec.dim)
    except CheckpointError as e:
        st.error(str(e))
        return
    labels = [label(name) for name in names]
    direction_sliders(run, directions, names, labels, labels, WEIGHTS, PANEL)

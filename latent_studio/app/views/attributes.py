"""Attribute sliders for models that ship directions.safetensors (a CelebA DCGAN): the current
z moved along each named direction, z + sum_i w_i * direction_i, live while dragging."""

from __future__ import annotations

import streamlit as st

from latent_studio.app import models, session
from latent_studio.app.live_sliders import InBrowser, LiveSlider, live_sliders, reported
from latent_studio.app.sampling import build, with_rows
from latent_studio.app.views import Page, show
from latent_studio.inference.latent import steer
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
    weights = st.session_state.setdefault(WEIGHTS, {}).setdefault(str(run.path), {})
    panel = f"{PANEL}:{run.path}"  # one per run: a report never reaches another model
    weights.update({name: round(w, 1) for name, w in reported(panel).items() if name in names})
    values = [weights.get(name, 0.0) for name in names]
    sample = build(spec, session.state())
    sliders = [LiveSlider(name, label(name), -3.0, 3.0, w, step=0.1) for name, w in zip(names, values)]
    browser = show.browser_model(run)
    moved = [f"{label(n)} {w:+.1f}" for n, w in zip(names, values) if w]
    caption = "z of the Sliders tab" + (", moved: " + ", ".join(moved) if moved else ", unmoved.")
    if browser is not None:  # the panel draws z + sum w_i direction_i beside the sliders, as steer() does here
        effects = {name: {"add": d.tolist()} for name, d in zip(names, directions)}
        live_sliders(sliders, panel, decimals=1, browser=InBrowser(browser, sample.generator_input()[0].tolist(), effects))
        st.caption(caption)
        return
    picture, controls = st.columns([2, 3], gap="large")
    with controls:
        live_sliders(sliders, panel, decimals=1)
    with picture:
        steered = with_rows(sample, steer(sample.z, directions, values))
        generated = show.images(run, steered.generator_input(), cell=show.MAIN)
        show.performance(generated)
        st.caption(caption)

"""Sliders that move the shared latent along a set of directions, z + sum_i w_i * direction_i
(the Attributes and Discovered directions tabs): drawn in the page while dragging when the browser
can run the generator, else on the server, with the weights kept per run while other tabs are open."""

from __future__ import annotations

import streamlit as st
from torch import Tensor

from latent_studio.app import session
from latent_studio.app.live_sliders import InBrowser, LiveSlider, live_sliders, reported
from latent_studio.app.sampling import build, with_rows
from latent_studio.app.views import show
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.latent import steer
from latent_studio.runs.config import LatentSample


def direction_sliders(run: LoadedRun, directions: Tensor, ids: list[str], titles: list[str], short: list[str], store: str,
                      panel: str, reach: float = 3.0) -> LatentSample:
    """One slider per direction (`ids` its keys, `titles` its labels, `short` its name in the
    caption), weights kept in session state under `store`; returns the unmoved sample."""
    weights = st.session_state.setdefault(store, {}).setdefault(str(run.path), {})
    key = f"{panel}:{run.path}"  # one panel per run: a report never reaches another model
    weights.update({i: round(w, 1) for i, w in reported(key).items() if i in ids})
    values = [weights.get(i, 0.0) for i in ids]
    sample = build(run.config.latent, session.state())
    sliders = [LiveSlider(i, title, -reach, reach, w, step=0.1) for i, title, w in zip(ids, titles, values)]
    moved = [f"{name} {w:+.1f}" for name, w in zip(short, values) if w]
    caption = "z of the Sliders tab" + (", moved along: " + ", ".join(moved) if moved else ", unmoved.")
    browser = show.browser_model(run)
    if browser is not None:  # the panel draws z + sum w_i direction_i beside the sliders, as steer() does here
        effects = {i: {"add": d.tolist()} for i, d in zip(ids, directions)}
        live_sliders(sliders, key, decimals=1, browser=InBrowser(browser, sample.generator_input()[0].tolist(), effects))
        st.caption(caption)
        return sample
    picture, controls = st.columns([2, 3], gap="large")
    with controls:
        live_sliders(sliders, key, decimals=1)
    with picture:
        generated = show.images(run, with_rows(sample, steer(sample.z, directions, values)).generator_input(), cell=show.MAIN)
        show.performance(generated)
        st.caption(caption)
    return sample

"""One slider per latent dimension, and the image follows them while they are dragged (a live
panel, latent_studio.app.live_sliders; drawn in the page when the browser can run the generator). A model
with many dimensions shows a chosen subset (the multiselect is searchable: type "z[12"), always
including the dimensions already changed."""

from __future__ import annotations

import streamlit as st

from latent_studio.app import session
from latent_studio.app.live_sliders import InBrowser, LiveSlider, live_sliders, reported
from latent_studio.app.sampling import LatentState, build, z_limit
from latent_studio.app.views import Page, show
from latent_studio.runs.config import LatentSpec

TITLE = "Sliders"
PANEL = "z_panel"
ALL_UP_TO = 16  # models with at most this many dimensions show every slider
FIRST_SHOWN = 8


def available(page: Page) -> bool:
    return True


def slider_range(spec: LatentSpec, value: float) -> tuple[float, float]:
    """About ±3 standard deviations for a normal prior, [-1, 1] for a uniform one, widened to
    hold a drawn value that lies outside."""
    r = z_limit(spec)
    return min(-r, value), max(r, value)


def shown_dims(spec: LatentSpec) -> list[int]:
    if spec.dim <= ALL_UP_TO:
        return list(range(spec.dim))
    edited = set(session.state().z)
    st.session_state.setdefault(session.SHOWN_DIMS, sorted(set(range(FIRST_SHOWN)) | edited))
    chosen = st.multiselect("Dimensions to show", range(spec.dim), format_func=lambda i: f"z[{i}]", key=session.SHOWN_DIMS,
                            persist_state="page", placeholder="Type a dimension, e.g. z[12]")
    return sorted(chosen)


def render(page: Page) -> None:
    run = page.run
    spec = run.config.latent
    panel = session.key(PANEL)
    session.z_moved(reported(panel))
    state = session.state()
    sample = build(spec, state)
    browser = show.browser_model(run)
    picture, controls = st.columns([2, 3], gap="large")
    with controls:
        dims = shown_dims(spec)
        sliders = [LiveSlider(str(d), f"z[{d}]", *slider_range(spec, float(sample.z[0, d])), float(sample.z[0, d])) for d in dims]
        if browser is None:
            live_sliders(sliders, panel)
    if browser is not None:  # the panel draws the picture beside the sliders
        base = sample.generator_input()[0].tolist()
        live_sliders(sliders, panel, browser=InBrowser(browser, base, {str(d): {"set": d} for d in dims}))
        _changes(state)
        return
    with picture:
        generated = show.images(run, sample.generator_input(), cell=show.MAIN)
        show.performance(generated)
        _changes(state)


def _changes(state: LatentState) -> None:
    if state.z:
        st.caption("Changed from seed {}: {}".format(state.seed, ", ".join(f"z[{d}] = {v:.2f}" for d, v in sorted(state.z.items()))))
    else:
        st.caption(f"The unchanged draw of seed {state.seed}.")

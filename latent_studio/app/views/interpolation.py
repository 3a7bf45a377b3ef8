"""Interpolation between two samples or concepts: lerp or slerp, a strip of N steps, and an
animated GIF to download."""

from __future__ import annotations

import streamlit as st
from torch import Tensor

from latent_studio.app import session
from latent_studio.app.imaging import enlarge, gif, scale_for, to_uint8
from latent_studio.app.sampling import build
from latent_studio.app.views import Page, show
from latent_studio.app.views.bank import bank_inputs, concepts_of
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.latent import interpolate

TITLE = "Interpolation"
CURRENT = "The Sliders image"
STRIP, GIF = 1100, 160  # pixels: the width of the strip, a side of the GIF


def available(page: Page) -> bool:
    return True


def endpoints(run: LoadedRun) -> dict[str, Tensor]:
    """What can be an end of the path: the current latent, each bank sample, each concept's mean."""
    options = {CURRENT: build(run.config.latent, session.state()).generator_input()[0]}
    options.update({f"Bank sample {i}": row for i, row in enumerate(bank_inputs(run))})
    options.update({f"Concept: {name}": c.mean for name, c in concepts_of(run).items()})
    return options


def render(page: Page) -> None:
    run = page.run
    options = endpoints(run)
    names = list(options)
    start_box, end_box = st.columns(2)
    start = start_box.selectbox("From", names, index=1, key=session.valid("interp_from", names), persist_state="page")
    end = end_box.selectbox("To", names, index=2, key=session.valid("interp_to", names), persist_state="page")
    method_box, steps_box, speed_box = st.columns(3)
    method = method_box.radio("Path", ["slerp", "lerp"], horizontal=True, key="interp_method", persist_state="page",
                              help="slerp follows the sphere where Gaussian samples live; lerp cuts straight through it.")
    steps = steps_box.slider("Steps", 2, 16, 8, key="interp_steps", persist_state="page")
    frame_ms = speed_box.slider("GIF frame (ms)", 40, 500, 120, step=20, key="interp_ms", persist_state="page")
    path = interpolate(options[start], options[end], steps, method)
    generated = show.images(run, path, columns=steps, labels=[str(i) for i in range(steps)], cell=min(show.GRID, STRIP // steps))
    show.performance(generated)
    frames = list(enlarge(to_uint8(generated.images), scale_for(generated.images.shape[-1], GIF)))
    animation = gif(frames + frames[-2:0:-1], frame_ms)  # there and back, so the loop has no jump
    preview, download = st.columns([1, 2], vertical_alignment="center")
    preview.image(animation, caption="There and back again")  # at its own size: resizing would drop the animation
    download.download_button("Download GIF", animation, file_name=f"{run.path.name}-{method}.gif", mime="image/gif",
                             on_click="ignore")


"""Window perturbation: overwrite a window of z dimensions, slide it along the vector, and see
which stretch of dimensions controls what. The base vector (the Sliders image's z) is never
modified; every row is a copy."""

from __future__ import annotations

import streamlit as st
import torch

from latent_studio.app import session
from latent_studio.app.sampling import build, with_rows
from latent_studio.app.views import Page, show
from latent_studio.inference.latent import FILLS, perturb, window_positions

TITLE = "Perturbation"


def available(page: Page) -> bool:
    return True


def render(page: Page) -> None:
    run = page.run
    spec = run.config.latent
    dim = spec.dim
    window_box, stride_box, fill_box, seed_box = st.columns(4)
    lengths = range(1, dim + 1)
    window = window_box.slider("Window length", 1, dim, max(1, dim // 10), key=session.valid("perturb_window", lengths),
                               persist_state="page")
    stride = stride_box.slider("Stride", 1, dim, max(1, dim // 10), key=session.valid("perturb_stride", lengths),
                               persist_state="page")
    fill = fill_box.selectbox("Fill", FILLS, key="perturb_fill", persist_state="page",
                              help="What the window is overwritten with: fresh noise, a Hann bump, zeros or ones.")
    fill_seed = seed_box.number_input("Noise seed", min_value=0, step=1, value=0, key="perturb_seed", persist_state="page",
                                      disabled=fill != "random")
    positions = window_positions(dim, window, stride)
    if not positions:
        st.warning(f"A window of {window} does not fit in {dim} dimensions.")
        return
    sample = build(spec, session.state())
    base = sample.z[0]
    rows = perturb(base, window, positions, fill, generator=torch.Generator().manual_seed(int(fill_seed)))
    inputs = with_rows(sample, torch.cat([base[None], rows])).generator_input()
    labels = ["base"] + [f"z[{p}:{p + window}]" for p in positions]
    generated = show.images(run, inputs, columns=8, labels=labels, cell=show.GRID)
    show.performance(generated)
    st.caption(f"The first cell is the Sliders image; each other cell has z[p:p+{window}] set to {fill}, "
               f"for p = {', '.join(map(str, positions))}.")

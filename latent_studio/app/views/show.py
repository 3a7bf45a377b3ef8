"""Drawing generator output on the page, with the performance line every view shows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import streamlit as st
from torch import Tensor

from latent_studio.app import client_render
from latent_studio.app.imaging import DISPLAY_SIZE, picture, scale_for
from latent_studio.app.live_sliders import browser_failed
from latent_studio.app.models import Generated, generate
from latent_studio.families.run_models import LoadedRun

# Pixels a side per image: the image a view is about, the images of a grid, of a big grid.
MAIN, GRID, SMALL = 288, 112, 84


def images(
    run: LoadedRun, inputs: Tensor, columns: int = 8, labels: Sequence[str] | None = None, caption: str | None = None,
    cell: int = DISPLAY_SIZE,
) -> Generated:
    """Generate from `inputs` ([N, input_dim]) and show them as one grid of about `cell` pixels
    per image, timed."""
    generated = generate(run, inputs)
    grid(generated.images, columns, labels, caption, cell)
    return generated


def grid(
    images: Tensor, columns: int = 8, labels: Sequence[str] | None = None, caption: str | None = None, cell: int = DISPLAY_SIZE,
) -> None:
    """Show generator output ([N, C, H, W] in [-1, 1]) as one PNG, at its own size."""
    st.image(picture(images, columns, labels, cell), caption=caption, output_format="PNG")


def performance(generated: Generated) -> None:
    """Device and time; which path drew the image (the browser path's panel says so itself)."""
    st.caption(f"{generated.summary} · rendered on the server{_why_server()}")


def browser_model(run: LoadedRun) -> client_render.ClientModel | None:
    """The browser path for a view's main image at MAIN size, unless it failed in this session."""
    if browser_failed():
        return None
    return client_render.client_model(run, scale_for(run.config.data.image_size, MAIN))


def _why_server() -> str:
    reason = browser_failed()
    return f" (the browser could not: {reason})" if reason else ""


def kept_images(
    run: LoadedRun, inputs: Tensor, columns: int = 8, labels: Sequence[str] | None = None, caption: str | None = None,
    cell: int = DISPLAY_SIZE,
) -> None:
    """Like images(), for big grids that often come back unchanged between reruns (the sweep
    keeps its picture while the user moves the code it sweeps): the PNG is kept per run and input."""
    digest = hashlib.sha1(inputs.contiguous().numpy().tobytes()).hexdigest()
    png = _kept_png(str(run.path), run.config.step, digest, columns, tuple(labels or ()), cell, run, inputs)
    st.image(png, caption=caption, output_format="PNG")


@st.cache_data(max_entries=64, show_spinner=False)
def _kept_png(path: str, revision: int, digest: str, columns: int, labels: tuple[str, ...], cell: int,
              _run: LoadedRun, _inputs: Tensor) -> bytes:
    """Keyed by run, checkpoint and a digest of the inputs; the run and tensor are not hashed."""
    return picture(generate(_run, _inputs).images, columns, labels or None, cell)

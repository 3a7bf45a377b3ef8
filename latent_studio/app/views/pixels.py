"""Pixel by pixel: a PixelCNN draws digits one pixel at a time, and completes a digit from its top.

Both run only when the button is pressed (a 28 px digit is 784 network passes), and the picture
is redrawn after each row, so the page shows the digit filling in from the top. Pixels not drawn
yet are gray. The digits to complete are held-out test digits kept in the run
(latent_studio.runs.files.TEST_DIGITS) or one the user draws, framed as MNIST frames its digits.
One sampling runs at a time per server, so a crowd of visitors queues instead of sharing the
CPU among many slow draws.
"""

from __future__ import annotations

import hashlib
import threading
import time

import streamlit as st
import torch
from safetensors.torch import load_file

from latent_studio.app import mode, session
from latent_studio.app.drawing import drawing_pad, drawn
from latent_studio.app.imaging import picture
from latent_studio.app.views import Page, show
from latent_studio.data.uploads import UploadError
from latent_studio.families import AUTOREGRESSIVE
from latent_studio.families.networks.pixelcnn import sample
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.inversion import InversionError, prepare_upload
from latent_studio.runs.files import TEST_DIGITS

TITLE = "Pixel by pixel"
MODES = ("Draw digits", "Complete a digit")
SOURCES = ("A held-out test digit", "Draw one")
COUNTS, PUBLIC_COUNTS = (4, 8, 16), (4, 8)
RESULT, PAD = "pixels_result", "pixels_drawing"
UNDRAWN = 0.5  # a pixel not drawn yet shows as mid-gray
_ONE_AT_A_TIME = threading.Lock()


def available(page: Page) -> bool:
    run = page.run
    return run.family.kind == AUTOREGRESSIVE


@st.cache_resource(max_entries=4, show_spinner=False)
def _test_digits(path: str, mtime: float) -> dict[str, torch.Tensor] | None:
    """The run's kept held-out digits, once per process and file version."""
    return load_file(path)


def test_digits(run: LoadedRun) -> dict[str, torch.Tensor] | None:
    file = run.path / TEST_DIGITS
    return _test_digits(str(file), file.stat().st_mtime) if file.is_file() else None


def render(page: Page) -> None:
    run = page.run
    st.markdown("A PixelCNN gives every pixel a probability of being ink given all the pixels above it and to its left. "
                "It draws a digit by drawing the pixels in that order, one network pass each.")
    choice = st.radio("What to do", MODES, horizontal=True, key="pixels_mode", label_visibility="collapsed")
    counts = PUBLIC_COUNTS if mode.public() else COUNTS
    size = run.config.data.image_size
    if choice == MODES[0]:
        count = st.select_slider("Digits", counts, value=8, key="pixels_count")
        canvas, known = torch.zeros(count, 1, size, size), torch.zeros(count, 1, size, size, dtype=torch.bool)
        what = ("draw", run.config.step, session.state().seed, count)
        label = "Draw"
    else:
        start = _completion_start(run, size)
        if start is None:
            return
        digit, rows, what = start
        count = st.select_slider("Completions", counts, value=8, key="pixels_completions")
        canvas = digit.expand(count, -1, -1, -1).clone()
        known = torch.zeros_like(canvas, dtype=torch.bool)
        known[..., :rows, :] = True
        what = (*what, rows, count, run.config.step, session.state().seed)
        label = "Complete"
    picture_slot = st.empty()
    if st.button(label, type="primary", key="pixels_go"):
        st.session_state[RESULT] = (what, _draw(run, canvas, known, picture_slot))
    stored = st.session_state.get(RESULT)
    if stored and stored[0] == what:
        images, seconds = stored[1]
        picture_slot.image(picture(images * 2 - 1, min(len(images), 8), cell=show.GRID), output_format="PNG")
        st.caption(f"{len(images)} digits, {len(images) * size * size:,} pixels in {seconds:.1f} s · {run.device.type} · "
                   f"seed {session.state().seed} (the sidebar's: a new seed draws new digits)")
    else:
        picture_slot.image(picture(_shown(canvas, known) * 2 - 1, min(count, 8), cell=show.GRID), output_format="PNG")
        st.caption(f"Press {label} to watch the model draw. Gray pixels are not drawn yet.")


def _completion_start(run: LoadedRun, size: int) -> tuple[torch.Tensor, int, tuple] | None:
    """The digit to complete ([1, 1, H, W] in {0, 1}), the rows kept from it, and a key for what was asked."""
    source = st.radio("Digit", SOURCES, horizontal=True, key="pixels_source")
    if source == SOURCES[0]:
        kept = test_digits(run)
        if kept is None:
            st.info("This run keeps no test digits yet: `python -m latent_studio evaluate RUN` stores some. Draw one instead.")
            return None
        labels = kept["labels"].tolist()
        pick = st.select_slider("Test digit", range(len(labels)), value=min(7, len(labels) - 1), key="pixels_pick",
                                format_func=lambda i: f"#{i}: a {labels[i]}")
        digit, what = kept["images"][pick:pick + 1].float(), ("test", pick)
    else:
        drawing_pad(PAD)
        data = drawn(PAD)
        if data is None:
            st.caption("Draw a digit and press Use this drawing.")
            return None
        try:
            digit = (prepare_upload(data, run)[None] > 0).float()
        except (UploadError, InversionError) as e:
            st.error(str(e))
            return None
        what = ("drawn", hashlib.sha256(data).hexdigest())
    rows = st.slider("Rows kept from the top", 1, size - 1, size // 2, key="pixels_rows",
                     help="The model sees these rows and draws the rest.")
    return digit, rows, what


def _shown(x: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
    """Pixels drawn so far, the rest gray, in [0, 1]."""
    return torch.where(done, x, torch.full_like(x, UNDRAWN))


def _draw(run: LoadedRun, canvas: torch.Tensor, known: torch.Tensor, slot) -> tuple[torch.Tensor, float]:
    """Sample the unknown pixels, redrawing `slot` as each row completes; (images in [0, 1], seconds)."""
    columns = min(len(canvas), 8)
    g = torch.Generator(device=run.device).manual_seed(session.state().seed)

    def row_done(row: int, x: torch.Tensor) -> None:
        done = known.clone()
        done[..., : row + 1, :] = True
        slot.image(picture(_shown(x.cpu(), done.cpu()) * 2 - 1, columns, cell=show.GRID), output_format="PNG")

    with st.spinner("Waiting for the model (one drawing at a time on this server)..."), _ONE_AT_A_TIME:
        start = time.perf_counter()
        with torch.inference_mode():
            images = sample(run.modules["generator"], canvas.to(run.device), known.to(run.device), g, on_row=row_done)
        seconds = time.perf_counter() - start
    return images.cpu(), seconds

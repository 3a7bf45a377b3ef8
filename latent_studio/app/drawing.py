"""A small drawing pad (a Streamlit v2 component, like latent_studio.app.live_sliders): draw a digit with
the mouse, a finger or a pen, then press "Use this drawing". The pad draws white strokes on black,
as MNIST's digits are, with a brush about as wide relative to the pad as MNIST's pen is to its
frame; the drawing reaches the server as a PNG data URL only on that press, and it goes through
the same upload checks and digit framing as a file (latent_studio.inference.inversion.prepare_upload).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import streamlit as st

PAD = 280  # CSS pixels a side: ten times MNIST's 28
PREFIX = "data:image/png;base64,"
MAX_CHARS = 2 * 2**20  # a 280 x 280 PNG is a few kB; anything this large was not drawn on the pad

HERE = Path(__file__).resolve().parent
_pad = st.components.v2.component("latent_studio.drawing_pad", js=(HERE / "drawing.js").read_text(), css=(HERE / "drawing.css").read_text())


def _no_callback() -> None:
    """Streamlit keeps a component's state only for names with a callback; drawn() reads it."""


def drawing_pad(key: str) -> None:
    """Draw the pad (read the drawing with drawn(key))."""
    _pad(key=key, data={"size": PAD, "brush": round(PAD * 2.5 / 28)}, default={"drawing": None}, on_drawing_change=_no_callback)


def drawn(key: str) -> bytes | None:
    """The PNG of the last drawing the pad `key` sent, or None. What a browser sends is checked
    here as anything a visitor sends: a PNG data URL of bounded length, or nothing."""
    url = (st.session_state.get(key) or {}).get("drawing")
    if not isinstance(url, str) or not url.startswith(PREFIX) or len(url) > MAX_CHARS:
        return None
    try:
        return base64.b64decode(url[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return None

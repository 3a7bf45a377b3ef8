"""A small drawing pad (a Streamlit v2 component, like latent_studio.app.live_sliders): draw a digit with
the mouse, a finger or a pen, then press "Use this drawing". The pad draws white strokes on black,
as MNIST's digits are, with a brush about as wide relative to the pad as MNIST's pen is to its
frame; the drawing reaches the server as a PNG data URL only on that press, and it goes through
the same upload checks and digit framing as a file (latent_studio.inference.inversion.prepare_upload).
"""

from __future__ import annotations

import base64
import binascii

import streamlit as st

PAD = 280  # CSS pixels a side: ten times MNIST's 28
PREFIX = "data:image/png;base64,"
MAX_CHARS = 2 * 2**20  # a 280 x 280 PNG is a few kB; anything this large was not drawn on the pad

_JS = """
export default function ({ data, parentElement, setStateValue }) {
  let root = parentElement.querySelector(".pad");
  if (!root) {
    root = document.createElement("div");
    root.className = "pad";
    root.innerHTML = '<canvas aria-label="Drawing pad" role="img"></canvas>' +
      '<div class="buttons"><button type="button" class="use">Use this drawing</button>' +
      '<button type="button" class="clear">Clear</button></div>';
    parentElement.appendChild(root);
    const canvas = root.querySelector("canvas");
    canvas.width = canvas.height = data.size;
    const ctx = canvas.getContext("2d");
    const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, data.size, data.size); };
    clear();
    ctx.strokeStyle = "#fff"; ctx.lineWidth = data.brush; ctx.lineCap = "round"; ctx.lineJoin = "round";
    let last = null;
    const at = (e) => { const r = canvas.getBoundingClientRect();
                        return [(e.clientX - r.left) * data.size / r.width, (e.clientY - r.top) * data.size / r.height]; };
    canvas.addEventListener("pointerdown", (e) => { canvas.setPointerCapture(e.pointerId); last = at(e);
                                                     ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...last); ctx.stroke(); });
    canvas.addEventListener("pointermove", (e) => { if (!last) return; const p = at(e);
                                                     ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke(); last = p; });
    const end = () => { last = null; };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    root.querySelector(".clear").addEventListener("click", clear);
    root.querySelector(".use").addEventListener("click", () => root.send(canvas.toDataURL("image/png")));
  }
  root.send = (url) => setStateValue("drawing", url);  // the latest render's setter
}
"""

_CSS = """
.pad { display: grid; gap: 0.5rem; justify-items: start; font-family: var(--st-font, "Source Sans", sans-serif); }
.pad canvas { width: 280px; max-width: 100%; aspect-ratio: 1; touch-action: none; cursor: crosshair;
              border-radius: 0.5rem; border: 1px solid rgba(128, 128, 128, 0.4); }
.pad .buttons { display: flex; gap: 0.5rem; }
.pad button { font: inherit; font-size: 0.875rem; padding: 0.25rem 0.75rem; border-radius: 0.5rem; cursor: pointer;
              border: 1px solid rgba(128, 128, 128, 0.4); background: var(--st-background-color, #fff);
              color: var(--st-text-color, #31333f); }
.pad button.use { background: var(--st-primary-color, #ff4b4b); border-color: transparent; color: #fff; }
"""

_pad = st.components.v2.component("latent_studio.drawing_pad", js=_JS, css=_CSS)


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

"""A panel of sliders that report while they are dragged (a Streamlit v2 component), and that
draw the image in the page when the browser can run the generator.

st.slider sends its value only when the mouse is released, so the image would jump once per
drag. This panel of native range inputs sends the values of the sliders the user moved at most
every THROTTLE_MS while dragging, and once more on release, so each move reruns the page and the
image follows the hand. One component holds the whole panel: a model with 100 dimensions is one
element on the page, not 100.

The panel's state is {"values": {slider id: value}} for the sliders moved since it was drawn
with this key. Callers read it with reported() at the top of their view, write it into their own
state (a repeated report changes nothing), then draw the panel from that state, so the values it
shows after a release are the ones the user left. A new key starts a fresh panel.

The browser path (InBrowser; latent_studio.app.client_render decides when it is on): the panel holds a
canvas beside the sliders and runs the run's generator.onnx with onnxruntime-web on every input
event, building the generator input as the server does and drawing it as latent_studio.app.imaging.picture
does (same pixels, within one gray level where float rounding lands on a half). The server hears
the values only on release, so it reruns once per drag instead of every THROTTLE_MS; arrow keys,
which release after every press, are told once the keys rest for SETTLE_MS. In Chromium a drag
draws ahead of the input event: the page hears a pointer move at once (pointerrawupdate) but the
slider's new value only at the next animation frame, too late for that frame, so the panel works
out the value the browser is about to take from the pointer and draws it straight away. If the
runtime or the model fails to load, the panel reports why ("failed") and the views draw on the
server for the rest of the session.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import streamlit as st

from latent_studio.app.client_render import ClientModel

THROTTLE_MS = 60
SETTLE_MS = 600  # browser path: a run of key presses is told to the server once keys rest this long



HERE = Path(__file__).resolve().parent
_panel = st.components.v2.component("latent_studio.live_sliders", js=(HERE / "live_sliders.js").read_text(),
                                    css=(HERE / "live_sliders.css").read_text())


@dataclass(frozen=True)
class LiveSlider:
    id: str
    label: str
    low: float
    high: float
    value: float
    step: float = 0.01
    names: tuple[str, ...] = ()  # a name to show for each whole value low..high (a class slider)


@dataclass(frozen=True)
class InBrowser:
    """The browser path: the panel draws the image itself while the sliders move.

    `base` is the generator input of the state the server knows (LatentSample.generator_input()
    of one sample); `effects` says what each slider does to it, exactly as the view does on the
    server: {"set": index} writes the value at an index, {"onehot": start, "size": k} a one-hot
    block, {"add": [direction over z]} adds value x direction to z.
    """

    model: ClientModel
    base: list[float]
    effects: dict[str, dict]
    layout: tuple[int, int] = (2, 3)  # widths of the picture and the sliders


FAILED = "browser_render_failed"  # why the browser path failed in this session; the server draws from then on


def reported(key: str) -> dict[str, float]:
    """{slider id: value} that the panel `key` reported for the sliders moved in it."""
    state = st.session_state.get(key) or {}
    return {str(k): float(v) for k, v in (state.get("values") or {}).items()}


def browser_failed() -> str | None:
    """Why a panel could not draw in this browser session (no WebAssembly, a model that did not
    load), or None."""
    return st.session_state.get(FAILED)


def _no_callback() -> None:
    """Streamlit registers a component state only for names with a callback; reported() is how
    the explorer reads it, so the callback has nothing to do."""


def _failed(key: str) -> None:
    reason = (st.session_state.get(key) or {}).get("failed")
    if reason:
        st.session_state[FAILED] = str(reason)[:300]


def live_sliders(sliders: Sequence[LiveSlider], key: str, columns: int = 2, decimals: int = 2,
                 browser: InBrowser | None = None) -> None:
    """Draw the panel (read what it reports with reported(key), before drawing). Values are
    reported rounded to `decimals`. With `browser`, the panel also draws the image, computed in
    the page while the sliders move, and reports the values only on release."""
    data = {"columns": columns, "decimals": decimals, "sliders": [asdict(s) for s in sliders], "browser": None,
            "timing": {"throttle_ms": THROTTLE_MS, "settle_ms": SETTLE_MS}}
    if browser is not None:
        data["browser"] = {**asdict(browser.model), "base": browser.base, "effects": browser.effects, "layout": list(browser.layout)}
    _panel(key=key, data=data, default={"values": {}}, on_values_change=_no_callback,
           on_failed_change=functools.partial(_failed, key))

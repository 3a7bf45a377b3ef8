"""A panel of sliders that report while they are dragged (a Streamlit v2 component).

st.slider sends its value only when the mouse is released, so the image would jump once per
drag. This panel of native range inputs sends the values of the sliders the user moved at most
every THROTTLE_MS while dragging, and once more on release, so each move reruns the page and the
image follows the hand. One component holds the whole panel: a model with 100 dimensions is one
element on the page, not 100.

The panel's state is {"values": {slider id: value}} for the sliders moved since it was drawn
with this key. Callers read it with reported() at the top of their view, write it into their own
state (a repeated report changes nothing), then draw the panel from that state, so the values it
shows after a release are the ones the user left. A new key starts a fresh panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import streamlit as st

THROTTLE_MS = 60

_JS = """
export default function ({ data, parentElement, setStateValue }) {
  let panel = parentElement.querySelector(".panel");
  if (!panel) {
    panel = document.createElement("div");
    panel.className = "panel";
    panel.moved = {};  // slider id -> value, for the sliders moved in this panel
    panel.send = () => { clearTimeout(panel.timer); panel.timer = null; panel.report({ ...panel.moved }); };
    parentElement.appendChild(panel);
  }
  panel.report = (values) => setStateValue("values", values);  // the latest render's setter
  panel.style.gridTemplateColumns = `repeat(${data.columns}, minmax(0, 1fr))`;
  const ids = new Set(data.sliders.map((s) => s.id));
  for (const row of [...panel.children]) if (!ids.has(row.dataset.id)) row.remove();
  data.sliders.forEach((s, index) => {
    let row = panel.querySelector(`[data-id="${s.id}"]`);
    if (!row) {
      row = document.createElement("label");
      row.className = "row";
      row.dataset.id = s.id;
      row.innerHTML = '<span class="name"></span><output></output><input type="range">';
      const input = row.querySelector("input");
      input.addEventListener("pointerdown", () => { row.dragging = true; });
      input.addEventListener("pointerup", () => { row.dragging = false; });
      input.addEventListener("input", () => {
        panel.moved[row.dataset.id] = Number(input.value);
        row.querySelector("output").textContent = Number(input.value).toFixed(2);
        if (!panel.timer) panel.timer = setTimeout(panel.send, THROTTLE_MS);
      });
      input.addEventListener("change", () => { row.dragging = false; panel.send(); });
    }
    // Keep the order of data.sliders, moving a row only when it is out of place: moving the row
    // being dragged would end the drag.
    if (panel.children[index] !== row) panel.insertBefore(row, panel.children[index] || null);
    const input = row.querySelector("input");
    row.querySelector(".name").textContent = s.label;
    input.setAttribute("aria-label", s.label);
    Object.assign(input, { min: s.low, max: s.high, step: s.step });
    if (!row.dragging) {  // never pull the thumb from under the pointer
      input.value = s.value;  // the browser snaps the thumb to the step; the number shows the value
      row.querySelector("output").textContent = Number(s.value).toFixed(2);
    }
  });
}
""".replace("THROTTLE_MS", str(THROTTLE_MS))

_CSS = """
.panel { display: grid; gap: 0.9rem 1.5rem; font-family: var(--st-font, "Source Sans", sans-serif);
         color: var(--st-text-color, #31333f); }
.row { display: grid; grid-template-columns: 1fr auto; align-items: baseline; font-size: 0.875rem; }
.row output { color: var(--st-primary-color, #ff4b4b); font-variant-numeric: tabular-nums; }
.row input { grid-column: 1 / 3; width: 100%; margin: 0.35rem 0 0; accent-color: var(--st-primary-color, #ff4b4b); }
"""

_panel = st.components.v2.component("latent_studio.live_sliders", js=_JS, css=_CSS)


@dataclass(frozen=True)
class LiveSlider:
    id: str
    label: str
    low: float
    high: float
    value: float
    step: float = 0.01


def reported(key: str) -> dict[str, float]:
    """{slider id: value} that the panel `key` reported for the sliders moved in it."""
    state = st.session_state.get(key) or {}
    return {str(k): float(v) for k, v in (state.get("values") or {}).items()}


def _no_callback() -> None:
    """Streamlit registers a component state only for names with a callback; reported() is how
    the explorer reads it, so the callback has nothing to do."""


def live_sliders(sliders: Sequence[LiveSlider], key: str, columns: int = 2) -> None:
    """Draw the panel (read what it reports with reported(key), before drawing)."""
    _panel(key=key, data={"columns": columns, "sliders": [asdict(s) for s in sliders]},
           default={"values": {}}, on_values_change=_no_callback)

"""The explorer page: pick a model in the sidebar, explore it in tabs, train new ones.

Served by app.py (`streamlit run app.py`); tests drive this file with Streamlit's AppTest. Only
the open tab runs (lazy tabs), so a slider move costs the sidebar and one view, and a visitor's
pages run one at a time (latent_studio.app.script_turns). The page ends by
writing the URL, so a copied link reopens the same model, view and latent state.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from PIL import Image

from latent_studio.app import script_turns, session
from latent_studio.app.runs import scan
from latent_studio.app.views import (
    Page,
    attributes,
    bank,
    classes,
    codes,
    colorize,
    discovered,
    interpolation,
    manifold,
    perturbation,
    picker,
    pixels,
    seed,
    sliders,
    training,
    your_image,
)
from latent_studio.families import AUTOREGRESSIVE, LATENT

# The tabs for each kind of run the explorer opens (latent_studio.families.EXPLORED), and with no run
# open; each view also says whether the page has what it needs (codes, classes, directions...).
ICON = Path(__file__).resolve().parent / "icon.png"
ALWAYS = [training, colorize]
VIEWS = {
    LATENT: [sliders, codes, classes, attributes, discovered, bank, interpolation, perturbation, manifold, your_image, *ALWAYS],
    AUTOREGRESSIVE: [pixels, *ALWAYS],
    None: ALWAYS,
}

# our own file: a Material icon or an emoji would make every visitor's browser fetch it from a CDN
st.set_page_config(page_title="Latent Studio", page_icon=Image.open(ICON), layout="wide")
with script_turns.turn():  # one run at a time per visitor
    session.start()

    folders = picker.folders()
    entries = scan(folders)
    with st.sidebar:
        st.title("Latent Studio")
        entry = picker.choose(entries)
    if entry and entry.config:
        picker.card(entry)
    run = picker.load(entry) if entry else None
    if run is not None:
        session.fit(run.config.latent)
        with st.sidebar:
            seed.render()

    page = Page(run, entry, entries, folders)
    views = [v for v in VIEWS[run.family.kind if run is not None else None] if v.available(page)]
    titles = [v.TITLE for v in views]
    if st.session_state.get(session.VIEW) not in titles:
        st.session_state.pop(session.VIEW, None)
    tabs = st.tabs(titles, key=session.VIEW, on_change="rerun")
    for view, tab in zip(views, tabs):
        if tab.open:
            with tab:
                view.render(page)

    session.publish(entry.id if entry else None, next(t for t, tab in zip(titles, tabs) if tab.open))

"""The seed controls (sidebar): the seed in view, a new random one, and undoing every change."""

from __future__ import annotations

import streamlit as st

from latent_studio.app import session
from latent_studio.app.permalink import MAX_SEED


def render() -> None:
    widget = session.key("seed")
    st.number_input("Seed", min_value=0, max_value=MAX_SEED - 1, step=1, value=session.state().seed, key=widget,
                    on_change=session.seed_changed, args=(widget,),
                    help="z is drawn from this seed; the sliders and codes change that draw.")
    resample, reset = st.columns(2)
    resample.button("Resample", on_click=session.resample, width="stretch", help="A new random seed; codes and class stay.")
    reset.button("Reset", on_click=session.reset, width="stretch", help="Undo every change to this seed's draw.")

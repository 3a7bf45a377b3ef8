"""The Colorize & translate tab: the Gradio app mounted at /gradio by app.py, shown in an iframe.

Gradio runs in the same process and port as the explorer, so the iframe is same-origin and the
page needs no second server. Always available: it does not depend on the picked model."""

from __future__ import annotations

import streamlit as st

from latent_studio.app.views import Page

TITLE = "Colorize & translate"
GRADIO_PATH = "/gradio/"


def available(page: Page) -> bool:
    return True


def render(page: Page) -> None:
    st.caption("Upload a black-and-white photo to colorize it, or translate a photo between styles. "
               f"The same app is at [{GRADIO_PATH}]({GRADIO_PATH}) and answers gradio_client.")
    st.iframe(GRADIO_PATH, height=900)

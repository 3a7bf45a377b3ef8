"""Latent Studio in the browser: `streamlit run app.py` finds `app` and serves it (Streamlit's
ASGI app), the explorer page at /. Routes and a lifespan for other apps mount here."""

import streamlit as st

app = st.App("explorer/page.py")

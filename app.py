"""Latent Studio: the browser front end. For now it lists the trained runs it finds, with their
model cards, metrics and latest sample grids; the explorer views build on the same loader."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from training.checkpoint import CheckpointError, find_runs, read_config

RUNS = Path(os.environ.get("LATENT_STUDIO_RUNS", Path(__file__).parent / "checkpoints"))

st.set_page_config(page_title="Latent Studio", layout="wide")
st.title("Latent Studio")
st.caption(f"Trained runs under {RUNS}")

runs = find_runs(RUNS)
if not runs:
    st.info("No trained runs yet. Train one with `python -m training train --preset infogan-mnist --out checkpoints/infogan-mnist`.")
for run in runs:
    try:
        cfg = read_config(run)
    except CheckpointError as e:
        st.error(str(e))
        continue
    with st.expander(f"{run.name} — {cfg.family} on {cfg.data.dataset}, step {cfg.step}/{cfg.train.steps}", expanded=True):
        grids = sorted((run / "samples").glob("step_*.png"), key=lambda p: int(p.stem.split("_")[1]))
        left, right = st.columns([1, 1])
        if grids:
            left.image(str(grids[-1]), caption=f"fixed noise at {grids[-1].stem.replace('_', ' ')}")
        right.json({"metrics": cfg.metrics, "card": cfg.card}, expanded=False)

"""Discovered directions: the main directions of variation of any latent model, found in its
generator without labels and named by what the judges see change (latent_studio.evaluation.discovered),
as sliders over the current z (the one Sliders, Your image and the sample bank share), live while
dragging like the other sliders, each with a strip of what it does."""

from __future__ import annotations

import streamlit as st
import torch

from latent_studio.app import session
from latent_studio.app.live_sliders import InBrowser, LiveSlider, live_sliders, reported
from latent_studio.app.sampling import build, with_rows
from latent_studio.app.views import Page, show
from latent_studio.evaluation.discovered import NOTHING, REACH, Discovered, discovered
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.directions import strip
from latent_studio.inference.latent import steer
from latent_studio.runs.files import DISCOVERED, CheckpointError

TITLE = "Discovered directions"
PANEL = "discovered_panel"
WEIGHTS = "discovered_weights"  # {run path: {direction id: weight}}, kept while other tabs are open
SHOWN = 8
STRIP = 7  # images per strip, from -REACH to +REACH
METHODS = {"sefa": "SeFa (the first layer's weights)", "ganspace": "GANSpace (PCA of the first layer's activations)"}


def available(page: Page) -> bool:
    run = page.run
    return run.config.latent.dim >= 2


@st.cache_resource(max_entries=16, show_spinner=False)
def _found(path: str, step: int, stored: float, _run: LoadedRun) -> Discovered:
    """Keyed by run, checkpoint and the stored file's modification time (0 when there is none)."""
    return discovered(_run)


def render(page: Page) -> None:
    run = page.run
    spec = run.config.latent
    file = run.path / DISCOVERED
    with st.spinner("Finding this model's directions and asking the judges what they change (once per checkpoint)..."):
        try:
            found = _found(str(run.path), run.config.step, file.stat().st_mtime if file.is_file() else 0.0, run)
        except CheckpointError as e:
            st.error(str(e))
            return
    directions, labels = found.directions[:SHOWN], found.labels[:SHOWN]
    ids = [str(i) for i in range(len(directions))]
    weights = st.session_state.setdefault(WEIGHTS, {}).setdefault(str(run.path), {})
    panel = f"{PANEL}:{run.path}"  # one per run: a report never reaches another model
    weights.update({i: round(w, 1) for i, w in reported(panel).items() if i in ids})
    values = [weights.get(i, 0.0) for i in ids]
    sample = build(spec, session.state())
    sliders = [LiveSlider(i, f"{int(i) + 1} · {label}", -REACH, REACH, w, step=0.1) for i, label, w in zip(ids, labels, values)]
    browser = show.browser_model(run)
    moved = [f"{int(i) + 1} {w:+.1f}" for i, w in zip(ids, values) if w]
    caption = "z of the Sliders tab" + (", moved along: " + ", ".join(moved) if moved else ", unmoved.")
    if browser is not None:  # the panel draws z + sum w_i direction_i beside the sliders, as steer() does here
        effects = {i: {"add": d.tolist()} for i, d in zip(ids, directions)}
        live_sliders(sliders, panel, decimals=1, browser=InBrowser(browser, sample.generator_input()[0].tolist(), effects))
        st.caption(caption)
    else:
        picture, controls = st.columns([2, 3], gap="large")
        with controls:
            live_sliders(sliders, panel, decimals=1)
        with picture:
            generated = show.images(run, with_rows(sample, steer(sample.z, directions, values)).generator_input(), cell=show.MAIN)
            show.performance(generated)
            st.caption(caption)
    _about(found)
    _strips(run, sample.generator_input()[0], directions, labels)


def _about(found: Discovered) -> None:
    judges = list(found.info["effects"][0]["best_share"]) if found.info.get("effects") else []
    st.caption(f"Found without labels by {METHODS.get(found.info.get('method'), found.info.get('method'))}, largest variation "
               f"first. Named by what the judges ({', '.join(judges)}) see change for most samples as the slider goes up; "
               f"\"{NOTHING}\" means no judge's score moves steadily one way, though the picture may still change.")


def _strips(run: LoadedRun, base: torch.Tensor, directions: torch.Tensor, labels: list[str]) -> None:
    """Per direction: the current z moved from -REACH to +REACH, with the direction's name."""
    st.subheader("What each direction does")
    weights = torch.linspace(-REACH, REACH, STRIP)
    marks = [f"{w:+.0f}" if w else "z" for w in weights.tolist()]
    for i, (d, label) in enumerate(zip(directions, labels)):
        st.markdown(f"**{i + 1}** · {label}")
        show.kept_images(run, strip(base, d, weights), columns=STRIP, labels=marks, cell=show.SMALL)

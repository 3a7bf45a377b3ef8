"""Discovered directions: the main directions of variation of any latent model, found in its
generator without labels and named by what the judges see change (latent_studio.evaluation.discovered),
as sliders over the current z (the one Sliders, Your image and the sample bank share), live while
dragging like the other sliders, each with a strip of what it does."""

from __future__ import annotations

import streamlit as st
import torch

from latent_studio.app.views import Page, show
from latent_studio.app.views.steering import direction_sliders
from latent_studio.evaluation.discovered import NOTHING, REACH, Discovered, discovered
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.directions import strip
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
    file = run.path / DISCOVERED
    with st.spinner("Finding this model's directions and asking the judges what they change (once per checkpoint)..."):
        try:
            found = _found(str(run.path), run.config.step, file.stat().st_mtime if file.is_file() else 0.0, run)
        except CheckpointError as e:
            st.error(str(e))
            return
    directions, labels = found.directions[:SHOWN], found.labels[:SHOWN]
    ids = [str(i) for i in range(len(directions))]
    sample = direction_sliders(run, directions, ids, [f"{int(i) + 1} · {label}" for i, label in zip(ids, labels)],
                               [str(int(i) + 1) for i in ids], WEIGHTS, PANEL, REACH)
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

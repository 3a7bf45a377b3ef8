"""The VAE manifold: the decoded grid over a 2-D latent plane, and the encoded test set as a
scatter colored by label."""

from __future__ import annotations

import streamlit as st
import torch

from latent_studio.app import session
from latent_studio.app.manifold import encoded_test_set, scatter
from latent_studio.app.sampling import build
from latent_studio.app.views import Page, show
from latent_studio.data.datasets import DatasetMissing, data_root
from latent_studio.evaluation.evaluate import ENCODED_LIMIT
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.latent import plane

TITLE = "VAE manifold"
GRID_PIXELS = 560  # about the width of the decoded grid, whatever its size


def available(page: Page) -> bool:
    run = page.run
    return run.config.family == "vae"


@st.cache_data(max_entries=4, show_spinner="Encoding the test set...")
def _encoded(path: str, revision: int, root: str, _run: LoadedRun) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoded once per run checkpoint and data root; the tensors are what the scatter needs."""
    return encoded_test_set(_run, root)


def render(page: Page) -> None:
    run = page.run
    spec = run.config.latent
    if spec.dim != 2:
        st.info(f"The manifold needs a VAE with a 2-D latent (train one with the vae-2d preset); this one has {spec.dim} dimensions.")
        return
    size_box, extent_box = st.columns(2)
    n = size_box.slider("Grid size", 5, 25, 15, key="manifold_n", persist_state="page")
    extent = extent_box.slider("Extent (±)", 0.5, 4.0, 3.0, step=0.5, key="manifold_extent", persist_state="page")
    grid, points = st.columns(2, gap="large")
    with grid:
        st.markdown(f"**Decoded grid**: z[0] from {-extent:g} to {extent:g} left to right, "
                    f"z[1] from {extent:g} to {-extent:g} top to bottom")
        show.kept_images(run, plane(n, extent), columns=n, cell=GRID_PIXELS // n)  # the same until n or extent move
    with points:
        st.markdown(f"**Encoded test set** (up to {ENCODED_LIMIT} images, encoder means)")
        root = str(data_root())
        try:
            means, labels = _encoded(str(run.path), run.config.step, root, run)
        except DatasetMissing as e:
            st.info(f"The scatter needs the {run.config.data.dataset} test set, which is not here: {e}")
            return
        current = build(spec, session.state()).z[0].tolist()
        st.plotly_chart(scatter(means, labels, run.config.data.class_names, (current[0], current[1])), key="manifold_scatter")

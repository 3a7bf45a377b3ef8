"""The Discovered directions tab on the server path (Streamlit's AppTest; the tiny runs have no
ONNX export, so the server draws): found and named on first use, one slider and one strip per
direction, and a slider move steers the picture."""

from __future__ import annotations

import pytest

from latent_studio.evaluation.discovered import NOTHING
from latent_studio.runs.files import DISCOVERED
from tests.explorer_runs import drag, explorer_env, images, open_page, sliders, view


@pytest.fixture(autouse=True)
def runs(monkeypatch, tmp_path, tmp_path_factory):
    with explorer_env(monkeypatch, tmp_path, tmp_path_factory.getbasetemp()) as root:
        yield root


def test_every_latent_model_gets_named_directions_that_steer_its_picture(runs):
    at = view(open_page(timeout=120, model="dcgan"), "Discovered directions")
    assert (runs / "dcgan" / DISCOVERED).is_file()  # kept with the run for the next visitor
    key = f"discovered_panel:{runs / 'dcgan'}"
    shown = sliders(at, key)
    assert len(shown) == 8 and all(label.startswith(f"{i + 1} · ") for i, label in enumerate(shown))
    assert all(label.endswith(NOTHING) or " · mostly: " in label for label in shown)  # untrained: judged, named or not
    before = images(at)
    assert len(before) == 1 + 8  # the picture and a strip per direction
    after = images(drag(at, key, **{"0": 2.0}))
    assert after[0] != before[0] and after[1:] == before[1:]  # the strips show the unmoved z
    assert any("moved along: 1 +2.0" in c.value for c in at.caption)


def test_a_model_with_a_two_dimensional_latent_gets_two_directions(runs):
    at = view(open_page(timeout=120, model="vae"), "Discovered directions")
    assert len(sliders(at, f"discovered_panel:{runs / 'vae'}")) == 2

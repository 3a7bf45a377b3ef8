"""The Discovered directions view in a real Chromium, on a run that has no stored directions: the
page finds and names them on first use, draws each slider's move in the page like the other live
sliders, and the released picture is the server's picture of z moved along that direction."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from latent_studio.app.sampling import build, with_rows
from latent_studio.app.tools.screenshots import settle
from latent_studio.app.views.discovered import SHOWN
from latent_studio.evaluation.discovered import REACH, load
from latent_studio.inference.latent import steer
from latent_studio.runs.files import DISCOVERED
from tests.test_browser_render import assert_same_picture, frames, open_view, server, server_pixels, state_of, wait_for_frame_after

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["server"]  # the live-slider tests' server: tiny runs exported to ONNX, in a real Streamlit


def test_discovered_directions_are_found_on_first_use_and_drawn_live(server, tmp_path):
    url, runs, browser = server
    (runs / "dcgan" / DISCOVERED).unlink(missing_ok=True)
    page = open_view(browser, url, "model=dcgan&view=Discovered+directions&seed=3")
    wait_for_frame_after(page, 0)
    found = load(runs / "dcgan", state_of(page, runs / "dcgan")[0].dim)  # kept in the run by the first visit
    labels = found.labels[:SHOWN]
    slider = page.get_by_role("slider", name=f"1 · {labels[0]}")
    assert slider.count() == 1 and page.get_by_role("slider").count() == len(labels)
    assert page.get_by_text("What each direction does").count() == 1
    assert page.locator('[data-testid="stImage"]').count() == len(labels)  # one strip per direction
    drawn = frames(page)
    slider.focus()
    page.keyboard.press("End")  # one key press is a whole gesture: drawn, then reported
    wait_for_frame_after(page, drawn)
    time.sleep(0.5)
    settle(page)
    page.wait_for_timeout(500)
    spec, state = state_of(page, runs / "dcgan")
    sample = build(spec, state)
    weights = [REACH] + [0.0] * (len(labels) - 1)
    assert_same_picture(page, server_pixels(runs / "dcgan", with_rows(sample, steer(sample.z, found.directions[:SHOWN], weights))
                                            .generator_input()))
    shots = Path(os.environ.get("SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "discovered-directions.png"), full_page=True)
    page.close()

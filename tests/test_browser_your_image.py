"""Your image in a real Chromium, on the shipped face DCGAN and its inverter: upload a face, make
it the current latent, then steer it on the Attributes tab. Screenshots land in $SCREENSHOTS
(default: the test's tmp folder)."""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latent_studio.app.tools.screenshots import ARGS, settle
from latent_studio.inference.inversion import INVERTER
from tests.conftest import SHARED_DATA
from tests.server import require_chromium, running_server
from tests.test_browser import drag_until_redrawn, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FACES = Path(__file__).resolve().parent.parent / "checkpoints" / "sngan-celeba"


def _face(path: Path) -> Path:
    """A held-out CelebA face when the data is here (every tenth file is the test split), else a
    face-coloured oval on a plain background: any photo inverts."""
    real = SHARED_DATA / "celeba_64" / "img_align_celeba_64" / "000010.jpg"
    if real.is_file():
        Image.open(real).resize((178, 178)).save(path)
    else:
        yy, xx = np.mgrid[:178, :178]
        oval = ((yy - 95) / 70) ** 2 + ((xx - 89) / 52) ** 2 < 1
        pixels = np.where(oval[..., None], [224, 172, 140], [90, 70, 60]).astype(np.uint8)
        Image.fromarray(pixels).save(path)
    return path


def _pixels(img) -> np.ndarray:
    """The pixels an <img> shows, read from the element itself: its URL may already be gone from the
    server's media store after the next rerun."""
    data = img.evaluate("""async i => { await i.decode(); const c = document.createElement('canvas');
                           c.width = i.naturalWidth; c.height = i.naturalHeight;
                           c.getContext('2d').drawImage(i, 0, 0); return c.toDataURL('image/png'); }""")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data.split(",", 1)[1]))).convert("RGB")).astype(int)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not (FACES / INVERTER).is_file():
        pytest.skip(f"{FACES} ships no {INVERTER}")
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    runs = tmp_path_factory.mktemp("your-image") / "runs"
    shutil.copytree(FACES, runs / "faces", ignore=shutil.ignore_patterns("snapshots", "samples", "*.png", "metrics.jsonl"))
    with running_server(runs, runs.parent / "user") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield url, browser
        browser.close()


def test_upload_a_face_make_it_current_and_steer_it(server, tmp_path):
    url, browser = server
    page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
    page.route("**/ort/**", lambda route: route.abort())  # the server draws every image: one src to compare
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/?model=faces&view=Your%20image")
    settle(page)
    page.locator("input[type=file]").set_input_files(str(_face(tmp_path / "me.png")))
    button = page.get_by_role("button", name="Make this the current latent")
    button.wait_for(timeout=120_000)
    settle(page)
    closest = _pixels(page.locator('[data-testid="stImage"]', has_text="closest image").locator("img"))
    assert "dB" in page.locator('[data-testid="stMetric"]').inner_text()
    button.click()
    page.get_by_text("This is the current latent").wait_for(timeout=60_000)
    settle(page)
    assert page.url.count("%3A") >= 100  # every z dimension is in the link
    shot(page, tmp_path, "your-image.png")

    page.get_by_role("tab", name="Attributes").click()
    page.get_by_text("z of the Sliders tab").wait_for(timeout=60_000)  # the Attributes tab's own picture is up
    settle(page)
    image = page.locator('[data-testid="stImage"] img').first
    before = image.get_attribute("src")
    shown = _pixels(image)
    shot(page, tmp_path, "your-image-attributes.png")
    assert np.array_equal(shown, closest)  # the Attributes tab starts from the inverted latent
    drag_until_redrawn(page, page.get_by_role("slider").first, before)
    assert image.get_attribute("src") != before
    assert not errors
    shot(page, tmp_path, "your-image-steered.png")

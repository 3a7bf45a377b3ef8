"""A person's path through the app in a real Chromium: colorize a photo in the Gradio tab (inside
the explorer's iframe), and drag a latent slider. Screenshots land in $SCREENSHOTS (default: the
test's tmp folder)."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latent_studio.app.tools.screenshots import ARGS, settle
from tests.server import require_chromium, running_server, tiny_server_runs

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    base = tmp_path_factory.mktemp("browser")
    with running_server(tiny_server_runs(base), base / "user") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.on("request", lambda r: r.url.startswith(url) or r.url.startswith(("data:", "blob:")) or OUTSIDE.append(r.url))
        yield url, page
        browser.close()


OUTSIDE: list[str] = []  # every request the pages made to another origin (a CDN, a font host)


def shot(page, tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / name, full_page=True)
    return folder / name


def drag_until_redrawn(page, slider, before: str) -> None:
    """Drag `slider` from its middle to near its right end, then wait until the first picture's
    src is no longer `before` and the page has settled."""
    box = slider.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.95, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_function("s => document.querySelector('[data-testid=\"stImage\"] img').src !== s", arg=before, timeout=60_000)
    settle(page)


def gradio_tab(page, url: str, tab: str | None, button: str):
    """The Gradio app's frame inside the explorer's Colorize & translate tab, on `tab` (None: the
    first), once its `button` is there."""
    page.goto(url + "/")
    settle(page)
    page.get_by_role("tab", name="Colorize & translate").click()
    frame = page.frame_locator("iframe")
    if tab:
        frame.get_by_role("tab", name=tab).click()
    frame.get_by_role("button", name=button, exact=True).wait_for(timeout=60_000)
    return frame


def test_colorize_a_photo_in_the_gradio_tab(browser_page, tmp_path):
    url, page = browser_page
    photo = tmp_path / "old-photo.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (90, 120), dtype=np.uint8)).save(photo)
    frame = gradio_tab(page, url, None, "Colorize")
    frame.locator("input[type=file]").first.set_input_files(str(photo))
    frame.locator("img").first.wait_for(timeout=30_000)  # the upload's preview
    frame.get_by_role("button", name="Colorize", exact=True).click()
    try:
        # The result, ready to download: the file component shows its name and size.
        frame.get_by_role("link", name=re.compile(r"\d KB")).wait_for(timeout=120_000)
        assert "colorized.png" in frame.locator("body").inner_text().replace("\n", "")
    finally:
        shot(page, tmp_path, "colorize.png")
    slider = frame.locator('[data-testid="image"] img, .image-container img')
    assert slider.count() >= 2  # the upload's preview and the before/after comparison
    assert shot(page, tmp_path, "colorize.png").stat().st_size > 10_000


def test_translate_a_photo_in_the_gradio_tab(browser_page, tmp_path):
    url, page = browser_page
    photo = tmp_path / "summer.png"
    Image.fromarray(np.random.default_rng(4).integers(0, 255, (72, 96, 3), dtype=np.uint8)).save(photo)
    frame = gradio_tab(page, url, "Translate", "Translate")
    frame.get_by_label("Model", exact=True).filter(visible=True).click()
    frame.get_by_role("option", name="summer2winter").click()
    frame.locator("input[type=file]").nth(1).set_input_files(str(photo))
    frame.get_by_role("button", name="Translate", exact=True).click()
    try:
        # CycleGAN's three outputs: the translation, the round trip and its error map.
        for label in ("Translation", "Round trip", "error"):
            frame.locator(".block", has_text=label).locator("img").first.wait_for(timeout=120_000)
    finally:
        shot(page, tmp_path, "translate.png")


def test_explorer_sessions_and_colorize_calls_at_once_all_finish(browser_page):
    """The load benchmark's own code at a small scale: sessions move a slider while colorize calls run."""
    from latent_studio.app.tools.load_test import colorize_load, explorer_load

    url, _ = browser_page
    colorized = []
    with ThreadPoolExecutor(1) as own_thread:  # Playwright's sync API runs one instance per thread
        times, errors = own_thread.submit(explorer_load, url, "dcgan", 2,
                                          lambda: colorized.extend(colorize_load(url, "colorizer", 3))).result()
    assert not errors and len(times) == 2 and all(t > 0 for t in times)
    colorize_times, colorize_errors = colorized
    assert not colorize_errors and len(colorize_times) == 3


def test_dragging_a_latent_slider_changes_the_image(browser_page, tmp_path):
    url, page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/?model=dcgan&view=Sliders")
    settle(page)
    assert page.title() == "Latent Studio" and page.locator('[data-testid="stException"]').count() == 0
    image = page.locator('[data-testid="stImage"] img').first
    before = image.get_attribute("src")
    drag_until_redrawn(page, page.get_by_role("slider", name="z[0]"), before)
    assert image.get_attribute("src") != before
    # the edit reaches the permalink once the script's run ends, which on a busy machine can be after the image
    page.wait_for_function("() => location.search.includes('z=0%3A')", timeout=60_000)
    assert not errors
    shot(page, tmp_path, "slider.png")


def test_a_pixelcnn_draws_its_digits_row_by_row_in_the_page(browser_page, tmp_path):
    """Press Draw: the picture is replaced as rows complete (it fills in), then the timing shows."""
    url, page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/?model=pixelcnn&view=Pixel+by+pixel")
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.evaluate("""() => { window.seenPictures = new Set();
        new MutationObserver(() => document.querySelectorAll('[data-testid="stImage"] img').forEach(i => window.seenPictures.add(i.src)))
          .observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]}); }""")
    page.get_by_role("button", name="Draw", exact=True).click()
    page.get_by_text(re.compile(r"8 digits, 6,272 pixels in")).wait_for(timeout=120_000)
    settle(page)
    assert page.evaluate("window.seenPictures.size") >= 3  # some partly drawn pictures on the way, then the finished one
    assert not errors
    shot(page, tmp_path, "pixel-by-pixel.png")


def test_paint_over_part_of_a_photo_and_fill_it_in_the_gradio_tab(browser_page, tmp_path):
    """Load a photo into the Inpaint tab's editor, paint a stroke across it with the mouse, press
    Fill: the filled photo comes back (an unpainted mask would get "Paint over ... first")."""
    url, page = browser_page
    photo = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(5).integers(0, 255, (128, 128, 3), dtype=np.uint8)).save(photo)
    frame = gradio_tab(page, url, "Inpaint", "Fill")
    page.wait_for_timeout(1000)  # the editor sets up its canvas
    with page.expect_file_chooser() as chooser:
        frame.locator("#inpaint-editor").get_by_text("Upload an image").click()
    chooser.value.set_files(str(photo))
    frame.locator("#inpaint-editor").get_by_text("Upload an image").wait_for(state="hidden", timeout=30_000)
    page.wait_for_timeout(1000)  # the photo is drawn; the brush is the tool
    canvas = frame.locator("#inpaint-editor canvas").first
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 30, cy - 10)
    page.mouse.down()
    page.mouse.move(cx + 30, cy + 10, steps=12)
    page.mouse.up()
    frame.get_by_role("button", name="Fill", exact=True).click()
    try:
        frame.get_by_role("link", name=re.compile(r"\d KB")).wait_for(timeout=120_000)
        assert "filled.png" in frame.locator("body").inner_text().replace("\n", "")
    finally:
        shot(page, tmp_path, "inpaint.png")


def test_a_held_out_face_translated_by_a_one_way_face_model(browser_page, tmp_path):
    """Pick the face model, click an example face, Translate: the translation comes back alone
    (a one-way model has no round trip to show)."""
    url, page = browser_page
    frame = gradio_tab(page, url, "Translate", "Translate")
    frame.get_by_label("Model", exact=True).filter(visible=True).click()
    frame.get_by_role("option", name="face2anime").click()
    frame.locator(".block", has_text="Examples").locator("img").first.wait_for(timeout=30_000)
    examples = frame.locator(".block", has_text="Examples").locator("img")
    examples.nth(1).click()  # sorted: the facade labels, then the CelebA faces
    page.wait_for_timeout(2000)
    # the photo's preview loads (its URL must carry the app's /gradio mount, or it fetches the explorer's page)
    broken = "els => els.filter(e => e.offsetParent && e.complete && !e.naturalWidth && !e.src.startsWith('data:')).map(e => e.src)"
    assert frame.locator("img").evaluate_all(broken) == []
    frame.get_by_role("button", name="Translate", exact=True).click()
    try:
        frame.locator(".block", has_text="Translation").locator("img").first.wait_for(timeout=120_000)
        assert frame.locator(".block", has_text="Round trip").locator("img").count() == 0
    finally:
        shot(page, tmp_path, "translate-face.png")


def test_a_held_out_face_loads_into_the_inpaint_editor(browser_page, tmp_path):
    """Click an example face: the editor holds it (Fill then asks for a painted region, not a photo)."""
    url, page = browser_page
    frame = gradio_tab(page, url, "Inpaint", "Fill")
    page.wait_for_timeout(1000)
    frame.locator(".block", has_text="Held-out faces").locator("img").first.click()
    frame.locator("#inpaint-editor").get_by_text("Upload an image").wait_for(state="hidden", timeout=30_000)
    page.wait_for_timeout(1000)
    frame.get_by_role("button", name="Fill", exact=True).click()
    try:
        frame.get_by_text("Paint over the part of the photo you want filled first.").wait_for(timeout=60_000)
    finally:
        shot(page, tmp_path, "inpaint-example.png")


def test_the_pages_fetched_nothing_from_another_host(browser_page):
    """Run last in this module: across every page the tests above opened, each request went to
    the app's own origin (no CDN, no font or icon host: a visitor offline or behind a strict
    network sees the same app)."""
    assert OUTSIDE == []

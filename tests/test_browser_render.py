"""The live sliders' browser path in a real Chromium (latent_studio.app.client_render, latent_studio.app.live_sliders):
dragging draws new pixels in the page without a word to the server until release; the released
image equals the server's render of the same state; and with the runtime missing the page falls
back to server rendering."""

from __future__ import annotations

import base64
import io
import os
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlparse

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from latent_studio.app import client_render
from latent_studio.app.imaging import picture
from latent_studio.app.permalink import from_query
from latent_studio.app.sampling import build, with_rows
from latent_studio.app.tools.screenshots import ARGS, settle
from latent_studio.app.views import show
from latent_studio.families.run_models import load_run
from latent_studio.inference.latent import steer
from latent_studio.inference.onnx_export import export_onnx
from latent_studio.runs.files import DIRECTIONS
from tests.explorer_runs import ATTRIBUTES, DEFAULT_INIT, make_run
from tests.server import require_chromium, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A pixel may differ by one level where float rounding lands on a half: the server rounds float32
# half to even, the page float64 half up.
TOLERANCE = 1


def require_runtime() -> None:
    """Without `npm ci` these tests skip locally and fail in CI (which runs it, as README says)."""
    if not client_render.runtime_installed():
        message = f"onnxruntime-web is not installed in {client_render.RUNTIME} (run npm ci)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = require_chromium()
    require_runtime()
    from playwright.sync_api import sync_playwright

    runs = tmp_path_factory.mktemp("browser-render") / "runs"
    for family in ("dcgan", "infogan", "cgan"):
        make_run(runs / family, family, DEFAULT_INIT)
        export_onnx(runs / family)
    dim = load_run(runs / "dcgan", "cpu").config.latent.dim
    save_file({name: torch.randn(dim, generator=torch.Generator().manual_seed(i)) for i, name in enumerate(ATTRIBUTES)},
              str(runs / "dcgan" / DIRECTIONS))
    with running_server(runs, runs.parent / "user") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield url, runs, browser
        browser.close()


def open_view(browser, url: str, query: str, block_runtime: bool = False, sent: list | None = None):
    """A fresh session on `query`; what the page sends the server over its socket goes to `sent`."""
    page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
    if sent is not None:
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    if block_runtime:
        page.route("**/ort/**", lambda route: route.abort())
    page.goto(f"{url}/?{query}")
    settle(page)
    return page


def frames(page) -> int:
    return page.evaluate("() => (window.__latentStudio || {}).frames || 0")


def canvas_pixels(page) -> np.ndarray:
    data = page.locator(".live canvas").evaluate("c => c.toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data.split(",", 1)[1]))).convert("RGB")).astype(int)


def server_pixels(run_dir, inputs: torch.Tensor) -> np.ndarray:
    """What the server draws for `inputs` at the views' main size (latent_studio.app.views.show.MAIN)."""
    run = load_run(run_dir, "cpu")
    with torch.inference_mode():
        images = run.modules["generator"](inputs)
    return np.asarray(Image.open(io.BytesIO(picture(images, cell=show.MAIN))).convert("RGB")).astype(int)


def state_of(page, run_dir):
    spec = load_run(run_dir, "cpu").config.latent
    return spec, from_query(dict(parse_qsl(urlparse(page.url).query))).state.fit(spec)


def assert_same_picture(page, expected: np.ndarray) -> None:
    ours = canvas_pixels(page)
    assert ours.shape == expected.shape
    assert np.abs(ours - expected).max() <= TOLERANCE


def wait_for_frame_after(page, count: int) -> None:
    page.wait_for_function(f"() => ((window.__latentStudio || {{}}).frames || 0) > {count}", timeout=60_000)


def test_dragging_draws_in_the_page_and_tells_the_server_only_on_release(server):
    url, runs, browser = server
    sent, requested = [], []
    page = open_view(browser, url, "model=dcgan&view=Sliders", sent=sent)
    wait_for_frame_after(page, 0)
    assert page.get_by_text("browser · onnxruntime-web (wasm)").count() == 1
    assert page.locator('[data-testid="stImage"]').count() == 0  # no server picture of the main image
    before, drawn = canvas_pixels(page), frames(page)
    assert sent  # the listener sees the page's socket
    sent.clear()
    page.on("request", lambda request: requested.append(request.url))
    slider = page.get_by_role("slider", name="z[0]")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.97, y, steps=12)
    wait_for_frame_after(page, drawn + 1)
    page.wait_for_timeout(300)
    assert (canvas_pixels(page) != before).any()  # new pixels while the pointer is still down
    assert not sent and not requested, (sent, requested)  # the server has heard nothing yet
    page.mouse.up()
    page.wait_for_function("() => location.search.includes('z=0%3A')", timeout=60_000)
    settle(page)
    page.wait_for_timeout(500)
    spec, state = state_of(page, runs / "dcgan")
    assert 0 in state.z and state.z[0] > 0
    assert_same_picture(page, server_pixels(runs / "dcgan", build(spec, state).generator_input()))
    page.close()


# At each input event, before the panel hears it: the browser's new value, the number the slider's row
# shows, and how many generations the page has started.
RECORD_INPUTS = """() => { window.__inputs = []; window.addEventListener("input", (event) => {
    const input = event.composedPath()[0];
    __inputs.push({ value: Number(input.value).toFixed(2), shown: input.closest(".row").querySelector("output").textContent,
                    runs: __latentStudio.runs });
}, true); }"""


def test_a_drag_draws_each_move_before_the_browser_reports_it(server):
    """Chromium reports a drag's new value (input) only at the next animation frame after the pointer
    moved; the page hears the move at once (pointerrawupdate), works out the value the browser will
    take, exactly, and starts drawing it then; the input event that follows draws nothing more."""
    url, runs, browser = server
    page = open_view(browser, url, "model=dcgan&view=Sliders")
    wait_for_frame_after(page, 0)
    assert page.evaluate("'onpointerrawupdate' in window")  # a secure context (localhost), as the page needs
    page.evaluate(RECORD_INPUTS)
    box = page.get_by_role("slider", name="z[0]").bounding_box()
    y = box["y"] + box["height"] / 2
    drawn = frames(page)
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()  # the value jumps to the pointer: drawn on that input event, as before
    wait_for_frame_after(page, drawn)
    # Across the track at fractions of a pixel (Blink floors to 1/64 px), then past both ends (clamped).
    xs = [box["x"] + box["width"] * f + d for f, d in ((0.2, 0.3), (0.35, 0.75), (0.47, 0.25), (0.6, 0.5), (0.78, 0.1),
                                                        (0.93, 0.6))] + [box["x"] - 30, box["x"] + box["width"] + 30]
    for x in xs:
        count, started, drawn = page.evaluate("[__inputs.length, __latentStudio.runs, __latentStudio.frames]")
        page.mouse.move(x, y)
        page.wait_for_function("n => __inputs.length > n", arg=count, timeout=60_000)
        record = page.evaluate("__inputs.at(-1)")
        assert record["shown"] == record["value"], (x, record)  # the page had taken the browser's value already
        assert record["runs"] == started + 1, (x, record)  # and started drawing it
        page.wait_for_function("() => __latentStudio.frames === __latentStudio.runs", timeout=60_000)
        assert page.evaluate("__latentStudio.runs") == started + 1 and frames(page) == drawn + 1  # the input drew nothing more
    low = page.get_by_role("slider", name="z[0]").evaluate("i => Number(i.min).toFixed(2)")
    assert page.evaluate("__inputs.at(-2).value") == low  # past the left end: the slider's least value
    page.mouse.up()
    page.wait_for_function("() => location.search.includes('z=0%3A')", timeout=60_000)
    settle(page)
    page.wait_for_timeout(500)
    spec, state = state_of(page, runs / "dcgan")
    assert_same_picture(page, server_pixels(runs / "dcgan", build(spec, state).generator_input()))
    page.close()


def test_arrow_keys_draw_each_step_and_tell_the_server_once_they_rest(server):
    url, runs, browser = server
    sent = []
    page = open_view(browser, url, "model=dcgan&view=Sliders", sent=sent)
    wait_for_frame_after(page, 0)
    page.get_by_role("slider", name="z[1]").focus()
    sent.clear()
    pictures = []
    for _ in range(5):
        drawn = frames(page)
        page.keyboard.press("ArrowRight")
        wait_for_frame_after(page, drawn)
        pictures.append(canvas_pixels(page))
    assert not sent, sent  # five steps drawn in the page, none told yet
    assert all((a != b).any() for a, b in zip(pictures, pictures[1:]))
    page.wait_for_function("() => location.search.includes('z=1%3A')", timeout=60_000)  # told once the keys rest
    settle(page)
    spec, state = state_of(page, runs / "dcgan")
    page.wait_for_timeout(500)
    assert_same_picture(page, server_pixels(runs / "dcgan", build(spec, state).generator_input()))
    page.close()


@pytest.mark.parametrize("model, view, slider, key", [("infogan", "InfoGAN+codes", "Continuous code 0", "End"),
                                                      ("cgan", "Classes", "Class", "Home"),  # seed 3 draws the last class
                                                      ("dcgan", "Attributes", "Eyeglasses", "End")])
def test_the_released_image_is_the_servers_image_in_every_live_view(server, model, view, slider, key):
    url, runs, browser = server
    page = open_view(browser, url, f"model={model}&view={view}&seed=3")
    wait_for_frame_after(page, 0)
    drawn = frames(page)
    page.get_by_role("slider", name=slider).focus()
    page.keyboard.press(key)  # one key press is a whole gesture: drawn, then reported
    wait_for_frame_after(page, drawn)
    time.sleep(0.5)
    settle(page)
    page.wait_for_timeout(500)
    spec, state = state_of(page, runs / model)
    if view == "Attributes":  # the weights stay in the session, not the link: End is the slider's top, 3
        weights = [3.0 if name == slider else 0.0 for name in ATTRIBUTES]
        dirs = torch.stack([torch.randn(spec.dim, generator=torch.Generator().manual_seed(i)) for i in range(len(ATTRIBUTES))])
        sample = build(spec, state)
        inputs = with_rows(sample, steer(sample.z, dirs, weights)).generator_input()
    else:
        assert state.continuous.get(0) == 2.0 if model == "infogan" else state.label == 0
        inputs = build(spec, state).generator_input()
    assert_same_picture(page, server_pixels(runs / model, inputs))
    page.close()


def test_without_the_runtime_the_page_renders_on_the_server(server):
    url, _, browser = server
    page = open_view(browser, url, "model=dcgan&view=Sliders", block_runtime=True)
    page.get_by_text("rendered on the server (the browser could not").wait_for(timeout=60_000)
    settle(page)
    image = page.locator('[data-testid="stImage"] img').first
    before = image.get_attribute("src")
    page.get_by_role("slider", name="z[0]").focus()
    page.keyboard.press("End")
    page.wait_for_function("s => document.querySelector('[data-testid=\"stImage\"] img').src !== s", arg=before, timeout=60_000)
    page.wait_for_function("() => location.search.includes('z=0%3A')", timeout=60_000)  # the permalink follows
    page.close()


def test_the_real_server_serves_the_runtime_and_exports_and_nothing_else(server):
    url, _, _ = server

    def status(path: str) -> int:
        try:
            with urllib.request.urlopen(url + path) as response:
                return response.status
        except urllib.error.HTTPError as e:
            return e.code

    assert status("/ort/ort-wasm-simd-threaded.wasm") == 200 and status("/onnx/dcgan") == 200
    for path in ("/ort/package.json", "/ort/%2e%2e%2fpackage.json", "/onnx/%2e%2e/%2e%2e/app.py", "/onnx/dcgan/config.json",
                 "/onnx/nothing"):
        assert status(path) in (400, 404), path  # 400: the server refuses an encoded traversal before routing

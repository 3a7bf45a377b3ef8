"""Screenshots of the explorer's views in headless Chromium, to look at what a user sees.

    streamlit run app.py --server.headless true --server.port 8765 &
    python -m latent_studio.app.tools.screenshots --url http://localhost:8765 --out /tmp/screens \\
        sliders=model=infogan-mnist&view=Sliders codes=model=infogan-mnist&view=InfoGAN+codes

Each NAME=QUERY opens the page with that query (a permalink) and saves NAME.png once the page has
finished running; NAME=colorize[:N] instead opens the Colorize & translate app, colorizes its Nth
(default first) example photo and saves the result as a user sees it. --fit grows the window to the whole page;
--scale shrinks the saved PNG (README's pictures). Uses the system Chromium (CHROMIUM, default
/usr/bin/chromium); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def settle(page: Page, timeout_ms: int = 60_000) -> None:
    """Wait until the script has run, twice in a row half a second apart: no run in progress, no
    placeholder skeletons, every image decoded."""
    done = """() => !document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]')
        && document.querySelector('[data-testid="stSidebar"]')
        && [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    for _ in range(2):
        page.wait_for_timeout(500)
        page.wait_for_function(done, timeout=timeout_ms)
    page.wait_for_timeout(500)  # plotly draws after its data arrives
    # A live-slider panel draws in the page (onnxruntime-web) after the script has run.
    drawn = """() => ![...document.querySelectorAll('*')].some(e => e.shadowRoot && e.shadowRoot.querySelector('.live.in-browser'))
        || (window.__latentStudio || {}).frames > 0"""
    page.wait_for_function(drawn, timeout=timeout_ms)


def fit_height(page: Page, width: int, height: int) -> None:
    """Grow the window to the page's content (Streamlit pages fill the window rather than scroll
    the document), until the height stops changing as late images and charts arrive."""
    for _ in range(5):
        tall = page.evaluate("document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight") + 120
        if tall <= page.viewport_size["height"]:
            return
        page.set_viewport_size({"width": width, "height": min(tall, 8000)})
        settle(page)


def colorized(page: Page, url: str, example: int = 0, timeout_ms: int = 120_000) -> None:
    """The Gradio app with one of its example photos colorized."""
    page.goto(f"{url}/gradio/")
    page.locator(".gallery-item, [data-testid='examples'] button, table.examples tr").nth(example).click(timeout=timeout_ms)
    page.get_by_role("button", name="Colorize", exact=True).click()
    page.locator("[data-testid='image-slider'] img, .slider-wrap img").first.wait_for(timeout=timeout_ms)
    page.wait_for_timeout(1000)


def shrink(path: Path, scale: float) -> None:
    if scale < 1:
        from PIL import Image

        image = Image.open(path)
        image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS).save(path, optimize=True)


def capture(url: str, shots: dict[str, str], out: Path, width: int = 1400, height: int = 1000, fit: bool = True,
            scale: float = 1.0) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        for name, query in shots.items():
            page.set_viewport_size({"width": width, "height": height})
            if query.startswith("colorize"):
                colorized(page, url, int(query.partition(":")[2] or 0))
            else:
                page.goto(f"{url}/?{query}")
                settle(page)
                if fit:
                    fit_height(page, width, height)
            path = out / f"{name}.png"
            page.screenshot(path=str(path))
            shrink(path, scale)
            saved.append(path)
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://localhost:8765")
    parser.add_argument("--out", type=Path, default=Path("/tmp/screens"))
    parser.add_argument("--size", default="1400x1000", help="the window, WIDTHxHEIGHT")
    parser.add_argument("--no-fit", dest="fit", action="store_false", help="keep the window's height")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the saved PNG by this factor")
    parser.add_argument("shots", nargs="+", help="NAME=QUERY pairs (NAME=colorize[:N]: the Colorize app, example N)")
    args = parser.parse_args()
    shots = dict(s.split("=", 1) for s in args.shots)
    width, height = (int(n) for n in args.size.split("x"))
    for path in capture(args.url, shots, args.out, width, height, args.fit, args.scale):
        print(path)


if __name__ == "__main__":
    main()

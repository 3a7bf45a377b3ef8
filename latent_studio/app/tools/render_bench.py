"""Slider move -> new pixels in a real Chromium, browser path and server path side by side:
`python -m latent_studio.app.tools.render_bench`.

A benchmark that prints numbers, not a timed test. For each path it starts a server (README's
command; LATENT_STUDIO_BROWSER_RENDER=0 for the server path) and, for each model, presses an arrow
key on slider z[0] of the Sliders view again and again, timing each press in the page from the
key event to new pixels: on the browser path until the panel's canvas holds the new image ("draw")
and until the next animation frame after it ("paint"); on the server path until the new picture
has arrived and decoded. It does the same for the pointer moves of one drag, timed from the
earliest moment the page hears of each move: pointerrawupdate where the browser has it (the panel
starts drawing then), else pointermove. Then `--sessions`
sessions drag at the same time, their moves interleaved, and the server's CPU seconds are printed
for the drags and, apart, for the releases that follow (on the browser path, one rerun each).
"""

from __future__ import annotations

import argparse
import statistics

from latent_studio.app.tools.load_test import cpu_seconds
from latent_studio.app.tools.local_server import running
from latent_studio.app.tools.screenshots import ARGS, CHROMIUM, settle
from latent_studio.training.bench import percentile

MODELS = ("infogan-mnist", "sngan-celeba")  # InfoGAN on MNIST (28 px) and the 64x64 face SNGAN

# Resolves with {draw, paint} ms from the next key event or pointer move to new pixels, measured by the page.
# A drag's move is timed from pointerrawupdate where there is one: it comes before pointermove, and the
# panel's drawing may start, even end, before pointermove is dispatched.
ARM = """([path, gesture]) => { window.__move = new Promise((resolve, reject) => {
    if (gesture === "pointermove" && "onpointerrawupdate" in window) gesture = "pointerrawupdate";
    const G = window.__latentStudio || {};
    const frames = G.frames || 0;
    const img = () => document.querySelector('[data-testid="stImage"] img');
    const before = img() && img().src;
    window.addEventListener(gesture, (event) => {
        const t0 = event.timeStamp;
        if (path === "browser") {
            const poll = () => {
                if ((window.__latentStudio.frames || 0) > frames) {
                    const draw = window.__latentStudio.lastDraw - t0;
                    requestAnimationFrame(() => resolve({ draw, paint: performance.now() - t0 }));
                } else setTimeout(poll, 0);
            };
            poll();
        } else {
            const observer = new MutationObserver(async () => {
                if (!img() || img().src === before) return;
                observer.disconnect();
                await img().decode().catch(() => {});
                const done = performance.now() - t0;
                resolve({ draw: done, paint: done });
            });
            observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["src"] });
        }
    }, { capture: true, once: true });
    setTimeout(() => reject(new Error("no new pixels within 60 s")), 60000);
}); }"""


def _ready(page, path: str) -> None:
    settle(page, 180_000)
    if path == "browser":
        page.wait_for_function("() => (window.__latentStudio || {}).frames > 0", timeout=60_000)
        if page.get_by_text("browser · onnxruntime-web").count() == 0:
            raise RuntimeError("the browser path is not active: run npm ci, and export the model (python -m latent_studio export)")


def moves(browser, url: str, model: str, path: str, count: int, gesture: str) -> tuple[list[float], list[float]]:
    """(draw ms, paint ms) of `count` moves of z[0]: key presses ("keydown", each a whole gesture
    that the server hears at once) or the pointer moves of one drag ("pointermove", which the
    browser path tells the server only on release), back and forth."""
    page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
    page.goto(f"{url}/?model={model}&view=Sliders")
    _ready(page, path)
    slider = page.get_by_role("slider", name="z[0]")
    box = slider.bounding_box()
    y, start = box["y"] + box["height"] / 2, box["x"] + box["width"] * 0.3
    if gesture == "pointermove":
        page.mouse.move(start, y)
        page.mouse.down()
    draws, paints = [], []
    for i in range(count + 3):  # the first moves warm the runtime and the server's caches
        page.evaluate(ARM, [path, gesture])
        if gesture == "keydown":
            slider.focus()
            page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        else:
            page.mouse.move(start + 4 * (i % 20 if i % 40 < 20 else 20 - i % 20), y)
        result = page.evaluate("window.__move")
        if gesture == "keydown":
            settle(page)  # the release's rerun (both paths), before the next press
        if i >= 3:
            draws.append(result["draw"])
            paints.append(result["paint"])
    if gesture == "pointermove":
        page.mouse.up()
    page.close()
    return draws, paints


def burst(browser, url: str, model: str, path: str, sessions: int, pid: int | None, moves_each: int = 15
          ) -> tuple[list[float], float | None, float | None]:
    """`sessions` sessions dragging z[0] at once (their moves interleaved): every move's draw time,
    and the server's CPU seconds during the drags and for the releases after them."""
    pages = [browser.new_context().new_page() for _ in range(sessions)]
    for page in pages:
        page.goto(f"{url}/?model={model}&view=Sliders")
    for page in pages:
        _ready(page, path)
    grips = []
    for page in pages:
        box = page.get_by_role("slider", name="z[0]").bounding_box()
        grips.append((box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2))
    times: list[float] = []
    before = cpu_seconds(pid)
    for page, (x, y) in zip(pages, grips):
        page.mouse.move(x, y)
        page.mouse.down()
    for i in range(1, moves_each + 1):
        for page, (x, y) in zip(pages, grips):
            page.evaluate(ARM, [path, "pointermove"])
            page.mouse.move(x + 4 * i, y)
        times += [page.evaluate("window.__move")["draw"] for page in pages]
    dragging = cpu_seconds(pid)
    for page in pages:
        page.mouse.up()
    for page in pages:
        settle(page, 180_000)  # every release's rerun is part of the server's bill
    released = cpu_seconds(pid)
    for page in pages:
        page.close()
    if not pid:
        return times, None, None
    return times, dragging - before, released - dragging


def summary(ms: list[float]) -> str:
    return f"p50 {statistics.median(ms):7.1f}  p95 {percentile(ms, 0.95):7.1f}"


def _seconds(cpu: float | None) -> str:
    return "unknown" if cpu is None else f"{cpu:.2f} s"


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=40, help="key presses per model and path")
    parser.add_argument("--sessions", type=int, default=10, help="sessions pressing at the same moment (0: skip)")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--paths", nargs="*", default=["browser", "server"], choices=["browser", "server"])
    args = parser.parse_args()
    rows, bursts = [], []
    for path in args.paths:
        env = {"LATENT_STUDIO_BROWSER_RENDER": "1" if path == "browser" else "0", "LATENT_STUDIO_CPU_THREADS": "1"}
        with running(env) as (url, pid), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for model in args.models:
                for gesture, name in (("keydown", "key"), ("pointermove", "drag")):
                    draws, paints = moves(browser, url, model, path, args.moves, gesture)
                    rows.append((model, path, name, draws, paints))
                    print(f"{model:16} {path:8} {name:5} draw {summary(draws)} | paint {summary(paints)}  (n={len(draws)})", flush=True)
            if args.sessions:
                times, dragging, releasing = burst(browser, url, args.models[0], path, args.sessions, pid)
                bursts.append((path, times, dragging, releasing))
                print(f"{args.sessions} sessions dragging, {args.models[0]}, {path}: {summary(times)} ms; server CPU "
                      f"{_seconds(dragging)} while dragging, {_seconds(releasing)} for the releases", flush=True)
            browser.close()
    print("\nslider move -> new pixels in Chromium (ms; paint = the next animation frame after the draw)")
    print(f"{'model':16} {'path':8} {'move':5} {'draw p50':>9} {'draw p95':>9} {'paint p50':>10} {'paint p95':>10}")
    for model, path, gesture, draws, paints in rows:
        print(f"{model:16} {path:8} {gesture:5} {statistics.median(draws):9.1f} {percentile(draws, 0.95):9.1f} "
              f"{statistics.median(paints):10.1f} {percentile(paints, 0.95):10.1f}")
    for path, times, dragging, releasing in bursts:
        print(f"{args.sessions} sessions dragging ({path}): moves {summary(times)} ms, server CPU {_seconds(dragging)} "
              f"while dragging + {_seconds(releasing)} for the releases")


if __name__ == "__main__":
    main()

"""Load on one server (`python -m latent_studio.app.tools.load_test`): 10 explorer sessions in one headless Chromium
move a latent slider at the same moment while 20 concurrent colorize calls go through the public
Gradio API.
Prints p50/p95 latencies and the server's memory before, during and after. A benchmark that
prints numbers, not a timed test; it sends traffic only to the local server it starts (or --url).
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

from latent_studio.app.tools.local_server import running
from latent_studio.app.tools.screenshots import ARGS, CHROMIUM, settle
from latent_studio.training.bench import percentile

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "colorize" / "daisy.jpg"


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of the server process (Linux /proc), in MB."""
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time the server process has used (Linux /proc), to tell its share of a latency from the
    browsers' when both run on one machine."""
    if pid is None:
        return None
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"p50 {statistics.median(ms):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, max {max(ms):.0f} ms (n={len(ms)})"


def colorize_load(url: str, model: str, calls: int) -> tuple[list[float], list[str]]:
    from gradio_client import Client, handle_file

    if not calls:
        return [], []
    client = Client(f"{url}/gradio/", verbose=False)
    times, errors = [], []

    def one(_):
        start = time.perf_counter()
        try:
            client.predict(handle_file(str(EXAMPLE)), model, api_name="/colorize")
            times.append(time.perf_counter() - start)
        except Exception as e:  # a load test counts failures instead of stopping at the first
            errors.append(f"{type(e).__name__}: {e}")

    with ThreadPoolExecutor(calls) as pool:
        list(pool.map(one, range(calls)))
    return times, errors


# Resolves with the milliseconds until the first image's src changes, timed by the page itself so
# that ten sessions waiting at once are each measured from their own slider move.
WATCH_IMAGE = """before => { window.__moved = new Promise((resolve, reject) => {
    const t0 = performance.now();
    const img = () => document.querySelector('[data-testid="stImage"] img');
    const changed = () => img() && img().src !== before;
    new MutationObserver((_, obs) => { if (changed()) { obs.disconnect(); resolve(performance.now() - t0); } })
        .observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]});
    setTimeout(() => reject(new Error("no new image within 120 s")), 120000);
}); }"""


def explorer_load(url: str, model: str, sessions: int, during=None) -> tuple[list[float], list[str]]:
    """Opens `sessions` explorer sessions, then moves slider z[0] to its end in all of them at once
    (while `during()` runs, if given) and times each until its new image arrives."""
    from playwright.sync_api import sync_playwright

    times, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pages = [browser.new_context().new_page() for _ in range(sessions)]
        for page in pages:
            page.goto(f"{url}/?model={model}&view=Sliders")
        for page in pages:
            settle(page, 180_000)
        for page in pages:
            page.evaluate(WATCH_IMAGE, page.locator('[data-testid="stImage"] img').first.get_attribute("src"))
        background = threading.Thread(target=during) if during else None
        if background:
            background.start()
        for page in pages:
            page.get_by_role("slider", name="z[0]").focus()
            page.keyboard.press("End")
        for page in pages:
            try:
                times.append(page.evaluate("window.__moved") / 1000)
            except Exception as e:  # a load test counts failures instead of stopping at the first
                errors.append(f"{type(e).__name__}: {e}")
        if background:
            background.join()
        browser.close()
    return times, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running server (default: start one on a free port)")
    parser.add_argument("--colorizer", default="colorize-photos")
    parser.add_argument("--model", default="infogan-mnist", help="explorer model for the slider sessions")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=10)
    args = parser.parse_args()
    # The sessions time the server's picture, so the server renders every view (the browser path,
    # latent_studio.app.client_render, is measured beside it by latent_studio.app.tools.render_bench).
    with (nullcontext((args.url, None)) if args.url else running({"LATENT_STUDIO_BROWSER_RENDER": "0"})) as (url, pid):
        print(f"server {url}, memory at start: {rss_mb(pid)} MB")
        peak = [rss_mb(pid) or 0.0]
        stop = threading.Event()

        def watch():
            while not stop.wait(0.5):
                peak.append(rss_mb(pid) or 0.0)

        threading.Thread(target=watch, daemon=True).start()
        colorized = {}

        def colorize():
            start = time.perf_counter()
            colorized["times"], colorized["errors"] = colorize_load(url, args.colorizer, args.calls)
            colorized["wall"] = time.perf_counter() - start

        cpu_before, wall_before = cpu_seconds(pid), time.perf_counter()
        e_times, e_errors = explorer_load(url, args.model, args.sessions, during=colorize)
        cpu_used = cpu_seconds(pid) - cpu_before if pid else None
        c_times, c_errors = colorized["times"], colorized["errors"]
        print(f"{args.calls} concurrent colorize calls: {percentiles(c_times) if c_times else 'none finished'}; "
              f"errors {len(c_errors)}; wall {colorized['wall']:.1f} s")
        print(f"{args.sessions} explorer sessions moving a slider at the same time: "
              f"{percentiles(e_times) if e_times else 'none'}; errors {len(e_errors)}")
        stop.set()
        print(f"server memory: peak {max(peak):.0f} MB, at end {rss_mb(pid)} MB")
        if cpu_used is not None:
            print(f"server CPU time during the test: {cpu_used:.1f} s over {time.perf_counter() - wall_before:.1f} s of wall time "
                  f"(page loads included; the rest went to the browsers and clients on this machine)")
        for e in (c_errors + e_errors)[:5]:
            print("error:", e[:300])


if __name__ == "__main__":
    main()

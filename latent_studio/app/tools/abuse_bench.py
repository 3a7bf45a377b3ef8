"""One hostile visitor against a public server (`python -m latent_studio.app.tools.abuse_bench`): each
attack runs from one loopback address (127.0.0.2) while a victim (127.0.0.1) keeps loading the
explorer page, moving a slider (a rerun of its open page), uploading a file to the explorer and
colorizing a photo, and probing the health endpoint. Prints, per attack, the victim's p95 and
failures, the health probes answered and the server's peak memory; then a soak of mixed traffic.

A benchmark that prints numbers, not a timed test; it sends traffic only to the local server it
starts (public mode, the shipped runs, an upload cache of --cache-gb) or to --url.
"""

from __future__ import annotations

import argparse
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from latent_studio import PROJECT
from latent_studio.app.public_answers import UPLOAD_CACHE
from latent_studio.app.request_limits import HELD_UPLOADS
from latent_studio.app.tools import visitors
from latent_studio.app.tools.load_test import rss_mb
from latent_studio.app.tools.local_server import running
from latent_studio.data.uploads import UploadLimits
from latent_studio.training.bench import percentile

INF = float("inf")


@dataclass
class Figures:
    """What the victim saw during one attack."""

    page: list[float] = field(default_factory=list)  # seconds to open the explorer (a session's first run)
    slider: list[float] = field(default_factory=list)  # seconds for a rerun of the open page
    colorize: list[float] = field(default_factory=list)
    uploads: list[int] = field(default_factory=list)  # statuses of explorer uploads
    health: list[bool] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)

    def line(self) -> str:
        def p95(xs: list[float]) -> str:
            done = [x for x in xs if x != INF]
            fails = len(xs) - len(done)
            text = f"{percentile(done, 0.95):.2f} s" if done else "none"
            return text + (f" ({fails}/{len(xs)} failed)" if fails else f" (n={len(xs)})")

        return (f"page p95 {p95(self.page)}; slider p95 {p95(self.slider)}; colorize p95 {p95(self.colorize)}; "
                f"uploads {self.uploads.count(204)}/{len(self.uploads)} ok; health {sum(self.health)}/{len(self.health)}; "
                f"peak RSS {max(self.rss, default=0):.0f} MB")


def victim(url: str, query: str, model: str, seconds: float, pid: int | None) -> Figures:
    """The victim's requests, one after another for `seconds`, with health probes and memory samples beside them."""
    figures = Figures()
    stop = time.monotonic() + seconds

    def probes():
        while time.monotonic() < stop:
            figures.health.append(visitors.health(url))
            if pid:
                figures.rss.append(rss_mb(pid) or 0.0)
            time.sleep(0.5)

    beside = threading.Thread(target=probes)
    beside.start()
    while time.monotonic() < stop:
        start = time.perf_counter()
        session = visitors.open_session(url, visitors.VICTIM, query, timeout=20)
        figures.page.append(time.perf_counter() - start if session else INF)
        if session is None:
            continue
        figures.slider.append(session.run(timeout=20))
        figures.uploads.append(session.upload(1024, timeout=20))
        session.close()
        took, outcome = visitors.colorize(url, visitors.VICTIM, model, timeout=20)
        figures.colorize.append(took if outcome == "ok" else INF)
        if outcome != "ok":
            figures.errors.append(outcome[:160])
    beside.join()
    return figures


def attacks(url: str, colorizer: str, query: str, cache_bytes: int) -> dict[str, Callable[[], Callable[[], None]]]:
    """Each attack by name: starting it returns what ends it."""
    attacker = visitors.attacker(1)

    def closing(things):
        return lambda: [t.close() for t in things]

    def rerun_flood():
        return closing(visitors.rerun_flood(url, attacker, sessions=20, reruns=50, query=query))

    def held_explorer_uploads():
        session = visitors.open_session(url, attacker, query, timeout=30)
        if session is None:
            return lambda: None
        headers = {"Content-Type": "multipart/form-data; boundary=x", "X-Xsrftoken": session.xsrf,
                   "Cookie": f"_streamlit_xsrf={session.xsrf}"}
        # bodies that together declare exactly what the explorer may hold (all at the per-file limit
        # but the last), and send nothing
        path = f"PUT /_stcore/upload_file/{session.session_id}/held"
        full, rest = divmod(HELD_UPLOADS, UploadLimits.max_bytes)
        held = visitors.held_bodies(url, attacker, path, UploadLimits.max_bytes, full, 0, headers)
        held += visitors.held_bodies(url, attacker, path, rest, 1, 0, headers) if rest else []
        return closing([*held, session])

    def held_gradio_bodies():
        body = 8 * 2**20
        return closing(visitors.held_bodies(url, attacker, "POST /gradio/gradio_api/call/colorize", body, 33, body - 1,
                                            {"Content-Type": "application/json"}))

    def upload_cache():
        visitors.upload_cache_fill(url, attacker, cache_bytes + 64 * 2**20)
        return lambda: None

    def forged_forwarded_for():
        visitors.queue_flood(url, attacker, calls=20, forwarded="10.9.0.", model=colorizer)
        return lambda: None

    def websocket_frames():
        return closing(visitors.big_frames(url, attacker, frames=6, size=100 * 2**20))

    return {"held explorer uploads (bodies declaring 256 MiB)": held_explorer_uploads,
            "held Gradio bodies (33 x 8 MB, last byte withheld)": held_gradio_bodies, "upload cache fill": upload_cache,
            "forged X-Forwarded-For queue flood (20 heavy calls)": forged_forwarded_for,
            "websocket frames (6 x 100 MB)": websocket_frames,
            "rerun flood (20 sessions x 50 reruns)": rerun_flood}  # last: without limits it busies the server for minutes


def settle(url: str, seconds: float = 60) -> None:
    """Wait until the server answers its health probe again, then a little more."""
    deadline = time.monotonic() + seconds
    while not visitors.health(url) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)


@contextmanager
def _removed(folder: Path) -> Iterator[None]:
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running public server (default: start one on a free port)")
    parser.add_argument("--pid", type=int, help="the --url server's process id, for its memory")
    parser.add_argument("--model", default="dcgan-mnist", help="explorer model the victim opens")
    parser.add_argument("--colorizer", default="colorize-photos")
    parser.add_argument("--seconds", type=float, default=20, help="how long the victim is measured under each attack")
    parser.add_argument("--soak", type=float, default=60, help="seconds of mixed traffic at the end (0: none)")
    parser.add_argument("--cache-gb", type=float, default=0.25, help="the started server's upload cache (LATENT_STUDIO_UPLOAD_GB)")
    parser.add_argument("--only", help="run only the attacks whose names contain one of these (comma-separated)")
    args = parser.parse_args()
    query = f"model={args.model}&view=Sliders"
    # a fresh upload folder (inside the working directory, as public mode needs), removed at the end
    uploads = PROJECT / UPLOAD_CACHE / f"bench-{os.getpid()}"
    env = {"LATENT_STUDIO_PUBLIC": "1", "LATENT_STUDIO_UPLOAD_GB": str(args.cache_gb), "GRADIO_TEMP_DIR": str(uploads)}
    with (nullcontext((args.url, args.pid)) if args.url else running(env)) as (url, pid), _removed(uploads):
        url = url.replace("localhost", "127.0.0.1")  # the clients bind 127.0.0.x source addresses: IPv4 only
        print(f"server {url}, memory at start {rss_mb(pid)} MB")
        print(f"{'quiet':<52} {victim(url, query, args.colorizer, args.seconds / 2, pid).line()}", flush=True)
        for name, attack in attacks(url, args.colorizer, query, int(args.cache_gb * 2**30)).items():
            if args.only and not any(part in name for part in args.only.split(",")):
                continue
            ended: list[Callable[[], None]] = []
            start = threading.Thread(target=lambda a=attack, e=ended: e.append(a()))
            start.start()
            time.sleep(1)  # the attack under way
            figures = victim(url, query, args.colorizer, args.seconds, pid)
            start.join(120)
            for end in ended:
                end()
            print(f"{name:<52} {figures.line()}", flush=True)
            for error in sorted(set(figures.errors))[:2]:
                print(f"{'':<52} victim's error: {error}")
            settle(url)
        if args.soak:
            soak(url, query, args.colorizer, args.soak, pid)


def soak(url: str, query: str, colorizer: str, seconds: float, pid: int | None) -> None:
    """Mixed traffic for `seconds`: three attackers in turn (reruns, held bodies, queue floods) and
    the victim; prints the victim's figures and the server's memory."""
    stop = time.monotonic() + seconds

    def attackers():
        n = 0
        while time.monotonic() < stop:
            n += 1
            source = visitors.attacker(1 + n % 3)
            for session in visitors.rerun_flood(url, source, sessions=4, reruns=10, query=query):
                session.close()
            for sock in visitors.held_bodies(url, source, "POST /gradio/gradio_api/call/colorize", 2**20, 4, 2**20 - 1,
                                             {"Content-Type": "application/json"}, seconds=2):
                sock.close()
            visitors.queue_flood(url, source, calls=3, model=colorizer, photo=visitors.small_photo())
            time.sleep(1)

    mixed = threading.Thread(target=attackers)
    mixed.start()
    figures = victim(url, query, colorizer, seconds, pid)
    mixed.join(120)
    print(f"{'soak: mixed traffic for ' + str(int(seconds)) + ' s':<52} {figures.line()}")


if __name__ == "__main__":
    main()

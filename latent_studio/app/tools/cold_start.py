"""Cold start of the app served from a folder, as a Space starts it:
`python -m latent_studio.app.tools.cold_start FOLDER [--cores 0,1] [--rounds 3]`.

FOLDER is an assembled Space (`python -m latent_studio space FOLDER`) or the checkout. Prints
numbers, not a pass or fail: for each round, the seconds from starting `streamlit run app.py` in
the folder (public mode, pinned to --cores) until the server answers, and until a Chromium that
was already open has drawn the first picture of the page a visitor lands on (the live canvas in the
page, or the server's image where the browser runtime is not installed), and the CPU seconds the
server had used by then: on a busy machine the wall time grows with the other jobs' share, the CPU
time does not, and start-up (imports, one page run) is mostly one thread, so on a quiet machine the
wall time to the first picture is about that CPU time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from latent_studio.app.tools.local_server import running
from latent_studio.app.tools.screenshots import ARGS

CHROMIUM = "/usr/bin/chromium"
FIRST_PICTURE = """() => ((window.__latentStudio || {}).frames || 0) > 0
    || [...document.querySelectorAll('[data-testid="stImage"] img')].some(i => i.complete && i.naturalWidth > 0)"""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid`, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cold_start(folder: Path, cores: str, browser) -> tuple[float, float, float]:
    """(seconds to the server answering, seconds to the first picture drawn, the server's CPU
    seconds by then) for one fresh server."""
    env = {"LATENT_STUDIO_PUBLIC": "1", "LATENT_STUDIO_RUNS": "", "LATENT_STUDIO_USER_RUNS": "", "LATENT_STUDIO_HUB_RUNS": ""}
    command = ["taskset", "-c", cores, sys.executable, "-m", "streamlit", "run", "app.py"]
    start = time.monotonic()
    with running(env, command, cwd=folder) as (url, pid):
        answered = time.monotonic() - start
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url + "/")
        page.wait_for_function(FIRST_PICTURE, timeout=180_000, polling=50)
        drawn, cpu = time.monotonic() - start, cpu_seconds(pid)
        page.close()
    return answered, drawn, cpu


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--cores", default="0,1", help="CPUs to pin the server to (taskset -c), as a Space's 2 vCPUs")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        rounds = [cold_start(args.folder, args.cores, browser) for _ in range(args.rounds)]
        browser.close()
    for i, (answered, drawn, cpu) in enumerate(rounds, 1):
        print(f"round {i}: server answers {answered:.1f} s, first picture drawn {drawn:.1f} s, server CPU by then {cpu:.1f} s")
    answered, drawn, cpu = (statistics.median(r[i] for r in rounds) for i in range(3))
    print(f"median: server answers {answered:.1f} s, first picture drawn {drawn:.1f} s, server CPU {cpu:.1f} s")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

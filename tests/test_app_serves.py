"""`streamlit run app.py` serves the explorer: app.py is an st.App that Streamlit finds, the server
answers, and the page works in a real Chromium (live sliders included)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from explorer.screenshots import ARGS, CHROMIUM, settle
from tests.explorer_runs import tiny_runs

ROOT = Path(__file__).resolve().parent.parent


def test_app_py_is_an_st_app_streamlit_run_finds():
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.app_name == "app"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float = 90) -> bytes:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (set CHROMIUM)")
def test_streamlit_run_serves_the_explorer_to_chromium(tmp_path, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = {**os.environ, "LATENT_STUDIO_RUNS": str(tiny_runs(tmp_path_factory.getbasetemp())),
           "LATENT_STUDIO_USER_RUNS": str(tmp_path / "user"), "LATENT_STUDIO_CPU_THREADS": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://localhost:{port}"
        assert b"<title>Streamlit</title>" in _wait_for(url + "/")
        assert _wait_for(url + "/_stcore/health") == b"ok"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/?model=dcgan&view=Sliders")
            settle(page)
            assert page.title() == "Latent Studio"
            assert page.locator('[data-testid="stException"]').count() == 0
            image = page.locator('[data-testid="stImage"] img').first
            before = image.get_attribute("src")
            page.get_by_role("slider", name="z[0]").focus()
            page.keyboard.press("End")  # the live panel reports the move; the page reruns
            page.wait_for_function("s => document.querySelector('[data-testid=\"stImage\"] img').src !== s", arg=before)
            settle(page)
            assert "z=0%3A3.0" in page.url
            assert not errors
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)

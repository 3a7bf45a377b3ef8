"""Start the app as a separate process on a free local port and wait until it answers: what the
load test and the server tests need. The command is the one README gives (`streamlit run
app.py`), with the port passed through Streamlit's environment variable."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from latent_studio import PROJECT

START = ["streamlit", "run", "app.py"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 120) -> bytes:
    """GET `url` until it answers (the server is still importing torch and gradio)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@contextmanager
def running(env: dict[str, str] | None = None, command: list[str] = START, cwd: str | os.PathLike = PROJECT) -> Iterator[tuple[str, int]]:
    """(base URL, server pid) of a fresh server started in `cwd` (the checkout, or an assembled
    Space folder: latent_studio.deploy); stopped on exit."""
    port = free_port()
    env = {**os.environ, "STREAMLIT_SERVER_PORT": str(port), "STREAMLIT_SERVER_HEADLESS": "true", **(env or {})}
    server = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://localhost:{port}"
        wait_for(url + "/_stcore/health")
        wait_for(url + "/gradio/config")
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(30)

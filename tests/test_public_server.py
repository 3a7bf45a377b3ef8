"""The real server in public mode (README's start command with LATENT_STUDIO_PUBLIC=1, as the
Docker image runs it), attacked through HTTP and gradio_client: huge inline bodies, slivers of
images, and the ordinary requests still served."""

from __future__ import annotations

import json
import select
import shlex
import socket
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from latent_studio.app.tools.local_server import running
from tests.server import readme_commands, tiny_server_runs

BIG = 100 * 2**20  # a 100 MB image sent inline as a data: URL
MEMORY_BOUND = 150 * 2**20  # what the server may grow by while refusing it, four at a time


@pytest.fixture(scope="module")
def public_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("public")
    env = {"LATENT_STUDIO_RUNS": str(tiny_server_runs(base)), "LATENT_STUDIO_USER_RUNS": str(base / "user"),
           "LATENT_STUDIO_CPU_THREADS": "1", "LATENT_STUDIO_PUBLIC": "1"}
    with running(env, shlex.split(readme_commands()[1])) as (url, pid):
        yield url, pid


def rss(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def inline_body(size: int) -> bytes:
    """A /colorize call whose photo is a data: URL of about `size` bytes."""
    data = "data:image/png;base64," + "A" * size
    return json.dumps({"data": [{"url": data, "meta": {"_type": "gradio.FileData"}}, "colorizer", 0.5]}).encode()


def post(url: str, body: bytes, chunked: bool) -> int:
    """POST `body` to the colorize API, a MiB at a time, stopping as soon as the server answers
    (as it does to a body over its cap, before reading it all); the status, 0 for no answer."""
    target = urlparse(url)
    head = (f"POST /gradio/gradio_api/call/colorize HTTP/1.1\r\nHost: {target.netloc}\r\nContent-Type: application/json\r\n"
            + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {len(body)}\r\n") + "\r\n")
    with socket.create_connection((target.hostname, target.port), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            for i in range(0, len(body), 2**20):
                if select.select([sock], [], [], 0.02)[0]:  # answered already
                    break
                piece = body[i:i + 2**20]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
            response = sock.recv(4096)
        except OSError:
            return 0
    return int(response.split()[1]) if response.startswith(b"HTTP/") else 0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_100_mb_inline_image_is_refused_and_the_servers_memory_stays_bounded(public_server, chunked):
    url, pid = public_server
    body = inline_body(BIG)
    before = rss(pid)
    for _ in range(3):  # rounds of four at once, as an attacker would
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(lambda _: post(url, body, chunked), range(4)))
        assert set(statuses) <= {413, 0} and 413 in statuses
    assert rss(pid) - before < MEMORY_BOUND, f"the server grew by {(rss(pid) - before) / 2**20:.0f} MB"


def test_an_ordinary_inline_image_still_goes_through(public_server):
    url, _ = public_server
    status = post(url, inline_body(2**20), chunked=False)
    assert status == 200  # accepted into the queue (the event id comes back)


def test_a_sliver_of_an_image_gets_a_clear_upload_error(public_server, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    url, _ = public_server
    client = Client(f"{url}/gradio/", verbose=False)
    Image.new("RGB", (1, 5000), "white").save(tmp_path / "sliver.png")
    with pytest.raises(AppError, match="too long and thin for the models"):
        client.predict(handle_file(str(tmp_path / "sliver.png")), "summer2winter", "AtoB", api_name="/translate")
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 64), dtype=np.uint8))
    photo.save(tmp_path / "ok.png")
    (_, after), _ = client.predict(handle_file(str(tmp_path / "ok.png")), "colorizer", api_name="/colorize")
    assert Image.open(after["path"] if isinstance(after, dict) else after).size == (64, 40)


def test_the_explorer_is_served_in_public_mode(public_server):
    url, _ = public_server
    with urllib.request.urlopen(url + "/") as r:
        assert r.status == 200


def test_a_visitor_cannot_pile_uploads_into_the_explorers_memory(public_server, tmp_path):
    """The explorer's file boxes upload through Streamlit, which keeps each file in memory until
    the session's next run. A visitor who replays the page's upload request with new file ids
    gets 413 for a file over the per-file limit (.streamlit/config.toml), and 507 once the uploads
    it holds reach its share, HELD_PER_CLIENT (tests/test_fair_share.py: another visitor's upload
    still goes through); the server's memory stays bounded."""
    from playwright.sync_api import sync_playwright

    from latent_studio.app.request_limits import HELD_PER_CLIENT
    from latent_studio.app.tools.screenshots import ARGS, settle
    from latent_studio.data.uploads import UploadLimits
    from tests.server import require_chromium

    url, pid = public_server
    (tmp_path / "concepts.json").write_text("{}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require_chromium(), args=ARGS)
        page = browser.new_page()
        page.goto(f"{url}/?model=dcgan&view=Sample+bank")
        settle(page)
        with page.expect_request(lambda r: r.method == "PUT" and "/_stcore/upload_file/" in r.url) as sent:
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(tmp_path / "concepts.json"))
        upload = sent.value  # the page's own request: its session, its XSRF token
        headers = {"X-Xsrftoken": upload.headers["x-xsrftoken"]}
        endpoint = upload.url.rsplit("/", 1)[0]

        def put(name: str, size: int) -> int:
            body = {"file": {"name": "photo.png", "mimeType": "image/png", "buffer": b"\0" * size}}
            return page.request.put(f"{endpoint}/{name}", multipart=body, headers=headers, fail_on_status_code=False).status

        before = rss(pid)
        assert put("over", UploadLimits.max_bytes + 2**21) == 413
        assert put("largest", UploadLimits.max_bytes - 2**16) == 204  # the pipeline's own limit gets through
        piece = UploadLimits.max_bytes // 2
        statuses = [put(f"pile-{i}", piece) for i in range(HELD_PER_CLIENT // piece + 2)]
        held = UploadLimits.max_bytes + statuses.count(204) * piece
        assert statuses == sorted(statuses) and statuses[-1] == 507, statuses  # accepted, then refused
        assert HELD_PER_CLIENT - 2 * piece < held <= HELD_PER_CLIENT, held / 2**20
        assert rss(pid) - before < HELD_PER_CLIENT + MEMORY_BOUND, f"the server grew by {(rss(pid) - before) / 2**20:.0f} MB"
        browser.close()

"""One visitor cannot take the public server down: each attack comes from one client (its own
loopback address, 127.0.0.2 and up) against the real server in public mode, and a second client
(127.0.0.1) must still load the page, move a slider, upload and colorize within the stated times
while the health endpoint answers. Every attack is bounded in count and time; traffic is loopback only."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import shlex
import shutil
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from latent_studio import PROJECT
from latent_studio.app.clients import Holdings, LimitReached, Pace, Window, address
from latent_studio.app.memory import DEFAULT_MB, MEMORY_ENV, MemoryCap, resident_bytes
from latent_studio.app.public_answers import MALFORMED, UPLOAD_CACHE
from latent_studio.app.request_limits import IDLE_S, QUEUED_PER_CLIENT, SESSIONS_PER_CLIENT, BodyLimit, HeldUploads, Sessions
from latent_studio.app.tools import visitors
from latent_studio.app.tools.local_server import running
from tests.server import readme_commands, tiny_server_runs
from tests.test_public_server import rss

PAGE_S, SLIDER_S, COLORIZE_S, UPLOAD_S = 5.0, 3.0, 3.0, 3.0  # the victim's targets under attack
QUERY = "model=dcgan&view=Sliders"
WEBSOCKET_CLOCK_S = 2 * 10  # .streamlit/config.toml: a ping every 10 s, answered within 10 s
CACHE_GB = 1 / 16  # the test server's upload cache: 64 MB, so one visitor's share (an eighth) fills in a second


# --- who a client is ------------------------------------------------------------------------------


def test_without_a_trusted_proxy_the_client_is_the_sockets_peer_whatever_it_forwards():
    assert address(["6.6.6.6"], "127.0.0.2", proxies=0) == "127.0.0.2"
    assert address([], "127.0.0.2", proxies=0) == "127.0.0.2"


def test_behind_one_proxy_the_client_is_the_entry_that_proxy_appended_never_one_the_client_wrote():
    # the client sent "X-Forwarded-For: 6.6.6.6"; the Space's proxy appended the address it saw
    assert address(["6.6.6.6, 203.0.113.7"], "10.0.0.1", proxies=1) == "203.0.113.7"
    assert address(["6.6.6.6", "203.0.113.7"], "10.0.0.1", proxies=1) == "203.0.113.7"  # the same in two headers
    assert address(["1.1.1.1, 203.0.113.7, 10.0.0.5"], "10.0.0.1", proxies=2) == "203.0.113.7"
    assert address([], "10.0.0.1", proxies=1) == "10.0.0.1"  # came past the proxy: its own address


def test_a_mistyped_number_of_proxies_is_refused_with_its_name(monkeypatch):
    from latent_studio.app.clients import TRUSTED_PROXIES, trusted_proxies

    monkeypatch.setenv(TRUSTED_PROXIES, "one")
    with pytest.raises(ValueError, match=TRUSTED_PROXIES):
        trusted_proxies()


# --- shares ---------------------------------------------------------------------------------------


def test_a_client_at_its_share_is_refused_while_others_still_get_theirs():
    held = Holdings(per_client=10, total=25)
    held.take("a", 10)
    with pytest.raises(LimitReached) as refused:
        held.take("a", 1)
    assert refused.value.mine
    held.take("b", 10)
    with pytest.raises(LimitReached) as refused:
        held.take("c", 6)  # the total is what is left
    assert not refused.value.mine
    held.give("a", 10)
    held.take("c", 5)
    assert held.held == {"b": 10, "c": 5} and held.sum == 15


def test_what_a_client_used_leaves_its_window_and_is_forgotten():
    window = Window(per_client=10, seconds=60)
    window.take("a", 8, now=0)
    with pytest.raises(LimitReached):
        window.take("a", 3, now=30)
    window.take("b", 10, now=30)
    window.take("a", 3, now=61)
    assert window.totals == {"a": 3, "b": 10}
    for i in range(1100):  # many clients: those whose use left the window are forgotten
        window.take(f"c{i}", 1, now=200)
    assert "a" not in window.used and "b" not in window.used and len(window.used) == 1100


def test_a_fast_sender_waits_its_turn_and_a_slow_one_never_does():
    pace = Pace(rate=4, burst=2)
    assert [pace.wait("a", now=0) for _ in range(2)] == [0, 0]
    assert pace.wait("a", now=0) == pytest.approx(0.25)
    assert pace.wait("b", now=0) == 0
    assert pace.wait("a", now=10) == 0  # the bucket filled up again


def _asgi(middleware, scope: dict, body: bytes = b"") -> tuple[int, bytes, bool]:
    """(status, body, whether the app behind it ran) of one HTTP request through `middleware`."""
    ran, sent = [], []

    async def app(scope, receive, send):
        ran.append(True)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", str(len(body)).encode())], "client": ("127.0.0.9", 1), **scope}
    asyncio.run(middleware(app)(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), bool(ran)


def test_over_its_memory_cap_the_server_takes_no_new_page_upload_or_request():
    usage = [200]
    cap = MemoryCap(100, every=0, measure=lambda: usage[0])
    cap.trim = None
    sessions = functools.partial(Sessions, memory=cap)
    gradio = functools.partial(BodyLimit, max_body=2**20, max_upload=2**20, max_inflight=2**22, memory=cap)
    uploads = functools.partial(HeldUploads, cap=2**22, per_file=2**20, held=dict, memory=cap)
    requests = [(sessions, {"method": "GET", "path": "/"}), (gradio, {"method": "POST", "path": "/gradio_api/call/colorize"}),
                (uploads, {"method": "PUT", "path": "/_stcore/upload_file/s/f"})]
    for middleware, scope in requests:
        status, body, ran = _asgi(middleware, scope, b"{}")
        assert (status, ran) == (503, False) and MemoryCap.MESSAGE.encode() in body
    assert _asgi(gradio, {"method": "GET", "path": "/_stcore/health"})[:2] == (200, b"app")  # reading goes on
    usage[0] = 50
    assert all(_asgi(middleware, scope, b"{}")[2] for middleware, scope in requests)


def test_memory_the_allocator_holds_free_is_given_back_before_a_visitor_is_refused():
    usage, trimmed = iter([200, 50]), []
    cap = MemoryCap(100, measure=lambda: next(usage))
    cap.trim = trimmed.append
    assert not cap.over() and trimmed == [0]


def test_the_memory_cap_is_read_from_its_variable_and_a_mistyped_one_is_named(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    assert MemoryCap.from_env().cap == DEFAULT_MB * 2**20
    monkeypatch.setenv(MEMORY_ENV, "0")
    assert MemoryCap.from_env() is None
    monkeypatch.setenv(MEMORY_ENV, "3 GB")
    with pytest.raises(ValueError, match=MEMORY_ENV):
        MemoryCap.from_env()
    assert 0 < resident_bytes() < DEFAULT_MB * 2**20


# --- the real public server, attacked -------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("fair")
    uploads = PROJECT / UPLOAD_CACHE / f"test-{base.name}"  # in public mode the upload folder is inside the working directory
    env = {"LATENT_STUDIO_RUNS": str(tiny_server_runs(base)), "LATENT_STUDIO_USER_RUNS": str(base / "user"),
           "LATENT_STUDIO_CPU_THREADS": "1", "LATENT_STUDIO_PUBLIC": "1", "LATENT_STUDIO_UPLOAD_GB": str(CACHE_GB),
           "GRADIO_TEMP_DIR": str(uploads)}
    try:
        with running(env, shlex.split(readme_commands()[1])) as (url, pid):
            url = url.replace("localhost", "127.0.0.1")
            session = visitors.open_session(url, visitors.VICTIM, QUERY, timeout=120)  # the model loaded once, as on a warm server
            assert session is not None
            session.close()
            yield url, pid
    finally:
        shutil.rmtree(uploads, ignore_errors=True)


def victim_is_served(url: str) -> None:
    """The second client's page, slider, upload and colorize each answer within their time."""
    start = time.perf_counter()
    session = visitors.open_session(url, visitors.VICTIM, QUERY, timeout=PAGE_S)
    assert session is not None, f"the victim's page did not load within {PAGE_S} s"
    try:
        assert session.run(timeout=SLIDER_S) <= SLIDER_S
        started = time.perf_counter()
        assert session.upload(1024, timeout=UPLOAD_S) == 204 and time.perf_counter() - started <= UPLOAD_S
    finally:
        session.close()
    took, outcome = visitors.colorize(url, visitors.VICTIM, timeout=COLORIZE_S * 3)
    assert outcome == "ok" and took <= COLORIZE_S, (took, outcome)
    assert visitors.health(url)
    assert time.perf_counter() - start < PAGE_S + SLIDER_S + UPLOAD_S + COLORIZE_S


def test_a_rerun_flood_from_one_address_leaves_another_visitors_page_answering(server):
    url, _ = server
    flood = visitors.rerun_flood(url, visitors.attacker(1), sessions=20, reruns=50, query=QUERY)
    try:
        time.sleep(0.5)
        opened = [s for s in flood if not s.closed.is_set()]
        assert len(opened) <= SESSIONS_PER_CLIENT, f"{len(opened)} sessions open from one address"
        victim_is_served(url)
        assert visitors.open_session(url, visitors.attacker(2), QUERY, timeout=PAGE_S) is not None  # a third visitor too
    finally:
        for session in flood:
            session.close()


def test_uploads_that_declare_much_and_send_nothing_hold_nothing_for_anyone_else(server):
    url, _ = server
    attacker = visitors.attacker(3)
    session = visitors.open_session(url, attacker, QUERY, timeout=30)
    headers = {"Content-Type": "multipart/form-data; boundary=x", "X-Xsrftoken": session.xsrf, "Cookie": f"_streamlit_xsrf={session.xsrf}"}
    held = visitors.held_bodies(url, attacker, f"PUT /_stcore/upload_file/{session.session_id}/held", 20 * 2**20, 13, 0, headers)
    try:
        assert len(held) == 13
        victim_is_served(url)
        held[0].settimeout(IDLE_S + 10)
        assert held[0].recv(64).split()[1] == b"408"  # given up on once nothing arrived for IDLE_S
    finally:
        for sock in held:
            sock.close()
        session.close()


def test_bodies_that_withhold_their_last_byte_refuse_only_their_own_client(server):
    url, pid = server
    body = 8 * 2**20
    before = rss(pid)
    held = visitors.held_bodies(url, visitors.attacker(4), "POST /gradio/gradio_api/call/colorize", body, 33, body - 1,
                                {"Content-Type": "application/json"})
    try:
        assert len(held) == 33
        time.sleep(0.5)
        kept = [s for s in held if visitors.still_held(s)]
        assert len(kept) <= 8, f"{len(kept)} of 33 bodies held"  # 64 MB a client: at most 8 bodies of 8 MB
        assert any(_answered(s, 429) for s in held if s not in kept)
        victim_is_served(url)
        assert rss(pid) - before < 200 * 2**20
    finally:
        for sock in held:
            sock.close()


def _answered(sock: socket.socket, status: int, wait: float = 0.5) -> bool:
    sock.settimeout(wait)
    try:
        return sock.recv(64).split()[1] == str(status).encode()
    except (OSError, IndexError):
        return False


def test_one_visitor_fills_only_its_share_of_the_upload_cache(server):
    url, _ = server
    share = int(CACHE_GB * 2**30) // 8
    accepted, statuses = visitors.upload_cache_fill(url, visitors.attacker(5), total=4 * share, piece=2**20)
    assert statuses[-1] == 507 and share - 2**21 <= accepted <= share, (accepted, statuses[-3:])
    status, answer = visitors.upload_to_gradio(url, visitors.attacker(5), b"x" * 2**21)
    assert status == 507 and b"limit for one visitor" in answer
    victim_is_served(url)


def test_a_forged_forwarded_for_gets_one_client_no_more_than_its_share_of_the_queue(server):
    url, _ = server
    statuses = visitors.queue_flood(url, visitors.attacker(6), calls=12, forwarded="10.9.0.")
    assert statuses.count(200) <= QUEUED_PER_CLIENT, statuses
    victim_is_served(url)


def test_a_huge_websocket_frame_is_refused_before_it_is_held(server):
    url, pid = server
    before = rss(pid)
    frames = visitors.big_frames(url, visitors.attacker(7), frames=4, size=60 * 2**20)
    try:
        time.sleep(1)
        assert rss(pid) - before < 100 * 2**20, f"the server grew by {(rss(pid) - before) / 2**20:.0f} MB"
        victim_is_served(url)
    finally:
        for ws in frames:
            ws.close()


def test_a_websocket_message_that_stops_arriving_is_let_go(server):
    url, _ = server
    sock = visitors.stalled_frame(url, visitors.attacker(11))
    sock.settimeout(1)
    start, ended = time.monotonic(), False
    try:
        while not ended and time.monotonic() - start < WEBSOCKET_CLOCK_S + 10:
            try:
                ended = not sock.recv(4096)  # the server's pings, unanswered, then the end
            except TimeoutError:
                pass
            except OSError:
                ended = True
        assert ended, f"the stalled websocket was still open after {time.monotonic() - start:.0f} s"
    finally:
        sock.close()
    victim_is_served(url)


def _call(url: str, data: list) -> str:
    """The answer stream of one colorize call through the HTTP API, as a visitor sees it."""
    status, answer = visitors.request(url, visitors.attacker(8), "POST", "/gradio/gradio_api/call/colorize",
                                      json.dumps({"data": data}).encode(), {"Content-Type": "application/json"})
    assert status == 200, answer
    event = json.loads(answer)["event_id"]
    return visitors.request(url, visitors.attacker(8), "GET", f"/gradio/gradio_api/call/colorize/{event}")[1].decode()


@pytest.mark.parametrize("data, message", [
    ([None, "colorizer", 0.5], "Upload a photo first"),
    ([{"url": "file:///etc/passwd", "meta": {"_type": "gradio.FileData"}}, "colorizer", 0.5], "not an uploaded photo"),
    ([{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, "colorizer", 0.5], MALFORMED),  # Gradio's own checks
    ([[1, 2], "colorizer", 0.5], MALFORMED),
    (["photo", ["colorizer"], 0.5], "(not a name)"),
    (["photo", "colorizer", float("nan")], "Vividness must be a number"),
    (["photo", "colorizer", 10**400], "Vividness must be a number"),
])
def test_hostile_values_get_a_message_and_never_a_traceback_or_a_server_path(server, data, message):
    url, _ = server
    if data[0] == "photo":
        status, answer = visitors.upload_to_gradio(url, visitors.attacker(8), visitors.small_photo())
        data = [{"path": json.loads(answer)[0], "meta": {"_type": "gradio.FileData"}}, *data[1:]]
    text = _call(url, data)
    assert "event: error" in text and message in text, text[-400:]
    assert "Traceback" not in text and "site-packages" not in text and "pydantic" not in text and not server_paths(text), text[-400:]


def server_paths(text: str) -> list[str]:
    """The absolute paths in `text` that name a file or folder on this machine, the server's."""
    return sorted({p for p in re.findall(r"/[\w.\-/]+", text) if p.strip("/").count("/") and Path(p).exists()})


def test_no_answer_names_a_server_path_and_the_paths_it_names_work(server):
    url, _ = server
    me = visitors.attacker(9)
    status, answer = visitors.upload_to_gradio(url, me, visitors.small_photo())
    uploaded = json.loads(answer)[0]
    assert status == 200 and not Path(uploaded).is_absolute(), uploaded
    done = _call(url, [{"path": uploaded, "meta": {"_type": "gradio.FileData"}}, "colorizer", 0.5])  # the path sent back works
    assert "event: complete" in done, done[-400:]
    result = json.loads(done.partition("data: ")[2].splitlines()[0])[1]["url"]
    status, png = visitors.request(url, me, "GET", urlsplit(result).path)
    assert status == 200 and png.startswith(b"\x89PNG")
    answers = {"upload": answer.decode(), "colorize": done, **{page: visitors.request(url, me, "GET", page)[1].decode()
                                                                for page in ("/gradio/config", "/gradio/gradio_api/info")}}
    assert "upload-cache/" in answers["/gradio/config"]  # the example photos, named relatively too
    for name, text in answers.items():
        assert not server_paths(text), (name, server_paths(text))


def test_a_page_past_a_visitors_share_says_so(server):
    url, _ = server
    me = visitors.attacker(10)
    pages = [visitors.open_session(url, me, QUERY, timeout=30) for _ in range(SESSIONS_PER_CLIENT)]
    try:
        assert all(pages)
        status, page = visitors.request(url, me, "GET", "/?" + QUERY)
        assert status == 429 and f"You have {SESSIONS_PER_CLIENT} pages of this app open" in page.decode()
        assert visitors.request(url, visitors.VICTIM, "GET", "/?" + QUERY)[0] == 200  # someone else's page opens
    finally:
        for page in pages:
            page.close()
    time.sleep(0.5)
    assert visitors.request(url, me, "GET", "/")[0] == 200  # and once closed, the visitor's own again


def test_after_every_attack_the_server_is_under_its_memory_cap(server):
    url, pid = server
    assert rss(pid) < DEFAULT_MB * 2**20, f"{rss(pid) / 2**20:.0f} MB"
    victim_is_served(url)

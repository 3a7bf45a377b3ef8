"""What one visitor's requests may cost the server: body sizes, memory held by bodies in flight,
and each client's share of the Colorize & translate worker.

Gradio reads a request body whole before any handler runs, and an image sent inline as a data:
URL never meets the upload size check, so the cap on bodies sits in front of Gradio, as ASGI
middleware: a body over its cap is refused with 413 before it is read (by its Content-Length) or
as soon as it grows past the cap (a chunked body), and bodies in flight together may hold at most
`max_inflight` bytes (past that, 503: the memory bound holds however many connections arrive).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

UPLOAD_PATH = "/gradio_api/upload"  # multipart file uploads, capped by the upload limit itself
# An image editor posts each of its images here (the Inpaint tab's photo can be a full-size one);
# latent_studio.app.img2img.editor bounds how many it keeps in memory.
EDITOR_PATHS = ("/gradio_api/component_server", "/gradio_api/component_server/")


def _response(status: int, message: str):
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    return [{"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": body}]


class BodyTooLarge(Exception):
    pass


class ServerBusy(Exception):
    pass


class BodyLimit:
    """ASGI middleware: bodies at most `max_upload` bytes on the upload route (and an image
    editor's posts) and `max_body` on every other route, and at most `max_inflight` bytes
    buffered across all requests at once. A body is read here in full before the app sees it, so
    a refused one never reaches Gradio."""

    def __init__(self, app, max_body: int, max_upload: int, max_inflight: int, disk: "FolderCap | None" = None):
        self.app, self.max_body, self.max_upload, self.max_inflight = app, max_body, max_upload, max_inflight
        self.disk = disk  # where uploads are kept, and how much they may take
        self.inflight = 0
        self.lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        upload = scope["path"].endswith(UPLOAD_PATH)
        limit = self.max_upload if upload or scope["path"].endswith(EDITOR_PATHS) else self.max_body
        if upload and self.disk is not None and self.disk.full():
            return await self._refuse(send, 507, "The server's upload space is full; try again later.")
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await self._refuse(send, 413, f"The request is larger than this server accepts ({limit // 2**20} MB).")
        chunks, held = [], 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                if held + len(chunk) > limit:
                    raise BodyTooLarge
                self._hold(len(chunk))
                held += len(chunk)
                chunks.append(chunk)
                if not message.get("more_body"):
                    break
            body = b"".join(chunks)
            chunks.clear()
            sent = False

            async def replay():
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
        except BodyTooLarge:
            await self._refuse(send, 413, f"The request is larger than this server accepts ({limit // 2**20} MB).")
        except ServerBusy:
            await self._refuse(send, 503, "The server is busy receiving other uploads; try again in a moment.")
        finally:
            self._release(held)

    def _hold(self, n: int) -> None:
        with self.lock:
            if self.inflight + n > self.max_inflight:
                raise ServerBusy
            self.inflight += n

    def _release(self, n: int) -> None:
        with self.lock:
            self.inflight -= n

    async def _refuse(self, send, status: int, message: str) -> None:
        for event in _response(status, message):
            await send(event)


@dataclass
class ClientBudget:
    """Each client may use the worker for at most `seconds` in any `window` seconds. A request
    over budget is refused at once, so one visitor's queue of requests cannot hold the server
    for minutes while others wait."""

    seconds: float = 20.0
    window: float = 60.0
    used: dict[str, deque] = field(default_factory=dict)  # client -> (finished at, seconds) of recent requests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, client: str, now: float) -> deque:
        spent = self.used.setdefault(client, deque())
        while spent and spent[0][0] < now - self.window:
            spent.popleft()
        return spent

    def wait_needed(self, client: str, now: float | None = None) -> float:
        """Seconds until `client` may run another request (0: now)."""
        now = time.monotonic() if now is None else now
        with self.lock:
            spent = self._recent(client, now)
            total = sum(s for _, s in spent)
            if total < self.seconds:
                return 0.0
            for finished, s in spent:  # the budget frees up as old requests leave the window
                total -= s
                if total < self.seconds:
                    return finished + self.window - now
            return self.window

    def charge(self, client: str, seconds: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            self._recent(client, now).append((now, seconds))
            for other in [c for c, d in self.used.items() if not d]:  # forget idle clients: bounded memory
                del self.used[other]


def client_id(headers: dict[str, str], host: str | None) -> str:
    """Who sent a request: the address the nearest proxy saw (the last X-Forwarded-For entry, which
    a client cannot forge past the proxy), else the connection's own address."""
    forwarded = headers.get("x-forwarded-for", "")
    return forwarded.rsplit(",", 1)[-1].strip() or host or "unknown"


@dataclass
class FolderCap:
    """A folder that may hold at most `max_bytes` (Gradio's upload cache: its files are deleted an
    hour after they were made, and this holds the total in between). The size is measured at most
    every `every` seconds, so a flood of uploads costs one directory walk per interval."""

    folder: Path
    max_bytes: int
    every: float = 5.0
    _measured: tuple[float, int] = (float("-inf"), 0)

    def full(self) -> bool:
        now = time.monotonic()
        if now - self._measured[0] > self.every:
            self._measured = (now, folder_bytes(self.folder))
        return self._measured[1] >= self.max_bytes


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder, onerror=lambda e: None):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass  # deleted while we looked
    return total


STREAMLIT_UPLOAD_PATH = "/_stcore/upload_file/"  # + session id / file id: the explorer's file boxes
HELD_UPLOADS = 256 * 2**20  # what the explorer's file boxes may hold in memory, all visitors together


def streamlit_upload_bytes() -> int:
    """Bytes of uploaded files Streamlit holds in memory now, over all sessions."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return 0
    stats = Runtime.instance().uploaded_file_mgr.get_stats()
    return sum(s.byte_length for group in stats.values() for s in group)


async def _discard(receive, limit: int) -> None:
    """Read and drop a request's body, at most `limit` bytes of it (past that the refusal is sent
    anyway, and the connection closed)."""
    seen = 0
    while seen <= limit:
        message = await receive()
        seen += len(message.get("body", b""))
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return


class HeldUploads:
    """ASGI middleware in front of Streamlit's upload route, bounding the memory its uploads hold.

    Streamlit bounds each file (server.maxUploadSize in .streamlit/config.toml) and keeps it in
    memory until the session's next script run ends, or the session closes. A page uploads one file
    per box and a rerun releases the last, but a visitor who sends file after file without running
    the script would grow the server's memory without bound. Past `cap` bytes, held and arriving
    together, an upload is refused (507) until others are released."""

    def __init__(self, app, cap: int, per_file: int, held: Callable[[], int] = streamlit_upload_bytes):
        self.app, self.cap, self.per_file, self.held = app, cap, per_file, held
        self.arriving = 0  # bytes admitted and still being received
        self.lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "PUT" or not scope["path"].startswith(STREAMLIT_UPLOAD_PATH):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        size = min(int(declared), self.per_file) if declared.isdigit() else self.per_file  # Streamlit refuses more
        with self.lock:
            admitted = self.held() + self.arriving + size <= self.cap
            if admitted:
                self.arriving += size
        if not admitted:
            await _discard(receive, size + 2**20)  # so the browser reads the answer instead of a reset
            for event in _response(507, "The server holds too many uploads right now; try again in a minute."):
                await send(event)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            with self.lock:
                self.arriving -= size

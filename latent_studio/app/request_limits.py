"""What one visitor's requests may cost the server: bodies, uploads held, open pages and their
messages, and each client's share of the Colorize & translate worker and its queue.

Every limit is kept per client (latent_studio.app.clients: the address our proxy saw, never a header
the client wrote) as well as in total, so one visitor who reaches a limit is told so while the
others go on. Bodies are read by ASGI middleware in front of the app, whole, before it sees them:
Gradio reads a body whole before any handler runs, and an image sent inline as a data: URL never
meets the upload size check. A body is counted by the bytes that arrive, never by the length it
declares, and a body that stops arriving is given up on, so a held connection holds nothing for long.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from latent_studio.app.clients import Holdings, LimitReached, Pace, Window, address, scope_address
from latent_studio.app.memory import MemoryCap

UPLOAD_PATH = "/gradio_api/upload"  # multipart file uploads, capped by the upload limit itself
# An image editor posts each of its images here (the Inpaint tab's photo can be a full-size one);
# latent_studio.app.img2img.editor bounds how many it keeps in memory.
EDITOR_PATHS = ("/gradio_api/component_server", "/gradio_api/component_server/")


IDLE_S = 10.0  # a body that sends nothing for this long is given up on (a held connection holds memory)
MIN_RATE = 64 * 2**10  # bytes a second a body must average: a 20 MB upload has about five minutes


def _response(status: int, message: str):
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    return [{"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": body}]


async def refuse(send, status: int, message: str) -> None:
    for event in _response(status, message):
        await send(event)


async def drain(receive, most: int) -> None:
    """Read and drop up to `most` more bytes of a refused body, on read_body's clock:
    its client is still sending, and a response before it has sent reaches it as a reset
    connection instead of the message. Nothing read here is kept."""
    size, deadline = 0, time.monotonic() + IDLE_S + most / MIN_RATE
    while size <= most:
        try:
            message = await asyncio.wait_for(receive(), max(0.0, min(IDLE_S, deadline - time.monotonic())))
        except TimeoutError:
            return
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return
        size += len(message.get("body", b""))


async def body_or_refusal(receive, send, limit: int, hold: Callable[[int], None], release: Callable[[], None],
                          first: "Refused | None" = None) -> bytes | None:
    """The request's body, read whole by read_body; or None once its refusal is answered (the rest
    of a body refused for its size drained first) or its client went away, with what it held
    released.
    `first`: a refusal known before a byte is read (a declared length over the limit, no space)."""
    try:
        if first is not None:
            raise first
        body = await read_body(receive, limit, hold)
    except Refused as e:
        release()
        if e.status in (413, 507):  # a body too large, or over what may be held: an honest upload's refusals
            await drain(receive, 2 * limit)  # (a share refused for sending at once, 429/503, closes at once)
        await refuse(send, e.status, e.message)
        return None
    if body is None:
        release()
    return body


class Refused(Exception):
    """A request the server will not take, with the status and message its client gets."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


async def read_body(receive, limit: int, hold: Callable[[int], None]) -> bytes | None:
    """A request's body, read whole (None: the client went away). Each piece is passed to `hold`
    as it arrives, so what a body holds is counted by the bytes received, never by what its
    Content-Length declares. A body over `limit` is refused (413), and so is one that sends nothing
    for IDLE_S or takes longer than MIN_RATE allows for `limit` bytes (408): a connection that
    withholds its body's last byte holds nothing for long."""
    chunks, size = [], 0
    deadline = time.monotonic() + IDLE_S + limit / MIN_RATE
    while True:
        try:
            message = await asyncio.wait_for(receive(), max(0.0, min(IDLE_S, deadline - time.monotonic())))
        except TimeoutError:
            raise Refused(408, "The request arrived too slowly; send it again.") from None
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if size + len(chunk) > limit:
            raise Refused(413, f"The request is larger than this server accepts ({limit // 2**20} MB).")
        hold(len(chunk))
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes, receive):
    """An ASGI receive that gives `body` once, then the connection's own messages (its disconnect)."""
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


class BodyLimit:
    """ASGI middleware: bodies at most `max_upload` bytes on the upload route (and an image
    editor's posts) and `max_body` on every other route; bodies in flight hold at most
    `max_inflight` bytes together and `per_client` bytes from one client (past that, 429 for that
    client alone, 503 for all); uploads kept in `disk` at most its share per client; no new request
    while the server's memory is over its cap (`memory`, public mode). A body is read here in full
    before the app sees it, so a refused one never reaches Gradio."""

    def __init__(self, app, max_body: int, max_upload: int, max_inflight: int, disk: "FolderCap | None" = None,
                 per_client: int | None = None, memory: MemoryCap | None = None):
        self.app, self.max_body, self.max_upload, self.memory = app, max_body, max_upload, memory
        self.disk = disk  # where uploads are kept, and how much they may take
        self.inflight = Holdings(per_client or max_inflight // 4, max_inflight)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        client = scope_address(scope)
        upload = scope["path"].endswith(UPLOAD_PATH)
        limit = self.max_upload if upload or scope["path"].endswith(EDITOR_PATHS) else self.max_body
        declared = dict(scope.get("headers", [])).get(b"content-length")
        held = 0

        def hold(n: int) -> None:
            nonlocal held
            try:
                self.inflight.take(client, n)
            except LimitReached as e:
                raise (Refused(429, "You are sending too much at once; wait for your other uploads to finish.") if e.mine else
                       Refused(503, "The server is busy receiving other uploads; try again in a moment.")) from None
            held += n
            if upload and self.disk is not None:
                self.disk.take(client, n)

        first = None
        if self.memory is not None and self.memory.over():
            first = Refused(503, MemoryCap.MESSAGE)
        elif upload and self.disk is not None and self.disk.full():
            first = Refused(507, "The server's upload space is full; try again later.")
        elif declared is not None and (not declared.isdigit() or int(declared) > limit):
            first = Refused(413, f"The request is larger than this server accepts ({limit // 2**20} MB).")
        body = await body_or_refusal(receive, send, limit, hold, lambda: self.inflight.give(client, held), first)
        if body is None:
            return
        try:
            await self.app(scope, replay(body, receive), send)
        finally:
            self.inflight.give(client, held)


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


def request_client(request) -> str:
    """The client of a Starlette (or Gradio) request: latent_studio.app.clients.address."""
    forwarded = request.headers.getlist("x-forwarded-for") if hasattr(request.headers, "getlist") else \
        [request.headers.get("x-forwarded-for", "")]
    return address([f for f in forwarded if f], request.client.host if request.client else None)


class FolderCap:
    """A folder that may hold at most `max_bytes` (Gradio's upload cache: its files are deleted an
    hour after they were made, and this holds the total in between), of which one client may fill
    `share` in an hour. The folder is measured at most every `every` seconds (a flood of uploads
    costs one directory walk per interval), and what arrives between two measures is added to the
    last, so the cap holds however fast uploads come."""

    def __init__(self, folder: Path, max_bytes: int, share: int | None = None, every: float = 5.0):
        self.folder, self.max_bytes, self.every = folder, max_bytes, every
        self.share = Window(share or max_bytes // 8, CACHE_HOURS * 3600)
        self.measured, self.at, self.added = 0, float("-inf"), 0
        self.lock = threading.Lock()

    def full(self) -> bool:
        now = time.monotonic()
        if now - self.at > self.every:
            size = folder_bytes(self.folder)
            with self.lock:
                self.measured, self.at, self.added = size, now, 0
        return self.measured + self.added >= self.max_bytes

    def take(self, client: str, n: int) -> None:
        """Count `n` bytes arriving from `client`, or refuse them (507) past its share or the folder's cap."""
        if self.measured + self.added + n > self.max_bytes:
            raise Refused(507, "The server's upload space is full; try again later.")
        try:
            self.share.take(client, n)
        except LimitReached:
            raise Refused(507, f"You have uploaded {self.share.per_client // 2**20} MB in the last hour, this server's limit "
                               "for one visitor; try again later.") from None
        with self.lock:
            self.added += n


CACHE_HOURS = 1  # how long Gradio keeps an upload (latent_studio.app.img2img.app: delete_cache)


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
HELD_PER_CLIENT = 64 * 2**20  # ... and one visitor: three files at the upload limit
MULTIPART_OVERHEAD = 2**20  # an upload's body beside its file: the multipart framing


def streamlit_upload_bytes() -> dict[str, int]:
    """Bytes of uploaded files Streamlit holds in memory now, by session (its manager's own
    table: its published statistics give only the total)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return {}
    manager = Runtime.instance().uploaded_file_mgr
    with manager._lock:
        return {session: sum(len(f.data) for f in files.values()) for session, files in manager.file_storage.items()}


class HeldUploads:
    """ASGI middleware in front of Streamlit's upload route, bounding the memory its uploads hold.

    Streamlit bounds each file (server.maxUploadSize in .streamlit/config.toml) and keeps it in
    memory until the session's next script run ends, or the session closes. A page uploads one file
    per box and a rerun releases the last, but a visitor who sends file after file without running
    the script would grow the server's memory without bound. So an upload's body is read here first
    (latent_studio.app.request_limits.read_body: counted by the bytes that arrive, and given up on
    if they stop), and past `per_client` bytes held and arriving for one client, or `cap` for all,
    it is refused (507) until others are released: one visitor's uploads never refuse another's."""

    def __init__(self, app, cap: int, per_file: int, per_client: int = HELD_PER_CLIENT,
                 held: Callable[[], dict[str, int]] = streamlit_upload_bytes, memory: MemoryCap | None = None):
        self.app, self.per_file, self.held, self.memory = app, per_file, held, memory
        self.arriving = Holdings(per_client, cap)
        self.owners: dict[str, str] = {}  # session id -> client, for the sessions holding uploads

    def _holding(self, client: str) -> tuple[int, int]:
        """(bytes held by `client`'s sessions, by all sessions)."""
        held = self.held()
        self.owners = {session: owner for session, owner in self.owners.items() if session in held}
        return sum(n for session, n in held.items() if self.owners.get(session) == client), sum(held.values())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "PUT" or not scope["path"].startswith(STREAMLIT_UPLOAD_PATH):
            return await self.app(scope, receive, send)
        client = scope_address(scope)
        session = scope["path"][len(STREAMLIT_UPLOAD_PATH):].partition("/")[0]
        arrived = 0

        def hold(n: int) -> None:
            nonlocal arrived
            try:
                self.arriving.take(client, n, *self._holding(client))
            except LimitReached as e:
                raise Refused(507, "You have uploaded as much as this server holds for one visitor; run the page (or reload it) "
                                   "to release your earlier files." if e.mine else
                                   "The server holds too many uploads right now; try again in a minute.") from None
            arrived += n

        limit = self.per_file + MULTIPART_OVERHEAD
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        first = None
        if self.memory is not None and self.memory.over():
            first = Refused(503, MemoryCap.MESSAGE)
        elif declared.isdigit() and int(declared) > limit:
            first = Refused(413, f"The file is larger than this server accepts ({self.per_file // 2**20} MB).")
        body = await body_or_refusal(receive, send, limit, hold, lambda: self.arriving.give(client, arrived), first)
        if body is None:
            return
        self.owners[session] = client
        try:
            await self.app(scope, replay(body, receive), send)
        finally:
            self.arriving.give(client, arrived)


SESSIONS_PER_CLIENT = 6  # explorer pages one address may have open at once (tabs, a household behind one router)
SESSIONS = 200  # ... and all visitors together: each holds its widget state and its last run's images
MESSAGES_PER_S, MESSAGE_BURST = 2.0, 8.0  # what one address's pages may send (reruns, widget changes)


class Sessions:
    """ASGI middleware in front of Streamlit's websocket (a page's session): at most `per_client`
    open sessions from one client and `total` from all, none while the server's memory is over its
    cap (`memory`), and each client's messages (a rerun per widget change) paced to `rate` a second,
    in bursts of `burst`. A session over the count is refused before it opens, and so is the page
    that would open it, with a page saying why (a refused websocket alone shows the browser's
    connection error); a client that sends faster waits its turn (its own pages slow down, nobody
    else's), and Streamlit runs one script per session at a time, so the work one client can queue
    is bounded by its sessions."""

    def __init__(self, app, per_client: int = SESSIONS_PER_CLIENT, total: int = SESSIONS, rate: float = MESSAGES_PER_S,
                 burst: float = MESSAGE_BURST, memory: MemoryCap | None = None):
        self.app, self.memory = app, memory
        self.open = Holdings(per_client, total)
        self.pace = Pace(rate, burst)

    def admit(self, client: str) -> tuple[int, str] | None:
        """Open a session for `client`; or (status, why) it is refused, holding nothing."""
        if self.memory is not None and self.memory.over():
            return 503, MemoryCap.MESSAGE
        try:
            self.open.take(client, 1)
        except LimitReached as e:
            return (429, f"You have {self.open.per_client} pages of this app open, as many as one visitor may; close one "
                         "and reload this page.") if e.mine else (503, "The server is full; try again later.")
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] in PAGE_PATHS:
            client = scope_address(scope)
            if refused := self.admit(client):  # the page would open a session: asked first, so a refusal can say why
                return await refuse_page(send, *refused)
            self.open.give(client, 1)
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        client = scope_address(scope)
        if refused := self.admit(client):
            return await send({"type": "websocket.close", "code": 1013, "reason": refused[1]})

        async def paced():
            message = await receive()
            if message["type"] == "websocket.receive" and (wait := self.pace.wait(client)) > 0:
                await asyncio.sleep(wait)
            return message

        try:
            await self.app(scope, paced, send)
        finally:
            self.open.give(client, 1)


PAGE_PATHS = ("/", "/index.html")  # the explorer's page (a permalink's settings are in its query)
REFUSED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Latent Studio</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem">
<h1>Latent Studio</h1><p>{}</p></body></html>"""


async def refuse_page(send, status: int, why: str) -> None:
    """A small page that says why the explorer's page was not opened."""
    body = REFUSED_PAGE.format(html.escape(why)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"retry-after", b"60"), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


QUEUED_PER_CLIENT = 2  # requests one client may have waiting or running in the Colorize & translate queue


def share_queue(queue, per_client: int = QUEUED_PER_CLIENT) -> None:
    """Share a Gradio queue between its clients: each may have at most `per_client` requests
    waiting or running (one client could otherwise fill the whole queue, and everyone else would
    get "Queue is full"; a request past that is answered at once with a message for its own
    client), and the queue is served in turns (each client's first waiting request, then each
    one's second), so a newcomer waits for at most one request of every other client."""
    push = queue.push

    def client(event) -> str:
        return request_client(event.request) if event.request is not None else "unknown"

    async def fair_push(body, request, username):
        asker = request_client(request)
        waiting = [e for q in queue.event_queue_per_concurrency_id.values() for e in q.queue]
        running = [e for job in queue.active_jobs if job for e in job]
        if sum(1 for e in waiting + running if client(e) == asker) >= per_client:
            return False, f"You already have {per_client} requests waiting; wait for them to finish.", "queue_full"
        answer = await push(body, request, username)
        for q in queue.event_queue_per_concurrency_id.values():
            turns: Counter = Counter()
            ranked = []
            for event in q.queue:
                ranked.append((turns[client(event)], event))
                turns[client(event)] += 1
            q.queue[:] = [event for _, event in sorted(ranked, key=lambda r: r[0])]  # stable: in order within a turn
        return answer

    queue.push = fair_push

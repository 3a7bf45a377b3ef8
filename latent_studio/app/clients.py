"""Who a request comes from, and each client's share of what the server holds for its visitors.

A client is an address. On a laptop it is the connection's own (the socket's peer). Behind
proxies (a Hugging Face Space runs behind one) every connection comes from the nearest proxy, and
each proxy appends the address it saw to X-Forwarded-For; only the entries our own proxies appended
can be trusted, since a client may send the header with any entries it likes. So with
LATENT_STUDIO_TRUSTED_PROXIES=N (default 0) the client is the N-th entry from the end: the address
the farthest of our N proxies saw. docs/public-mode.md says how to set N.

The shares (a few numbers kept per client and in total) bound what one client may hold at once
(`Holdings`), use within a window of time (`Window`), send per second (`Pace`) or run at once
(`Turns`), so that one
visitor reaching their limit is told so while every other visitor goes on as before.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager

TRUSTED_PROXIES = "LATENT_STUDIO_TRUSTED_PROXIES"


def trusted_proxies() -> int:
    """How many proxies in front of the server append to X-Forwarded-For (read on every call, so a
    test can switch it). A value that is not a whole number >= 0 is refused at startup by app.py."""
    value = os.environ.get(TRUSTED_PROXIES, "").strip() or "0"
    if not value.isdigit():
        raise ValueError(f"{TRUSTED_PROXIES} must be a whole number of proxies (0 without a proxy), not {value!r}")
    return int(value)


def address(forwarded: list[str], peer: str | None, proxies: int | None = None) -> str:
    """The client's address: the socket's `peer` without trusted proxies, else the entry of the
    X-Forwarded-For headers (`forwarded`, in the order received) that the farthest trusted proxy
    appended. A request with fewer entries than trusted proxies did not come through them all, and
    is taken as coming from its peer."""
    proxies = trusted_proxies() if proxies is None else proxies
    entries = [e.strip() for header in forwarded for e in header.split(",")]
    if proxies == 0 or len(entries) < proxies:
        return peer or "unknown"
    return entries[-proxies] or peer or "unknown"


def scope_address(scope: dict) -> str:
    """The client of an ASGI request or websocket."""
    forwarded = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"]
    peer = scope.get("client")
    return address(forwarded, peer[0] if peer else None)


class LimitReached(Exception):
    """A client asked for more than its share (`mine`), or than is left for everyone (not `mine`)."""

    def __init__(self, mine: bool):
        super().__init__("this client's share is used up" if mine else "the server's total is used up")
        self.mine = mine


class Holdings:
    """Units (bytes, sessions) held at once: at most `per_client` by one client, `total` by all.
    Thread-safe; a client holding nothing is forgotten, so memory follows the clients present."""

    def __init__(self, per_client: int, total: int):
        self.per_client, self.total = per_client, total
        self.held: dict[str, int] = {}
        self.sum = 0
        self.lock = threading.Lock()

    def take(self, client: str, n: int, extra_mine: int = 0, extra_all: int = 0) -> None:
        """Hold `n` more for `client` (held elsewhere: `extra_mine` by it, `extra_all` by all), or raise LimitReached."""
        with self.lock:
            if self.held.get(client, 0) + extra_mine + n > self.per_client:
                raise LimitReached(mine=True)
            if self.sum + extra_all + n > self.total:
                raise LimitReached(mine=False)
            self.held[client] = self.held.get(client, 0) + n
            self.sum += n

    def give(self, client: str, n: int) -> None:
        with self.lock:
            left = self.held.get(client, 0) - n
            if left > 0:
                self.held[client] = left
            else:
                self.held.pop(client, None)
            self.sum -= n


class Window:
    """Units used (bytes uploaded) in the last `seconds`: at most `per_client` by one client. Use
    within a second is kept as one entry and each client's total as one number, so a body counted
    piece by piece costs the same to check at its last piece as at its first."""

    def __init__(self, per_client: int, seconds: float):
        self.per_client, self.seconds = per_client, seconds
        self.used: dict[str, deque] = defaultdict(deque)  # client -> [when, units] by the second
        self.totals: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def _forget(self, client: str, now: float) -> None:
        spent = self.used[client]
        while spent and spent[0][0] < now - self.seconds:
            self.totals[client] -= spent.popleft()[1]
        if not spent:
            del self.used[client], self.totals[client]

    def take(self, client: str, n: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            if len(self.used) > 1024:  # forget clients whose use left the window: memory follows recent clients
                for other in list(self.used):
                    self._forget(other, now)
            if client in self.used:
                self._forget(client, now)
            if self.totals.get(client, 0) + n > self.per_client:
                raise LimitReached(mine=True)
            spent = self.used[client]
            if spent and now - spent[-1][0] < 1:
                spent[-1][1] += n
            else:
                spent.append([now, n])
            self.totals[client] += n


class Pace:
    """At most `rate` messages a second from one client, in bursts of up to `burst`: `wait` says how
    long a message must wait for its turn (a token bucket per client, sleeping instead of dropping,
    so a fast sender is slowed down and nothing it sent is lost)."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens: dict[str, tuple[float, float]] = {}  # client -> (tokens, when counted)
        self.lock = threading.Lock()

    def wait(self, client: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self.lock:
            tokens, then = self.tokens.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate) - 1
            self.tokens[client] = (tokens, now)
            if len(self.tokens) > 4096:  # forget clients whose bucket has filled up again
                full = now - self.burst / self.rate
                self.tokens = {c: (t, w) for c, (t, w) in self.tokens.items() if w > full}
            return max(0.0, -tokens / self.rate)


class Turns:
    """At most `per_client` of one client's jobs (its pages' script runs) at once: the others wait
    for their turn, holding a thread but no CPU, for at most `wait_s`."""

    def __init__(self, per_client: int, wait_s: float):
        self.per_client, self.wait_s = per_client, wait_s
        self.slots: dict[str, tuple[threading.Semaphore, int]] = {}  # client -> (its turns, jobs waiting or running)
        self.lock = threading.Lock()

    @contextmanager
    def turn(self, client: str) -> Iterator[bool]:
        """Wait for `client`'s turn; yields whether it came within `wait_s`."""
        with self.lock:
            slot, users = self.slots.get(client) or (threading.Semaphore(self.per_client), 0)
            self.slots[client] = (slot, users + 1)
        got = slot.acquire(timeout=self.wait_s)
        try:
            yield got
        finally:
            if got:
                slot.release()
            with self.lock:
                slot, users = self.slots[client]
                if users > 1:
                    self.slots[client] = (slot, users - 1)
                else:
                    del self.slots[client]

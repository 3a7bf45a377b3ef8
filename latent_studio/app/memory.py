"""The server's memory cap in public mode: past it no new work is taken in.

Every holder of memory a visitor can fill is bounded on its own (docs/public-mode.md lists them), but
the bounds add up to more than a small machine holds when every visitor reaches every one at once, and
a server killed for memory is down for everyone. So in public mode a new page, upload or Colorize &
translate request is refused with a message while the process's resident memory is over the cap,
and what is already running finishes; the health endpoint and the pages already open go on answering.

    LATENT_STUDIO_MEMORY_MB=3072    the cap (public mode; 0 turns it off)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from collections.abc import Callable

MEMORY_ENV = "LATENT_STUDIO_MEMORY_MB"
DEFAULT_MB = 3072  # about three times what the public server holds under the soak: room for every bounded holder at once


def resident_bytes() -> int:
    """This process's resident memory (0 where /proc cannot say: no cap is kept there)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


class MemoryCap:
    """Whether the process is over `cap` bytes of resident memory, measured at most every `every`
    seconds. Memory freed by Python and PyTorch stays in the C allocator's free lists, where it
    counts as resident, so before saying "over" the free memory is handed back to the system
    (malloc_trim) and measured again: a past peak does not refuse visitors once it is gone."""

    MESSAGE = "The server is short of memory right now; try again in a minute."

    def __init__(self, cap: int, every: float = 0.5, measure: Callable[[], int] = resident_bytes):
        self.cap, self.every, self.measure = cap, every, measure
        self.at, self.last = float("-inf"), False
        self.trim = _malloc_trim()
        self.lock = threading.Lock()

    @classmethod
    def from_env(cls) -> MemoryCap | None:
        """The cap LATENT_STUDIO_MEMORY_MB sets (DEFAULT_MB when unset; None for 0). A value that
        is not a whole number stops the server at startup with its name."""
        text = os.environ.get(MEMORY_ENV, "").strip() or str(DEFAULT_MB)
        if not text.isdigit():
            raise ValueError(f"{MEMORY_ENV} must be a whole number of megabytes (0: no cap), not {text!r}")
        return cls(int(text) * 2**20) if int(text) else None

    def over(self) -> bool:
        now = time.monotonic()
        with self.lock:
            if now - self.at < self.every:
                return self.last
            self.at = now
            over = self.measure() > self.cap
            if over and self.trim is not None:
                self.trim(0)
                over = self.measure() > self.cap
            self.last = over
            return over

"""One client's explorer pages run their scripts one at a time.

Every widget change reruns the page's script, and Streamlit runs each session's script in its own
thread, so a visitor with several pages open (or a client that opens sessions only to rerun them)
would otherwise have as many scripts competing for the two cores as it has pages. Each client
(latent_studio.app.clients, the same address the request limits use) gets one turn at a time; its
other pages wait, without CPU, and a page that waits too long says why instead of hanging.
In public mode only: on a laptop every page is the one user's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from latent_studio.app import mode
from latent_studio.app.clients import Turns, address

TURNS = Turns(per_client=1, wait_s=30.0)


def visitor() -> str:
    """The client of the session running this script."""
    return address(st.context.headers.get_all("x-forwarded-for"), st.context.ip_address)


@contextmanager
def turn() -> Iterator[None]:
    """The page's work, in its client's turn (in public mode: a laptop's one user may run many pages at once)."""
    if not mode.public():
        yield
        return
    with TURNS.turn(visitor()) as got:
        if not got:
            st.warning("Your other pages of this app are still busy, so this one did not run; reload it in a moment.")
            st.stop()
        yield

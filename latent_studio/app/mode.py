"""Public or local: the one switch for what a visitor may do to the server.

    LATENT_STUDIO_PUBLIC=1    public mode (the Docker image sets it: a Hugging Face Space)

A public Space is two vCPUs shared by every anonymous visitor, so public mode takes away what
would let one visitor reach the server's files, CPU or disk: no runs folder typed into the page
(runs are read from the shipped folder and the fixed user folder only), and no training from the
page. Training is off rather than bounded because one job holds a whole core for minutes, which
doubles every other visitor's latency, and a queue of one job lets a single visitor hold it for
everyone; anyone can still watch the shipped runs' curves and scrub through their snapshots, and
train on their own machine with the same command. Local mode (`streamlit run app.py` on a laptop)
keeps the user's own folders and the Training tab; run names and folders are still validated.
"""

from __future__ import annotations

import os

PUBLIC_ENV = "LATENT_STUDIO_PUBLIC"


def public() -> bool:
    """Whether the server runs in public mode (read on every call, so a test can switch it)."""
    return os.environ.get(PUBLIC_ENV, "").strip().lower() in {"1", "true", "yes", "on"}

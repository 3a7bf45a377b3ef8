"""The explorer's tabs. Each is a module with TITLE, available(page) and render(page), where `page`
is what the page knows this rerun (the open run, the picked entry, every run found, the folders);
latent_studio/app/page.py shows the ones that apply as tabs. Views are thin: they lay out widgets
and hand the work to plain functions in the layers below."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from latent_studio.app.runs import RunEntry
from latent_studio.families.run_models import LoadedRun


@dataclass(frozen=True)
class Page:
    run: LoadedRun | None  # the open model, loaded; None when none is picked or it failed to load
    entry: RunEntry | None  # the picked run, as the picker lists it
    entries: list[RunEntry]  # every run found
    folders: list[Path]  # where runs are found; the last is the user's own folder

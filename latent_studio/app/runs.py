"""Which runs the explorer offers: every run directory under the shipped folder and the user's.

Scanned on every page run, never cached: a run that a background job finishes, or that someone
copies in, shows up on the next click without a restart. Reading a config is one small JSON file,
so the scan stays cheap.

    LATENT_STUDIO_RUNS        shipped runs (default: checkpoints/ beside the app)
    LATENT_STUDIO_USER_RUNS   default user folder, where runs started from the page go (default: runs)
    LATENT_STUDIO_DATA        data root for training and the VAE's test set (default: data; latent_studio.data.datasets.data_root)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from latent_studio import SHIPPED
from latent_studio.families import EXPLORED, kind_of
from latent_studio.runs.config import RunConfig
from latent_studio.runs.files import CheckpointError, find_runs, read_config


def shipped_folder() -> Path:
    return Path(os.environ.get("LATENT_STUDIO_RUNS") or SHIPPED)


def default_user_folder() -> str:
    return os.environ.get("LATENT_STUDIO_USER_RUNS") or "runs"


MAX_PATH = 1024  # characters in a runs folder typed into the page


def user_folder(text: str) -> Path:
    """The runs folder a user typed (local mode), or ValueError saying why it cannot be one. An
    empty box means the default folder."""
    text = text.strip() or default_user_folder()
    if "\0" in text:
        raise ValueError("a folder name cannot contain a NUL character")
    if len(text) > MAX_PATH:
        raise ValueError(f"that path is {len(text)} characters long; the limit is {MAX_PATH}")
    path = Path(text).expanduser()
    if any(len(part.encode()) > 255 for part in path.parts):
        raise ValueError("a folder name in that path is longer than 255 bytes, which no file system allows")
    if path.exists() and not path.is_dir():
        raise ValueError("that path is a file, not a folder")
    return path


@dataclass(frozen=True)
class RunEntry:
    """One run directory as the picker shows it: its config, or why it cannot be read."""

    id: str  # its path under its folder: what the URL and the picker name it by
    path: Path
    config: RunConfig | None
    error: str | None = None

    @property
    def explorable(self) -> bool:
        return self.config is not None and kind_of(self.config.family) in EXPLORED

    @property
    def label(self) -> str:
        if self.config is None:
            return f"{self.id} (cannot be read)"
        c = self.config
        if kind_of(c.family) not in EXPLORED:
            return f"{self.id} ({c.family}: open in Colorize & translate)"
        progress = f"step {c.step}" if c.step >= c.train.steps else f"step {c.step}/{c.train.steps}"
        return f"{self.id} ({c.family} on {c.data.dataset}, {progress})"


def scan(folders: list[Path]) -> list[RunEntry]:
    """Every run under `folders`, in folder order then by path; a folder given twice counts once,
    and an id already taken by an earlier folder is kept by that folder's run."""
    entries: dict[str, RunEntry] = {}
    seen: set[Path] = set()
    for folder in folders:
        folder = Path(folder).resolve()
        if folder in seen:
            continue
        seen.add(folder)
        for path in find_runs(folder):
            run_id = path.relative_to(folder).as_posix()
            if run_id in entries:
                continue
            try:
                entries[run_id] = RunEntry(run_id, path, read_config(path))
            except CheckpointError as e:
                entries[run_id] = RunEntry(run_id, path, None, str(e))
    return list(entries.values())

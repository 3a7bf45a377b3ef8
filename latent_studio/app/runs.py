"""Which runs the explorer offers: every run directory under the shipped folder and the user's.

Scanned on every page run, never cached: a run that a background job finishes, or that someone
copies in, shows up on the next click without a restart. Reading a config is one small JSON file,
so the scan stays cheap.

    LATENT_STUDIO_RUNS        shipped runs (default: checkpoints/ beside the app)
    LATENT_STUDIO_USER_RUNS   default user folder, where runs started from the page go (default: runs)
    LATENT_STUDIO_DATA        data root for training and the VAE's test set (default: data; latent_studio.data.datasets.data_root)
    LATENT_STUDIO_HUB_RUNS    Hub model repos to offer too, by repo id ("user/name", separated by commas or spaces):
                              each is fetched into the Hugging Face cache once per process (runs.hub.resolve_run)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from latent_studio import SHIPPED
from latent_studio.families import EXPLORED, kind_of
from latent_studio.runs.config import RunConfig
from latent_studio.runs.files import CheckpointError, find_runs, read_config
from latent_studio.runs.hub import is_repo_id, resolve_run


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


def hub_repo_ids() -> list[str]:
    """The repo ids LATENT_STUDIO_HUB_RUNS lists, in order, each once."""
    return list(dict.fromkeys((os.environ.get("LATENT_STUDIO_HUB_RUNS") or "").replace(",", " ").split()))


_fetched: dict[str, Path] = {}  # repo id -> its snapshot folder: a Hub run is fetched once per process
_failed: dict[str, tuple[float, str]] = {}  # repo id -> (when, why) it could not be had
RETRY_SECONDS = 300  # a Hub run that could not be had is asked for again after this, not on every page run


def _hub_entry(repo_id: str) -> RunEntry:
    """A Hub run as the picker shows it; one that cannot be had (a bad id, offline without a cached
    copy) is listed with the reason, and asked for again after RETRY_SECONDS."""
    when, why = _failed.get(repo_id, (float("-inf"), ""))
    if repo_id not in _fetched and time.monotonic() - when < RETRY_SECONDS:
        return RunEntry(repo_id, Path(repo_id), None, why)
    try:
        if not is_repo_id(repo_id):
            raise CheckpointError(f"LATENT_STUDIO_HUB_RUNS: {repo_id[:100]!r} is not a Hub repo id (owner/name)")
        if repo_id not in _fetched:
            _fetched[repo_id] = resolve_run(repo_id)
        return RunEntry(repo_id, _fetched[repo_id], read_config(_fetched[repo_id]))
    except CheckpointError as e:
        _failed[repo_id] = (time.monotonic(), str(e))
        return RunEntry(repo_id, _fetched.get(repo_id, Path(repo_id)), None, str(e))


def scan(folders: list[Path]) -> list[RunEntry]:
    """Every run under `folders`, in folder order then by path, then the Hub runs of
    LATENT_STUDIO_HUB_RUNS by repo id; a folder given twice counts once, and an id already taken
    by an earlier folder is kept by that folder's run."""
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
    for repo_id in hub_repo_ids():
        if repo_id not in entries:
            entries[repo_id] = _hub_entry(repo_id)
    return list(entries.values())

"""Runs as Hugging Face Hub model repos: a run id that is not a local folder but reads as a repo id
("user/name") is downloaded with snapshot_download into the Hugging Face cache, which honours
HF_HOME / HF_HUB_CACHE and offline mode (HF_HUB_OFFLINE=1: the cache only, no network); and a run
directory is pushed to a model repo with its model card. Only the files a run publishes travel
either way (files.PUBLISHED), so no pickle is ever downloaded."""

from __future__ import annotations

import os
import re
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled, RepositoryNotFoundError

from latent_studio.runs.files import CARD, CONFIG, PUBLISHED, CheckpointError, published_files

REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")


def is_repo_id(text: str) -> bool:
    """Whether `text` reads as a Hub repo id, "owner/name" (the Hub's own characters and lengths)."""
    return bool(REPO_ID.fullmatch(text)) and ".." not in text and not text.endswith((".", "-"))


def resolve_run(run: str | os.PathLike) -> Path:
    """The local directory of `run`: the folder itself where it exists (a local folder wins over a
    repo of the same name), else, for a repo id, the Hub snapshot in the Hugging Face cache,
    downloaded if it is not there yet. Anything else is returned as the path it names, for the
    caller's "no config.json" message. A repo that cannot be had is a CheckpointError saying why."""
    path = Path(run)
    if path.exists() or not is_repo_id(str(run)):
        return path
    repo_id = str(run)
    try:
        folder = Path(snapshot_download(repo_id, repo_type="model", allow_patterns=list(PUBLISHED), library_name="latent-studio"))
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as e:
        raise CheckpointError(f"{repo_id} is not a local folder, and the Hugging Face cache has no copy of that Hub repo "
                              f"(offline mode, HF_HUB_OFFLINE=1, reads the cache only; or the Hub cannot be reached): {e}") from e
    except RepositoryNotFoundError as e:
        raise CheckpointError(f"{repo_id} is neither a local folder nor a model repo on the Hub (or it is private: "
                              "log in with `hf auth login` or set HF_TOKEN)") from e
    except (HfHubHTTPError, OSError) as e:
        raise CheckpointError(f"could not download the Hub repo {repo_id}: {e}") from e
    if not (folder / CONFIG).is_file():
        raise CheckpointError(f"the Hub repo {repo_id} has no {CONFIG}: it is not a Latent Studio run")
    return folder


def push_run(run: str | os.PathLike, repo_id: str, card: str, token: str | None = None, private: bool = False) -> str:
    """Upload the files `run` publishes to the model repo `repo_id` (created if needed) in one
    commit, with `card` as its README.md; the weights go through LFS/Xet, as the Hub stores
    binaries. Returns the repo's URL. Without `token`, the login saved by `hf auth login` is used."""
    run = Path(run)
    if not (run / CONFIG).is_file():
        raise CheckpointError(f"{run} is not a run directory: it has no {CONFIG}")
    if not is_repo_id(repo_id):
        raise ValueError(f"{repo_id!r} is not a Hub repo id (owner/name)")
    api = HfApi(token=token)
    url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    files = [CommitOperationAdd(rel, str(run / rel)) for rel in published_files(run) if rel != CARD]
    api.create_commit(repo_id, files + [CommitOperationAdd(CARD, card.encode())], repo_type="model",
                      commit_message=f"Upload the Latent Studio run {run.name}")
    return str(url)

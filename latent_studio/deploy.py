"""Deploy the app to a Hugging Face Space, the Hub's way: assemble exactly what the Space runs into
a folder, then upload it with huggingface_hub, which sends every binary through LFS/Xet itself.

    python -m latent_studio space OUT                                  # assemble, and say what would go up
    python -m latent_studio space OUT --repo-id user/name --token hf_...  # ... and upload it (or HF_TOKEN)

The folder holds the app's code (app.py, the latent_studio package, .streamlit/), the shipped runs
as the app reads them (the files each run publishes, its scrubber's snapshots thinned to
SPACE_SNAPSHOTS), the Dockerfile with the runtime requirements and the lockfile its `npm ci` builds
the browser runtime from, the LICENSE, a README with the Space's front matter, and a .gitattributes
that sends every binary through LFS, so a plain `git push` of the folder is accepted as well. No
tests, node_modules, local runs, caches or resume state go up. docs/deploy.md walks through it.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import HfApi

from latent_studio import PROJECT, SHIPPED
from latent_studio.runs.files import find_runs, published_files, snapshot_steps

# The project's files the Space runs, besides the package and the shipped runs.
APP_FILES = ("app.py", "Dockerfile", "LICENSE", "requirements.txt", "package.json", "package-lock.json", ".streamlit/config.toml")
PACKAGE = "latent_studio"
PACKAGE_SKIPPED = ("__pycache__", "*.pyc", "*.pyi", ".*")  # bytecode, Gradio's generated type stubs, hidden files
SPACE_SNAPSHOTS = 5  # generators per run for the checkpoint scrubber: first, last and evenly between

# The Hub's default LFS patterns (a new repo's .gitattributes), then the image types the runs and
# the app ship. huggingface_hub routes binaries through LFS/Xet whatever these say; a plain git push
# of the folder needs them.
LFS_PATTERNS = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*", "*.mlmodel", "*.model",
    "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar",
    "*.safetensors", "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst", "*tfevents*",
    "*.png", "*.jpg", "*.jpeg", "*.webp", "*.gif", "*.ico",
)

SPACE_README = """---
title: Latent Studio
emoji: 🎛️
colorFrom: indigo
colorTo: pink
sdk: docker
app_port: 8501
pinned: false
license: mit
short_description: Train, explore and use GANs in the browser
---

# Latent Studio

Explore what generative models learned: drag latent sliders, steer InfoGAN codes, interpolate,
invert your own image, and colorize or translate photos (Colorize & translate, also an API for
`gradio_client` at `/gradio/`). This Space runs in public mode: the shipped runs only, no
training from the page, capped requests.

The code is MIT-licensed (LICENSE). The shipped weights inherit their datasets' terms: runs trained
on CelebA, the anime faces, the facades, Yosemite or the colorization photos are for non-commercial
research use only; each run's model card (checkpoints/<run>/README.md) says which terms apply.
"""


@dataclass
class SpaceFolder:
    """What `assemble` wrote: every file with its size, and what it left out and why."""

    root: Path
    files: dict[str, int] = field(default_factory=dict)  # path relative to root -> bytes
    left_out: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(self.files.values())

    def through_lfs(self) -> list[str]:
        """The files the Hub stores through LFS/Xet: those .gitattributes names, and any binary."""
        return [f for f in self.files if goes_through_lfs(self.root / f)]

    def summary(self) -> str:
        lfs = self.through_lfs()
        lines = [f"{self.root}: {len(self.files)} files, {self.bytes / 1e6:.1f} MB",
                 f"  through LFS/Xet: {len(lfs)} files, {sum(self.files[f] for f in lfs) / 1e6:.1f} MB",
                 f"  as plain git text: {len(self.files) - len(lfs)} files, {(self.bytes - sum(self.files[f] for f in lfs)) / 1e6:.2f} MB"]
        by_top: dict[str, list[int]] = {}
        for name, size in self.files.items():
            top = "/".join(name.split("/")[:2]) if name.startswith("checkpoints/") else name.split("/")[0]
            by_top.setdefault(top, []).append(size)
        lines += [f"  {top:<44} {len(sizes):>4} files {sum(sizes) / 1e6:>7.2f} MB" for top, sizes in sorted(by_top.items())]
        return "\n".join(lines + ["left out:"] + [f"  {reason}" for reason in self.left_out])


def goes_through_lfs(path: Path) -> bool:
    """The Hub's rule for what git must not carry as plain text: a file matching LFS_PATTERNS, a
    binary file (a NUL byte in its first 8 kB, as git decides), or any file over 10 MB."""
    if any(fnmatch.fnmatch(path.name, pattern) for pattern in LFS_PATTERNS if "/" not in pattern):
        return True
    with open(path, "rb") as f:
        return b"\0" in f.read(8000) or path.stat().st_size > 10_000_000


def assemble(out: str | os.PathLike, project: Path = PROJECT, snapshots: int = SPACE_SNAPSHOTS) -> SpaceFolder:
    """Write the Space's folder at `out` (a new or empty folder, so nothing of the user's is
    overwritten) from the checkout at `project`."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder; the Space's folder is written into a new one")
    space = SpaceFolder(out)
    for name in APP_FILES:
        _copy(project / name, out, name, space)
    for path in sorted((project / PACKAGE).rglob("*")):
        rel = path.relative_to(project)
        if path.is_file() and not any(fnmatch.fnmatch(part, skip) for part in rel.parts for skip in PACKAGE_SKIPPED):
            _copy(path, out, rel.as_posix(), space)
    shipped = project / SHIPPED.relative_to(PROJECT)
    runs = find_runs(shipped)
    for run in runs:
        kept = _thinned(snapshot_steps(run), snapshots)
        dropped = 0
        for rel in published_files(run):
            if rel.startswith("snapshots/") and int(Path(rel).stem.rsplit("_", 1)[1]) not in kept:
                dropped += (run / rel).stat().st_size
                continue
            _copy(run / rel, out, (run / rel).relative_to(project).as_posix(), space)
        if dropped:
            n = len(snapshot_steps(run)) - len(kept)
            space.left_out.append(f"{run.relative_to(project)}: {n} scrubber snapshot{'s' * (n > 1)} "
                                  f"beyond {snapshots} ({dropped / 1e6:.1f} MB)")
    (out / "README.md").write_text(SPACE_README)
    (out / ".gitattributes").write_text("".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in LFS_PATTERNS))
    space.files |= {"README.md": len(SPACE_README.encode()), ".gitattributes": (out / ".gitattributes").stat().st_size}
    shipped_left = sorted({p.relative_to(project).as_posix() for p in shipped.iterdir()}
                          - {r.relative_to(project).parts[0] + "/" + r.relative_to(project).parts[1] for r in runs})
    space.left_out += [f"{name} (not read by the app: training and evaluation only)" for name in shipped_left]
    taken = {name.split("/")[0] for name in APP_FILES} | {PACKAGE, shipped.name}
    space.left_out += [f"{p.name}{'/' if p.is_dir() else ''}" + (" (the Space has its own)" if p.name == "README.md" else "")
                       for p in sorted(project.iterdir()) if p.name not in taken]
    return space


def _thinned(steps: list[int], keep: int) -> set[int]:
    """At most `keep` of `steps`: the first, the last and evenly spaced between."""
    if len(steps) <= keep:
        return set(steps)
    return {steps[round(i * (len(steps) - 1) / (keep - 1))] for i in range(keep)}


def _copy(source: Path, out: Path, rel: str, space: SpaceFolder) -> None:
    if not source.is_file():
        raise FileNotFoundError(f"{source} is missing: the Space needs it")
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, out / rel)
    space.files[rel] = source.stat().st_size


def upload(space: SpaceFolder, repo_id: str, token: str, private: bool = False) -> str:
    """Create the Docker Space `repo_id` if needed and make its files exactly the folder's, in one
    commit (files a previous deploy left that the folder no longer has are deleted). Returns its URL."""
    api = HfApi(token=token)
    url = api.create_repo(repo_id, repo_type="space", space_sdk="docker", private=private, exist_ok=True)
    api.upload_folder(folder_path=space.root, repo_id=repo_id, repo_type="space", delete_patterns="*",
                      commit_message="Deploy Latent Studio")
    return str(url)

"""Run directories: the contract between the trainer and the UI (docs/architecture.md).

    <run>/config.json          RunConfig: everything needed to rebuild the model
    <run>/<module>.safetensors weights the UI loads (the family's `exported` modules), one file each
    <run>/state.pt             full training state for --resume (never shipped)
    <run>/metrics.jsonl        one JSON object per logged step
    <run>/samples/step_N.png   the fixed-noise grid at each snapshot
    <run>/snapshots/generator*_step_N.safetensors   generators at each snapshot (the scrubber)

Every file is written to a temporary name and then renamed, so a killed trainer never leaves a
half-written file for the UI to read. Weights are read without pickle; resume state is read with
`weights_only=True`, which refuses pickled code.
"""

from __future__ import annotations

import fnmatch
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from latent_studio.runs.config import FORMAT_VERSION, ConfigError, RunConfig

CONFIG = "config.json"
STATE = "state.pt"
METRICS = "metrics.jsonl"
DIRECTIONS = "directions.safetensors"  # face attribute directions, written by `evaluate`
DISCOVERED = "discovered.safetensors"  # directions found without labels and named by the judges, written by `evaluate`
ENCODED_TEST = "encoded_test.safetensors"  # a 2-D VAE's encoded test set (means, labels), written by `evaluate`
TEST_DIGITS = "test_digits.safetensors"  # held-out digits a PixelCNN completes in the explorer, written by `evaluate`


CARD = "README.md"  # the run's Hub model card (latent_studio.runs.cards.hub_card)
# What a run publishes (to the Hub, to a Space): what the app and load_run read, never the resume
# state, logs or temporary files. Patterns over paths relative to the run, as fnmatch and the Hub's
# allow_patterns read them.
PUBLISHED = (CONFIG, METRICS, CARD, "*.safetensors", "*.onnx", "*.png", "samples/step_*.png", "snapshots/*.safetensors")


class CheckpointError(ValueError):
    """A run directory that cannot be loaded; the message names the file and the problem."""


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_temp_files(run: Path) -> None:
    """Delete what atomic_write left behind in `run` when its process was killed mid-write."""
    for folder in (run, run / "samples", run / "snapshots"):
        for tmp in Path(folder).glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def write_json(path: Path, obj: dict) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2) + "\n"))




# --- writing -------------------------------------------------------------------------------------


def save_weights(path: Path, module: nn.Module, dtype: str = "float32") -> None:
    """`module`'s tensors as one safetensors file at `path`, whatever its size: the Hub stores large
    files through LFS/Xet (docs/deploy.md). Parts an older version split the file into are removed
    after it is written, so they are never read beside it."""
    cast = getattr(torch, dtype)
    tensors = {k: (v.to(cast) if v.is_floating_point() else v).detach().cpu().contiguous() for k, v in module.state_dict().items()}
    atomic_write(path, lambda tmp: tmp.write_bytes(save_safetensors(tensors, metadata={"format": "pt"})))
    for stale in Path(path).parent.glob(Path(path).name + ".part*"):
        stale.unlink()


def _part(path: Path, i: int) -> Path:
    return Path(path).with_name(f"{Path(path).name}.part{i}")


def _metadata(data: bytes) -> dict[str, str]:
    """The __metadata__ of a safetensors file's header (8-byte little-endian length, then JSON)."""
    length = int.from_bytes(data[:8], "little")
    try:
        return json.loads(data[8:8 + length]).get("__metadata__") or {}
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return {}


def published_files(run: Path) -> list[str]:
    """The run's files that PUBLISHED names, as sorted paths relative to the run: the run itself
    and its samples/ and snapshots/, no deeper, no hidden files, no symbolic links."""
    run = Path(run)
    found = []
    for folder in (run, run / "samples", run / "snapshots"):
        for path in folder.glob("*") if folder.is_dir() and not folder.is_symlink() else ():
            rel = path.relative_to(run).as_posix()
            if path.is_file() and not path.is_symlink() and not path.name.startswith(".") and _published(rel):
                found.append(rel)
    return sorted(found)


def _published(rel: str) -> bool:
    return any(fnmatch.fnmatchcase(rel, pattern) and ("/" in rel) == ("/" in pattern) for pattern in PUBLISHED)


def snapshot_path(run: Path, step: int, module: str = "generator") -> Path:
    return Path(run) / "snapshots" / f"{module}_step_{step}.safetensors"


def snapshot_steps(run: Path) -> list[int]:
    """The steps whose generator was kept, ascending."""
    return sorted({int(p.stem.rsplit("_", 1)[1]) for p in (Path(run) / "snapshots").glob("generator*_step_*.safetensors")})




def record_metrics(run: str | os.PathLike, metrics: dict) -> None:
    """Merge `metrics` into the metrics of the run's config.json (what `evaluate` measured), leaving
    the rest of the file as it is."""
    path = Path(run) / CONFIG
    raw = json.loads(path.read_text())
    raw.setdefault("metrics", {}).update(metrics)
    write_json(path, raw)


# --- reading -------------------------------------------------------------------------------------


def read_config(run: Path) -> RunConfig:
    """Parse and validate config.json: present, JSON, a format we read, the schema's types and
    ranges. Whether its family is installed is the families layer's question (read_known_config)."""
    path = Path(run) / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{run} is not a run directory: it has no {CONFIG}")
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e}); the file is damaged or truncated") from e
    if not isinstance(raw, dict) or not isinstance(raw.get("family"), str):
        raise CheckpointError(f"{path} has no 'family': it is not a Latent Studio run config")
    version = raw.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format_version {version}, newer than this version of Latent Studio reads "
            f"({FORMAT_VERSION}); upgrade Latent Studio to load it"
        )
    try:
        return RunConfig.from_dict(raw)
    except ConfigError as e:
        raise CheckpointError(f"{path} does not fit the run config schema: {e}") from e


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a .safetensors file; a truncated or non-safetensors file (a pickle, say) is refused.
    Weights an older version split into parts (the first file's metadata says how many, the rest
    follow as path.part2, path.part3, ...) are read whole; save_weights writes them back as one file."""
    tensors, parts = _read_one(path)
    for i in range(2, parts + 1):
        tensors.update(_read_one(_part(path, i))[0])
    return tensors


def _read_one(path: Path) -> tuple[dict[str, torch.Tensor], int]:
    """One weights file's tensors, and how many parts its metadata says the weights have."""
    if not path.is_file():
        raise CheckpointError(f"missing weights: {path}")
    data = path.read_bytes()
    try:
        tensors = load_safetensors(data)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise CheckpointError(
            f"{path} is not a valid safetensors file (truncated, corrupt, or another format such as a pickle): {e}"
        ) from e
    parts = _metadata(data).get("parts", "1")
    if not parts.isdigit() or not 1 <= int(parts) <= 100:
        raise CheckpointError(f"{path} says its weights have {parts[:20]!r} parts; expected a number from 1 to 100")
    return tensors, int(parts)


def load_weights(module: nn.Module, path: Path) -> None:
    """Load weights into `module`, refusing any missing, extra, differently shaped or non-finite tensor."""
    tensors = read_weights(path)
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{path.name} does not match the model built from config.json: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected {extra[:5]}{'...' if len(extra) > 5 else ''}"
        )
    for key, value in tensors.items():
        if value.shape != expected[key].shape:
            raise CheckpointError(
                f"{path.name} does not match config.json: {key!r} has shape {list(value.shape)} in the file "
                f"but {list(expected[key].shape)} in the model config.json describes"
            )
        if value.is_floating_point() and not torch.isfinite(value).all():  # would draw an all-black image as if it worked
            raise CheckpointError(f"{path.name}: {key!r} holds values that are not finite (NaN or infinity); the weights are damaged")
    module.load_state_dict(tensors)  # copies, casting float16 files to the model's float32


def warm_start(modules: nn.ModuleDict, run: Path, names: tuple[str, ...]) -> None:
    """Start `modules` from the shipped networks of another run (a fine-tune): each of `names`
    loads `run/<name>.safetensors`, which must match the architecture exactly; the networks a run
    does not ship (its discriminators) start fresh. Safetensors only: never a pickle."""
    for name in names:
        path = run / f"{name}.safetensors"
        if not path.is_file():
            raise CheckpointError(f"train.init_from: {run} has no {path.name} to start {name} from")
        load_weights(modules[name], path)




def load_state(run: Path) -> dict:
    """The resume state, loaded without running pickled code."""
    path = Path(run) / STATE
    if not path.is_file():
        raise CheckpointError(f"cannot resume: {path} does not exist (the run never reached a snapshot)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError, RuntimeError or EOFError here
        raise CheckpointError(f"{path} cannot be loaded safely (truncated, corrupt, or holds pickled code): {e}") from e


def read_metrics(run: Path) -> list[dict]:
    """metrics.jsonl as a list; a partly written last line (the trainer is mid-write) is skipped."""
    path = Path(run) / METRICS
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


MAX_DEPTH = 3  # runs/NAME, runs/GROUP/NAME, runs/GROUP/SUB/NAME
MAX_RUNS = 1000


def find_runs(root: str | os.PathLike, max_depth: int = MAX_DEPTH, max_runs: int = MAX_RUNS) -> list[Path]:
    """Run directories (folders with config.json) at or below `root`, sorted by path.

    The walk is bounded, so a folder such as / costs milliseconds, not a scan of the whole disk:
    at most `max_depth` levels below `root`, no hidden folders, no symbolic links followed, and
    at most `max_runs` runs. A run's own subfolders (samples/, snapshots/) are not searched."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs: list[Path] = []
    for folder, subfolders, files in os.walk(root, onerror=lambda e: None):
        if CONFIG in files:
            runs.append(Path(folder))
            if len(runs) >= max_runs:
                break
        deeper = CONFIG not in files and len(Path(folder).relative_to(root).parts) < max_depth
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")) if deeper else []
    return sorted(runs)

"""A run's networks on disk and back: the family a config names builds the networks, the run's
safetensors fill them; saving writes the family's exported networks and then config.json."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from latent_studio.families import Family, UnknownFamily, get_family
from latent_studio.families.device import best_device
from latent_studio.runs.config import RunConfig
from latent_studio.runs.files import (
    CONFIG,
    STATE,
    CheckpointError,
    atomic_write,
    load_weights,
    read_config,
    save_weights,
    snapshot_path,
    write_json,
)
from latent_studio.runs.hub import resolve_run


def save_run(run: Path, cfg: RunConfig, modules: nn.ModuleDict, state: dict | None = None, keep_snapshot: bool = True) -> None:
    """Write the UI's weights, the resume state (if given), then config.json last: config.json's
    step never runs ahead of the weights beside it. With keep_snapshot (and the run's
    keep_snapshots), the generators are also kept under snapshots/ for the scrubber."""
    run = Path(run)
    family = get_family(cfg.family)
    if keep_snapshot and cfg.train.keep_snapshots:
        for name in family.exported:
            if name.startswith("generator"):
                save_weights(snapshot_path(run, cfg.step, name), modules[name], cfg.train.weights_dtype)
    for name in family.exported:
        save_weights(run / f"{name}.safetensors", modules[name], cfg.train.weights_dtype)
    if state is not None:
        atomic_write(run / STATE, lambda tmp: torch.save(state, tmp))
    write_json(run / CONFIG, cfg.to_dict())


def read_known_config(run: str | os.PathLike) -> RunConfig:
    """config.json as read_config reads it, and a family this installation knows: what a run
    listing shows as the run's problem, rather than failing later when the model is built."""
    cfg = read_config(Path(run))
    try:
        get_family(cfg.family)
    except UnknownFamily as e:
        raise CheckpointError(f"{Path(run) / CONFIG}: {e}") from e
    return cfg


@dataclass
class LoadedRun:
    """A run rebuilt for inference: its config, its family and the exported modules in eval mode."""

    path: Path
    config: RunConfig
    family: Family
    modules: nn.ModuleDict
    device: torch.device


def load_run(run: str | os.PathLike, device: str | torch.device | None = None, step: int | None = None) -> LoadedRun:
    """Rebuild a run's model from its directory alone, on the best device, in eval mode; with
    `step`, the generator is the one kept at that snapshot. `run` is a folder or a Hub repo id
    ("user/name", fetched into the Hugging Face cache: runs.hub.resolve_run)."""
    run = resolve_run(run)
    cfg = read_known_config(run)
    family = get_family(cfg.family)(cfg)
    try:
        built = family.build()
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{run / CONFIG} describes a model that cannot be built: {e}") from e
    modules = nn.ModuleDict({name: built[name] for name in family.exported})
    for name, module in modules.items():
        kept = step is not None and name.startswith("generator")
        load_weights(module, snapshot_path(run, step, name) if kept else run / f"{name}.safetensors")
    device = torch.device(device) if device is not None else best_device()
    modules.to(device).eval()
    return LoadedRun(run, cfg, family, modules, device)

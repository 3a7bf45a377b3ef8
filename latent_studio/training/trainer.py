"""The one training loop. Families supply networks and a step; this file supplies everything
else: data, device, mixed precision, logging, failure warnings, snapshots, resume, clean stops."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from torchvision.utils import save_image
from tqdm import tqdm

from latent_studio.data.datasets import dataset_spec, load_dataset
from latent_studio.families import LATENT, Family, StepContext, get_family, precision
from latent_studio.families.device import hardware
from latent_studio.families.run_models import save_run
from latent_studio.runs import files
from latent_studio.runs.cards import model_card
from latent_studio.runs.config import RunConfig, merge
from latent_studio.runs.files import CONFIG, METRICS, STATE, CheckpointError, atomic_write, load_state, read_config
from latent_studio.training import distributed, ema
from latent_studio.training.monitor import FailureMonitor
from latent_studio.training.presets import PRESETS


class RunExists(FileExistsError):
    pass


@dataclass
class TrainResult:
    config: RunConfig  # as written to config.json
    modules: nn.ModuleDict  # every network as shipped (the generator's average, with train.ema), in this process


def new_config(
    family: str | None, dataset: str | None, steps: int, preset: str | None = None, image_size: int | None = None,
    dataset_path: str | None = None, seed: int = 0, overrides: list[dict] = (),
) -> RunConfig:
    """A fresh RunConfig: family defaults, then the preset, then flags, then --set overrides."""
    p = None
    if preset:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; known presets: {', '.join(PRESETS)}")
        p = PRESETS[preset]
        if family and p.family and family != p.family:
            raise ValueError(f"preset {preset!r} is for {p.family}, not {family}")
        family, dataset = p.family or family, dataset or p.dataset
    if not family:
        raise ValueError("choose a model with --model (or a --preset)")
    cls = get_family(family)
    data = dataset_spec(dataset or "fake", image_size, path=dataset_path)
    d = merge(RunConfig(family=family, data=data, seed=seed, card=model_card(data.dataset)).to_dict(), cls.defaults(data))
    if p:  # a preset's networks replace the family's whole (a conv width means nothing to an MLP)
        d = merge(d, {k: v for k, v in p.overrides.items() if k != "arch"})
        d["arch"].update(p.overrides.get("arch", {}))
        d["preset"] = preset
    d["train"]["steps"] = steps
    for o in overrides:
        d = merge(d, o)
    return RunConfig.from_dict(d)


def _batches(dataset: Dataset, cfg: RunConfig, world: distributed.World) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless shuffled batches on the device; each rank reads its own shard."""
    t = cfg.train
    if len(dataset) < t.batch_size * world.size:
        raise ValueError(f"the dataset has {len(dataset)} examples, fewer than one batch ({t.batch_size} x {world.size} ranks)")
    sampler = DistributedSampler(dataset, world.size, world.rank, shuffle=True, seed=cfg.seed, drop_last=True) if world.size > 1 else None
    loader = DataLoader(
        dataset, t.batch_size, shuffle=sampler is None, sampler=sampler, drop_last=True, num_workers=t.workers,
        generator=torch.Generator().manual_seed(cfg.seed), pin_memory=world.device.type == "cuda", persistent_workers=t.workers > 0,
    )
    epoch = 0
    while True:
        if sampler is not None:
            sampler.set_epoch(epoch)
        for batch in loader:  # (images, labels), (source, target), or with a third item when a family adds one
            yield tuple(precision.to_memory_format(x.to(world.device, non_blocking=True), t) for x in batch)
        epoch += 1


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C and the app's Stop button


class StopFlag:
    """Set by SIGINT/SIGTERM: the loop finishes its step, writes a checkpoint and returns."""

    def __init__(self):
        self.requested = False
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                signal.signal(sig, self._handle)
            # the command line holds both signals through start-up; one that came meanwhile lands here, as a flag
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def _handle(self, signum, frame) -> None:
        self.requested = True


def grid_columns(cfg: RunConfig) -> int:
    """Columns of the sample grid: one per class or categorical value, so each column is one; else 8."""
    return cfg.latent.num_classes or (cfg.latent.categorical[0] if cfg.latent.categorical else 8)


def grid_images(cfg: RunConfig) -> int:
    """Images in the sample grid: train.grid_size rounded down to whole rows of grid_columns."""
    return cfg.train.grid_size - cfg.train.grid_size % grid_columns(cfg)




def train(
    cfg: RunConfig, out: str | Path, resume: bool = False, data_root: str | None = None, download: bool = False,
    device: str | None = None, progress: bool = True, command: str | None = None,
) -> TrainResult:
    """Train `cfg` into the run directory `out` (or continue it with resume=True). Under torchrun
    each rank trains its shard and rank 0 writes the run directory."""
    out = Path(out)
    stop = StopFlag()  # from here on Ctrl-C or SIGTERM stops cleanly, even before the first step
    if stop.requested:  # stopped during start-up: nothing is written
        return TrainResult(cfg, nn.ModuleDict())
    world = distributed.setup(device)
    cfg, state = _start_or_resume(cfg, out, resume, command)
    torch.manual_seed(cfg.seed * 1000 + world.rank)  # ranks draw different noise
    family = get_family(cfg.family)(cfg)
    modules = precision.prepare(family.build().to(world.device), cfg.train)
    if state is None and cfg.train.init_from:
        family.warm_start(modules, Path(cfg.train.init_from))
        cfg.card["started_from"] = started_from(Path(cfg.train.init_from))
    optimizers = family.make_optimizers(modules)
    if cfg.train.ema:
        ema.attach(modules, cfg.train.frozen)  # before restoring: the resume state holds the average too
    start = _restore(out, state, modules, optimizers)
    distributed.broadcast_module(modules)

    dataset = load_dataset(cfg.data, data_root, "train", download)
    dataset = family.training_data(dataset, getattr(dataset, "targets", None))
    cfg.data.size = len(dataset)
    batches = _batches(dataset, cfg, world)
    ctx = StepContext(world.device, optimizers, lambda: next(batches), distributed.average_gradients,
                      precision.autocast_dtype(cfg.train, world.device))
    fixed = family.fixed_inputs(dataset, grid_images(cfg), world.device)
    monitor = FailureMonitor()
    if world.is_main:
        _prepare_directory(out, cfg, world, resumed_at=start if state is not None else None)
    run = _Run(out, cfg, world, family, modules, optimizers, fixed, data_root, cfg.card.get("train_seconds", 0.0))

    t = cfg.train
    sums: dict[str, float] = {}
    count, tick = 0, time.perf_counter()
    run.started = saved_at = tick
    bar = tqdm(total=t.steps, initial=start, disable=not (progress and world.is_main), desc=f"{cfg.family} {out.name}", unit="step")
    family.train_mode(modules)
    step = start
    while step < t.steps and not stop.requested:
        ctx.step = step
        metrics = family.train_step(modules, ctx)
        if t.ema:
            ema.update(modules, t.ema, step)
        step += 1
        count += 1
        for k, v in metrics.items():
            sums[k] = sums.get(k, 0.0) + v  # tensors: no device sync until we log
        bar.update(1)
        if step % t.log_every == 0 or step == t.steps or stop.requested:
            now = time.perf_counter()
            row = _log_row(run, monitor, batches, step, sums, count, now - tick)
            if world.is_main:
                _write_log_row(run, row, bar)
            sums, count, tick = {}, 0, now
        if step % t.snapshot_every == 0 or step == t.steps or stop.requested:
            _snapshot(run, step, final=step == t.steps)
            saved_at = time.perf_counter()
        elif time.perf_counter() - saved_at >= t.checkpoint_seconds:  # a kill -9 loses at most this much
            _snapshot(run, step, final=False, grid=False)
            saved_at = time.perf_counter()
    bar.close()
    distributed.teardown()
    return TrainResult(cfg, ema.shipped(modules))


def _start_or_resume(cfg: RunConfig, out: Path, resume: bool, command: str | None) -> tuple[RunConfig, dict | None]:
    """The config to train and, on resume, the saved training state. A resumed run keeps its own
    config (only the step target may grow to `cfg`'s); a new run never overwrites one in `out`."""
    state = None
    if resume:
        saved = saved_config(out)
        saved.train.steps = max(cfg.train.steps, saved.step)
        cfg, state = saved, load_state(out)
    elif (out / CONFIG).exists():
        raise RunExists(f"{out} already holds a run; pass --resume to continue it, or choose another --out")
    if command and resume:  # the command that started the run stays; each resume is added
        cfg.card.setdefault("resumed_with", []).append(command)
    elif command:
        cfg.card["command"] = command
    return cfg, state


def started_from(run: Path) -> dict:
    """What a fine-tune's card records of the run it starts from: its path, and the command,
    hardware and time that trained it, so the card still tells the whole cost and recipe after
    that run has moved or been replaced."""
    card = read_config(run).card
    return {"run": str(run), **{key: card[key] for key in ("command", "hardware", "train_seconds") if key in card}}


def _restore(out: Path, state: dict | None, modules: nn.ModuleDict, optimizers: dict[str, torch.optim.Optimizer]) -> int:
    """Load the networks, optimizers and RNG saved in `state`; the step to continue from (0 without state)."""
    if state is None:
        return 0
    try:
        modules.load_state_dict(state["modules"])
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
    except (KeyError, RuntimeError, ValueError) as e:
        raise CheckpointError(f"{out / STATE} does not match {CONFIG}: {e}") from e
    torch.set_rng_state(state["rng"])
    return int(state["step"])


def _prepare_directory(out: Path, cfg: RunConfig, world: distributed.World, resumed_at: int | None) -> None:
    """Rank 0, before the first step: the run directory without what a killed process left in it,
    and the card's hardware and precision (kept from the first session on resume)."""
    out.mkdir(parents=True, exist_ok=True)
    files.remove_temp_files(out)  # left by a process killed mid-write
    if resumed_at is not None:
        _drop_metrics_after(out, resumed_at)  # steps after the checkpoint are trained again
    cfg.card.setdefault("hardware", hardware(world.device) + (f" x {world.size}" if world.size > 1 else ""))
    cfg.card.setdefault("precision", precision.describe(cfg.train, world.device))


@dataclass
class _Run:
    """What logging and snapshots need of the run being trained."""

    out: Path
    cfg: RunConfig
    world: distributed.World
    family: Family
    modules: nn.ModuleDict
    optimizers: dict[str, torch.optim.Optimizer]
    fixed: Any  # the family's fixed_inputs: what every sample grid renders
    data_root: str | None
    seconds_before: float  # train_seconds of the sessions before this one (resume)
    started: float = 0.0  # time.perf_counter() when this session's loop began

    def render_fixed(self) -> torch.Tensor:
        """The fixed inputs through the networks in eval mode, as the sample grid shows them."""
        self.modules.eval()
        with torch.inference_mode():
            images = self.family.render(ema.shipped(self.modules), self.fixed)
        self.family.train_mode(self.modules)
        return images


def _log_row(run: _Run, monitor: FailureMonitor, batches: Iterator[tuple[torch.Tensor, torch.Tensor]], step: int,
             sums: dict[str, float], count: int, seconds: float) -> dict:
    """The metrics.jsonl row for the `count` steps up to `step`: mean losses, throughput, and any
    failure warnings from the fixed inputs' render beside a real batch."""
    t = run.cfg.train
    row = {k: round(float(v) / count, 5) for k, v in sums.items()}
    row["images_per_s"] = round(count * t.batch_size * t.n_critic * run.world.size / seconds, 1)
    fake = run.render_fixed() if run.family.monitored else None
    warnings = monitor.update(step, row, fake, None if fake is None else _real_images(batches, len(fake)))
    row = {"step": step, **row}
    if warnings:
        row["warnings"] = warnings
    return row


def _real_images(batches: Iterator[tuple[torch.Tensor, torch.Tensor]], n: int) -> torch.Tensor:
    """`n` real training images to set the renders' diversity against, from as many batches as
    that takes: one batch of a CycleGAN holds a single photo, whose spread with itself is zero."""
    parts, count = [], 0
    while count < n:
        parts.append(next(batches)[0])
        count += len(parts[-1])
    return torch.cat(parts)[:n]


def _write_log_row(run: _Run, row: dict, bar: tqdm) -> None:
    """Rank 0: append `row` to metrics.jsonl, show it on the progress bar, and keep its numbers as
    the run's latest metrics (config.json at the next checkpoint)."""
    with open(run.out / METRICS, "a") as f:
        f.write(json.dumps(row) + "\n")
    bar.set_postfix({k: row[k] for k in ("d_loss", "g_loss", "loss") if k in row})
    for w in row.get("warnings", []):
        bar.write(f"warning at step {row['step']}: {w}")
    run.cfg.metrics.update({k: v for k, v in row.items() if k not in ("step", "warnings")})


def _snapshot(run: _Run, step: int, final: bool, grid: bool = True) -> None:
    """Weights, resume state and config.json at `step`; with `grid`, also the sample grid and the
    generator kept for the scrubber (a timed checkpoint between snapshots writes neither). The
    final snapshot also records the family's test-split metrics."""
    cfg, modules = run.cfg, run.modules
    distributed.average_buffers(modules)
    if not run.world.is_main:
        return
    if ema.EMA in modules and run.family.kind == LATENT:  # BatchNorm statistics of the average itself (ema.recalibrate)
        ema.recalibrate(modules, lambda rng: cfg.latent.sample(cfg.train.batch_size, rng).generator_input().to(run.world.device))
    shipped = ema.shipped(modules)
    if grid:
        modules.eval()
        with torch.inference_mode():
            images = run.family.render(shipped, run.fixed).float()
            if final:
                cfg.metrics.update(run.family.evaluate(shipped, _test_batches(cfg, run.data_root, run.world.device)))
        run.family.train_mode(modules)
        atomic_write(run.out / "samples" / f"step_{step}.png",
                     lambda tmp: save_image(images.cpu(), tmp, nrow=grid_columns(cfg), normalize=True, value_range=(-1, 1), format="png"))
    cfg.step = step
    cfg.card["train_seconds"] = round(run.seconds_before + time.perf_counter() - run.started, 1)
    state = {"step": step, "modules": modules.state_dict(), "rng": torch.get_rng_state(),
             "optimizers": {k: o.state_dict() for k, o in run.optimizers.items()}}
    save_run(run.out, cfg, shipped, state, keep_snapshot=grid)
    if final and run.family.kind == LATENT:  # the browser's sliders run this file (latent_studio.inference.onnx_export)
        from latent_studio.inference.onnx_export import export_report

        report = export_report(run.out)
        if report.startswith("not exported"):
            tqdm.write(f"{run.out}: generator.onnx {report}; the explorer renders this run on the server")


def saved_config(out: Path) -> RunConfig:
    """The config of the run to resume in `out`, or a CheckpointError saying why there is none."""
    if not (Path(out) / CONFIG).exists():
        raise CheckpointError(f"cannot resume {out}: it holds no checkpoint yet (no {CONFIG}); start it without --resume")
    return read_config(out)


def _drop_metrics_after(run: Path, step: int) -> None:
    """Keep metrics.jsonl rows up to `step`: a resumed run logs the later steps again."""
    rows = [r for r in files.read_metrics(run) if isinstance(r.get("step"), int) and r["step"] <= step]
    atomic_write(run / METRICS, lambda tmp: tmp.write_text("".join(json.dumps(r) + "\n" for r in rows)))


def _test_batches(cfg: RunConfig, data_root: str | None, device: torch.device, batch_size: int = 500):
    """Batches of the test split, for a family's end-of-training evaluation."""
    dataset = load_dataset(cfg.data, data_root, "test")
    for x, y in DataLoader(dataset, batch_size):
        yield x.to(device), y.to(device)

"""Training from the page: the arguments of a background job (latent_studio.training.jobs), a free run name,
the runs started there, and the loss curves of a run's metrics.jsonl."""

from __future__ import annotations

import re
from pathlib import Path

import plotly.graph_objects as go

from latent_studio.runs.config import parse_override
from latent_studio.training.jobs import JOB
from latent_studio.training.trainer import new_config

# Curves drawn from the start (a GAN's two losses, a single-loss model's, a distillation's); the
# other logged numbers are one legend click away.
MAIN_CURVES = ("d_loss", "g_loss", "loss", "distill")
NOT_CURVES = ("step", "warnings", "images_per_s")


def train_args(model: str, dataset: str, steps: int, data_root: str, preset: str | None = None, settings: str = "") -> list[str]:
    """CLI arguments of `python -m latent_studio train` (without --out) for a run set up on the page.

    `settings` holds space-separated KEY=VALUE overrides (--set); a malformed one, or one the run
    config's schema refuses, raises ValueError here, before any process starts, so the page can
    say what is wrong.
    """
    args = ["--model", model, "--dataset", dataset, "--steps", str(steps), "--data-root", data_root]
    if preset:
        args += ["--preset", preset]
    overrides = []
    for item in settings.split():
        overrides.append(parse_override(item))
        args += ["--set", item]
    new_config(model, dataset, steps, preset, overrides=overrides)  # the whole config checked against its schema now
    return args


RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def run_dir(folder: Path, name: str) -> Path:
    """The run directory `name` names inside `folder`: one path component of letters, digits, '.',
    '_' and '-' (up to 64, starting with a letter or digit), so no name reaches outside `folder`."""
    if not RUN_NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError("a run name is up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    path = Path(folder) / name
    if path.resolve().parent != Path(folder).resolve():  # a symbolic link named like a run
        raise ValueError(f"{name!r} leads outside the runs folder")
    return path


def free_name(folder: Path, base: str) -> str:
    """`base`, or `base-2`, `base-3`, ... : the first name not taken in `folder`."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "run"
    name, n = base, 1
    while (Path(folder) / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def started_runs(folder: Path) -> list[Path]:
    """Run directories under `folder` that a background job trained, the newest first."""
    jobs = Path(folder).glob(f"**/{JOB}") if Path(folder).is_dir() else []
    return [p.parent for p in sorted(jobs, key=lambda p: p.stat().st_mtime, reverse=True)]


def loss_figure(metrics: list[dict]) -> go.Figure:
    """One line per logged number against the step; the main losses shown, the rest in the legend."""
    keys = [k for k in dict.fromkeys(k for row in metrics for k in row) if k not in NOT_CURVES]
    figure = go.Figure()
    for key in keys:
        rows = [r for r in metrics if isinstance(r.get(key), (int, float))]
        figure.add_trace(go.Scatter(x=[r["step"] for r in rows], y=[r[key] for r in rows], mode="lines", name=key,
                                    visible=True if key in MAIN_CURVES else "legendonly"))
    figure.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="step", title="Losses")
    return figure


def latest_samples(run: Path) -> tuple[int, Path] | None:
    """(step, path) of the newest samples/step_N.png, or None before the first snapshot."""
    grids = [(int(p.stem.split("_")[1]), p) for p in (Path(run) / "samples").glob("step_*.png") if p.stem.split("_")[1].isdigit()]
    return max(grids) if grids else None

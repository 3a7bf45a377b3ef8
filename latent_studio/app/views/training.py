"""Training from the page: start a background run into the user folder, watch its progress, loss
curves and sample grid while it trains, stop it, and scrub through its saved checkpoints.

The page reads a job only through its run directory (latent_studio.training.jobs), so a reload or a second tab
sees the same job. A running job's panel refreshes itself every few seconds (a fragment); when
the job ends the whole page reruns, so the finished run is in the model picker at once.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from latent_studio.app import mode, models, session
from latent_studio.app.training_runs import free_name, latest_samples, loss_figure, run_dir, started_runs, train_args
from latent_studio.app.views import Page, show
from latent_studio.data.datasets import DATASETS, data_root
from latent_studio.families import LATENT, family_names, kind_of
from latent_studio.runs.files import CONFIG, CheckpointError, read_config, snapshot_steps
from latent_studio.training import jobs
from latent_studio.training.presets import PRESETS
from latent_studio.training.trainer import grid_columns, grid_images

TITLE = "Training"
REFRESH_SECONDS = 2.0
WATCH, MESSAGE = "watch_run", "training_message"
NO_PRESET = "(tuned defaults)"
# Datasets of single images, what the latent families train on (pix2pix and CycleGAN read image
# pairs and domains; a folder needs a path the form does not ask for).
LATENT_DATASETS = ("mnist", "fashion-mnist", "celeba", "anime", "flowers", "fake")
SNAPSHOT = 56  # pixels a side in the scrubber's grid, as in the run's own sample grids


def available(page: Page) -> bool:
    return True


def render(page: Page) -> None:
    """The start form (local mode only, see latent_studio.app.mode) into the user's folder, then the
    run to watch: the one just started, else the model open in the picker, else the newest job."""
    folder, entries, picked = page.folders[-1], page.entries, page.entry
    if mode.public():
        st.info("Training from the page is off on this public server, where every visitor shares two CPU cores. Watch how "
                "the shipped models trained below, or train your own on your machine: `python -m latent_studio train --help`.")
        started = []
    else:
        _start_form(folder)
        started = started_runs(folder)
    runs = list(dict.fromkeys([*started, *(e.path for e in entries if e.explorable)]))
    if not runs:
        st.info(f"No runs yet. Runs started here go to {folder}.")
        return
    st.subheader("Watch a run")
    names = {str(p): p for p in runs}
    if st.session_state.get(WATCH) not in names:
        st.session_state[WATCH] = str(picked.path) if picked and str(picked.path) in names else str(runs[0])
    chosen = names[st.selectbox("Run", list(names), format_func=lambda p: Path(p).name, key=WATCH, persist_state="page")]
    running = jobs.status(chosen).state == "running"
    st.fragment(_progress, run_every=REFRESH_SECONDS if running else None)(chosen, running)


def _start_form(folder: Path) -> None:
    st.subheader("Start a training run")
    model_box, data_box, steps_box, preset_box = st.columns(4)
    families = family_names(LATENT)
    model = model_box.selectbox("Model family", families, index=families.index("dcgan"), key="train_model", persist_state="page")
    datasets = [d for d in LATENT_DATASETS if d in DATASETS]
    dataset = data_box.selectbox("Dataset", datasets, key="train_dataset", persist_state="page")
    steps_box.number_input("Steps", min_value=1, max_value=1_000_000, value=2000, step=500, key="train_steps", persist_state="page")
    presets = [NO_PRESET, *(name for name, p in PRESETS.items() if p.family == model)]
    preset_box.selectbox("Preset", presets, key=session.valid("train_preset", presets), persist_state="page")
    name_box, settings_box = st.columns([1, 2])
    name_box.text_input("Run name", key="train_name", placeholder=free_name(folder, f"{model}-{dataset}"), persist_state="page")
    settings_box.text_input("Extra settings", key="train_settings", persist_state="page",
                            placeholder="e.g. train.batch_size=32 arch.generator.width=32",
                            help="Space-separated KEY=VALUE overrides of the run config (the CLI's --set).")
    st.button("Start training", type="primary", on_click=_start, args=(folder,))
    if MESSAGE in st.session_state:
        kind, text = st.session_state.pop(MESSAGE)
        (st.error if kind == "error" else st.success)(text)


def _start(folder: Path) -> None:
    """Start the job the form describes (a callback, so the new run is listed in the same rerun)."""
    s = st.session_state
    model, dataset = s["train_model"], s["train_dataset"]
    preset = s["train_preset"] if s["train_preset"] != NO_PRESET else None
    try:
        run = run_dir(folder, s["train_name"].strip() or free_name(folder, f"{model}-{dataset}"))
        args = train_args(model, dataset, int(s["train_steps"]), str(data_root()), preset, s["train_settings"])
        if (run / CONFIG).exists():
            raise ValueError(f"{run} already holds a run; choose another name")
        pid = jobs.start(run, args)
    except (ValueError, RuntimeError, OSError) as e:
        s[MESSAGE] = ("error", f"Could not start training: {e}")
        return
    s[WATCH] = str(run)
    s[MESSAGE] = ("success", f"Training {model} on {dataset} in {run} (process {pid}).")


def _progress(run: Path, was_running: bool) -> None:
    """Status, progress, losses, the newest sample grid and the scrubber of `run`; refreshed
    while it trains."""
    status = jobs.status(run)
    if was_running and status.state != "running":
        st.rerun()  # the job ended: rerun the page so polling stops and the picker lists the run
    fraction = min(status.step / status.steps, 1.0) if status.steps else 0.0
    # The step count is known from the first checkpoint on; the first losses come before it.
    where = f"step {status.step} of {status.steps}" if status.steps else f"step {status.step}" if status.step else "starting"
    st.progress(fraction, text=f"{status.state}: {where}")
    if status.state == "failed":
        st.error(f"Training failed: {status.error}")
    if status.state == "running" and not mode.public() and st.button("Stop training", key="stop_training"):
        with st.spinner("Stopping: the trainer finishes its step and saves a checkpoint..."):
            jobs.stop(run)
        st.rerun()
    curves, samples = st.columns([3, 2])
    if status.metrics:
        curves.plotly_chart(loss_figure(status.metrics), key="loss_curves")
        warnings = status.metrics[-1].get("warnings") or []
        for warning in warnings:
            curves.warning(warning)
    grid = latest_samples(run)
    if grid:
        samples.image(str(grid[1]), caption=f"Fixed noise at step {grid[0]}", output_format="PNG")
    _scrubber(run)  # in the refreshed panel, so each new snapshot joins the scrubber as it is saved


def _scrubber(run: Path) -> None:
    """Re-render the run's fixed noise with the generator kept at each snapshot."""
    steps = snapshot_steps(run)
    if not steps:
        st.caption("This run has kept no generator snapshots yet, so there is nothing to scrub through.")
        return
    try:
        if kind_of(read_config(run).family) != LATENT:
            return
        st.subheader("Checkpoint scrubber")
        step = st.select_slider("Snapshot step", steps, value=steps[-1], key=f"scrub_{run}")
        loaded = models.load_snapshot(str(run), step)
    except CheckpointError as e:
        st.error(str(e))
        return
    cfg = loaded.config
    fixed = loaded.family.fixed_inputs(None, grid_images(cfg), loaded.device)
    generated = models.generate(loaded, fixed.generator_input())
    show.grid(generated.images, grid_columns(cfg), caption=f"The run's fixed noise through the generator of step {step}", cell=SNAPSHOT)
    show.performance(generated)

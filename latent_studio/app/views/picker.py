"""The model picker (sidebar): every run under the shipped and the user folder, the open run's
model card and metrics, and the load, which shows a CheckpointError as a message."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from latent_studio.app import mode, models, session
from latent_studio.app.runs import MAX_PATH, RunEntry, default_user_folder, shipped_folder, user_folder
from latent_studio.families.run_models import LoadedRun
from latent_studio.runs.cards import fine_tune_source
from latent_studio.runs.files import CheckpointError

USER_FOLDER, FOLDER_ERROR = "user_folder", "user_folder_error"
OPENS_FIRST = "infogan-mnist"  # the shipped model with the most to steer: codes and sliders


def folders() -> list[Path]:
    """The shipped folder and the user's: fixed in public mode; typed in the sidebar in local mode
    (so read before it is drawn), where a path that cannot be a folder falls back to the default."""
    if mode.public():
        return [shipped_folder(), Path(default_user_folder())]
    st.session_state.setdefault(USER_FOLDER, default_user_folder())
    try:
        folder = user_folder(str(st.session_state[USER_FOLDER]))
        st.session_state.pop(FOLDER_ERROR, None)
    except ValueError as e:
        st.session_state[FOLDER_ERROR] = str(e)
        folder = Path(default_user_folder())
    return [shipped_folder(), folder]


def choose(entries: list[RunEntry]) -> RunEntry | None:
    """The run the user picked; broken runs are listed too, so their problem can be read."""
    if not mode.public():
        st.text_input("Your runs folder", key=USER_FOLDER, max_chars=MAX_PATH,
                      help=f"Runs started on the Training tab go here. Shipped runs: {shipped_folder()}")
        if FOLDER_ERROR in st.session_state:
            st.warning(f"Not a runs folder ({st.session_state[FOLDER_ERROR]}); showing {default_user_folder()} instead.")
    choices = [e for e in entries if e.explorable or e.config is None]
    translate = [e.id for e in entries if e.config is not None and not e.explorable]
    if translate:
        st.caption("Image-to-image runs, opened in Colorize & translate: " + ", ".join(translate))
    if not choices:
        st.info("No runs yet. Start one on the Training tab, or with `python -m latent_studio train ... --out runs/NAME`.")
        return None
    by_id = {e.id: e for e in choices}
    if st.session_state.get(session.MODEL) not in by_id:
        readable = [e.id for e in choices if e.config is not None]  # a broken default opens another run instead
        first = OPENS_FIRST if OPENS_FIRST in readable else next(iter(readable), choices[0].id)
        if session.MODEL in st.session_state:
            st.warning(f"There is no run {str(st.session_state[session.MODEL])[:80]!r} here; showing {first}.")
            session.model_changed()
        st.session_state[session.MODEL] = first
    chosen = st.selectbox("Model", list(by_id), format_func=lambda i: by_id[i].label, key=session.MODEL, on_change=session.model_changed)
    return by_id[chosen]


def card(entry: RunEntry) -> None:
    """The model card, folded above the tabs: what the run is, how it was made, how it measured."""
    c = entry.config
    lat = c.latent
    parts = [f"z of {lat.dim} ({lat.prior})"]
    parts += [f"a {size}-way code" for size in lat.categorical]
    parts += [f"{lat.continuous} continuous codes in ±{lat.continuous_range:g}"] if lat.continuous else []
    parts += [f"{lat.num_classes} classes"] if lat.num_classes else []
    with st.expander(f"Model card: {entry.id}"):
        about, measured = st.columns([3, 2], gap="large")
        about.markdown(
            f"**{c.family}** on **{c.data.dataset}** ({c.data.image_size}x{c.data.image_size}, {c.data.channels} channel"
            f"{'s' if c.data.channels > 1 else ''}), step {c.step} of {c.train.steps}"
            + (f", preset `{c.preset}`" if c.preset else "") + ".\n\nLatent: " + ", ".join(parts) + "."
        )
        if c.card.get("notes"):
            about.text(c.card["notes"])  # plain text: a card's notes cannot add links, images or markup to the page
        source, source_command = _fine_tuned_from(c.card)
        facts = {"hardware": c.card.get("hardware"), "training time": _duration(c.card.get("train_seconds")), "fine-tuned from": source}
        about.markdown("\n".join(f"- {k}: {v}" for k, v in facts.items() if v))
        for command in (c.card.get("command"), source_command):
            if command:
                about.code(command, language="bash", wrap_lines=True)
        if c.metrics:
            rows = "\n".join(f"| {k} | {_metric(v)} |" for k, v in c.metrics.items())
            measured.markdown("| metric | value |\n|---|---|\n" + rows)


def _fine_tuned_from(card: dict) -> tuple[str | None, str | None]:
    """For a fine-tune, the run it started from (cards.fine_tune_source): its name with the
    hardware and time that trained it, and its command; (None, None) for a run trained from scratch."""
    before = fine_tune_source(card)
    if not before:
        return None, None
    made = ", ".join(v for v in (before.get("hardware"), _duration(before.get("train_seconds"))) if v)
    name = Path(before["run"]).name.replace("`", "")
    return f"`{name}`" + (f" ({made})" if made else ""), before.get("command")


def _metric(value) -> str:
    """A metric's cell: floats to 4 digits; a group of measures (the inverter's) as its numbers only."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict) and isinstance(value.get("measures"), dict):
        numbers = {k: v for k, v in value["measures"].items() if isinstance(v, (int, float))}
        return ", ".join(f"{k} {_metric(v)}" for k, v in numbers.items()) or "not measured"
    return str(value)


def _duration(seconds: float | None) -> str | None:
    if not seconds:
        return None
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def load(entry: RunEntry) -> LoadedRun | None:
    """The picked run's networks, or None after showing why they cannot be loaded."""
    if entry.config is None:
        st.error(entry.error)
        return None
    try:
        return models.load(str(entry.path), entry.config.step)
    except CheckpointError as e:
        st.error(str(e))
        return None


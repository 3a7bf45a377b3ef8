"""One browser session's explorer state, and the URL that carries it (latent_studio.app.permalink).

Streamlit forgets a widget's value once the widget is not drawn, and the tabs draw one view at a
time, so the latent state lives in session_state under its own key and the latent widgets are
views of it: each starts from the state's value and writes back, selects through a callback and
slider panels through what they report (latent_studio.app.live_sliders). A widget's key carries the
state's revision; changing the state from outside the widgets (resample, reset, another model,
a link) bumps the revision, so every widget starts afresh from the new state.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection

import streamlit as st

from latent_studio.app.permalink import Permalink, from_query, to_query
from latent_studio.app.sampling import LatentState
from latent_studio.runs.config import LatentSpec

STATE = "latent_state"
REVISION = "latent_revision"
MODEL = "model"  # the picker's select
VIEW = "view"  # the tabs
SHOWN_DIMS = "shown_dims"  # the sliders view's choice of dimensions
DROPPED = "link_dropped"  # parts of the opening link that could not be read, to warn about once
SLIDER_DECIMALS = 2  # slider values are stored at the sliders' step, so links hold short numbers


def start() -> None:
    """On a session's first run, take the model, the view and the latent state from the URL."""
    if STATE in st.session_state:
        return
    link = from_query(st.query_params.to_dict())
    st.session_state[STATE] = link.state
    st.session_state[DROPPED] = link.dropped[:5]
    st.session_state[REVISION] = 0
    if link.model:
        st.session_state[MODEL] = link.model
    if link.view:
        st.session_state[VIEW] = link.view


def state() -> LatentState:
    return st.session_state[STATE]


def key(name: str) -> str:
    """Key of a widget that shows part of the latent state (see the module docstring)."""
    return f"{name}@{st.session_state[REVISION]}"


def fit(spec: LatentSpec) -> None:
    """Drop changes the open model has no place for (a link made for another model) and clamp
    values to their sliders; say so when a link asked for something else."""
    fitted = state().fit(spec)
    if fitted != state():
        st.warning("Parts of this link do not fit the model and were left out or brought into the sliders' range.")
    st.session_state[STATE] = fitted
    for part in st.session_state.pop(DROPPED, ()):
        st.warning(f"Left out of the link: {part[:80]!r} is not a valid value.")


def valid(widget: str, options: Collection) -> str:
    """`widget`, after forgetting a remembered value that is no longer among `options` (a deleted
    concept, a range of another model): Streamlit would otherwise hand the stale value back."""
    if widget in st.session_state and st.session_state[widget] not in options:
        del st.session_state[widget]
    return widget


def replace(new: LatentState) -> None:
    """Set the state from outside its widgets: they all start again from `new`."""
    st.session_state[STATE] = new
    st.session_state[REVISION] += 1


# Callbacks. Streamlit runs them before the script, so the whole page sees the new state.


def model_changed() -> None:
    """A new model: keep the seed, drop changes made for the old model's latent."""
    replace(LatentState(seed=state().seed))
    st.session_state.pop(SHOWN_DIMS, None)


def _reseed(seed: int) -> None:
    """A fresh z from `seed`; the codes and class the user chose stay."""
    s = state()
    replace(LatentState(seed, categorical=s.categorical, continuous=s.continuous, label=s.label))


def seed_changed(widget: str) -> None:
    _reseed(int(st.session_state[widget]))


def resample() -> None:
    """A new random seed, shown in the seed box, so the new draw can be had again."""
    _reseed(random.randrange(100_000))


def reset() -> None:
    """Back to the seed's own draw: every change undone."""
    replace(LatentState(seed=state().seed))


def categorical_changed(code: int, widget: str) -> None:
    st.session_state[STATE] = state().with_categorical(code, int(st.session_state[widget]))


def label_changed(widget: str) -> None:
    st.session_state[STATE] = state().with_label(int(st.session_state[widget]))


# Live slider panels (latent_studio.app.live_sliders) report {index: value} for the sliders moved in them.


def z_moved(moved: dict[str, float]) -> None:
    _write(moved, LatentState.with_z)


def continuous_moved(moved: dict[str, float]) -> None:
    _write(moved, LatentState.with_continuous)


def label_moved(moved: dict[str, float], slider: str) -> None:
    if slider in moved:
        st.session_state[STATE] = state().with_label(int(moved[slider]))


def _write(moved: dict[str, float], setter: Callable[[LatentState, int, float], LatentState]) -> None:
    s = state()
    for index, value in moved.items():
        s = setter(s, int(index), round(value, SLIDER_DECIMALS))
    st.session_state[STATE] = s


def publish(model: str | None, view: str | None) -> None:
    """Write the URL for what the page shows now, so copying it reproduces this view."""
    query = to_query(Permalink(model, view, state()))
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)

"""InfoGAN's codes: set the categorical and continuous codes with z held fixed, see what Q reads
back from the image, sweep a code across its range and beyond, and name the categorical values."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
import torch

from latent_studio.app import code_names, session
from latent_studio.app.infogan import SWEEP_RANGE, QReading, predict, sweep
from latent_studio.app.live_sliders import InBrowser, LiveSlider, live_sliders, reported
from latent_studio.app.models import generate
from latent_studio.app.sampling import build
from latent_studio.app.views import Page, show
from latent_studio.families.run_models import LoadedRun
from latent_studio.runs.config import LatentSample

TITLE = "InfoGAN codes"
PANEL = "continuous_panel"
NAME_ERROR = "code_name_error"


def available(page: Page) -> bool:
    run = page.run
    spec = run.config.latent
    return "q" in run.modules and bool(spec.categorical or spec.continuous)


def render(page: Page) -> None:
    run = page.run
    spec = run.config.latent
    names = code_names.load(run.path, spec.categorical)
    panel = session.key(PANEL)
    session.continuous_moved(reported(panel))
    sample = build(spec, session.state())
    sliders = [LiveSlider(str(code), f"Continuous code {code}", -SWEEP_RANGE, SWEEP_RANGE, float(sample.continuous[0, code]))
               for code in range(spec.continuous)]
    browser = show.browser_model(run)
    if browser is not None:  # the panel draws the picture beside the continuous codes' sliders
        first = spec.dim + sum(spec.categorical)  # where the continuous codes start in the generator input
        live_sliders(sliders, panel, columns=1, browser=InBrowser(browser, sample.generator_input()[0].tolist(),
                                                                  {str(c): {"set": first + c} for c in range(spec.continuous)}, (1, 1)))
    controls, picture = st.columns([1, 1], gap="large")
    with controls:
        for code, size in enumerate(spec.categorical):
            widget = session.key(f"cat{code}")
            st.selectbox(f"Categorical code {code}", range(size), index=int(sample.categorical[code][0]), key=widget,
                         format_func=lambda v, code=code: code_names.describe(v, names[code][v]),
                         on_change=session.categorical_changed, args=(code, widget))
        if spec.continuous:
            if browser is None:
                live_sliders(sliders, panel, columns=1)
            st.caption(f"Trained on ±{spec.continuous_range:g}; beyond that the generator extrapolates.")
        if spec.categorical:
            _naming(run, names, [int(c[0]) for c in sample.categorical])
    with picture:
        if browser is None:
            generated = show.images(run, sample.generator_input(), cell=show.MAIN)
            show.performance(generated)
        else:  # Q reads the image of the state the server was last told
            generated = generate(run, sample.generator_input())
        _q_reading(predict(run, generated.images), sample.continuous[0].tolist(), names)
    st.subheader("Sweep")
    _sweep(run, sample, names)


def _naming(run: LoadedRun, names: list[list[str]], current: list[int]) -> None:
    """Name the value each categorical code has now ("this is a 7"), saved with the run."""
    code = 0
    if len(current) > 1:
        code = st.selectbox("Name a value of code", range(len(current)), key=session.valid("name_code", range(len(current))),
                            persist_state="page")
    value = current[code]
    widget = f"name_{code}_{value}"
    st.text_input(f"What does value {value} of code {code} draw?", value=names[code][value], key=widget,
                  placeholder="e.g. sevens", max_chars=40)
    st.button("Save name", on_click=_save_name, args=(run, names, code, value, widget))
    if NAME_ERROR in st.session_state:
        st.error(st.session_state.pop(NAME_ERROR))


def _save_name(run: LoadedRun, names: list[list[str]], code: int, value: int, widget: str) -> None:
    names[code][value] = st.session_state[widget]
    try:
        code_names.save(run.path, names)
    except OSError as e:
        st.session_state[NAME_ERROR] = f"Could not save the names in {run.path}: {e}"
    else:
        st.toast(f"Saved: value {value} of code {code} is {names[code][value].strip() or 'unnamed'}.")


def _q_reading(reading: QReading, continuous: list[float], names: list[list[str]]) -> None:
    """Q's guess at the codes of the image shown: how well the codes survive the round trip."""
    for code, probs in enumerate(reading.probabilities):
        p = probs[0].tolist()
        figure = go.Figure(go.Bar(x=[code_names.describe(v, names[code][v]) for v in range(len(p))], y=p,
                                  marker_color="#4c78a8"))
        figure.update_layout(title=f"Q's reading of categorical code {code}", height=220, margin=dict(l=10, r=10, t=40, b=10),
                             yaxis=dict(range=[0, 1], title="probability"), xaxis=dict(type="category"))
        st.plotly_chart(figure, config={"displayModeBar": False}, key=f"q_{code}")
    for code, (mean, std) in enumerate(zip(reading.means[0].tolist(), reading.stds[0].tolist())):
        st.markdown(f"Continuous code {code}: set to **{continuous[code]:.2f}**, Q reads **{mean:.2f}** ± {std:.2f}")


def _sweep(run: LoadedRun, sample: LatentSample, names: list[list[str]]) -> None:
    """Rows: the values of a categorical code. Columns: a continuous code from -2 to 2."""
    spec = run.config.latent
    pick_cat, pick_cont, pick_columns = st.columns(3)
    categorical = continuous = None
    if spec.categorical:
        codes = range(len(spec.categorical))
        categorical = pick_cat.selectbox("Rows: categorical code", codes, key=session.valid("sweep_cat", codes), persist_state="page")
    if spec.continuous:
        codes = range(spec.continuous)
        continuous = pick_cont.selectbox("Columns: continuous code", codes, key=session.valid("sweep_cont", codes), persist_state="page")
    columns = pick_columns.slider("Columns", 3, 13, 9, step=2, key="sweep_columns", persist_state="page") if spec.continuous else 1
    values = torch.linspace(-SWEEP_RANGE, SWEEP_RANGE, columns)
    grid = sweep(sample, categorical, continuous, values)
    rows = spec.categorical[categorical] if categorical is not None else 1
    labels = [code_names.describe(r, names[categorical][r]) if categorical is not None and c == 0 else "" for r in range(rows)
              for c in range(columns)]
    show.kept_images(run, grid.generator_input(), columns=columns, labels=labels, cell=show.SMALL)
    if continuous is not None:
        r = spec.continuous_range
        st.caption(f"Columns: continuous code {continuous} at " + ", ".join(f"{v:.1f}" for v in values.tolist())
                   + f". Training drew it from ±{r:g}, so the columns beyond ±{r:g} show extrapolation. z and the other codes are fixed.")

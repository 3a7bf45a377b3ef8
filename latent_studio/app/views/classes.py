"""Class control for conditional models (CGAN, ACGAN): pick the class, z stays fixed, and see
the same z drawn as every class."""

from __future__ import annotations

import streamlit as st

from latent_studio.app import session
from latent_studio.app.live_sliders import InBrowser, LiveSlider, live_sliders, reported
from latent_studio.app.sampling import build, each_class
from latent_studio.app.views import Page, show
from latent_studio.families.run_models import LoadedRun

TITLE = "Classes"
PANEL = "class_panel"  # the browser path's class slider
CLASS = "class"


def available(page: Page) -> bool:
    run = page.run
    return run.config.latent.num_classes > 0


def class_name(run: LoadedRun, label: int) -> str:
    names = run.config.data.class_names
    return names[label] if label < len(names) else f"class {label}"


def render(page: Page) -> None:
    run = page.run
    spec = run.config.latent
    panel = session.key(PANEL)
    session.label_moved(reported(panel), CLASS)
    sample = build(spec, session.state())
    browser = show.browser_model(run)
    if browser is not None:  # a class slider, and the picture drawn in the page while it moves
        first = sample.generator_input().shape[1] - spec.num_classes  # where the class one-hot starts
        label = int(sample.labels[0])
        slider = LiveSlider(CLASS, "Class", 0, spec.num_classes - 1, label, step=1,
                            names=tuple(class_name(run, k) for k in range(spec.num_classes)))
        live_sliders([slider], panel, columns=1, decimals=0,
                     browser=InBrowser(browser, sample.generator_input()[0].tolist(), {CLASS: {"onehot": first, "size": spec.num_classes}}))
        st.caption("z stays as the seed and the sliders set it; only the class input changes.")
    else:
        widget = session.key("label")
        picture, controls = st.columns([2, 3], gap="large")
        with controls:
            st.selectbox("Class", range(spec.num_classes), index=int(sample.labels[0]), key=widget,
                         format_func=lambda v: class_name(run, v), on_change=session.label_changed, args=(widget,))
            st.caption("z stays as the seed and the sliders set it; only the class input changes.")
        with picture:
            generated = show.images(run, sample.generator_input(), cell=show.MAIN)
            show.performance(generated)
    st.subheader("This z as every class")
    every = each_class(sample)
    show.images(run, every.generator_input(), columns=min(spec.num_classes, 10),
                labels=[class_name(run, k) for k in range(spec.num_classes)], cell=show.GRID)

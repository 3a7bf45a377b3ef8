"""Your own image in the model's latent space: upload a photo (or draw a digit), see the closest
image the model can make and how close it is, then make its latent the current one, so Sliders,
InfoGAN codes, Classes, Attributes, the sample bank, interpolation and perturbation all work on it.

A one-channel (digit) model also offers a drawing pad (latent_studio.app.drawing). The heavy work is
latent_studio.inference.inversion's (upload checks, framing, the inverter's guess and the pixel search); this
view keeps one result per session, keyed by the image's digest, so a rerun (any widget) does not
search again. In public mode the image is the only input a visitor gives: a file or a drawing, it
goes through the same size caps and checks as the Colorize tab's uploads, and training an
inverter from the page is offered only in local mode.
"""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path

import streamlit as st

from latent_studio import PROJECT
from latent_studio.app import mode, models, session
from latent_studio.app.drawing import drawing_pad, drawn
from latent_studio.app.imaging import picture
from latent_studio.app.sampling import LatentState, build
from latent_studio.app.views import Page, show
from latent_studio.app.views.classes import class_name
from latent_studio.data.datasets import frames_faces
from latent_studio.data.faces import Framing, marked
from latent_studio.data.uploads import UploadError, UploadLimits, load_upload
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.inversion import (
    INVERTER,
    Inversion,
    InversionError,
    framed_upload,
    invert,
    load_inverter,
    psnr,
    save_inverter,
)
from latent_studio.runs.config import LatentSample
from latent_studio.runs.files import CheckpointError, record_metrics
from latent_studio.training.inverter import train_inverter

TITLE = "Your image"
UPLOAD = "invert_upload"
RESULT = "inversion"  # {"key": (run path, step, inverter mtime, upload digest, find_face), "image": [C, H, W],
#                        "framing": Framing | None, "found": Inversion, "state": LatentState}
PAD = "invert_drawing"
SOURCES = ("Upload a file", "Draw a digit")
FRAMINGS = ("Find the face", "Centre square")  # a face model's choice of what it reads from the photo
ACCEPTED = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"]
PAGE_TRAIN_SECONDS = 90  # an inverter trained from the page: a quick one (the CLI's takes longer and measures it)
STATE_DECIMALS = session.SLIDER_DECIMALS  # the latent found is kept at the sliders' step, like a slider move


def available(page: Page) -> bool:
    return True


@st.cache_resource(max_entries=8, show_spinner="Loading the inverter...")
def _inverter(path: str, mtime: float, _run: LoadedRun):
    """The run's inverter, once per process and file version (shared by every session)."""
    return load_inverter(_run)


def as_state(sample: LatentSample, seed: int) -> LatentState:
    """The explorer state for one inverted sample: every z dimension, code and class written over
    the seed's draw, at the sliders' step."""
    r = lambda v: round(float(v), STATE_DECIMALS)  # noqa: E731
    return LatentState(
        seed=seed,
        z={i: r(v) for i, v in enumerate(sample.z[0].tolist())},
        categorical={i: int(c[0]) for i, c in enumerate(sample.categorical)},
        continuous={i: r(v) for i, v in enumerate(sample.continuous[0].tolist())},
        label=None if sample.labels is None else int(sample.labels[0]),
    )


def use(state: LatentState) -> None:
    """The button's callback: the inverted latent becomes the current one for every view."""
    session.replace(state)


def render(page: Page) -> None:
    run = page.run
    d = run.config.data
    inverter = _load(run)
    digits = d.channels == 1
    what = "a photo or scan of one handwritten digit" if digits else "a photo of a face looking at the camera"
    st.markdown(f"Upload {what}. The model's inverter guesses its latent, a short search through the generator "
                "refines it, and the button below makes it the current latent for every other tab.")
    source = st.radio("Source", SOURCES, horizontal=True, key="invert_source", label_visibility="collapsed") if digits else SOURCES[0]
    if source == SOURCES[0]:
        upload = st.file_uploader("Your image", type=ACCEPTED, key=UPLOAD,  # up to server.maxUploadSize
                                  help=f"JPEG, PNG, WebP, BMP, GIF or TIFF, up to {UploadLimits.max_bytes // 2**20} MB "
                                       f"and {UploadLimits.max_pixels / 1e6:g} megapixels.")
        data = None if upload is None else upload.getvalue()
    else:
        drawing_pad(PAD)
        data = drawn(PAD)
    find_face = frames_faces(d.dataset) and st.radio(
        "Framing", FRAMINGS, horizontal=True, key="invert_framing",
        help="The model learned faces framed as CelebA's: eyes level, at the same place and size. Find the face frames "
             "yours that way; Centre square reads the middle of the photo as it is.") == FRAMINGS[0]
    if data is None:
        return
    try:
        result = _inversion(run, inverter, data, find_face)
    except (UploadError, InversionError) as e:
        st.error(str(e))
        return
    if result["framing"] is not None:
        _show_framing(data, result["framing"])
    found, state = result["found"], result["state"]
    shown = build(run.config.latent, state)  # what every other view will draw from the state
    generated = models.generate(run, shown.generator_input())
    score = float(psnr(generated.images, result["image"][None])[0])
    original, reconstruction, about = st.columns([1, 1, 1], gap="large")
    original.image(picture(result["image"][None], 1, cell=show.MAIN), caption="Yours, as the model sees it", output_format="PNG")
    reconstruction.image(picture(generated.images, 1, cell=show.MAIN), caption="The model's closest image", output_format="PNG")
    with about:
        st.metric("PSNR", f"{score:.1f} dB", help="Peak signal-to-noise ratio of the two images on the left (higher is closer; "
                  "about 20 dB looks alike at this size, 30 dB nearly the same).")
        st.caption(f"Found in {found.seconds:.2f} s · {run.device.type}" + ("" if inverter else " · without an inverter"))
        parts = _codes(run, state)
        if parts:
            st.caption(parts)
        current = session.state() == state
        st.button("Make this the current latent", on_click=use, args=(state,), type="primary", disabled=current,
                  help="Sliders, InfoGAN codes, Classes, Attributes, the sample bank, interpolation and perturbation then start "
                       "from it; the link in the address bar holds it too.")
        if current:
            st.success("This is the current latent: open Sliders, Attributes or any other tab to steer it.")


def _codes(run: LoadedRun, state: LatentState) -> str:
    """What the inverter chose for the discrete parts: InfoGAN's categorical codes, the class."""
    parts = [f"categorical code {i} = {v}" for i, v in sorted(state.categorical.items())]
    if state.label is not None:
        parts.append(f"class {class_name(run, state.label)}")
    return ("Read from your image: " + ", ".join(parts)) if parts else ""


def _shown(path: Path) -> Path:
    """`path` as the page may show it: relative to the project for a shipped run (a visitor's
    own copy of the project has it there too), else as it is (a local user's own folder)."""
    return path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path


def _load(run: LoadedRun):
    """The run's inverter, or None after saying how to get one (and, in local mode, offering to
    train a quick one here)."""
    path = run.path / INVERTER
    if path.is_file():
        try:
            return _inverter(str(run.path), path.stat().st_mtime, run)
        except CheckpointError as e:  # a visitor of a public server is never shown the server's paths
            st.error("This model's inverter file could not be read, so the search starts from the average latent."
                     if mode.public() else str(e))
            return None
    command = f"python -m latent_studio inverter {shlex.quote(str(_shown(run.path)))}"
    st.info(f"This model has no inverter yet, so the search starts from the average latent"
            f"{' with every code and class at 0' if run.config.latent.categorical or run.config.latent.num_classes else ''}"
            f" and comes out less close. Train one (a few minutes on a CPU) with:")
    st.code(command, language="bash")
    if not mode.public() and st.button(f"Train a quick inverter here (about {PAGE_TRAIN_SECONDS} s)", key="train_inverter"):
        with st.spinner("Training the inverter on the model's own samples..."):
            _train_here(run, command)
        st.rerun()
    return None


def _train_here(run: LoadedRun, command: str) -> None:
    """A time-boxed inverter, saved beside the run; its measures are left to the CLI (they need the dataset)."""
    from latent_studio.families.device import hardware
    from latent_studio.families.run_models import load_run

    own = load_run(run.path, device=run.device)  # its own copy: training never touches the modules every session shares
    inverter, info = train_inverter(own, steps=100_000, seconds=PAGE_TRAIN_SECONDS)
    save_inverter(run.path, inverter, info["arch"])
    info.update({"command": f"the explorer's Your image tab (the CLI: {command})", "hardware": hardware(own.device)})
    record_metrics(run.path, {"inverter": info})


def _show_framing(data: bytes, framing: Framing) -> None:
    """Where the model's square came from in the photo, and, when no face was found, why it is the centre."""
    if framing.message:
        st.warning(framing.message)
    st.image(marked(load_upload(data), framing), output_format="PNG",
             caption="Your photo: the square the model reads" + (", with the eyes found" if framing.face else " (the centre)"))


def _inversion(run: LoadedRun, inverter, data: bytes, find_face: bool = True) -> dict:
    """The inversion of this upload, from the session's memory when it is the same upload, framing and inverter."""
    mtime = (run.path / INVERTER).stat().st_mtime if inverter is not None else 0.0
    key = (str(run.path), run.config.step, mtime, hashlib.sha256(data).hexdigest(), find_face)
    kept = st.session_state.get(RESULT)
    if kept and kept["key"] == key:
        return kept
    image, framing = framed_upload(data, run, find_face)
    with st.spinner("Searching the latent space..."):
        found: Inversion = invert(run, image, inverter=inverter)
    result = {"key": key, "image": image, "framing": framing, "found": found, "state": as_state(found.sample, session.state().seed)}
    st.session_state[RESULT] = result
    return result


"""The sample bank: a numbered grid of samples from a seed, concepts made from picked samples
(each shown as the image of its mean), mixing two concepts, concept arithmetic A - B + C, and
concepts saved to and loaded from JSON."""

from __future__ import annotations

import streamlit as st
import torch
from torch import Tensor

from latent_studio.app import session
from latent_studio.app.concepts import MAX_CONCEPTS, MAX_NAME, Concept, ConceptError, count_with, from_json, merged, to_json
from latent_studio.app.models import generate
from latent_studio.app.sampling import draw
from latent_studio.app.views import Page, show
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.latent import arithmetic, mix

TITLE = "Sample bank"
SEED, SIZE, NAME, PICKS, UPLOAD = "bank_seed", "bank_size", "concept_name", "concept_picks", "concept_upload"
CONCEPTS = "concepts"  # {run path: {name: Concept}}, for the whole session
UPLOAD_ERROR = "concept_upload_error"
SIZES = (16, 32, 64)
CONCEPT = 160  # pixels a side of a concept's mean: enlarged, it is what the user made


def available(page: Page) -> bool:
    return True


def bank_inputs(run: LoadedRun) -> Tensor:
    """Generator inputs of the bank the user has set up ([K, input_dim]); the interpolation view
    picks its endpoints from the same bank."""
    seed, size = st.session_state.get(SEED, 0), st.session_state.get(SIZE, SIZES[1])
    return draw(run.config.latent, int(seed), int(size)).generator_input()


def concepts_of(run: LoadedRun) -> dict[str, Concept]:
    """This run's concepts; each model has its own, since inputs of one mean nothing to another."""
    return st.session_state.setdefault(CONCEPTS, {}).setdefault(str(run.path), {})


def render(page: Page) -> None:
    run = page.run
    seed_box, size_box = st.columns(2)
    seed_box.number_input("Bank seed", min_value=0, step=1, value=0, key=SEED, persist_state="page")
    size_box.select_slider("Samples", SIZES, value=SIZES[1], key=SIZE, persist_state="page")
    inputs = bank_inputs(run)
    show.kept_images(run, inputs, columns=8, labels=[str(i) for i in range(len(inputs))], cell=show.GRID)
    _new_concept(run, inputs)
    concepts = concepts_of(run)
    if concepts:
        _gallery(run, concepts)
    if len(concepts) > 1:
        _mix(run, concepts)
        _arithmetic(run, concepts)
    elif concepts:
        st.caption("Save a second concept to mix concepts and to add and subtract them.")
    _files(run, concepts)


def _new_concept(run: LoadedRun, inputs: Tensor) -> None:
    st.subheader("Make a concept")
    name_box, picks_box, save_box = st.columns([2, 3, 1], vertical_alignment="bottom")
    name = name_box.text_input("Name", key=NAME, placeholder="e.g. smiling", max_chars=MAX_NAME)
    picks = picks_box.multiselect("Samples (by number)", range(len(inputs)), key=PICKS, placeholder="Pick samples that share it")
    full = count_with(concepts_of(run), [name.strip()]) > MAX_CONCEPTS
    save_box.button("Save concept", disabled=not name.strip() or not picks or full, on_click=_save_concept,
                    args=(run, inputs, st.session_state.get(SEED, 0)), width="stretch",
                    help=f"This model has {MAX_CONCEPTS} concepts, the most it keeps: delete one first." if full else None)


def _save_concept(run: LoadedRun, inputs: Tensor, seed: int) -> None:
    picks = sorted(st.session_state[PICKS])
    concept = {st.session_state[NAME].strip()[:MAX_NAME]: Concept(inputs[picks].clone(), {"seed": int(seed), "indices": picks})}
    concepts = concepts_of(run)
    try:  # the page disables the button on a full set; a click that arrives after it filled up is refused here
        concepts.update(merged(concepts, concept))
    except ConceptError:
        return
    st.session_state[PICKS] = []
    st.session_state[NAME] = ""


def _gallery(run: LoadedRun, concepts: dict[str, Concept]) -> None:
    st.subheader("Concepts")
    means = generate(run, torch.stack([c.mean for c in concepts.values()])).images
    columns = st.columns(4)
    for i, (name, concept) in enumerate(concepts.items()):
        with columns[i % 4]:
            n = len(concept.vectors)
            show.grid(means[i : i + 1], caption=f"{name}: mean of {n} sample{'' if n == 1 else 's'}", cell=CONCEPT)
            st.button("Delete", key=f"delete_{name}", on_click=concepts.pop, args=(name,))


def _mix(run: LoadedRun, concepts: dict[str, Concept]) -> None:
    st.subheader("Mix two concepts")
    names = list(concepts)
    a_box, b_box, alpha_box = st.columns(3)
    a = a_box.selectbox("From", names, key=session.valid("mix_a", names), persist_state="page")
    b = b_box.selectbox("To", names, index=min(1, len(names) - 1), key=session.valid("mix_b", names), persist_state="page")
    alpha = alpha_box.slider("Weight of the second", 0.0, 1.0, 0.5, step=0.05, key="mix_alpha", persist_state="page",
                             help="0 is the first concept, 1 the second, 0.5 the average of the two means.")
    show.images(run, mix(concepts[a].mean, concepts[b].mean, alpha)[None], cell=CONCEPT,
                caption=f"(1 - {alpha:.2f}) x {a} + {alpha:.2f} x {b}")


def _arithmetic(run: LoadedRun, concepts: dict[str, Concept]) -> None:
    st.subheader("Concept arithmetic: A - B + C")
    names = list(concepts)
    boxes = st.columns(3)
    a, b, c = (box.selectbox(part, names, index=min(i, len(names) - 1), key=session.valid(f"arith_{part}", names), persist_state="page")
               for i, (box, part) in enumerate(zip(boxes, "ABC")))
    means = [concepts[n].mean for n in (a, b, c)]
    inputs = torch.stack([*means, arithmetic(*means)])
    show.images(run, inputs, columns=4, labels=[f"A: {a}", f"B: {b}", f"C: {c}", "A - B + C"], cell=CONCEPT)


def _files(run: LoadedRun, concepts: dict[str, Concept]) -> None:
    st.subheader("Save and load concepts")
    spec = run.config.latent
    save_box, load_box = st.columns(2)
    save_box.download_button("Download concepts (JSON)", to_json(concepts, run.path.name, spec.input_dim),
                             file_name=f"{run.path.name}-concepts.json", mime="application/json", disabled=not concepts,
                             on_click="ignore")
    load_box.file_uploader("Load concepts (JSON)", type=["json"], key=UPLOAD, on_change=_load_concepts, args=(run,))
    if UPLOAD_ERROR in st.session_state:
        st.error(st.session_state.pop(UPLOAD_ERROR))


def _load_concepts(run: LoadedRun) -> None:
    upload = st.session_state[UPLOAD]
    if upload is None:
        return
    try:
        concepts = concepts_of(run)
        concepts.update(merged(concepts, from_json(upload.getvalue(), run.config.latent.input_dim)))
    except ConceptError as e:
        st.session_state[UPLOAD_ERROR] = f"{upload.name}: {e}"

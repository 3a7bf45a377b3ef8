"""The explorer's other views through AppTest: the sample bank and its concepts, interpolation,
perturbation and the VAE manifold."""

import json

import pytest
import torch

from latent_studio.app.concepts import MAX_CONCEPTS, Concept, to_json
from latent_studio.app.sampling import LatentState
from tests.explorer_runs import checked, explorer_env, images, open_page, view, widget


@pytest.fixture(autouse=True)
def runs(monkeypatch, tmp_path, tmp_path_factory):
    with explorer_env(monkeypatch, tmp_path, tmp_path_factory.getbasetemp()) as root:
        yield root


def _concept(at, name: str, picks: list[int]):
    widget(at.text_input, "Name").set_value(name)
    widget(at.multiselect, "Samples (by number)").set_value(picks)
    widget(checked(at.run()).button, "Save concept").click()
    return checked(at.run())


def _concepts(at, runs, model="dcgan"):
    return at.session_state["concepts"][str(runs / model)]


def test_bank_shows_numbered_samples_from_its_seed():
    at = view(open_page(model="dcgan"), "Sample bank")
    (bank,) = images(at)
    widget(at.number_input, "Bank seed").set_value(3)
    (other,) = images(checked(at.run()))
    assert other != bank
    widget(at.number_input, "Bank seed").set_value(0)
    assert images(checked(at.run())) == [bank]


def test_save_concept_needs_a_name_and_samples():
    at = view(open_page(model="dcgan"), "Sample bank")
    assert widget(at.button, "Save concept").disabled
    widget(at.text_input, "Name").set_value("smiling")
    assert widget(checked(at.run()).button, "Save concept").disabled


def test_concepts_are_made_from_picked_samples_mixed_and_added(runs):
    at = view(open_page(model="dcgan"), "Sample bank")
    at = _concept(at, "a", [0, 1, 2])
    at = _concept(at, "b", [5])
    concepts = _concepts(at, runs)
    assert list(concepts) == ["a", "b"] and concepts["a"].source == {"seed": 0, "indices": [0, 1, 2]}
    assert concepts["a"].vectors.shape == (3, 100)
    captions = [c for image in at.image for c in image.captions]
    assert "a: mean of 3 samples" in captions and "b: mean of 1 sample" in captions
    bank, mean_a, mean_b, mixed, arithmetic = images(at)
    assert "(1 - 0.50) x a + 0.50 x b" in captions
    widget(at.slider, "Weight of the second").set_value(1.0)
    assert images(checked(at.run()))[3] == mean_b  # weight 1 is the second concept's mean
    widget(at.selectbox, "C").set_value("a")
    assert images(checked(at.run()))[4] != arithmetic
    at.button(key="delete_a").click()
    assert list(_concepts(checked(at.run()), runs)) == ["b"]


def test_concepts_download_and_upload(runs):
    at = _concept(view(open_page(model="dcgan"), "Sample bank"), "smiling", [3, 4])
    assert not widget(at.download_button, "Download concepts (JSON)").disabled
    saved = to_json(_concepts(at, runs), "dcgan", 100)  # what the button serves
    fresh = view(open_page(model="dcgan"), "Sample bank")
    fresh.file_uploader[0].set_value(("concepts.json", saved.encode(), "application/json"))
    loaded = _concepts(checked(fresh.run()), runs)
    assert torch.equal(loaded["smiling"].vectors, _concepts(at, runs)["smiling"].vectors)
    assert "smiling: mean of 2 samples" in [c for image in fresh.image for c in image.captions]


def test_concepts_for_another_model_are_refused_with_a_message():
    at = view(open_page(model="infogan"), "Sample bank")
    wrong = json.dumps({"format": "latent-studio-concepts", "version": 1, "model": "dcgan", "input_dim": 100, "concepts": {}})
    at.file_uploader[0].set_value(("dcgan.json", wrong.encode(), "application/json"))
    errors = [e.value for e in checked(at.run()).error]
    assert errors == ["dcgan.json: these concepts were saved for a model with 100 latent inputs (model 'dcgan'); "
                      "the model open now has 74"]


def test_a_full_set_of_concepts_takes_no_more_from_the_page_or_a_file(runs):
    at = view(open_page(model="dcgan"), "Sample bank")
    at.session_state["concepts"] = {str(runs / "dcgan"): {f"c{i}": Concept(torch.zeros(1, 100)) for i in range(MAX_CONCEPTS)}}
    widget(at.text_input, "Name").set_value("one more")
    widget(at.multiselect, "Samples (by number)").set_value([0])
    assert widget(checked(at.run()).button, "Save concept").disabled
    del _concepts(at, runs)["c1"]
    widget(checked(at.run()).button, "Save concept").click()  # enabled with room for one ...
    _concepts(at, runs)["c1"] = Concept(torch.zeros(1, 100))  # ... which is gone when the click arrives
    assert "one more" not in _concepts(checked(at.run()), runs)
    widget(at.text_input, "Name").set_value("c0")  # replacing one is still allowed
    assert not widget(checked(at.run()).button, "Save concept").disabled
    extra = to_json({"one more": Concept(torch.zeros(1, 100))}, "dcgan", 100)
    at.file_uploader[0].set_value(("extra.json", extra.encode(), "application/json"))
    errors = [e.value for e in checked(at.run()).error]
    assert errors == [f"extra.json: with these, this model would have {MAX_CONCEPTS + 1} concepts; the explorer keeps "
                      f"at most {MAX_CONCEPTS} per model (delete some first)"]
    assert len(_concepts(at, runs)) == MAX_CONCEPTS


def test_interpolation_strip_method_and_gif():
    at = view(open_page(model="dcgan"), "Interpolation")
    strip, animation = images(at)
    assert animation.endswith(".gif") and widget(at.download_button, "Download GIF")
    widget(at.radio, "Path").set_value("lerp")
    assert images(checked(at.run()))[0] != strip
    widget(at.slider, "Steps").set_value(4)
    widget(at.selectbox, "To").set_value("The Sliders image")
    checked(at.run())
    assert "Concept: a" not in widget(at.selectbox, "From").options


def test_interpolation_can_end_at_a_concept(runs):
    at = _concept(view(open_page(model="dcgan"), "Sample bank"), "a", [0, 1])
    at = view(at, "Interpolation")
    widget(at.selectbox, "To").set_value("Concept: a")
    checked(at.run())
    assert widget(at.selectbox, "To").value == "Concept: a"


def test_perturbation_grid_leaves_the_base_vector_alone():
    at = open_page(model="dcgan", z="5:1.0")
    (sliders_image,) = images(at)
    at = view(at, "Perturbation")
    grids = {"random": images(at)}
    for fill in ("hanning", "zeros", "ones"):
        widget(at.selectbox, "Fill").set_value(fill)
        grids[fill] = images(checked(at.run()))
    assert len({g[0] for g in grids.values()}) == 4
    widget(at.slider, "Window length").set_value(25)
    widget(at.slider, "Stride").set_value(25)
    caption = checked(at.run()).caption[-1].value
    assert "for p = 0, 25, 50, 75." in caption
    assert at.session_state["latent_state"] == LatentState(z={5: 1.0})
    assert images(view(at, "Sliders")) == [sliders_image]


def test_vae_manifold_grid_and_scatter_of_the_test_set():
    at = view(open_page(model="vae"), "VAE manifold")
    (grid,) = images(at)
    assert len(at.get("plotly_chart")) == 1
    widget(at.slider, "Grid size").set_value(6)
    assert images(checked(at.run())) != [grid]


def test_vae_manifold_without_the_dataset_says_so(runs, tmp_path):
    config = json.loads((runs / "vae" / "config.json").read_text())
    config["data"]["dataset"] = "mnist"
    (tmp_path / "user" / "vae-mnist").mkdir(parents=True)
    for file in (runs / "vae").glob("*.safetensors"):
        (tmp_path / "user" / "vae-mnist" / file.name).write_bytes(file.read_bytes())
    (tmp_path / "user" / "vae-mnist" / "config.json").write_text(json.dumps(config))
    at = view(open_page(model="vae-mnist"), "VAE manifold")
    assert len(images(at)) == 1
    assert "needs the mnist test set" in at.info[0].value


def test_vae_manifold_scatter_comes_from_the_run_when_the_dataset_is_not_there(runs, tmp_path):
    """A public Space has no datasets: `evaluate` stores the encoded test set in the run."""
    from safetensors.torch import save_file

    from latent_studio.runs.files import ENCODED_TEST

    config = json.loads((runs / "vae" / "config.json").read_text())
    config["data"]["dataset"] = "mnist"
    run = tmp_path / "user" / "vae-stored"
    run.mkdir(parents=True)
    for file in (runs / "vae").glob("*.safetensors"):
        (run / file.name).write_bytes(file.read_bytes())
    (run / "config.json").write_text(json.dumps(config))
    save_file({"means": torch.randn(50, 2), "labels": torch.arange(50) % 10}, str(run / ENCODED_TEST))
    at = view(open_page(model="vae-stored"), "VAE manifold")
    assert len(at.get("plotly_chart")) == 1 and not at.info

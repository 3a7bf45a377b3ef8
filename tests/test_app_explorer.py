"""The explorer page through Streamlit's AppTest: the model picker, the latent sliders, the URL,
the InfoGAN codes, class control and attribute directions."""

import json

import pytest

from latent_studio.app import code_names
from tests.explorer_runs import checked, drag, explorer_env, images, make_run, open_page, panel_key, sliders, view, widget


@pytest.fixture(autouse=True)
def runs(monkeypatch, tmp_path, tmp_path_factory):
    with explorer_env(monkeypatch, tmp_path, tmp_path_factory.getbasetemp()) as root:
        yield root


def test_picker_lists_every_run_and_opens_the_first_readable_one():
    at = open_page()
    listed = [o.split()[0] for o in widget(at.selectbox, "Model").options]
    assert listed == ["broken", "cgan", "dcgan", "infogan", "mismatched", "pixelcnn", "vae"]
    assert at.query_params["model"] == "cgan"  # the first run cannot be read: the page opens the next one
    assert "not valid JSON" in open_page(model="broken").error[0].value  # picked, the broken run says why


def test_the_flagship_infogan_opens_first_when_it_is_there(tmp_path):
    make_run(tmp_path / "user" / "infogan-mnist", "dcgan", {"arch": {"generator": {"width": 8}}}, steps=(2,))
    assert open_page().query_params["model"] == "infogan-mnist"


@pytest.mark.parametrize("model, message", [
    ("broken", "config.json is not valid JSON"),
    ("mismatched", "generator.safetensors does not match config.json"),
])
def test_a_run_that_cannot_load_shows_its_error_and_the_training_tab(model, message):
    at = open_page(model=model)
    assert [e.value for e in at.error if message in e.value]
    assert [t.label for t in at.tabs] == ["Training", "Colorize & translate"]


def test_tabs_follow_the_family():
    assert [t.label for t in open_page(model="infogan").tabs] == [
        "Sliders", "InfoGAN codes", "Discovered directions", "Sample bank", "Interpolation", "Perturbation", "Your image", "Training",
        "Colorize & translate"]
    assert "Classes" in [t.label for t in open_page(model="cgan").tabs]
    assert "VAE manifold" in [t.label for t in open_page(model="vae").tabs]
    assert "Attributes" in [t.label for t in open_page(model="dcgan").tabs]


def test_a_run_written_after_the_page_opened_is_listed_on_the_next_run(tmp_path):
    at = open_page(model="dcgan")
    make_run(tmp_path / "user" / "fresh", "dcgan", {"arch": {"generator": {"width": 8}}}, steps=(2,))
    assert "fresh (dcgan on fake, step 2)" in widget(checked(at.run()).selectbox, "Model").options


def test_slider_moves_change_the_image_and_the_link_reproduces_it():
    at = open_page(model="dcgan")
    (start,) = images(at)
    (moved,) = images(drag(at, panel_key(at, "z_panel"), **{"0": 2.0}))
    assert moved != start and sliders(at, panel_key(at, "z_panel"))["z[0]"] == 2.0
    assert at.query_params["z"] == "0:2.0"
    assert images(open_page(model="dcgan", z="0:2.0")) == [moved]


def test_the_same_state_gives_the_same_image_whatever_the_path_to_it():
    at = open_page(model="dcgan")
    drag(at, panel_key(at, "z_panel"), **{"0": -1.0, "3": 0.5})
    first = images(drag(at, panel_key(at, "z_panel"), **{"0": 2.0}))
    again = open_page(model="dcgan")
    drag(again, panel_key(again, "z_panel"), **{"0": 2.0})
    assert images(drag(again, panel_key(again, "z_panel"), **{"3": 0.5})) == first


def test_the_performance_line_names_device_and_time():
    captions = [c.value for c in open_page(model="dcgan").caption]
    assert [c for c in captions if c.startswith("cpu · ") and "ms per generation (1 image)" in c]


def test_a_model_with_many_dimensions_shows_a_chosen_subset():
    at = open_page(model="dcgan")  # 100 dimensions
    assert list(sliders(at, "z_panel@0")) == [f"z[{i}]" for i in range(8)]
    widget(at.multiselect, "Dimensions to show").select(42)
    assert list(sliders(checked(at.run()), "z_panel@0")) == [*(f"z[{i}]" for i in range(8)), "z[42]"]


def test_a_model_with_few_dimensions_shows_every_slider():
    at = open_page(model="vae")
    assert list(sliders(at, "z_panel@0")) == ["z[0]", "z[1]"] and not at.multiselect


def test_a_linked_change_to_a_hidden_dimension_is_shown_and_applied():
    at = open_page(model="dcgan", z="57:2.5")
    assert sliders(at, "z_panel@0")["z[57]"] == 2.5
    assert images(at) != images(open_page(model="dcgan"))


def test_resample_shows_a_new_seed_and_reset_undoes_changes():
    at = open_page(model="dcgan", seed="3", z="1:1.0")
    (before,) = images(at)
    widget(at.button, "Resample").click()
    checked(at.run())
    seed = widget(at.number_input, "Seed").value
    assert seed != 3 and images(at) != [before]
    assert at.query_params["seed"] == str(seed) and "z" not in at.query_params
    assert sliders(at, panel_key(at, "z_panel"))["z[1]"] != 1.0
    drag(at, panel_key(at, "z_panel"), **{"1": 0.5})
    assert at.query_params["z"] == "1:0.5"
    widget(at.button, "Reset").click()
    checked(at.run())
    assert "z" not in at.query_params
    assert images(at) == images(open_page(model="dcgan", seed=str(seed)))


def test_permalink_round_trip_reproduces_the_view():
    at = open_page(model="infogan")
    widget(at.number_input, "Seed").set_value(7)
    checked(at.run())
    drag(at, panel_key(at, "z_panel"), **{"3": 1.5})
    at = view(at, "InfoGAN codes")
    widget(at.selectbox, "Categorical code 0").set_value(4)
    drag(at, panel_key(at, "continuous_panel"), **{"1": -1.5})
    link = dict(at.query_params)
    assert link == {"model": "infogan", "view": "InfoGAN codes", "seed": "7", "z": "3:1.5", "cat": "0:4", "cont": "1:-1.5"}
    reopened = open_page(**link)
    assert images(reopened) == images(at)
    assert widget(reopened.selectbox, "Categorical code 0").value == 4
    assert sliders(reopened, "continuous_panel@0")["Continuous code 1"] == -1.5
    assert sliders(view(reopened, "Sliders"), "z_panel@0")["z[3]"] == 1.5


def test_a_link_to_a_run_that_is_not_here_says_so_and_opens_another():
    at = open_page(model="gone", seed="5")
    assert "no run 'gone'" in at.warning[0].value
    assert at.query_params["model"] == "cgan"


def test_infogan_codes_drive_the_image_and_q_reads_them():
    at = view(open_page(model="infogan"), "InfoGAN codes")
    main, sweep = images(at)
    widget(at.selectbox, "Categorical code 0").set_value(3)
    checked(at.run())
    image, same_sweep = images(drag(at, panel_key(at, "continuous_panel"), **{"0": 1.75}))
    assert image != main
    assert same_sweep == sweep  # its rows and columns set exactly these two codes
    assert images(drag(at, panel_key(at, "continuous_panel"), **{"1": -1.0}))[1] != sweep  # it keeps the other code
    readings = [m.value for m in at.markdown if "Q reads" in m.value]
    assert readings[0].startswith("Continuous code 0: set to **1.75**, Q reads **")
    assert len(readings) == 2


def test_sweep_columns_run_beyond_the_training_range():
    at = view(open_page(model="infogan"), "InfoGAN codes")
    caption = next(c.value for c in at.caption if c.value.startswith("Columns: continuous code 0"))
    assert "-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0" in caption and "extrapolation" in caption


def test_naming_a_categorical_value_saves_it_with_the_run(runs):
    at = view(open_page(model="infogan", cat="0:7"), "InfoGAN codes")
    widget(at.text_input, "What does value 7 of code 0 draw?").set_value("sevens")
    widget(at.button, "Save name").click()
    checked(at.run())
    assert json.loads((runs / "infogan" / code_names.FILE).read_text())["categorical"][0][7] == "sevens"
    assert widget(checked(at.run()).selectbox, "Categorical code 0").format_func(7) == "7 · sevens"
    reopened = view(open_page(model="infogan", cat="0:7"), "InfoGAN codes")
    assert widget(reopened.text_input, "What does value 7 of code 0 draw?").value == "sevens"


def test_class_select_changes_the_class_with_z_fixed():
    at = view(open_page(model="cgan"), "Classes")
    main, every = images(at)
    options = widget(at.selectbox, "Class").options
    widget(at.selectbox, "Class").set_value(5 if options[5] != widget(at.selectbox, "Class").value else 6)
    changed, every_after = images(checked(at.run()))
    assert changed != main and every_after == every  # the every-class row has the same z
    assert at.query_params["label"] in ("5", "6")


def test_attribute_sliders_move_the_image_along_their_direction(runs):
    at = view(open_page(model="dcgan"), "Attributes")
    (start,) = images(at)
    panel = f"attribute_panel:{runs / 'dcgan'}"
    assert sliders(at, panel) == {"Eyeglasses": 0.0, "Smiling": 0.0}
    (smiling,) = images(drag(at, panel, Smiling=2.0))
    assert smiling != start
    assert images(view(view(at, "Sliders"), "Attributes")) == [smiling]  # kept while another tab was open
    assert images(drag(at, panel, Smiling=0.0)) == [start]


def test_attribute_names_read_as_people_write_them():
    from latent_studio.app.views.attributes import label

    assert label("Mouth_Slightly_Open") == "Mouth Slightly Open"
    assert label("5_o_Clock_Shadow") == "5 o'Clock Shadow"


def test_the_model_card_names_family_data_latent_and_metrics():
    at = open_page(model="infogan")
    (card,) = [e for e in at.expander if e.label == "Model card: infogan"]
    text = " ".join(m.value for m in card.markdown)
    assert "**infogan** on **fake** (28x28, 1 channel), step 4 of 4" in text
    assert "Latent: z of 62 (normal), a 10-way code, 2 continuous codes in ±1." in text
    assert "- hardware: test CPU\n- training time: 1 min 15 s\n- fine-tuned from: `infogan-base` (test GPU, 2 min 10 s)" in text
    assert "| d_loss | 0.6123 |" in text and "| q_cat_acc | 0.99 |" in text
    assert [c.value for c in card.code] == ["python -m latent_studio train --preset infogan-mnist",
                                            "python -m latent_studio train --out runs/infogan-base"]


def test_a_hand_edited_fine_tune_record_never_breaks_the_card():
    from latent_studio.app.views.picker import _fine_tuned_from

    assert _fine_tuned_from({}) == _fine_tuned_from({"started_from": "runs/base"}) == (None, None)
    assert _fine_tuned_from({"started_from": {"run": "runs/`base`", "train_seconds": "long", "command": 5}}) == ("`base`", None)


def test_image_to_image_runs_point_to_their_tab_instead_of_the_picker(tmp_path):
    (tmp_path / "user" / "facades").mkdir(parents=True)
    (tmp_path / "user" / "facades" / "config.json").write_text(json.dumps({"family": "pix2pix"}))
    at = open_page(model="dcgan")
    assert "Image-to-image runs, opened in Colorize & translate: facades" in [c.value for c in at.caption]
    assert not [o for o in widget(at.selectbox, "Model").options if o.startswith("facades")]


def test_damaged_attribute_directions_show_an_error(runs, tmp_path):
    copy = tmp_path / "user" / "faces"
    copy.mkdir(parents=True)
    for file in (runs / "dcgan").glob("*.json"):
        (copy / file.name).write_bytes(file.read_bytes())
    (copy / "generator.safetensors").write_bytes((runs / "dcgan" / "generator.safetensors").read_bytes())
    (copy / "directions.safetensors").write_bytes(b"\x80\x04 not safetensors")
    at = view(open_page(model="faces"), "Attributes")
    assert "directions.safetensors is not a valid safetensors file" in at.error[0].value

"""The Your image view through AppTest: upload, see the reconstruction, make it the current latent
(then the Sliders tab draws it), and what a run without an inverter says in local and public mode."""

from __future__ import annotations

import base64
import io
import shutil

import pytest
import torch
from PIL import Image, ImageDraw

from latent_studio.app.sampling import LatentState
from latent_studio.families.run_models import load_run
from latent_studio.inference.inversion import INVERTER, save_inverter
from latent_studio.runs.files import record_metrics
from latent_studio.training.inverter import train_inverter
from tests.explorer_runs import checked, explorer_env, images, open_page, view, widget


@pytest.fixture(autouse=True)
def runs(monkeypatch, tmp_path, tmp_path_factory):
    """The tiny runs, with a copy of the InfoGAN that has an inverter (a few steps' worth)."""
    with explorer_env(monkeypatch, tmp_path, tmp_path_factory.getbasetemp()) as root:
        mine = tmp_path / "user" / "infogan-inverted"
        shutil.copytree(root / "infogan", mine)
        run = load_run(mine, device="cpu")
        inverter, info = train_inverter(run, steps=3, batch_size=8)
        save_inverter(mine, inverter, info["arch"])
        record_metrics(mine, {"inverter": {**info, "measures": {"test_psnr": 25.5, "digit_share": 0.9562, "n_test": 300}}})
        yield root


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _digit() -> bytes:
    paper = Image.new("L", (120, 160), 240)
    ImageDraw.Draw(paper).ellipse((30, 30, 90, 130), outline=10, width=12)  # a "0"
    return _png(paper)


TRUNCATED = _png(Image.effect_noise((64, 64), 60))[:400]  # a download cut short


def _upload(at, name: str, data: bytes, mime: str = "image/png"):
    at.file_uploader[0].set_value((name, data, mime))
    return checked(at.run())


def test_an_upload_becomes_the_current_latent_for_every_view():
    at = view(open_page(model="infogan-inverted"), "Your image")
    assert widget(at.file_uploader, "Your image")
    at = _upload(at, "zero.png", _digit())
    yours, closest = images(at)
    assert yours != closest and at.metric[0].label == "PSNR" and at.metric[0].value.endswith(" dB")
    assert "Read from your image: categorical code 0 =" in " ".join(c.value for c in at.caption)
    assert at.session_state["latent_state"] == LatentState()  # nothing changes until the button
    widget(at.button, "Make this the current latent").click()
    at = checked(at.run())
    state = at.session_state["latent_state"]
    assert len(state.z) == 62 and set(state.categorical) == {0} and set(state.continuous) == {0, 1}
    assert widget(at.button, "Make this the current latent").disabled
    assert "This is the current latent" in at.success[0].value
    assert at.query_params["z"].count(":") == 62  # the link holds it
    sliders = view(at, "Sliders")
    assert images(sliders) == [closest]  # the Sliders tab draws the reconstruction the view showed


@pytest.mark.parametrize("name, data, message", [
    ("broken.png", TRUNCATED, "damaged or incomplete"),
    ("notes.png", b"not a picture at all", "not an image that can be read here"),
])
def test_a_bad_upload_shows_what_is_wrong(name, data, message):
    at = _upload(view(open_page(model="infogan-inverted"), "Your image"), name, data)
    assert message in at.error[0].value and not images(at)


def test_a_run_without_an_inverter_says_how_to_train_one(monkeypatch):
    at = view(open_page(model="dcgan"), "Your image")
    assert "has no inverter yet" in at.info[0].value
    assert "python -m latent_studio inverter" in at.code[0].value
    assert [b.label for b in at.button if b.label.startswith("Train a quick inverter")]
    monkeypatch.setenv("LATENT_STUDIO_PUBLIC", "1")
    public = view(open_page(model="dcgan"), "Your image")
    assert "python -m latent_studio inverter" in public.code[0].value
    assert not [b.label for b in public.button if b.label.startswith("Train a quick inverter")]


def test_without_an_inverter_the_search_still_runs(runs):
    at = _upload(view(open_page(model="dcgan"), "Your image"), "zero.png", _digit())
    assert len(images(at)) == 2 and "without an inverter" in " ".join(c.value for c in at.caption)
    assert not (runs / "dcgan" / INVERTER).exists()
    assert torch.get_num_threads() >= 1


def test_a_drawn_digit_is_inverted_like_an_uploaded_one():
    at = view(open_page(model="infogan-inverted"), "Your image")
    widget(at.radio, "Source").set_value("Draw a digit")
    at = checked(at.run())
    assert not images(at)  # nothing drawn yet
    at.session_state["invert_drawing"] = {"drawing": "data:image/png;base64," + base64.b64encode(_digit()).decode()}
    drawn = images(checked(at.run()))
    assert len(drawn) == 2
    uploaded = _upload(view(open_page(model="infogan-inverted"), "Your image"), "zero.png", _digit())
    assert images(uploaded) == drawn


def test_a_pad_report_that_is_not_a_png_is_ignored():
    at = view(open_page(model="infogan-inverted"), "Your image")
    widget(at.radio, "Source").set_value("Draw a digit")
    at.session_state["invert_drawing"] = {"drawing": "data:text/html;base64,PHNjcmlwdD4="}
    at = checked(at.run())
    assert not images(at) and not at.error


def test_the_model_card_shows_the_inverters_measures():
    at = open_page(model="infogan-inverted")
    (card,) = [e for e in at.expander if e.label == "Model card: infogan-inverted"]
    assert "| inverter | test_psnr 25.5, digit_share 0.9562, n_test 300 |" in " ".join(m.value for m in card.markdown)


def test_local_mode_trains_a_quick_inverter_from_the_page(runs, tmp_path, monkeypatch):
    from latent_studio.app.views import your_image

    monkeypatch.setattr(your_image, "PAGE_TRAIN_SECONDS", 1)
    shutil.copytree(runs / "dcgan", tmp_path / "user" / "fresh")
    at = view(open_page(model="fresh"), "Your image")
    (button,) = [b for b in at.button if b.label.startswith("Train a quick inverter")]
    button.click()
    at = checked(at.run())
    assert (tmp_path / "user" / "fresh" / INVERTER).is_file()
    assert not at.info and "the explorer's Your image tab" in load_run(tmp_path / "user" / "fresh").config.metrics["inverter"]["command"]

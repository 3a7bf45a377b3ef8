"""Inversion (latent_studio.inference.inversion): an image back to the latent that makes it. Tiny runs check the
mechanics in seconds; the shipped runs and their inverters check the numbers README states, on
their own samples and on held-out real images (skipped without the datasets)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from latent_studio.data.datasets import load_dataset
from latent_studio.data.uploads import UploadError
from latent_studio.evaluation.evaluate import real_images
from latent_studio.families.run_models import load_run
from latent_studio.inference.inversion import INVERTER, InversionError, invert, load_inverter, prepare_upload, save_inverter
from latent_studio.runs.files import CheckpointError, read_config
from latent_studio.training.inverter import train_inverter
from tests.conftest import SHARED_DATA
from tests.explorer_runs import DEFAULT_INIT, make_run

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


TRUNCATED = _png(Image.effect_noise((64, 64), 60))[:400]  # a download cut short


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A freshly initialised InfoGAN run (z, a 10-way code, two continuous codes) with an inverter
    trained for a few steps."""
    run_dir = tmp_path_factory.mktemp("inversion") / "infogan"
    make_run(run_dir, "infogan", DEFAULT_INIT, steps=(2,))
    run = load_run(run_dir, device="cpu")
    inverter, info = train_inverter(run, steps=5, batch_size=8)
    save_inverter(run_dir, inverter, info["arch"])
    return run_dir


def shipped(name: str):
    run_dir = CHECKPOINTS / name
    if not (run_dir / INVERTER).is_file():
        pytest.skip(f"{run_dir} ships no {INVERTER}")
    run = load_run(run_dir, device="cpu")
    return run, load_inverter(run)


# --- the mechanics, on a tiny run ------------------------------------------------------------------


def test_the_inverter_saves_and_loads_back_with_every_head(tiny):
    run = load_run(tiny, device="cpu")
    inverter = load_inverter(run)
    out = inverter(torch.zeros(2, 1, 28, 28))
    assert {k: tuple(v.shape) for k, v in out.items() if k != "features"} == {"z": (2, 62), "cat0": (2, 10), "cont": (2, 2)}
    assert (tiny / INVERTER).stat().st_size < 10 * 2**20


def test_an_inverter_for_another_latent_is_refused_with_the_command_to_retrain(tiny, tmp_path):
    other = tmp_path / "dcgan"
    make_run(other, "dcgan", DEFAULT_INIT, steps=(2,))
    shutil.copy(tiny / INVERTER, other / INVERTER)
    with pytest.raises(CheckpointError, match="python -m latent_studio inverter"):
        load_inverter(load_run(other, device="cpu"))


def test_the_search_improves_on_the_guess_and_keeps_z_typical(tiny):
    run = load_run(tiny, device="cpu")
    sample = run.config.latent.sample(4, torch.Generator().manual_seed(1))
    with torch.no_grad():
        images = run.family.render(run.modules, sample)
    guess, found = invert(run, images, steps=0), invert(run, images, steps=40)
    assert np.mean(found.psnr) > np.mean(guess.psnr)
    assert found.reconstruction.shape == images.shape and found.sample.z.shape == (4, 62)
    assert found.sample.z.abs().max() <= 3.0 and found.sample.continuous.abs().max() <= 2.0
    assert ((found.sample.z.pow(2).mean(1) - 1).abs() < 0.5).all()  # on the prior's shell, not drifting off it


def test_a_batch_inverts_as_its_images_would_one_by_one(tiny):
    run = load_run(tiny, device="cpu")
    images = torch.rand(3, 1, 28, 28) * 2 - 1
    batch = invert(run, images, steps=10)
    single = invert(run, images[1], steps=10)
    torch.testing.assert_close(batch.sample.z[1], single.sample.z[0], atol=1e-4, rtol=1e-4)


def test_an_image_of_the_wrong_shape_is_refused(tiny):
    with pytest.raises(InversionError, match=r"images of shape \[1, 28, 28\]"):
        invert(load_run(tiny, device="cpu"), torch.zeros(3, 64, 64))


def test_the_cli_trains_saves_and_records_the_inverter(tmp_path, capsys, monkeypatch):
    from latent_studio.cli import main

    run_dir = tmp_path / "dcgan"
    make_run(run_dir, "dcgan", DEFAULT_INIT, steps=(2,))
    argv = ["inverter", str(run_dir), "--steps", "3", "--data-root", str(tmp_path / "none"), "--no-progress"]
    monkeypatch.setattr("sys.argv", ["python -m latent_studio", *argv])
    assert main(argv) == 0
    assert (run_dir / INVERTER).is_file() and "3 steps" in capsys.readouterr().out
    recorded = read_config(run_dir).metrics["inverter"]
    assert recorded["steps"] == 3 and recorded["command"].startswith("python -m latent_studio inverter")
    assert recorded["measures"]["test_psnr"] > 0  # the fake dataset's test split is made on the fly


def test_the_cli_refuses_a_missing_run_in_one_line(tmp_path, capsys):
    from latent_studio.cli import main

    assert main(["inverter", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# --- uploads ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def face_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("inversion") / "face"
    make_run(run_dir, "dcgan", {**DEFAULT_INIT, "data": {"image_size": 64, "channels": 3, "color_space": "rgb"}}, steps=(2,))
    return run_dir


def test_a_face_photo_is_cropped_to_its_centre_square_at_the_model_size(face_run):
    photo = Image.new("RGB", (300, 200), (255, 0, 0))
    photo.paste((0, 0, 255), (50, 0, 250, 200))  # the centre square is blue, red bands either side
    image = prepare_upload(_png(photo), load_run(face_run, device="cpu"))
    assert image.shape == (3, 64, 64) and image.min() >= -1 and image.max() <= 1
    assert torch.allclose(image[:, :, 0], torch.tensor([-1.0, -1.0, 1.0])[:, None], atol=0.02)


def test_a_dark_digit_on_white_paper_becomes_mnist_shaped(tiny):
    paper = Image.new("L", (400, 300), 235)
    ImageDraw.Draw(paper).line([(60, 40), (90, 250)], fill=20, width=18)  # a "1" near the left edge
    image = prepare_upload(_png(paper), load_run(tiny, device="cpu"))[0]
    assert image.shape == (28, 28)
    ink = (image + 1) / 2
    assert ink[0].max() == 0 and ink[:, 0].max() == 0 and ink[-1].max() == 0  # light on black, with a black margin
    rows, cols = torch.nonzero(ink > 0.5, as_tuple=True)
    assert rows.max() - rows.min() + 1 <= 20  # fitted into 20 x 20 ...
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    cy, cx = float((ink * ys).sum() / ink.sum()), float((ink * xs).sum() / ink.sum())
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1  # ... and centred by its centre of mass


@pytest.mark.parametrize("upload, message", [
    (TRUNCATED, "damaged or incomplete"),
    (b"Dear model, here is my digit.", "not an image that can be read here"),
    (b"", "empty"),
])
def test_bad_uploads_are_refused_with_the_colorize_tabs_messages(tiny, upload, message):
    with pytest.raises(UploadError, match=message):
        prepare_upload(upload, load_run(tiny, device="cpu"))


def test_a_huge_image_is_refused_before_it_is_decoded(tiny):
    huge = Image.new("L", (6000, 5000))  # 30 million pixels, over the 24 million cap
    with pytest.raises(UploadError, match="the limit is 24,000,000 pixels"):
        prepare_upload(_png(huge), load_run(tiny, device="cpu"))


def test_a_blank_page_has_no_digit_to_invert(tiny):
    with pytest.raises(InversionError, match="No digit found"):
        prepare_upload(_png(Image.new("L", (50, 50), 255)), load_run(tiny, device="cpu"))


# --- the shipped inverters (README's numbers) ------------------------------------------------------


@pytest.mark.parametrize("name, floor", [("dcgan-mnist", 28.0), ("infogan-mnist", 26.0), ("sngan-celeba", 30.0)])
def test_a_generated_image_comes_back(name, floor):
    run, inverter = shipped(name)
    sample = run.config.latent.sample(8, torch.Generator().manual_seed(11))
    with torch.no_grad():
        images = run.family.render(run.modules, sample)
    found = invert(run, images, inverter=inverter)
    assert np.mean(found.psnr) >= floor
    if sample.categorical:  # the inverter reads the code G was given
        assert (found.sample.categorical[0] == sample.categorical[0]).float().mean() >= 0.875


@pytest.mark.parametrize("name, floor", [("dcgan-mnist", 23.0), ("infogan-mnist", 19.0)])
def test_held_out_digits_round_trip(real_data, name, floor):
    run, inverter = shipped(name)
    digits = real_images(load_dataset(run.config.data, real_data, "test"))[:16]
    assert np.mean(invert(run, digits, inverter=inverter).psnr) >= floor


def test_held_out_faces_round_trip():
    run, inverter = shipped("sngan-celeba")
    if not (SHARED_DATA / "celeba_64" / "list_attr_celeba.txt").is_file():
        pytest.skip(f"CelebA not found at {SHARED_DATA / 'celeba_64'}")
    faces = real_images(load_dataset(run.config.data, SHARED_DATA, "test"))[:8]
    assert np.mean(invert(run, faces, inverter=inverter).psnr) >= 17.0

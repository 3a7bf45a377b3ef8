"""Finding the face in a photo and framing it as CelebA's aligned faces (latent_studio.data.faces), on
CelebA's held-out faces pasted into held-out photos, and the paths that use it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from latent_studio import SHIPPED
from latent_studio.data import faces
from latent_studio.data.image_quality import psnr
from latent_studio.families.run_models import load_run
from latent_studio.inference.inversion import as_model_input, framed_upload
from latent_studio.inference.pipeline import FACE_SIDE, inpaint, translate
from tests.conftest import SHARED_DATA

PASTED = 16


@pytest.fixture(scope="module")
def pasted() -> list[tuple[np.ndarray, np.ndarray, object]]:
    """CelebA test faces in test photos, 1 to 2.5 times their size, turned up to 20 degrees either way."""
    if not (SHARED_DATA / "celeba_64").is_dir():
        pytest.skip(f"CelebA not found at {SHARED_DATA}")
    return list(faces.pasted_faces(SHARED_DATA, "test", PASTED, seed=7, scales=(1.0, 2.5), roll=20.0))


@pytest.fixture(scope="module")
def portrait() -> tuple[np.ndarray, np.ndarray, object]:
    """One more held-out face in a held-out photo, one and a half times its size and a little turned."""
    [one] = faces.pasted_faces(SHARED_DATA, "test", 1, seed=3, scales=(1.5, 1.5), roll=10.0)
    return one


def _unit(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)


def test_pasted_test_faces_are_found_with_their_eyes_where_celeba_puts_them(pasted):
    errors = []
    for photo, eyes, _ in pasted:
        face = faces.find_face(Image.fromarray(photo))
        errors.append(np.inf if face is None else np.linalg.norm(faces.in_frame(eyes, face.eyes) - faces.EYES, axis=1).max())
    errors = np.array(errors)
    assert np.mean(errors <= 3.0) >= 0.9, errors.round(1)  # the worse eye within 3 px at 64 px
    assert np.median(errors) <= 1.5, errors.round(1)


def test_a_face_framed_at_its_true_eyes_is_the_aligned_original(pasted):
    photo, eyes, original = pasted[0]
    framed = faces.frame(Image.fromarray(photo), faces.Face(eyes, (0, 0, 1, 1), 0.0))
    assert float(psnr(_unit(framed)[None], _unit(Image.open(original).convert("RGB"))[None])[0]) > 24


def test_the_roll_is_read_from_the_eyes():
    image = np.zeros((200, 200, 3), np.uint8)
    _, eyes = faces.paste(np.full((64, 64, 3), 128, np.uint8), image, 2.0, 15.0, (100, 100))
    assert faces.Face(eyes, (0, 0, 1, 1), 0.0).roll == pytest.approx(15.0, abs=1e-6)  # positive: the right eye lower


def test_a_photo_without_a_face_is_its_centre_square_with_a_clear_message():
    sky = np.linspace(60, 220, 300, dtype=np.float32)[:, None, None] * np.array([0.5, 0.7, 1.0])
    photo = Image.fromarray(np.broadcast_to(sky, (300, 400, 3)).astype(np.uint8))
    framing = faces.frame_face(photo, 64)
    assert framing.face is None and framing.message == faces.NO_FACE and "centre square" in framing.message
    expected = photo.crop((50, 0, 350, 300)).resize((64, 64), Image.LANCZOS)
    assert np.array_equal(np.asarray(framing.image), np.asarray(expected))
    for odd in (Image.new("RGB", (1, 300)), Image.new("RGB", (8, 8))):  # a sliver, a thumbnail: no face, no error
        assert faces.frame_face(odd, 64).face is None


def test_the_framing_drawn_on_the_photo_marks_the_eyes(portrait):
    photo = Image.fromarray(portrait[0])
    framing = faces.frame_face(photo)
    shown = np.asarray(faces.marked(photo, framing)).astype(int)
    x, y = np.round(framing.face.eyes[0]).astype(int)
    assert shown.shape == (256, 256, 3) and tuple(shown[y, x]) == (255, 40, 40)


@pytest.fixture(scope="module")
def sngan():
    return load_run(SHIPPED / "sngan-celeba", device="cpu")


def test_a_face_model_inverts_the_face_framed_not_the_centre_square(portrait, sngan):
    photo, _, original = portrait
    image, framing = framed_upload(Image.fromarray(photo), sngan)
    assert framing is not None and framing.face is not None and framing.message is None
    truth = as_model_input(Image.open(original), sngan)
    centre, none = framed_upload(Image.fromarray(photo), sngan, find_face=False)
    assert none is None
    # A pixel of shift costs a detailed face many dB, so only the order is certain: the framed face is the original's
    # nearest, the centre square (a wider view of the photo) far from it.
    to_truth = float(psnr((image[None] + 1) / 2, (truth[None] + 1) / 2)[0])
    assert to_truth > float(psnr((centre[None] + 1) / 2, (truth[None] + 1) / 2)[0]) + 3


def test_a_face_translator_reads_the_framed_face_and_says_when_there_is_none(portrait):
    photo = Image.fromarray(portrait[0])
    t = translate(photo, SHIPPED / "discogan-gender", "AtoB")
    assert t.framing.face is not None and t.output.size == (FACE_SIDE, FACE_SIDE)
    blank = Image.new("RGB", (120, 90), (90, 140, 200))
    t = translate(blank, SHIPPED / "discogan-gender", "AtoB")
    assert t.framing.face is None and t.framing.message == faces.NO_FACE and t.output.size == (90, 90)
    assert translate(photo, SHIPPED / "discogan-gender", "AtoB", find_face=False).framing is None


def test_a_face_inpainter_paints_in_the_framed_face_and_leaves_the_rest(portrait):
    photo, eyes, _ = portrait
    mask = np.zeros(photo.shape[:2], np.uint8)
    (xl, yl), (xr, yr) = eyes.round().astype(int)
    mask[min(yl, yr) - 4:max(yl, yr) + 5, xl - 4:xr + 5] = 255  # over both eyes
    result = inpaint(Image.fromarray(photo), Image.fromarray(mask), SHIPPED / "inpaint-celeba")
    assert result.framing.face is not None
    out = np.asarray(result.output).astype(int)
    assert np.array_equal(out[mask == 0], photo[mask == 0].astype(int))  # only painted pixels change
    assert np.abs(out[mask > 0] - photo[mask > 0]).mean() > 3  # and they were painted


def test_your_image_shows_the_face_found_and_says_when_there_is_none(monkeypatch, tmp_path, portrait):
    from streamlit.testing.v1 import AppTest

    from latent_studio import PROJECT
    from tests.explorer_runs import checked, images

    monkeypatch.setenv("LATENT_STUDIO_RUNS", str(SHIPPED))
    monkeypatch.setenv("LATENT_STUDIO_USER_RUNS", str(tmp_path / "user"))
    monkeypatch.setenv("LATENT_STUDIO_DATA", str(tmp_path / "data"))
    at = AppTest.from_file(str(PROJECT / "latent_studio" / "app" / "page.py"), default_timeout=120)
    at.query_params.update(model="sngan-celeba")
    checked(at.run())
    at.session_state["view"] = "Your image"
    checked(at.run())
    [framing] = [r for r in at.radio if r.label == "Framing"]
    assert framing.options == ["Find the face", "Centre square"] and framing.value == "Find the face"
    at.file_uploader[0].set_value(("face.png", _png(Image.fromarray(portrait[0])), "image/png"))
    checked(at.run())
    assert not at.warning and len(images(at)) == 3  # the photo with the square found, yours framed, the closest
    at.file_uploader[0].set_value(("sky.png", _png(Image.new("RGB", (200, 150), (90, 140, 200))), "image/png"))
    checked(at.run())
    assert [w.value for w in at.warning] == [faces.NO_FACE] and len(images(at)) == 3


def _png(image: Image.Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()

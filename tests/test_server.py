"""One process, one port: the explorer at /, Gradio at /gradio, both from README's command.
gradio_client against the real server; path traversal; README and Dockerfile agree."""

from __future__ import annotations

import os
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latent_studio.app.img2img.app import ResultFiles
from latent_studio.app.public_answers import UPLOAD_CACHE
from latent_studio.deploy import SPACE_README
from tests.conftest import ROOT
from tests.server import readme_commands, running_server, tiny_server_runs


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("server")
    with running_server(tiny_server_runs(base), base / "user") as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(f"{server}/gradio/", verbose=False)


def upload(tmp_path, name: str, image: Image.Image) -> str:
    from gradio_client import handle_file

    path = tmp_path / name
    image.save(path)
    return handle_file(str(path))


def test_dockerfile_runs_readmes_install_and_start_commands():
    install, start = readme_commands()
    docker = (ROOT / "Dockerfile").read_text()
    assert f"RUN {install}\n" in docker and f"CMD {start}\n" in docker
    assert re.search(r"^USER user$", docker, re.M)  # not root
    assert re.search(r"^ENV LATENT_STUDIO_PUBLIC=1$", docker, re.M)  # a Space is public: latent_studio.app.mode
    # public mode writes its upload cache inside the working directory, which the user must own
    made, workdir = docker.index(f"RUN mkdir -p /home/user/app/{UPLOAD_CACHE}\n"), docker.index("WORKDIR /home/user/app\n")
    assert docker.index("USER user\n") < made < workdir
    front = SPACE_README.split("---")[1]  # the Space's README, which `python -m latent_studio space` writes
    assert "sdk: docker" in front and "app_port: 8501" in front


def test_explorer_and_gradio_share_one_port(server):
    with urllib.request.urlopen(server + "/") as r:
        assert r.status == 200
    with urllib.request.urlopen(server + "/gradio/config") as r:
        assert b'"api_prefix"' in r.read()


def test_colorize_returns_a_color_image_of_the_uploads_size(client, tmp_path):
    gray = Image.fromarray(np.random.default_rng(0).integers(0, 255, (53, 77), dtype=np.uint8))
    (before, after), download = client.predict(upload(tmp_path, "bw.png", gray), "colorizer", api_name="/colorize")
    result = Image.open(after["path"] if isinstance(after, dict) else after)
    assert result.size == (77, 53) and result.mode == "RGB"
    assert Image.open(download).size == (77, 53)


def test_the_same_photo_colorized_at_once_by_many_users_always_arrives_whole(server, tmp_path):
    """Identical results of concurrent requests never share a file that one rewrites while
    another is being sent (Gradio writes image objects in place under a hash of their bytes)."""
    from gradio_client import Client

    gray = Image.fromarray(np.random.default_rng(5).integers(0, 255, (48, 64), dtype=np.uint8))
    photo = upload(tmp_path, "same.png", gray)
    client = Client(f"{server}/gradio/", verbose=False)
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda _: client.predict(photo, "colorizer", api_name="/colorize"), range(12)))
    assert all(Image.open(download).size == (64, 48) for _, download in results)


def test_result_files_are_fresh_per_request_and_old_ones_are_removed(tmp_path):
    results = ResultFiles(tmp_path / "results", keep_s=60)
    image = Image.new("RGB", (8, 8), "red")
    first, none = results.save({"colorized": image, "error": None})
    second, = results.save({"colorized": image})
    assert first != second and none is None and Image.open(first).size == (8, 8)
    os.utime(Path(first).parent, (time.time() - 120,) * 2)  # an old request's folder
    results.save({"colorized": image})
    assert not Path(first).exists() and Path(second).exists()


def test_upscale_returns_bicubic_and_the_upscaled_photo_at_four_times_the_size(client, tmp_path):
    photo = Image.fromarray(np.random.default_rng(2).integers(0, 255, (30, 44, 3), dtype=np.uint8))
    (before, after), download = client.predict(upload(tmp_path, "small.png", photo), "upscaler", api_name="/upscale")
    sizes = [Image.open(p["path"] if isinstance(p, dict) else p).size for p in (before, after, download)]
    assert sizes == [(176, 120)] * 3
    with pytest.raises(Exception, match="Unknown upscaler model 'colorizer'"):
        client.predict(upload(tmp_path, "small.png", photo), "colorizer", api_name="/upscale")


def test_inpaint_fills_the_painted_region_of_an_editor_value(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    photo = Image.fromarray(np.random.default_rng(3).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    layer = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (10, 10, 30, 30))
    edit = {"background": upload(tmp_path, "face.png", photo), "layers": [upload(tmp_path, "layer.png", layer)], "composite": None}
    (erased, filled), download = client.predict(edit, "inpainter", api_name="/inpaint")
    images = [np.asarray(Image.open(p["path"] if isinstance(p, dict) else p).convert("RGB"), dtype=int) for p in (erased, filled, download)]
    assert all(im.shape == (48, 64, 3) for im in images)
    outside = np.ones((48, 64), bool)
    outside[10:30, 10:30] = False
    assert (images[1][outside] == np.asarray(photo, dtype=int)[outside]).all() and (images[0][~outside] == 128).all()
    with pytest.raises(AppError, match="Paint over the part of the photo you want filled first"):
        client.predict({"background": upload(tmp_path, "face.png", photo), "layers": [], "composite": None}, "inpainter",
                       api_name="/inpaint")
    notes = tmp_path / "notes.png"
    notes.write_text("not an image at all")
    with pytest.raises(AppError, match="This file is not an image that can be read here"):
        client.predict({"background": upload(tmp_path, "face.png", photo), "layers": [handle_file(str(notes))], "composite": None},
                       "inpainter", api_name="/inpaint")


def test_translate_returns_translation_round_trip_and_error_map(client, tmp_path):
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 255, (40, 64, 3), dtype=np.uint8))
    out, recon, error = client.predict(upload(tmp_path, "summer.jpg", photo), "summer2winter", "AtoB", api_name="/translate")
    assert [Image.open(p).size for p in (out, recon, error)] == [(64, 40)] * 3
    out, recon, error = client.predict(upload(tmp_path, "labels.png", photo), "facades", "AtoB", api_name="/translate")
    assert Image.open(out).size == (64, 40) and recon is None and error is None


def test_a_face_model_translates_the_centre_square_of_a_portrait_one_way(client, tmp_path):
    photo = Image.fromarray(np.random.default_rng(2).integers(0, 255, (90, 60, 3), dtype=np.uint8))
    out, recon, error = client.predict(upload(tmp_path, "portrait.jpg", photo), "face2anime", "BtoA", api_name="/translate")
    assert Image.open(out).size == (60, 60) and recon is None and error is None  # the radio means nothing to a one-way model


def test_a_face_model_frames_the_face_in_a_portrait_unless_asked_for_the_centre_square(client, tmp_path):
    from latent_studio.data.faces import pasted_faces
    from latent_studio.inference.pipeline import FACE_SIDE
    from tests.conftest import SHARED_DATA

    [(photo, _, _)] = pasted_faces(SHARED_DATA, "test", 1, seed=3, scales=(1.5, 1.5), roll=10.0)
    portrait = upload(tmp_path, "face.png", Image.fromarray(photo[:, :200]))  # 256 x 200: its centre square is 200 a side
    out, _, _ = client.predict(portrait, "face2anime", "AtoB", api_name="/translate")  # the framing left at its default
    assert Image.open(out).size == (FACE_SIDE, FACE_SIDE)
    out, _, _ = client.predict(portrait, "face2anime", "AtoB", False, api_name="/translate")
    assert Image.open(out).size == (200, 200)


def test_bad_uploads_and_unknown_models_get_a_clear_message(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    with pytest.raises(AppError, match="This file is not an image that can be read here"):
        client.predict(handle_file(str(text)), "colorizer", api_name="/colorize")
    big = tmp_path / "big.png"
    Image.new("L", (8, 8)).save(big)
    with open(big, "ab") as f:  # a valid image padded past the 20 MiB limit
        f.write(b"\0" * (20 * 2**20 + 1000))
    with pytest.raises(AppError, match="larger than the 20 MB upload limit"):
        client.predict(handle_file(str(big)), "summer2winter", "AtoB", api_name="/translate")
    photo = upload(tmp_path, "ok.png", Image.new("L", (8, 8)))
    with pytest.raises(AppError, match="Unknown colorizer model '../../etc'"):
        client.predict(photo, "../../etc", api_name="/colorize")


def test_a_made_up_file_path_in_a_request_is_refused(server):
    """The events skip Gradio's preprocessing, so the app itself must refuse paths it did not receive."""
    import json

    body = json.dumps({"data": [{"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}, "colorizer", 0.5]}).encode()
    request = urllib.request.Request(f"{server}/gradio/gradio_api/call/colorize", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as r:
        event = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{server}/gradio/gradio_api/call/colorize/{event}") as r:
        stream = r.read().decode()
    assert "event: error" in stream and "not uploaded by a user" in stream


def test_upload_source_reads_only_uploaded_or_example_files(tmp_path):
    import gradio as gr

    from latent_studio.app.img2img.app import EXAMPLES, upload_source

    example = EXAMPLES / "colorize" / "daisy.jpg"
    assert upload_source({"path": str(example)}, [tmp_path, EXAMPLES]) == str(example)
    for made_up in ("/etc/hostname", str(tmp_path / ".." / "elsewhere.png")):
        with pytest.raises(gr.Error, match="not uploaded to this app"):
            upload_source({"path": made_up}, [tmp_path, EXAMPLES])
    with pytest.raises(gr.Error, match="Upload a photo first"):
        upload_source(None, [tmp_path])


@pytest.mark.parametrize("path", ["/etc/passwd", "README.md", "app.py", "../README.md", "checkpoints/dcgan-mnist/config.json"])
def test_gradio_serves_no_file_outside_its_temp_and_example_folders(server, path):
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{server}/gradio/gradio_api/file={path}")
    assert e.value.code in (403, 404)


def test_gradio_serves_its_example_photos(server):
    example = ROOT / "latent_studio" / "app" / "examples" / "colorize" / "daisy.jpg"
    with urllib.request.urlopen(f"{server}/gradio/gradio_api/file={example}") as r:
        assert r.status == 200 and r.read() == example.read_bytes()

"""The Colorize/Translate pipeline as the UI calls it: every kind of upload comes back RGB at its
own size and orientation, colorization keeps the upload's full-resolution lightness, bad uploads
get the uploads module's message, and the shipped checkpoints work when present."""

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from latent_studio.app.tools.img2img_bench import main as bench_main
from latent_studio.data import color
from latent_studio.data.uploads import UploadError, UploadLimits
from latent_studio.families import get_family
from latent_studio.families.run_models import save_run
from latent_studio.inference.pipeline import Translation, colorize, colorize_many, get_run, translate, work_size
from tests.conftest import ROOT
from tests.img2img_helpers import photo, tiny_config

ORIENTATION = 0x0112
W, H = 48, 40  # upright size of every test upload: not square, so a swapped orientation shows


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def exif_rotated() -> bytes:
    """A JPEG stored sideways (H x W) with EXIF orientation 6: upright it is W x H."""
    stored = photo(1, (W, H)).transpose(Image.Transpose.ROTATE_90)
    exif = stored.getexif()
    exif[ORIENTATION] = 6
    return encode(stored, "JPEG", quality=95, exif=exif)


def sixteen_bit() -> bytes:
    values = (np.asarray(photo(2, (W, H)).convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    return encode(Image.fromarray(values), "PNG")


UPLOADS = {
    "jpeg": lambda: encode(photo(3, (W, H)), "JPEG", quality=95),
    "png": lambda: encode(photo(3, (W, H)), "PNG"),
    "webp": lambda: encode(photo(3, (W, H)), "WEBP", lossless=True),
    "bmp": lambda: encode(photo(3, (W, H)), "BMP"),
    "gif": lambda: encode(photo(3, (W, H)), "GIF"),
    "rgba": lambda: encode(photo(3, (W, H)).convert("RGBA"), "PNG"),
    "palette": lambda: encode(photo(3, (W, H)).convert("P"), "PNG"),
    "cmyk": lambda: encode(photo(3, (W, H)).convert("CMYK"), "JPEG"),
    "16-bit": sixteen_bit,
    "gray": lambda: encode(photo(3, (W, H)).convert("L"), "PNG"),
    "exif-rotated": exif_rotated,
    "pil-image": lambda: photo(3, (W, H)),
}


def make_run(path: Path, *args, **kw) -> Path:
    """An untrained tiny run directory: enough to exercise the pipeline end to end."""
    cfg = tiny_config(*args, **kw)
    torch.manual_seed(0)
    save_run(path, cfg, get_family(cfg.family)(cfg).build())
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {
        "lab": make_run(root / "lab", "pix2pix", "colorize"),
        "rgb": make_run(root / "rgb", "pix2pix", "colorize", {"data": {"color_space": "rgb"},
                        "arch": {"chroma": "regression", "generator": {"out_channels": 3, "output": "image"}}}),
        "facades": make_run(root / "facades", "pix2pix", "paired", {"arch": {"direction": "BtoA"}}),
        "cyclegan": make_run(root / "cyclegan", "cyclegan", "unpaired"),
        "srgan": make_run(root / "srgan", "srgan", "photos"),
    }


def luma(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.float64) @ np.array(color.LUMA_601)


def lightness(img: Image.Image) -> np.ndarray:
    """CIE L* per pixel: what a Lab colorizer keeps (it replaces the chroma, which also moves 601
    luma when the upload had colour of its own)."""
    rgb = torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1).float() / 255
    return color.rgb_to_lab(rgb)[0].numpy()


@pytest.mark.parametrize("kind", list(UPLOADS))
def test_colorize_returns_rgb_at_the_uploads_size_and_orientation(runs, kind):
    out = colorize(UPLOADS[kind](), runs["lab"])
    assert (out.mode, out.size) == ("RGB", (W, H))


@pytest.mark.parametrize("kind", list(UPLOADS))
def test_translate_returns_output_reconstruction_and_error_map_at_the_uploads_size(runs, kind):
    result = translate(UPLOADS[kind](), runs["cyclegan"], "AtoB")
    for img in (result.output, result.reconstruction, result.error_map):
        assert (img.mode, img.size) == ("RGB", (W, H))


def test_exif_rotated_upload_keeps_its_upright_layout(runs):
    """The output's lightness is the upright photo's (a turned one would not line up)."""
    out = colorize(exif_rotated(), runs["lab"])
    assert np.abs(lightness(out) - lightness(photo(1, (W, H)))).mean() < 1  # JPEG-compressed, but not turned


@pytest.mark.parametrize("space", ["lab", "rgb"])
def test_colorize_keeps_the_uploads_full_resolution_luminance(runs, space):
    """A 1-pixel checkerboard over a gradient at 512 x 384 survives: a model running at 32 px
    could never draw it, so only the photo's own lightness can put it there."""
    y, x = np.mgrid[0:384, 0:512]
    gray = (60 + 0.2 * x + 40 * ((x + y) % 2)).astype(np.uint8)
    out = colorize(encode(Image.fromarray(gray), "PNG"), runs[space])
    assert out.size == (512, 384)
    diff = np.abs(luma(out) - gray)
    if space == "rgb":
        assert diff.max() <= 1  # 601 luma is kept exactly, up to rounding
    else:  # Lab keeps L*, which differs from 601 luma a little once chroma is added
        assert np.abs(lightness(out) - lightness(Image.fromarray(gray))).max() < 0.6 and diff.mean() < 3  # vivid chroma: luma drifts more


def test_colorize_many_matches_one_at_a_time(runs):
    uploads = [UPLOADS["png"](), photo(5, (64, 32)), UPLOADS["jpeg"]()]
    many = colorize_many(uploads, runs["lab"])
    assert [img.size for img in many] == [(W, H), (64, 32), (W, H)]
    assert np.array_equal(np.asarray(many[1]), np.asarray(colorize(uploads[1], runs["lab"])))


@pytest.mark.parametrize(
    ("upload", "limits", "message"),
    [
        (b"just text, not a picture", UploadLimits(), "not an image that can be read here"),
        (b"", UploadLimits(), "empty"),
        (encode(photo(0, (W, H)), "PNG"), UploadLimits(max_bytes=100), "upload limit"),
        (encode(photo(0, (W, H)), "PNG"), UploadLimits(max_pixels=1000), "the limit is 1,000 pixels"),
        (encode(photo(0, (W, H)), "PNG")[:60], UploadLimits(), "damaged or incomplete"),
    ],
    ids=["not-image", "empty", "too-many-bytes", "too-many-pixels", "truncated"],
)
@pytest.mark.parametrize("tool", ["colorize", "translate"])
def test_bad_uploads_are_refused_with_the_uploads_message(runs, upload, limits, message, tool):
    with pytest.raises(UploadError, match=message):
        if tool == "colorize":
            colorize(upload, runs["lab"], limits)
        else:
            translate(upload, runs["cyclegan"], "BtoA", limits)


def test_pix2pix_translates_only_its_trained_direction(runs):
    result = translate(UPLOADS["png"](), runs["facades"])
    assert isinstance(result, Translation) and result.output.size == (W, H)
    assert result.reconstruction is None and result.error_map is None
    assert translate(UPLOADS["png"](), runs["facades"], "BtoA").output.size == (W, H)
    with pytest.raises(ValueError, match="trained BtoA only"):
        translate(UPLOADS["png"](), runs["facades"], "AtoB")


def test_wrong_model_or_direction_is_refused(runs):
    with pytest.raises(ValueError, match="this needs a colorizer, not a translator"):
        colorize(UPLOADS["png"](), runs["cyclegan"])
    with pytest.raises(ValueError, match="this needs a translator, not a colorizer"):
        translate(UPLOADS["png"](), runs["lab"], "AtoB")
    with pytest.raises(ValueError, match="AtoB or BtoA"):
        translate(UPLOADS["png"](), runs["cyclegan"], "sideways")


def test_error_map_is_black_where_the_cycle_is_perfect(runs, monkeypatch):
    run = get_run(runs["cyclegan"])
    for name in ("generator_ab", "generator_ba"):
        monkeypatch.setitem(run.modules._modules, name, torch.nn.Identity())
    result = translate(encode(photo(7, (W, H)), "PNG"), run, "AtoB")
    assert np.asarray(result.error_map).max() <= 2  # black up to resampling
    assert np.abs(np.asarray(result.reconstruction, dtype=int) - np.asarray(photo(7, (W, H)), dtype=int)).max() <= 2


def test_loaded_runs_are_cached_per_path(runs):
    assert get_run(runs["lab"]) is get_run(str(runs["lab"]) + "/")


def test_a_run_saved_again_is_loaded_at_its_new_step(tmp_path):
    run = make_run(tmp_path / "colorizer", "pix2pix", "colorize")
    first = get_run(run)
    cfg = dataclasses.replace(first.config, step=first.config.step + 5)
    save_run(run, cfg, first.family.build())
    again = get_run(run)
    assert again is not first and again.config.step == first.config.step + 5


@pytest.mark.parametrize(("size", "expected"), [((640, 480), (172, 128)), ((100, 100), (128, 128)), ((10000, 100), (512, 4))])
def test_work_size_keeps_the_aspect_at_the_models_scale(size, expected):
    assert work_size(size, 128, 4) == expected


SHIPPED = ROOT / "checkpoints"


def test_shipped_checkpoints_colorize_and_translate():
    names = ("colorize-photos", "cyclegan-summer2winter", "pix2pix-facades")
    assert all((SHIPPED / n / "config.json").is_file() for n in names), f"shipped checkpoints missing under {SHIPPED}"
    upload = encode(photo(11, (300, 200)).convert("L"), "JPEG")
    out = colorize(upload, SHIPPED / "colorize-photos")
    assert out.size == (300, 200)
    # The shipped colorizer works in Lab: the photo's own lightness L* is kept (601 luma moves a
    # little with the new colours, as it must).
    def lightness(img):
        rgb = torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1) * 2 - 1
        return color.split(rgb, "lab")[0]

    assert (lightness(out) - lightness(Image.open(io.BytesIO(upload)))).abs().mean() < 0.01
    for direction in ("AtoB", "BtoA"):
        result = translate(upload, SHIPPED / "cyclegan-summer2winter", direction)
        assert result.output.size == result.error_map.size == (300, 200)
    facade = translate(upload, SHIPPED / "pix2pix-facades")
    assert facade.output.size == (300, 200) and facade.reconstruction is None


def test_latency_benchmark_times_what_the_app_offers_for_each_run(runs, capsys):
    args = [str(runs["lab"]), str(runs["cyclegan"]), str(runs["facades"]), "--size", "64", "--repeats", "2", "--json"]
    assert bench_main(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["task"] for r in rows] == ["colorize", "translate AtoB", "translate BtoA", "translate BtoA"]
    assert all(r["p50_ms"] > 0 and r["size"] == "64x64" for r in rows)


def test_upscale_returns_four_times_the_upload_and_an_untrained_upscaler_is_bicubic(runs):
    """Tiles with their margins cut away leave no seam: an untrained generator (bicubic exactly)
    gives bicubic of the whole photo, however the tiles fall."""
    from latent_studio.inference.pipeline import TILE, upscale

    size = (TILE + 37, TILE // 2 + 5)  # a tile and a part across, half a tile down
    src = photo(3, size)
    result = upscale(src, runs["srgan"])
    out = result.output
    assert out.size == (4 * size[0], 4 * size[1]) and out.mode == "RGB" and result.source.size == size
    x = torch.from_numpy(np.asarray(src, dtype=np.float32)).permute(2, 0, 1)[None] / 255
    expected = torch.nn.functional.interpolate(x * 2 - 1, scale_factor=4, mode="bicubic", align_corners=False).clamp(-1, 1)
    got = torch.from_numpy(np.asarray(out, dtype=np.float32)).permute(2, 0, 1)[None] / 255 * 2 - 1
    inner = (slice(None), slice(None), slice(40, -40), slice(40, -40))  # replicate padding differs from bicubic's own at the border
    assert (got[inner] - expected[inner]).abs().max() < 2.5 / 255


def test_a_large_upload_is_brought_down_before_upscaling(runs):
    from latent_studio.inference.pipeline import UPSCALE_MAX_SIDE, upscale

    result = upscale(photo(3, (1200, 600)), runs["srgan"])
    assert result.output.size == (4 * UPSCALE_MAX_SIDE, 4 * UPSCALE_MAX_SIDE // 2) == result.bicubic().size


def test_each_tool_refuses_the_others_models(runs):
    from latent_studio.inference.pipeline import upscale

    with pytest.raises(ValueError, match="this needs an upscaler, not a colorizer"):
        upscale(UPLOADS["png"](), runs["lab"])
    with pytest.raises(ValueError, match="this needs a translator, not an upscaler"):
        translate(UPLOADS["png"](), runs["srgan"], "x4")

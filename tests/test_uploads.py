"""Tests for latent_studio.data.uploads; every input is generated in memory with Pillow."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from latent_studio.data.uploads import UploadError, UploadLimits, load_upload

FORMATS_TEXT = "JPEG, PNG, WebP, BMP, GIF or TIFF"
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)
ORIENTATION = 0x0112


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def red_left_blue_right(mode: str = "RGB") -> Image.Image:
    img = Image.new("RGB", (32, 16), RED)
    img.paste(BLUE, (16, 0, 32, 16))
    return img.convert(mode)


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR claims another size, with the CRC fixed up.

    Decoding it would fail, so a refusal that names the size proves the size
    was checked from the header alone.
    """
    data = bytearray(encode(Image.new("1", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)  # IHDR width and height
    data[29:33] = struct.pack(">I", zlib.crc32(data[12:29]))  # IHDR CRC
    return bytes(data)


def assert_close(actual: tuple[int, ...], expected: tuple[int, ...], tol: int) -> None:
    diffs = [abs(a - e) for a, e in zip(actual, expected, strict=True)]
    assert max(diffs) <= tol, (actual, expected)


def refusal(source: object, *fragments: str, limits: UploadLimits | None = None) -> str:
    """Load source expecting an UploadError whose message has every fragment."""
    with pytest.raises(UploadError) as caught:
        load_upload(source, limits or UploadLimits())
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert message.endswith(".")
    return message


@pytest.fixture
def forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.mark.parametrize(
    ("fmt", "params", "tol"),
    [
        ("JPEG", {"quality": 95}, 8),
        ("PNG", {}, 0),
        ("WEBP", {"lossless": True}, 0),
        ("WEBP", {"quality": 90}, 12),
        ("BMP", {}, 0),
        ("GIF", {}, 0),
        ("TIFF", {}, 0),
    ],
)
def test_each_accepted_format_decodes_to_rgb(fmt: str, params: dict, tol: int) -> None:
    out = load_upload(encode(red_left_blue_right(), fmt, **params))
    assert (out.mode, out.size) == ("RGB", (32, 16))
    assert_close(out.getpixel((4, 8)), RED, tol)
    assert_close(out.getpixel((28, 8)), BLUE, tol)


def test_gif_animation_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in (RED, BLUE, (0, 255, 0))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(data)).n_frames == 3
    out = load_upload(data)
    assert out.mode == "RGB"
    assert out.getpixel((4, 4)) == RED


@pytest.mark.parametrize(
    ("fmt", "params"), [("PNG", {}), ("WEBP", {"lossless": True}), ("TIFF", {})]
)
def test_transparent_pixels_become_white_not_black(fmt: str, params: dict) -> None:
    img = Image.new("RGBA", (16, 8), (0, 0, 0, 0))
    img.paste((255, 0, 0, 255), (0, 0, 8, 8))
    out = load_upload(encode(img, fmt, **params))
    assert out.mode == "RGB"
    assert out.getpixel((2, 2)) == RED
    assert out.getpixel((12, 2)) == WHITE


def test_half_transparent_pixel_is_blended_with_white() -> None:
    out = load_upload(encode(Image.new("RGBA", (4, 4), (0, 0, 0, 128)), "PNG"))
    assert_close(out.getpixel((0, 0)), (127, 127, 127), 1)


def test_gray_with_alpha_becomes_white_where_transparent() -> None:
    img = Image.new("LA", (8, 4), (0, 0))
    img.paste((90, 255), (0, 0, 4, 4))
    out = load_upload(encode(img, "PNG"))
    assert out.getpixel((1, 1)) == (90, 90, 90)
    assert out.getpixel((6, 1)) == WHITE


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_becomes_white(fmt: str) -> None:
    img = Image.new("P", (8, 4), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (0, 0, 4, 4))
    out = load_upload(encode(img, fmt, transparency=0))
    assert out.getpixel((1, 1)) == RED
    assert out.getpixel((6, 1)) == WHITE


def test_palette_without_transparency_keeps_its_colours() -> None:
    img = red_left_blue_right("P")
    out = load_upload(encode(img, "PNG"))
    assert (out.getpixel((4, 8)), out.getpixel((28, 8))) == (RED, BLUE)


@pytest.mark.parametrize(("fmt", "tol"), [("JPEG", 8), ("TIFF", 0)])
def test_cmyk_is_converted_to_rgb(fmt: str, tol: int) -> None:
    img = Image.new("CMYK", (16, 8), (0, 0, 0, 0))
    img.paste((0, 255, 255, 0), (0, 0, 8, 8))
    data = encode(img, fmt)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = load_upload(data)
    assert out.mode == "RGB"
    assert_close(out.getpixel((2, 2)), RED, tol)
    assert_close(out.getpixel((12, 2)), WHITE, tol)


@pytest.mark.parametrize(
    ("mode", "fmt"), [("I;16", "PNG"), ("I;16B", "TIFF"), ("I", "TIFF")]
)
def test_16_bit_gray_is_scaled_to_8_bit_not_clipped(mode: str, fmt: str) -> None:
    # No 0, so stretching to the data's own range would differ.
    values = [256, 32768, 65535]
    img = Image.new(mode, (3, 1))
    for x, value in enumerate(values):
        img.putpixel((x, 0), value)
    data = encode(img, fmt)
    assert Image.open(io.BytesIO(data)).mode == mode
    out = load_upload(data)
    assert [out.getpixel((x, 0)) for x in range(3)] == [
        (v, v, v) for v in (1, 128, 255)
    ]


def test_float_samples_in_0_to_1_are_scaled_to_0_to_255() -> None:
    # Not spanning 0-1, so stretching to the data's own range would differ.
    img = Image.fromarray(np.array([[0.25, 0.5, 0.75]], dtype=np.float32))
    out = load_upload(encode(img, "TIFF"))
    assert [out.getpixel((x, 0))[0] for x in range(3)] == [64, 128, 191]


def test_float_samples_outside_0_to_1_are_stretched_from_their_range() -> None:
    img = Image.fromarray(np.array([[-10.0, 0.0, 30.0]], dtype=np.float32))
    data = encode(img, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "F"
    out = load_upload(data)
    assert [out.getpixel((x, 0))[0] for x in range(3)] == [0, 64, 255]


def test_one_bit_image_becomes_black_and_white_rgb() -> None:
    img = Image.new("1", (8, 4), 0)
    img.paste(1, (0, 0, 4, 4))
    out = load_upload(encode(img, "PNG"))
    assert (out.getpixel((1, 1)), out.getpixel((6, 1))) == (WHITE, (0, 0, 0))


def test_grayscale_becomes_rgb_with_equal_channels() -> None:
    out = load_upload(encode(Image.new("L", (4, 4), 77), "JPEG"))
    assert out.mode == "RGB"
    assert out.getpixel((1, 1)) == (77, 77, 77)


def test_lab_tiff_is_converted_to_rgb() -> None:
    colour = (200, 30, 40)
    data = encode(Image.new("RGB", (4, 4), colour).convert("LAB"), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "LAB"
    assert_close(load_upload(data).getpixel((1, 1)), colour, 4)


@pytest.mark.parametrize("mode", ["HSV", "YCbCr", "LAB", "CMYK", "RGBX"])
def test_other_colour_spaces_are_converted_to_rgb(mode: str) -> None:
    colour = (200, 30, 40)
    out = load_upload(Image.new("RGB", (4, 4), colour).convert(mode))
    assert out.mode == "RGB"
    assert_close(out.getpixel((1, 1)), colour, 4)


@pytest.mark.parametrize(
    ("orientation", "stored_turn"),
    [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270)],
)
def test_exif_rotated_jpeg_comes_back_upright(
    orientation: int, stored_turn: Image.Transpose
) -> None:
    upright = Image.new("RGB", (24, 48), RED)  # as the person saw it
    upright.paste(BLUE, (0, 24, 24, 48))  # top red, bottom blue
    stored = upright.transpose(stored_turn)  # as a camera held sideways writes it
    exif = stored.getexif()
    exif[ORIENTATION] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif)
    assert Image.open(io.BytesIO(data)).size == (48, 24)
    out = load_upload(data)
    assert out.size == (24, 48)
    assert_close(out.getpixel((12, 6)), RED, 8)
    assert_close(out.getpixel((12, 42)), BLUE, 8)


def test_file_at_the_byte_limit_is_accepted_and_one_more_byte_is_not() -> None:
    data = encode(red_left_blue_right(), "PNG")
    assert load_upload(data, UploadLimits(max_bytes=len(data))).size == (32, 16)
    refusal(
        data, f"{len(data) - 1} bytes", limits=UploadLimits(max_bytes=len(data) - 1)
    )


def test_oversize_file_is_refused_before_decoding(forbid_decoding: None) -> None:
    data = png_claiming(8, 8) + bytes(20 * 2**20)
    refusal(data, "20 MB upload limit")


def test_stream_is_read_only_up_to_the_byte_limit() -> None:
    class EndlessStream(io.RawIOBase):
        requested = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            assert size >= 0, "asked to read an endless stream to its end"
            self.requested += size
            return b"\0" * size

    stream = EndlessStream()
    refusal(stream, "1 KB", limits=UploadLimits(max_bytes=1024))
    assert stream.requested == 1025


def test_pixel_limit_is_inclusive() -> None:
    data = encode(Image.new("RGB", (20, 20)), "PNG")
    assert load_upload(data, UploadLimits(max_pixels=400)).size == (20, 20)
    refusal(data, "20 x 20", "399 pixels", limits=UploadLimits(max_pixels=399))


def test_too_many_pixels_is_refused_from_the_header(forbid_decoding: None) -> None:
    refusal(png_claiming(6000, 5000), "6000 x 5000", "24,000,000 pixels")


@pytest.mark.parametrize(
    "size",
    [
        (10_000, 10_000),  # Pillow only warns: between its limit and twice that
        (30_000, 30_000),  # Pillow raises DecompressionBombError
    ],
)
def test_decompression_bomb_is_refused_quoting_pillows_lower_limit(
    size: tuple[int, int], forbid_decoding: None
) -> None:
    # Our limit is set above Pillow's, so only Pillow's own check can refuse.
    limits = UploadLimits(max_pixels=10**10)
    pillows_limit = f"{Image.MAX_IMAGE_PIXELS:,} pixels"
    refusal(png_claiming(*size), "too many pixels", pillows_limit, limits=limits)


def test_decompression_bomb_under_default_limits_quotes_ours(
    forbid_decoding: None,
) -> None:
    refusal(png_claiming(30_000, 30_000), "too many pixels", "24,000,000 pixels")


def test_too_large_pil_image_is_refused() -> None:
    refusal(Image.new("L", (11, 10)), "11 x 10", limits=UploadLimits(max_pixels=100))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("kept", [0.5, 0.9])
def test_truncated_file_is_refused(fmt: str, kept: float) -> None:
    noisy = Image.effect_noise((64, 64), 64).convert("RGB")
    data = encode(noisy, fmt)
    refusal(data[: int(len(data) * kept)], "damaged or incomplete", FORMATS_TEXT)


def test_damaged_header_is_refused() -> None:
    refusal(encode(red_left_blue_right(), "PNG")[:20], "damaged", FORMATS_TEXT)


@pytest.mark.parametrize(
    "data",
    [
        b"Just some text, not a picture.\n",
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n",
        random.Random(0).randbytes(4096),
        b"\0",
    ],
    ids=["text", "pdf", "random", "nul"],
)
def test_non_image_bytes_are_refused_naming_the_formats(data: bytes) -> None:
    refusal(data, "not an image", FORMATS_TEXT)


def test_image_in_an_unaccepted_format_is_refused() -> None:
    refusal(encode(red_left_blue_right(), "PPM"), "not an image", FORMATS_TEXT)


@pytest.mark.parametrize("source", [b"", io.BytesIO()], ids=["bytes", "stream"])
def test_empty_upload_is_refused(source: object) -> None:
    refusal(source, "empty", FORMATS_TEXT)


def test_pil_input_is_copied_not_modified() -> None:
    img = Image.new("RGBA", (16, 8), (0, 0, 0, 0))
    exif = img.getexif()
    exif[ORIENTATION] = 6
    img.info["exif"] = exif.tobytes()
    before = (img.mode, img.size, img.tobytes(), dict(img.info))

    out = load_upload(img)

    assert out is not img
    assert (out.mode, out.size, out.getpixel((0, 0))) == ("RGB", (8, 16), WHITE)
    assert (img.mode, img.size, img.tobytes(), img.info) == before
    assert img.getexif()[ORIENTATION] == 6


def test_rgb_pil_input_is_returned_as_a_separate_copy() -> None:
    img = red_left_blue_right()
    out = load_upload(img)
    out.putpixel((0, 0), BLUE)
    assert img.getpixel((0, 0)) == RED


@pytest.mark.parametrize("kind", ["bytes", "str", "path", "bytesio", "open_file"])
def test_bytes_paths_and_file_objects_are_all_accepted(
    kind: str, tmp_path: Path
) -> None:
    data = encode(red_left_blue_right(), "PNG")
    path = tmp_path / "photo.png"
    path.write_bytes(data)
    with path.open("rb") as file:
        source = {
            "bytes": data,
            "str": str(path),
            "path": path,
            "bytesio": io.BytesIO(data),
            "open_file": file,
        }[kind]
        out = load_upload(source)
    assert (out.mode, out.size, out.getpixel((4, 8))) == ("RGB", (32, 16), RED)


"""Turn a user's uploaded photo into the plain RGB image the models expect.

Uploads come from anyone, so this is where hostile or broken input stops: the
byte size is checked before anything is parsed, the pixel count is read from
the header and checked before any pixel is decoded, and every file is decoded
in full, so a truncated download is refused here instead of reaching a model
as half an image padded with grey. Whatever the file holds (transparency,
a palette, CMYK, 16-bit or float samples, a rotation stored only in EXIF) the
result is an 8-bit RGB image that looks the way the person saw it on screen.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's format IDs for Image.open, then the names a user would recognise.
_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
_FORMAT_NAMES = "JPEG, PNG, WebP, BMP, GIF or TIFF"

# What Pillow raises on a damaged file, whether reading the header or the
# pixels: OSError for truncated or broken data, the rest from parsers that
# trip over garbage.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError)
_DAMAGED = (
    "This image file is damaged or incomplete, so it could not be read. "
    f"Please upload it again, or save it again as {_FORMAT_NAMES}."
)


class UploadError(ValueError):
    """An upload that cannot be used; the message is shown to the user as is.

    Each message says what was wrong and what would be accepted instead, so
    the person can fix the file without having to ask.
    """


@dataclass(frozen=True)
class UploadLimits:
    """Upper bounds on what one upload may cost the server.

    20 MiB holds any ordinary photo (a JPEG straight from a 24-megapixel
    camera is usually under 15 MB) while bounding upload time and memory per
    request. 24 million
    pixels admits a 6000 x 4000 photo from a 24-megapixel camera; decoded it is
    about 72 MB of RGB, and since the models work at a few hundred pixels a
    side, larger images would cost memory and time without improving the
    result. Pillow's own decompression-bomb limit (Image.MAX_IMAGE_PIXELS)
    still applies on top, so raising max_pixels past it has no effect.
    """

    max_bytes: int = 20 * 2**20
    max_pixels: int = 24_000_000


def load_upload(
    source: bytes | str | os.PathLike[str] | BinaryIO | Image.Image,
    limits: UploadLimits = UploadLimits(),
) -> Image.Image:
    """Check and decode an upload into an upright 8-bit RGB image.

    source is the raw bytes, a path to them, a binary file object (read from
    its current position), or an image that is already open; that image is
    copied, never changed. Raises UploadError, with a message meant for the
    user, for anything that is too large, not an accepted format, or damaged.
    """
    return _to_upright_rgb(_decoded(source, limits))


def _decoded(
    source: bytes | str | os.PathLike[str] | BinaryIO | Image.Image,
    limits: UploadLimits,
) -> Image.Image:
    """The upload checked against the limits and decoded in full, as stored (mode, rotation)."""
    if isinstance(source, Image.Image):
        _check_pixels(source.size, limits)
        return source
    image = _open(_read_limited(source, limits.max_bytes), limits)
    _check_pixels(image.size, limits)
    try:
        image.load()
    except _DECODE_ERRORS as exc:
        raise UploadError(_DAMAGED) from exc
    return image


def load_mask(
    source: bytes | str | os.PathLike[str] | BinaryIO | Image.Image,
    size: tuple[int, int],
    limits: UploadLimits = UploadLimits(),
) -> np.ndarray:
    """A painted mask as a [height, width] float32 array in [0, 1] at `size` (the photo's):
    1 where the photo is to be filled. A mask with transparency marks the hole by its opaque
    pixels (a layer painted in an editor); one without, by its light pixels (a black-and-white
    mask). The same checks as load_upload; an empty mask is an UploadError, since there would be
    nothing to fill."""
    image = ImageOps.exif_transpose(_decoded(source, limits))
    painted = image.convert("RGBA").getchannel("A") if image.has_transparency_data else image.convert("L")
    if painted.size != size:
        painted = painted.resize(size, Image.BILINEAR)
    mask = np.asarray(painted, dtype=np.float32) / 255
    if not (mask > 0.5).any():
        raise UploadError("The mask is empty: paint over the part of the photo you want filled, then try again.")
    return (mask > 0.5).astype(np.float32)


def centre_square(image: Image.Image) -> Image.Image:
    """The largest square at the image's centre: the framing of a model trained on aligned face
    crops (CelebA's, the anime faces'), so a portrait reaches it framed as its training faces were."""
    w, h = image.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return image if w == h else image.crop((left, top, left + s, top + s))


def _read_limited(
    source: bytes | str | os.PathLike[str] | BinaryIO, max_bytes: int
) -> bytes:
    """Read the upload, refusing it as soon as it exceeds max_bytes.

    Streams and files are read for one byte more than the limit, never to the
    end, so an endless or huge upload cannot fill memory.
    """
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as file:
            data = file.read(max_bytes + 1)
    else:
        data = source.read(max_bytes + 1)
    if not data:
        raise UploadError(
            f"The uploaded file is empty. Please choose a {_FORMAT_NAMES} image."
        )
    if len(data) > max_bytes:
        raise UploadError(
            f"This file is larger than the {_format_bytes(max_bytes)} upload "
            "limit. Please upload a smaller image, or save it again at a lower "
            "resolution or quality."
        )
    return data


def _open(data: bytes, limits: UploadLimits) -> Image.Image:
    """Identify the format and read the header, without decoding pixels.

    Pillow checks the header size against its decompression-bomb limit here:
    above twice the limit it raises, above the limit it only warns, and the
    warning is made an error so that it cannot slip by. catch_warnings swaps
    process-wide filters, not per-thread ones, but under the default limits
    the pixel check that follows refuses the same images, so a race between
    threads cannot let a bomb through.
    """
    try:
        with warnings.catch_warnings(
            action="error", category=Image.DecompressionBombWarning
        ):
            return Image.open(io.BytesIO(data), formats=_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow only gets here above its own limit, so that is the one to quote
        # when it is the lower of the two.
        limit = min(limits.max_pixels, Image.MAX_IMAGE_PIXELS or limits.max_pixels)
        raise UploadError(
            f"This image has too many pixels; the limit is {limit:,} pixels. "
            "Please scale it down and upload it again."
        ) from exc
    except UnidentifiedImageError as exc:
        raise UploadError(
            "This file is not an image that can be read here. "
            f"Please upload a {_FORMAT_NAMES} file."
        ) from exc
    except _DECODE_ERRORS as exc:
        raise UploadError(_DAMAGED) from exc


def _check_pixels(size: tuple[int, int], limits: UploadLimits) -> None:
    """Refuse an image with more pixels than allowed, before it is decoded."""
    width, height = size
    if width * height > limits.max_pixels:
        raise UploadError(
            f"This image is {width} x {height} pixels ({width * height:,} pixels); "
            f"the limit is {limits.max_pixels:,} pixels. "
            "Please scale it down and upload it again."
        )


def _to_upright_rgb(image: Image.Image) -> Image.Image:
    """Apply the EXIF rotation, then reduce any mode to 8-bit RGB.

    The rotation comes first because converting drops the TIFF tags that can
    hold it. exif_transpose returns a new image even when there is nothing to
    turn, so the caller's image is never modified.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _scale_to_8bit(image).convert("RGB")
    if image.has_transparency_data:
        return _over_white(image.convert("RGBA"))
    return image.convert("RGB")


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    """Map 16-bit, 32-bit integer or float samples onto 0-255.

    convert("L") would clip instead, turning every 16-bit value above 255
    white and every float below 1 black.
    """
    samples = np.asarray(image, dtype=np.float32)
    low, high = _sample_range(image.mode, samples)
    scaled = (samples - low) * (255 / (high - low or 1))
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def _sample_range(mode: str, samples: np.ndarray) -> tuple[float, float]:
    """The sample values that should become black and white.

    16-bit data spans 0-65535. 32-bit integers that fit in it are taken as
    16-bit data, which is how Pillow has long read 16-bit files, and floats
    within 0-1 as normalised; anything else is stretched from its own minimum
    to its maximum.
    """
    if mode.startswith("I;16"):
        return 0.0, 65535.0
    finite = samples[np.isfinite(samples)]
    if not finite.size:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    if mode == "I" and low >= 0 and high <= 65535:
        return 0.0, 65535.0
    if mode == "F" and low >= 0 and high <= 1:
        return 0.0, 1.0
    return low, high


def _over_white(rgba: Image.Image) -> Image.Image:
    """Flatten transparency onto white, as a viewer shows it on a page.

    A plain convert("RGB") drops the alpha channel and exposes whatever colour
    the transparent pixels happen to store, usually black.
    """
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _format_bytes(size: int) -> str:
    """Render a byte count the way people read file sizes."""
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"

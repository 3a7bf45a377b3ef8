"""Generator output to pictures a browser shows: grids, labels, PNG and GIF bytes.

Kept free of Streamlit and models so every pixel can be checked in a test. Images arrive as
[N, C, H, W] tensors in [-1, 1] (what every generator returns) and leave as uint8 arrays
[H, W, C] or encoded bytes. Small models make 28x28 images, so cells are enlarged with
nearest-neighbour sampling: the browser's own smoothing would blur a digit into a smudge.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

# Cells are enlarged to about this many pixels a side unless asked otherwise, so a 28x28 digit
# and a 64x64 face show at a similar size.
DISPLAY_SIZE = 224


def to_uint8(images: Tensor) -> np.ndarray:
    """[N, C, H, W] in [-1, 1] -> [N, H, W, C] uint8 (0 is -1, 255 is 1; out-of-range clipped)."""
    if images.ndim != 4:
        raise ValueError(f"expected images shaped [N, C, H, W], got shape {tuple(images.shape)}")
    pixels = ((images.detach().float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).numpy()


def scale_for(size: int, cell: int = DISPLAY_SIZE) -> int:
    """Whole-number enlargement that brings a `size`-pixel image close to `cell` pixels."""
    return max(1, round(cell / size))


def enlarge(images: np.ndarray, factor: int) -> np.ndarray:
    """Repeat every pixel factor x factor times ([N, H, W, C] -> [N, H*f, W*f, C])."""
    if factor == 1:
        return images
    return images.repeat(factor, axis=1).repeat(factor, axis=2)


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def tile(images: np.ndarray, columns: int, labels: Sequence[str] | None = None, pad: int = 2) -> np.ndarray:
    """Lay [N, H, W, C] cells out in rows of `columns`, `pad` white pixels between and around them.

    A label, when given and not empty, is printed in white on a black box in its cell's top-left
    corner, so an index or a code name stays readable on any image. Unused cells of the last row
    stay white.
    """
    n, h, w, c = images.shape
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    if labels is not None and len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} images")
    columns = min(columns, n)
    rows = -(-n // columns)
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i in range(n):
        top, left = pad + (i // columns) * (h + pad), pad + (i % columns) * (w + pad)
        out[top : top + h, left : left + w] = images[i]
    if labels and any(labels):
        out = _draw_labels(out, labels, columns, h, w, pad)
    return out


def _draw_labels(grid: np.ndarray, labels: Sequence[str], columns: int, h: int, w: int, pad: int) -> np.ndarray:
    canvas = _pil(grid)
    draw = ImageDraw.Draw(canvas)
    font = _font(max(11, min(h, w) // 7))
    bands = len(canvas.getbands())
    white, black = (255, 0) if bands == 1 else ((255,) * bands, (0,) * bands)
    for i, text in enumerate(labels):
        if not text:
            continue
        x, y = pad + (i % columns) * (w + pad), pad + (i // columns) * (h + pad)
        _, _, right, bottom = draw.textbbox((x + 2, y + 1), text, font=font)
        draw.rectangle((x, y, min(right + 2, x + w - 1), min(bottom + 2, y + h - 1)), fill=black)
        draw.text((x + 2, y + 1), text, font=font, fill=white)
    array = np.asarray(canvas)
    return array[..., None] if array.ndim == 2 else array


def _pil(image: np.ndarray) -> Image.Image:
    """[H, W, 1] becomes a gray ("L") image, [H, W, 3] an RGB one."""
    return Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)


def png(image: np.ndarray) -> bytes:
    """Encode [H, W, 1 or 3] uint8 as PNG. Fast compression: these go out once per slider move."""
    buffer = io.BytesIO()
    _pil(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def gif(frames: Sequence[np.ndarray], duration_ms: int = 120) -> bytes:
    """Animated GIF that loops forever, one [H, W, 1 or 3] uint8 frame every `duration_ms`.

    Gray frames keep their exact values (GIF's 256-entry palette holds every gray); color frames
    are quantized to 256 colors, which GIF cannot avoid. Pillow merges identical consecutive frames
    into one longer frame.
    """
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    images = [_pil(f) for f in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return buffer.getvalue()


def picture(images: Tensor, columns: int = 8, labels: Sequence[str] | None = None, cell: int = DISPLAY_SIZE) -> bytes:
    """PNG of a grid of generator outputs, each enlarged to about `cell` pixels a side.

    The page shows it at its own size: letting the browser or Streamlit scale it instead would
    smooth the pixels, and Streamlit would re-encode it.
    """
    cells = enlarge(to_uint8(images), scale_for(images.shape[-1], cell))
    return png(tile(cells, columns, labels))

"""Colorize and translate an upload with a trained run: what the Colorize/Translate tab calls.

Every upload goes through latent_studio.data.uploads.load_upload first (size limits, bombs, any format or
mode, EXIF rotation), so a model only ever sees an upright 8-bit RGB photo, and the result comes
back as RGB at that photo's size and orientation. The models run at about their training size
(the shorter side at the run's image size, the longer in proportion): that is the scale their
textures were learned at, and it keeps a 24-megapixel upload cheap. What a run reads and returns
(its task, directions, channels, sizes) is its family's Serving (latent_studio/families/img2img.py).
Colorization then lays only the predicted chroma, through a guided filter, under the photo's own
full-resolution lightness (latent_studio/data/color.py's ChromaGuide).

Images of the same working size run as one batch; on CUDA under fp16 autocast, elsewhere in fp32.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from latent_studio.data import color, color_bins
from latent_studio.data.faces import Face, Framing, frame_face, frame_matrix, warp
from latent_studio.data.uploads import UploadError, UploadLimits, centre_square, load_mask, load_upload
from latent_studio.families import IMG2IMG
from latent_studio.families.img2img import TASKS, Serving
from latent_studio.families.inpaint import composite, generator_input
from latent_studio.families.run_models import LoadedRun, load_run
from latent_studio.runs.files import read_config

BATCH = 16  # same-sized images per forward pass
MAX_ASPECT = 4  # the longer working side is at most this many model sizes (a panorama gets smaller)
UPSCALE_MAX_SIDE = 512  # an upscaler's input: a larger upload is first brought down to this (x4: 2048 out, seconds on a CPU)
TILE, TILE_MARGIN = 192, 8  # an upscaler runs on tiles this many input pixels a side, each seeing this much context around it
MAX_UPLOAD_ASPECT = 16  # longer side over shorter: past this the shorter side would vanish at the model's scale
FACE_SIDE = 256  # a framed face is cut out at this size: a face model's output is shown at it
TRANSLATION_MAX_SIDE = 2048  # a translation holds no detail finer than its working size: larger outputs only cost time
ERROR_FULL_SCALE = 0.5  # |A - A'| (mean over channels, [0, 1] scale) drawn at full heat; typical cycles sit near 0.1
STRIP_PIXELS = 2**20  # colour merging works on strips of about this many pixels: bounded memory

Upload = bytes | str | os.PathLike | BinaryIO | Image.Image  # what load_upload accepts


@dataclass(frozen=True)
class Translation:
    output: Image.Image
    reconstruction: Image.Image | None = None  # a route with a way back: the output translated back
    error_map: Image.Image | None = None  # the same: |input - reconstruction| as a heat map
    framing: Framing | None = None  # a model of CelebA's faces: the face it read (or the centre square, and why)


@functools.lru_cache(maxsize=8)
def _load(path: str, step: int) -> LoadedRun:
    """`step` (config.json's) is only part of the key: a run that saves again is loaded afresh."""
    return load_run(path)


def get_run(run: str | os.PathLike | LoadedRun) -> LoadedRun:
    """A loaded run, cached per process by its resolved path and step (models are read once per
    checkpoint, so a run trained further is served at its new step without a restart)."""
    if isinstance(run, LoadedRun):
        return run
    path = Path(run).resolve()
    return _load(str(path), read_config(path).step)


def work_size(size: tuple[int, int], model_size: int, multiple: int) -> tuple[int, int]:
    """(width, height) to run a model at: the shorter side at `model_size`, the longer in
    proportion (at most MAX_ASPECT times), both rounded to a multiple the generator accepts."""
    scale = min(model_size / min(size), MAX_ASPECT * model_size / max(size))
    return tuple(max(multiple, round(s * scale / multiple) * multiple) for s in size)


def _check_aspect(photo: Image.Image) -> None:
    """Refuse a sliver (1 x 5000, say): at the model's scale its short side would be under one pixel."""
    w, h = photo.size
    if max(w, h) > MAX_UPLOAD_ASPECT * min(w, h):
        raise UploadError(f"This image is {w} x {h} pixels, too long and thin for the models; "
                          f"use one whose longer side is at most {MAX_UPLOAD_ASPECT} times its shorter side.")


def _output_size(size: tuple[int, int], scale: int = 1) -> tuple[int, int]:
    """The upload's size times the model's output scale, scaled down so the longer side is at most
    TRANSLATION_MAX_SIDE."""
    scale = min(scale, TRANSLATION_MAX_SIDE / max(size))
    return tuple(max(1, round(s * scale)) for s in size)


def _tensor(img: Image.Image) -> torch.Tensor:
    """PIL RGB -> [3, H, W] uint8 (no float copy of a large photo until it is needed)."""
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)


def _image(x: torch.Tensor) -> Image.Image:
    """[3, H, W] in [0, 1] -> PIL RGB."""
    return Image.fromarray(x.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy())


def _resized(img: Image.Image, size: tuple[int, int]) -> torch.Tensor:
    """The photo at `size` as [3, h, w] in [0, 1] (Pillow's antialiased bicubic)."""
    return _tensor(img if img.size == size else img.resize(size, Image.BICUBIC)).float() / 255


def _run_batched(loaded: LoadedRun, model: Callable[[torch.Tensor], torch.Tensor], inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """model(x) for each [C, h, w] input in model units; same-sized inputs share a batch."""
    by_size: dict[tuple[int, ...], list[int]] = {}
    for i, x in enumerate(inputs):
        by_size.setdefault(tuple(x.shape), []).append(i)
    out: list[torch.Tensor] = [torch.empty(0)] * len(inputs)
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=loaded.device.type == "cuda"):
        for indices in by_size.values():
            for chunk in (indices[i:i + BATCH] for i in range(0, len(indices), BATCH)):
                y = model(torch.stack([inputs[i] for i in chunk]).to(loaded.device)).float().cpu()
                for i, yi in zip(chunk, y):
                    out[i] = yi
    return out


def _served(loaded: LoadedRun, tool: str) -> Serving:
    """How the run is served, when its task is one `tool` serves; else a ValueError saying what it is."""
    cfg = loaded.config
    served = loaded.family.serving() if loaded.family.kind == IMG2IMG else None
    if served is None or served.tool != tool:
        what = TASKS[served.task].noun if served else "not an image-to-image model"
        needs = next(task.noun for task in TASKS.values() if task.tool == tool)
        raise ValueError(f"{loaded.path.name} is a {cfg.family} model of {cfg.data.dataset!r} ({what}); this needs {needs}, not {what}")
    return served


VIVIDNESS_SPAN = 0.95  # vividness 0..1 -> temperature 1 (the mean) .. 0.05 (nearly the mode)
DEFAULT_VIVIDNESS = round((1.0 - color_bins.DEFAULT_TEMPERATURE) / VIVIDNESS_SPAN, 2)  # 0.65: the paper's temperature


MUTED_GAIN, BOLD_GAIN = 0.4, 1.4  # the chroma gain at vividness 0 and 1 (1 at the default: the model's own colours)


def temperature(vividness: float) -> float:
    """The vividness a user sets (0: the mean of the plausible colours, muted; 1: close to the
    most likely colour, vivid) as the temperature of a colour-bin colorizer's annealed mean."""
    return 1.0 - VIVIDNESS_SPAN * min(max(float(vividness), 0.0), 1.0)


def chroma_gain(vividness: float) -> float:
    """The factor a colour-bin colorizer's chroma is scaled by at `vividness`: 1 at the default,
    falling linearly to MUTED_GAIN at 0 and rising to BOLD_GAIN at 1. The temperature alone moves
    colourfulness only from about 84% to 98% of real photos' (the annealed mean of a confident
    model hardly changes), too little to see; with the gain 0 is a hint of colour and 1 is bold."""
    v = min(max(float(vividness), 0.0), 1.0)
    if v <= DEFAULT_VIVIDNESS:
        return MUTED_GAIN + (1.0 - MUTED_GAIN) * v / DEFAULT_VIVIDNESS
    return 1.0 + (BOLD_GAIN - 1.0) * (v - DEFAULT_VIVIDNESS) / (1.0 - DEFAULT_VIVIDNESS)


def colorize_many(
    uploads: Sequence[Upload], run: str | os.PathLike | LoadedRun, limits: UploadLimits = UploadLimits(),
    vividness: float | None = None,
) -> list[Image.Image]:
    """Colour versions of black-and-white (or colour) photos, each RGB at its upload's size.
    `vividness` (0 to 1; None: the run's own default) applies to colour-bin colorizers: their
    annealed mean's temperature and a gain on their chroma (chroma_gain).

    Raises latent_studio.data.uploads.UploadError (a message for the user) for a bad upload, ValueError
    for a run that is not a colorizer.
    """
    loaded = get_run(run)
    served = _served(loaded, "colorize")
    space = loaded.config.data.color_space
    photos = [load_upload(u, limits) for u in uploads]
    for photo in photos:
        _check_aspect(photo)
    grays = [color.split(_resized(p, work_size(p.size, served.input_size, served.multiple)) * 2 - 1, space)[0] for p in photos]
    results = []
    t = None if vividness is None else temperature(vividness)
    gain = 1.0 if vividness is None or "vividness" not in served.controls else chroma_gain(vividness)
    predictions = _run_batched(loaded, lambda x: loaded.family.predict(loaded.modules, x, t), grays)
    for photo, gray, prediction in zip(photos, grays, predictions):
        full = _tensor(photo)
        guide = color.ChromaGuide(color.chroma(prediction, space) * gain, (gray + 1) / 2, full.shape[-2:])
        out = torch.empty_like(full)
        rows = max(1, STRIP_PIXELS // full.shape[-1])
        for r in range(0, full.shape[-2], rows):
            strip = full[:, r:r + rows].float() / 255
            chroma = guide.rows(color.lightness(strip, space), r)
            out[:, r:r + rows] = color.with_chroma(strip, chroma, space).mul(255).round().byte()
        results.append(Image.fromarray(out.permute(1, 2, 0).numpy()))
    return results


def colorize(upload: Upload, run: str | os.PathLike | LoadedRun, limits: UploadLimits = UploadLimits(),
             vividness: float | None = None) -> Image.Image:
    """A colour version of a photo: RGB at the upload's size and orientation, with the upload's
    own lightness at full resolution and the model's chroma (see colorize_many for vividness)."""
    return colorize_many([upload], run, limits, vividness)[0]


def _heat(error: torch.Tensor) -> torch.Tensor:
    """[h, w] errors -> [3, h, w] colours: black, red, yellow, white as the error grows ("hot")."""
    t = (error / ERROR_FULL_SCALE).clamp(0, 1)
    return torch.stack([(3 * t).clamp(0, 1), (3 * t - 1).clamp(0, 1), (3 * t - 2).clamp(0, 1)])


def translate_many(
    uploads: Sequence[Upload], run: str | os.PathLike | LoadedRun, direction: str | None = None, limits: UploadLimits = UploadLimits(),
    find_face: bool = True,
) -> list[Translation]:
    """Each photo translated in `direction` (one of the run's routes; None for a run with one), with
    the reconstruction and error heat map of a run that translates back, all RGB at the upload's
    size times the run's output scale (scaled down to TRANSLATION_MAX_SIDE on the longer side, past
    which an upsampled translation adds nothing). A run trained on CelebA's aligned faces reads the
    upload's face framed as CelebA's (FACE_SIDE px a side; the centre square when no face is found or
    find_face is False: Translation.framing says which); another run of aligned square crops reads
    the centre square. A sliver of an image (longer side over MAX_UPLOAD_ASPECT times the shorter)
    is an UploadError."""
    loaded = get_run(run)
    served = _served(loaded, "translate")
    forward, backward = loaded.family.route(direction)
    photos = [load_upload(u, limits) for u in uploads]
    for photo in photos:
        _check_aspect(photo)
    framings: list[Framing | None] = [None] * len(photos)
    if served.faces and find_face:  # a face model reads faces framed as its training crops were
        framings = [frame_face(p, FACE_SIDE) for p in photos]
        photos = [f.image if f.face else centre_square(p) for f, p in zip(framings, photos)]
    elif served.square:
        photos = [centre_square(p) for p in photos]
    inputs = [_resized(p, work_size(p.size, served.input_size, served.multiple)) for p in photos]
    if served.in_channels == 1:  # a gray model: give it the photos' luma
        inputs = [color.luma(x) for x in inputs]
    outputs = _run_batched(loaded, loaded.modules[forward], [x * 2 - 1 for x in inputs])
    recons = _run_batched(loaded, loaded.modules[backward], outputs) if backward else [None] * len(photos)

    def shown(x: torch.Tensor, size: tuple[int, int]) -> Image.Image:
        x = F.interpolate(x[None], size=(size[1], size[0]), mode="bicubic", align_corners=False)[0]
        return _image(x.expand(3, -1, -1))

    results = []
    for photo, x, y, rec, framing in zip(photos, inputs, outputs, recons, framings):
        output = shown((y + 1) / 2, _output_size(photo.size, served.scale))
        if rec is None:
            results.append(Translation(output, framing=framing))
            continue
        error = ((rec + 1) / 2 - x).abs().mean(0)  # the round trip is back at the input's size
        size = _output_size(photo.size)
        results.append(Translation(output, shown((rec + 1) / 2, size), shown(_heat(error), size), framing))
    return results


def translate(upload: Upload, run: str | os.PathLike | LoadedRun, direction: str | None = None,
              limits: UploadLimits = UploadLimits(), find_face: bool = True) -> Translation:
    """One photo translated; see translate_many."""
    return translate_many([upload], run, direction, limits, find_face)[0]


@dataclass(frozen=True)
class Upscaled:
    output: Image.Image  # `scale` times the source's size
    source: Image.Image  # the photo as the model read it (upright, brought down to UPSCALE_MAX_SIDE)

    def bicubic(self) -> Image.Image:
        """The source enlarged to the output's size by bicubic interpolation: what to compare with."""
        return self.source.resize(self.output.size, Image.BICUBIC)


def upscale_many(uploads: Sequence[Upload], run: str | os.PathLike | LoadedRun, limits: UploadLimits = UploadLimits()) -> list[Upscaled]:
    """Each photo `scale` times larger (4 for SRGAN), RGB. The model reads the photo at its own
    size, not at a working size: a larger upload is first brought down to UPSCALE_MAX_SIDE on its
    longer side. It runs tile by tile (TILE input pixels a side, each with TILE_MARGIN pixels of
    context on every side that are cut away afterwards), so memory stays bounded and a seam has
    the same context as any other pixel."""
    loaded = get_run(run)
    served = _served(loaded, "upscale")
    results = []
    for upload in uploads:
        photo = load_upload(upload, limits)
        _check_aspect(photo)
        shrink = min(1.0, UPSCALE_MAX_SIDE / max(photo.size))
        size = tuple(max(1, round(s * shrink)) for s in photo.size)
        source = photo if photo.size == size else photo.resize(size, Image.BICUBIC)
        x = _resized(source, size) * 2 - 1
        if served.in_channels == 1:
            x = color.luma((x + 1) / 2) * 2 - 1
        results.append(Upscaled(_image(((_tiled(loaded, x, served.scale) + 1) / 2).expand(3, -1, -1)), source))
    return results


def upscale(upload: Upload, run: str | os.PathLike | LoadedRun, limits: UploadLimits = UploadLimits()) -> Upscaled:
    """One photo upscaled; see upscale_many."""
    return upscale_many([upload], run, limits)[0]


def _tiled(loaded: LoadedRun, x: torch.Tensor, scale: int) -> torch.Tensor:
    """The generator over [C, H, W] in tiles with a margin of context (the edge pixels repeated
    past the photo's edges), [C, scale * H, scale * W] in [-1, 1]."""
    c, h, w = x.shape
    m = TILE_MARGIN
    padded = F.pad(x[None], (m, m, m, m), mode="replicate")[0]
    out = torch.empty(c, scale * h, scale * w)
    tiles = [(top, left) for top in range(0, h, TILE) for left in range(0, w, TILE)]
    crops = [padded[:, top:min(top + TILE, h) + 2 * m, left:min(left + TILE, w) + 2 * m] for top, left in tiles]
    for (top, left), y in zip(tiles, _run_batched(loaded, loaded.modules["generator"], crops)):
        th, tw = min(TILE, h - top), min(TILE, w - left)
        core = y[:, scale * m:scale * (m + th), scale * m:scale * (m + tw)]
        out[:, scale * top:scale * (top + th), scale * left:scale * (left + tw)] = core
    return out.clamp(-1, 1)


@dataclass(frozen=True)
class Inpainted:
    output: Image.Image  # the photo with the painted region filled
    erased: Image.Image  # the photo as the model was given it: the region grayed out
    framing: Framing | None = None  # a model of CelebA's faces: the face it painted in (or none found, and why)


def _feathered(hole: torch.Tensor, band: int) -> torch.Tensor:
    """The hole's weight for the fill: 1 inside, easing to the photo over `band` pixels along its
    inner edge, so the softer fill meets the sharp photo without a hard seam. Zero outside: an
    unpainted pixel is never touched."""
    if band < 1:
        return hole
    k = 2 * band + 1
    outside = F.avg_pool2d(F.pad((1 - hole)[None], (band,) * 4, mode="replicate"), k, 1)[0]
    return hole * (1 - outside)


def _fill(loaded: LoadedRun, served: Serving, x: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The generator's fill of photo `x` ([3, h, w] in [0, 1]) where `hole` ([1, h, w]) is 1, in [-1, 1]."""
    if served.in_channels == 2:  # a gray model (the photo's luma and the mask)
        x = color.luma(x)
    [fill] = _run_batched(loaded, lambda batch: loaded.modules["generator"](generator_input(batch[:, :-1], batch[:, -1:])),
                          [torch.cat([x * 2 - 1, hole])])
    return fill.expand(3, -1, -1).clamp(-1, 1)


def _face_fill(loaded: LoadedRun, served: Serving, photo: Image.Image, hole: torch.Tensor, face: Face) -> tuple[torch.Tensor, torch.Tensor]:
    """A face model's fill painted where it was trained to paint: in the face framed as CelebA's, then
    warped back onto the photo. Returns the fill ([3, H, W] in [-1, 1]) and where the frame covers the
    photo ([1, H, W] in [0, 1]); `photo`, `hole` and `face` share the photo's pixels."""
    side = served.input_size
    m = frame_matrix(face.eyes, side)
    x = _tensor(warp(np.asarray(photo), m, side)).float() / 255
    small = torch.from_numpy((warp(hole[0].numpy(), m, side) > 0.05).astype(np.float32))[None]
    fill = _fill(loaded, served, x, small).permute(1, 2, 0).numpy()
    w, h = photo.size
    back = cv2.invertAffineTransform(m)
    fill = cv2.warpAffine(fill, back, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    inside = np.pad(np.ones((side - 2, side - 2), np.float32), 1)  # a pixel in from the frame's edge: no edge blend
    covered = cv2.warpAffine(inside, back, (w, h), flags=cv2.INTER_LINEAR)
    return torch.from_numpy(fill).permute(2, 0, 1), torch.from_numpy(covered)[None]


def inpaint(upload: Upload, mask: Upload, run: str | os.PathLike | LoadedRun, limits: UploadLimits = UploadLimits(),
            find_face: bool = True) -> Inpainted:
    """The photo with the region that `mask` paints (see uploads.load_mask) filled from its
    surroundings, RGB at the upload's size (scaled down to TRANSLATION_MAX_SIDE on the longer
    side). The model paints at its working size (the shorter side at the run's image size, 64 px
    for the face models) and only the painted region is replaced, so every other pixel is the
    photo's own; the fill itself carries only the detail of that working size. A model of CelebA's
    faces paints within the face found and framed as CelebA's (when find_face is True and there is
    one: Inpainted.framing says), since that is the only framing it learned; the painted pixels
    outside that frame are filled from the whole photo as for any other model."""
    loaded = get_run(run)
    served = _served(loaded, "inpaint")
    photo = load_upload(upload, limits)
    _check_aspect(photo)
    size = _output_size(photo.size)
    shown = photo if photo.size == size else photo.resize(size, Image.BICUBIC)
    full = _resized(shown, size) * 2 - 1
    hole = torch.from_numpy(load_mask(mask, size, limits))[None]
    work = work_size(size, served.input_size, served.multiple)
    small = (F.interpolate(hole[None], size=(work[1], work[0]), mode="area")[0] > 0).float()  # any painted pixel is a hole
    fill = _fill(loaded, served, _resized(photo, work), small)
    fill = F.interpolate(fill[None], size=(size[1], size[0]), mode="bicubic", align_corners=False)[0].clamp(-1, 1)
    weight = _feathered(hole, round(size[0] / work[0]))
    output = composite(full, fill, weight)
    framing = frame_face(shown, served.input_size) if served.faces and find_face else None
    if framing and framing.face:
        face_fill, covered = _face_fill(loaded, served, shown, hole, framing.face)
        output = composite(output, face_fill.clamp(-1, 1), weight * covered)
    return Inpainted(_image((output + 1) / 2), _image((composite(full, torch.zeros_like(full), hole) + 1) / 2), framing)

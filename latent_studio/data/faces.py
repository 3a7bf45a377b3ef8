"""Find the face in a photo and frame it as CelebA's aligned faces are framed.

The face models were trained on CelebA's aligned crops: the eyes level, at the same places in every
64 px image (EYES). An upload is framed nothing like that (a face off centre, smaller, tilted), so
before such a model reads it the face is found and the photo is warped (a similarity: shift, scale,
roll) to put its eyes where CelebA's are.

Two steps, both offline and small:

1. OpenCV's frontal-face Haar cascade (it ships inside the opencv-python wheel) finds a face box. It
   only sees faces within about 15 degrees of upright, so it also looks at the photo turned 20 degrees
   each way, and keeps the box it is surest of. The box gives a first guess of the eyes (where they sit
   in the boxes of training faces).
2. A cascade of linear regressors on HOG features (a supervised descent method) moves that guess onto
   the eyes: each stage warps the photo by the current guess into CelebA's frame, reads it, and
   predicts where the true eyes are in that frame. Its weights (face_locator.safetensors, 73 KB) were
   fitted by latent_studio.training.face_locator on CelebA training faces pasted into training photos
   at random scale, place and roll, so they know CelebA's framing exactly.

On CelebA's test faces pasted into test photos (latent_studio.evaluation.face_framing) the box alone puts
both eyes within 3 px (at 64 px) of CelebA's places on 94% of the faces found, median 1.4 px; the
regressors on 98%, median 0.7 px. docs/faces.md has the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from safetensors.numpy import load_file

from latent_studio.data.datasets import image_files, split_files
from latent_studio.data.uploads import centre_square

# The eye centres (image left, image right) in CelebA's aligned 64 px crops, (x, y) in pixels. Measured with
# OpenCV's eye cascade over 715 training faces (spread about 1.5 px in x, 0.6 px in y), and what CelebA's own
# landmark list gives for the aligned photos after the 64 px resize and centre crop.
EYES = np.array([[24.6, 32.9], [38.9, 32.9]])
FRAME = 64  # the size EYES is given at
LOCATOR = Path(__file__).with_name("face_locator.safetensors")
CASCADE = "haarcascade_frontalface_alt2.xml"
ANGLES = (0.0, -20.0, 20.0)  # the detector looks at the photo turned by these (degrees): it finds faces within about 15 of upright
DETECT_SIDE = 512  # the detector works on the photo with its longer side at most this (a face is still dozens of pixels)
MIN_FACE = 24  # smallest face box looked for, in detector pixels (the cascade's own window is 20)
NEIGHBOURS = 4  # overlapping hits a box needs to count: fewer finds more faces and more faces that are not there
NO_FACE = ("No face found in this photo, so the model reads its centre square instead. For a better result, "
           "upload a photo in which a face looks at the camera, upright and not too small in the picture.")


@dataclass(frozen=True)
class Face:
    """A face found in a photo, in that photo's pixels."""

    eyes: np.ndarray  # [2, 2]: the eye centres (x, y), image left first
    box: tuple[int, int, int, int]  # the detector's box (x, y, width, height), in the photo turned by `angle`
    angle: float  # how far the photo was turned for the detector to find it (degrees)

    @property
    def roll(self) -> float:
        """How far the eye line tilts from level, in degrees (positive: the right eye is lower)."""
        (xl, yl), (xr, yr) = self.eyes
        return math.degrees(math.atan2(yr - yl, xr - xl))

    def frame_corners(self) -> np.ndarray:
        """[4, 2]: the corners of the square that frame() cuts out, in the photo's pixels (a turned square
        when the head is tilted): what to draw to show the framing found."""
        inverse = cv2.invertAffineTransform(frame_matrix(self.eyes, FRAME))
        corners = np.array([[0, 0], [FRAME, 0], [FRAME, FRAME], [0, FRAME]], dtype=np.float64)
        return corners @ inverse[:, :2].T + inverse[:, 2]


@dataclass(frozen=True)
class Framing:
    """What a face model reads from a photo: the framed face, or the centre square when none was found."""

    image: Image.Image  # RGB at the size asked for
    face: Face | None  # None: no face was found, and `image` is the centre square

    @property
    def message(self) -> str | None:
        """What to tell the user: None when a face was framed."""
        return None if self.face else NO_FACE


def frame_matrix(eyes: np.ndarray, size: int) -> np.ndarray:
    """The 2 x 3 similarity (shift, scale, roll) that takes a photo's pixels to a size x size frame
    with `eyes` at CelebA's eye positions."""
    src = complex(*eyes[0]), complex(*eyes[1])
    dst = [complex(*p) for p in EYES * size / FRAME]
    a = (dst[1] - dst[0]) / (src[1] - src[0] if src[1] != src[0] else 1e-6)
    t = dst[0] - a * src[0]
    return np.array([[a.real, -a.imag, t.real], [a.imag, a.real, t.imag]])


def warp(pixels: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """`pixels` through `matrix` into size x size; a frame past the photo's edge repeats the edge pixels.
    A large shrink is done in two steps (an area resize, then the warp), so it does not alias."""
    shrink = math.hypot(matrix[0, 0], matrix[1, 0])
    if shrink < 0.5:
        factor = 2 * shrink  # the photo at twice the frame's scale: the warp then only halves it
        h, w = pixels.shape[:2]
        small = cv2.resize(pixels, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
        matrix = matrix @ np.diag([1 / factor, 1 / factor, 1.0])
        pixels = small
    return cv2.warpAffine(pixels, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def frame(photo: Image.Image, face: Face, size: int = FRAME) -> Image.Image:
    """The face cut out of the photo (RGB) and warped to size x size, eyes level at CelebA's places."""
    pixels = np.asarray(photo.convert("RGB"))
    return Image.fromarray(warp(pixels, frame_matrix(face.eyes, size), size))


def frame_face(photo: Image.Image, size: int = FRAME) -> Framing:
    """The photo as a face model reads it: its face framed as CelebA's (see find_face), or its centre
    square when no face is found (Framing.message says so)."""
    face = find_face(photo)
    if face is None:
        return Framing(centre_square(photo.convert("RGB")).resize((size, size), Image.LANCZOS), None)
    return Framing(frame(photo, face, size), face)


# --- finding the face ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _cascade() -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / CASCADE))
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {CASCADE} is missing from this install: opencv-python(-headless) 4.x ships it, 5.x does not")
    return cascade


@lru_cache(maxsize=1)
def locator() -> dict[str, np.ndarray]:
    """The eye locator's weights: box_eyes (where the eyes sit in a detector's box, as fractions of its
    width from its corner) and the regressors stage0, stage1, ... ([features + 1, 4] each) with their
    views view0, view1, ... (see window_features)."""
    return load_file(str(LOCATOR))


def gray(photo: Image.Image) -> tuple[np.ndarray, float]:
    """The photo as 8-bit gray with its longer side at most DETECT_SIDE, and the scale that was applied."""
    scale = min(1.0, DETECT_SIDE / max(photo.size))
    if scale < 1:
        photo = photo.resize((max(1, round(photo.width * scale)), max(1, round(photo.height * scale))), Image.BILINEAR)
    return np.asarray(photo.convert("L")), scale


def _turned(image: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """The image turned by `angle` degrees on a canvas that holds all of it, and the 2 x 3 matrix that
    takes the turned image's pixels back to the image's."""
    h, w = image.shape
    if angle == 0:
        return image, np.array([[1.0, 0, 0], [0, 1.0, 0]])
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(w * c + h * s + 1), int(w * s + h * c + 1)
    m[:, 2] += (nw / 2 - w / 2, nh / 2 - h / 2)
    return cv2.warpAffine(image, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), cv2.invertAffineTransform(m)


def detect(image: np.ndarray) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """Face boxes in a gray image, looked for upright and turned by each of ANGLES: each box (in the turned
    image) with the 2 x 3 matrix that takes the turned image's pixels back to the image's, the surest first
    (the most overlapping hits: a face is hit most often at the turn nearest its own roll, where its box is
    also best placed)."""
    equalized = cv2.equalizeHist(image)
    found = []
    for angle in ANGLES:
        turned, back = _turned(equalized, angle)
        boxes, hits = _cascade().detectMultiScale2(turned, scaleFactor=1.1, minNeighbors=NEIGHBOURS, minSize=(MIN_FACE, MIN_FACE))
        found += [(int(n), (int(x), int(y), int(w), int(h)), back) for (x, y, w, h), n in zip(boxes, np.ravel(hits))]
    return [(box, back) for _, box, back in sorted(found, key=lambda f: (-f[0], -f[1][2]))]


def box_guess(box: tuple[int, int, int, int], back: np.ndarray, box_eyes: np.ndarray) -> np.ndarray:
    """The first guess of the eyes from a box: [2, 2] in the image's pixels. `box_eyes` is where the eyes
    sit in a box, as fractions of its width from its corner."""
    x, y, w, _ = box
    eyes = np.array([x, y]) + box_eyes * w
    return eyes @ back[:, :2].T + back[:, 2]


def window_features(image: np.ndarray, eyes: np.ndarray, view: np.ndarray) -> np.ndarray:
    """HOG features of a gray image warped so that `eyes` sit at CelebA's eye positions, seen through a
    regressor's view: (side, start, end), a side x side window over CelebA's 64 px frame from start to end
    in both directions (the first stages see a margin around the face, the last only around the eyes)."""
    side, start, end = int(view[0]), float(view[1]), float(view[2])
    scale = side / (end - start)
    m = scale * frame_matrix(eyes, FRAME)
    m[:, 2] -= start * scale
    return _hog(side).compute(warp(image, m, side)).ravel()


@lru_cache(maxsize=4)
def _hog(side: int) -> cv2.HOGDescriptor:
    return cv2.HOGDescriptor((side, side), (16, 16), (8, 8), (8, 8), 9)


Stage = tuple[np.ndarray, np.ndarray]  # a regressor: its view (see window_features) and weights [features + 1, 4]


def refine(image: np.ndarray, eyes: np.ndarray, stages: list[Stage]) -> np.ndarray:
    """The eyes moved by each regressor stage in turn (see the module's docstring): [2, 2] in the
    image's pixels."""
    for view, weights in stages:
        features = np.append(window_features(image, eyes, view), 1.0)
        in_frame = EYES + (features @ weights).reshape(2, 2)  # where the eyes are in the frame the guess made
        back = cv2.invertAffineTransform(frame_matrix(eyes, FRAME))
        eyes = in_frame @ back[:, :2].T + back[:, 2]
    return eyes


def locator_stages() -> list[Stage]:
    weights = locator()
    return [(weights[f"view{i}"], weights[f"stage{i}"]) for i in range(sum(k.startswith("stage") for k in weights))]


def in_frame(eyes: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """Where `eyes` land in the 64 px frame that `guess` (eyes too) makes: CelebA's EYES when they agree."""
    m = frame_matrix(guess, FRAME)
    return eyes @ m[:, :2].T + m[:, 2]


def find_face(photo: Image.Image) -> Face | None:
    """The face in an (upright, RGB) photo that the detector is surest of, with its eyes located, or None
    when there is none."""
    image, scale = gray(photo)
    found = detect(image)
    if not found:
        return None
    box, back = found[0]
    eyes = refine(image, box_guess(box, back, locator()["box_eyes"]), locator_stages())
    angle = math.degrees(math.atan2(back[1, 0], back[0, 0]))
    return Face(eyes / scale, tuple(round(v / scale) for v in box), round(angle, 1))


def paste(face: np.ndarray, background: np.ndarray, scale: float, roll: float, centre: tuple[float, float],
          feather: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """An aligned CelebA face (RGB uint8, FRAME x FRAME) pasted into a larger background photo (RGB uint8),
    `scale` times larger, turned by `roll` degrees (positive: clockwise on screen, the right eye lower) about
    its centre, which lands at `centre`; it fades into the background over `feather` pixels outside its edge. Returns the photo and where
    the face's eyes (EYES) landed in it: what the fitting and the measurement of the framing start from."""
    a = scale * complex(math.cos(math.radians(roll)), math.sin(math.radians(roll)))
    t = complex(*centre) - a * complex(FRAME / 2, FRAME / 2)
    m = np.array([[a.real, -a.imag, t.real], [a.imag, a.real, t.imag]])
    h, w = background.shape[:2]
    warped = cv2.warpAffine(face, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    # The face's square, then a fade to the background outside it (the edge pixels carried out): a frame
    # at the right place holds nothing but the face.
    square = cv2.warpAffine(np.ones((FRAME, FRAME), np.uint8), m, (w, h), flags=cv2.INTER_NEAREST)
    outside = cv2.distanceTransform((square == 0).astype(np.uint8), cv2.DIST_L2, 5)
    mask = np.clip(1 - outside / max(feather, 1e-6), 0, 1)[..., None]
    photo = (warped * mask + background * (1 - mask)).round().clip(0, 255).astype(np.uint8)
    return photo, EYES @ m[:, :2].T + m[:, 2]


def random_paste(rng: np.random.Generator, face: np.ndarray, background: np.ndarray, side: int = 256,
                 scales: tuple[float, float] = (1.0, 2.5), roll: float = 25.0) -> tuple[np.ndarray, np.ndarray]:
    """paste() at a random scale (uniform in `scales`), roll (uniform within +-`roll` degrees) and place
    (the whole turned square inside), on the background resized to side x side."""
    scale, turn = rng.uniform(*scales), rng.uniform(-roll, roll)
    half = FRAME * scale / 2 * (abs(math.cos(math.radians(turn))) + abs(math.sin(math.radians(turn))))
    low, high = min(half, side / 2), max(side - half, side / 2)
    centre = (rng.uniform(low, high), rng.uniform(low, high))
    return paste(face, cv2.resize(background, (side, side), interpolation=cv2.INTER_CUBIC), scale, turn, centre)


def pasted_faces(root: Path, split: str, count: int, seed: int, scales: tuple[float, float], roll: float):
    """`count` (photo, true eyes, face file) triples: random CelebA faces of `split` (celeba_64 under the
    data root) pasted by random_paste into random photos of the same split (photos_128)."""
    rng = np.random.default_rng(seed)
    face_files = split_files(image_files(root / "celeba_64" / "img_align_celeba_64"), split)
    photo_files = sorted((root / "photos_128" / split).glob("*/*.jpg"))
    for _ in range(count):
        face = face_files[rng.integers(len(face_files))]
        photo, eyes = random_paste(rng, _rgb(face), _rgb(photo_files[rng.integers(len(photo_files))]), scales=scales, roll=roll)
        yield photo, eyes, face


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def marked(photo: Image.Image, framing: Framing, side: int = 384) -> Image.Image:
    """The photo (its longer side at most `side`) with the square that was framed drawn on it (a turned
    square for a tilted head) and a dot on each eye found; when no face was found, the centre square
    in gray: what the model read, shown where it came from."""
    scale = min(1.0, side / max(photo.size))
    shown = photo.convert("RGB").resize((max(1, round(photo.width * scale)), max(1, round(photo.height * scale))), Image.BILINEAR)
    pixels = np.array(shown)
    thick = max(2, round(max(shown.size) / 160))
    if framing.face is None:
        w, h = photo.size
        s = min(w, h)
        corners = np.array([[(w - s) / 2, (h - s) / 2], [(w + s) / 2, (h - s) / 2], [(w + s) / 2, (h + s) / 2], [(w - s) / 2, (h + s) / 2]])
        colour = (160, 160, 160)
    else:
        corners, colour = framing.face.frame_corners(), (0, 230, 90)
        for x, y in framing.face.eyes * scale:
            cv2.circle(pixels, (round(x), round(y)), thick + 1, (255, 40, 40), -1, cv2.LINE_AA)
    cv2.polylines(pixels, [np.round(corners * scale).astype(np.int32)], True, colour, thick, cv2.LINE_AA)
    return Image.fromarray(pixels)

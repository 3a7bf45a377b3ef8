"""Colour spaces for colorization: sRGB <-> CIE Lab (D65), ITU-R 601 luma, and the model's view.

A colorizer is given the lightness of a photo and predicts only what is missing, the chroma. Two
ways to split a photo are supported (DataSpec.color_space):

- "lab": input L* (lightness), target a*b*. L* is perceptually uniform and a*b* carry no
  lightness at all, so the generator cannot spend capacity re-predicting what it was given.
- "rgb": input ITU-R 601 luma (what a black-and-white photo stores), target all of R, G, B.

Every tensor here is [..., 3, H, W] (channels third from last), float. Model-side tensors are in
[-1, 1] like every dataset: L* / 50 - 1 and a*b* / 110 (sRGB's a*b* stay within about +-108).
Pure functions, so each property is tested exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

COLOR_SPACES = ("lab", "rgb")

# Linear sRGB -> CIE XYZ under D65 (IEC 61966-2-1). The white point is the image of RGB (1, 1, 1),
# so sRGB white maps to exactly L* = 100, a* = b* = 0.
_RGB_TO_XYZ = torch.tensor([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
], dtype=torch.float64)
_XYZ_TO_RGB = torch.linalg.inv(_RGB_TO_XYZ)
_WHITE = _RGB_TO_XYZ.sum(1)
_DELTA = 6 / 29  # where CIE's cube root gives way to a straight line near black
LUMA_601 = (0.299, 0.587, 0.114)
L_SCALE, AB_SCALE = 50.0, 110.0  # L* in [0, 100] -> [-1, 1]; a*b* / 110 -> about [-1, 1]


def _mix(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Apply a 3x3 colour matrix over the channel axis of [..., 3, H, W]."""
    return torch.einsum("ij,...jhw->...ihw", matrix.to(x), x)


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    return torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp(min=0) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    linear = linear.clamp(0, 1)  # out-of-gamut colours clip to the nearest sRGB value
    return torch.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> Lab with L* in [0, 100]."""
    xyz = _mix(_RGB_TO_XYZ, srgb_to_linear(rgb)) / _WHITE.to(rgb).view(3, 1, 1)
    f = torch.where(xyz > _DELTA**3, xyz.clamp(min=_DELTA**3) ** (1 / 3), xyz / (3 * _DELTA**2) + 4 / 29)
    fx, fy, fz = f.unbind(-3)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)


def _lab_to_linear(lab: torch.Tensor) -> torch.Tensor:
    """Lab -> linear RGB, unclipped: outside [0, 1] where sRGB cannot show the colour."""
    L, a, b = lab.unbind(-3)
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], dim=-3)
    xyz = torch.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4 / 29)) * _WHITE.to(lab).view(3, 1, 1)
    return _mix(_XYZ_TO_RGB, xyz)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab -> sRGB in [0, 1]; colours outside the sRGB gamut are clipped (see in_gamut)."""
    return linear_to_srgb(_lab_to_linear(lab))


GAMUT_STEPS = 7  # halvings of the chroma scale in in_gamut: within 1% of the gamut's edge


def in_gamut(lightness_: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """a*b* [..., 2, H, W] scaled towards gray, pixel by pixel, as far as sRGB needs to show the
    colour at its L* [..., 1, H, W], keeping its hue. Clipping an out-of-gamut colour's RGB
    instead changes its lightness (a vivid dark red comes out lighter), and the lightness is
    what a colorizer must keep."""
    return _gamut_mapped(torch.cat([lightness_, ab], dim=-3))[0][..., 1:, :, :]


def _gamut_mapped(lab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(Lab with each colour sRGB cannot show scaled towards gray as far as it must, its linear RGB).
    The whole image is converted once; only the pixels out of gamut are searched (bisection on
    the scale) and converted again."""
    linear = _lab_to_linear(lab)
    outside = _outside(linear).squeeze(-3)
    if not outside.any():
        return lab, linear
    lab, linear = lab.movedim(-3, -1).clone(), linear.movedim(-3, -1).clone()  # [..., H, W, 3]
    L, colour = lab[outside][:, :1], lab[outside][:, 1:]  # [N, 1], [N, 2]
    low, high = torch.zeros_like(L), torch.ones_like(L)
    for _ in range(GAMUT_STEPS):
        mid = (low + high) / 2
        over = _outside(_lab_to_linear(torch.cat([L, colour * mid], 1).T.unsqueeze(-1))).view(-1, 1)  # [3, N, 1] in
        high, low = torch.where(over, mid, high), torch.where(over, low, mid)
    lab[outside] = torch.cat([L, colour * low], 1)
    linear[outside] = _lab_to_linear(lab[outside].T.unsqueeze(-1)).squeeze(-1).T
    return lab.movedim(-1, -3), linear.movedim(-1, -3)


def _outside(linear: torch.Tensor) -> torch.Tensor:
    """[..., 1, H, W]: whether each linear RGB colour is outside what sRGB shows (a hair of tolerance for rounding)."""
    return ((linear < -1e-4) | (linear > 1 + 1e-4)).any(dim=-3, keepdim=True)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma, [..., 3, H, W] -> [..., 1, H, W]: the gray a black-and-white photo holds
    (Pillow's convert("L") and JPEG's Y use the same weights)."""
    return _mix(torch.tensor([LUMA_601], dtype=torch.float64), rgb)


def io_channels(color_space: str) -> tuple[int, int]:
    """(input, output) channels of a colorizer: one of lightness in, the chroma it predicts out."""
    if color_space == "lab":
        return 1, 2
    if color_space == "rgb":
        return 1, 3
    raise ValueError(f"unknown colorization color space {color_space!r}; use {' or '.join(COLOR_SPACES)}")


def split(rgb: torch.Tensor, color_space: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A colour photo in [-1, 1] -> (gray input, target) in the model's units, a training pair."""
    io_channels(color_space)
    unit = (rgb + 1) / 2
    if color_space == "rgb":
        return luma(unit) * 2 - 1, rgb
    lab = rgb_to_lab(unit)
    return lab[..., :1, :, :] / L_SCALE - 1, lab[..., 1:, :, :] / AB_SCALE


def merge(gray: torch.Tensor, prediction: torch.Tensor, color_space: str) -> torch.Tensor:
    """(gray input, predicted chroma) in model units -> the colour photo in [-1, 1]."""
    io_channels(color_space)
    if color_space == "rgb":
        return prediction
    lab = torch.cat([(gray + 1) * L_SCALE, prediction * AB_SCALE], dim=-3)
    return lab_to_rgb(lab) * 2 - 1


def as_gray_rgb(gray: torch.Tensor, color_space: str) -> torch.Tensor:
    """The gray input shown as an RGB image in [-1, 1] (no chroma): the colorizer's baseline."""
    io_channels(color_space)
    if color_space == "rgb":
        return gray.expand(*gray.shape[:-3], 3, *gray.shape[-2:])
    return merge(gray, torch.zeros_like(gray).expand(*gray.shape[:-3], 2, *gray.shape[-2:]), color_space)


def chroma(prediction: torch.Tensor, color_space: str) -> torch.Tensor:
    """The colour a prediction (model units) adds to lightness, as two channels that can be
    resized on their own: a*b* for lab, 601 (B - Y, R - Y) for rgb."""
    io_channels(color_space)
    if color_space == "lab":
        return prediction.float() * AB_SCALE
    rgb = (prediction.float() + 1) / 2
    y = luma(rgb)
    return torch.cat([rgb[..., 2:3, :, :] - y, rgb[..., 0:1, :, :] - y], dim=-3)


def with_chroma(photo: torch.Tensor, chroma_: torch.Tensor, color_space: str) -> torch.Tensor:
    """The lightness of `photo` (sRGB in [0, 1]) with the given chroma (same size): sRGB in [0, 1].

    This is how a colorizer keeps full detail: chroma is smooth and the eye is far less sensitive
    to its detail than to lightness (the idea behind JPEG's 4:2:0), so the model runs small, only
    its chroma is upsampled, and every edge of the photo survives at full resolution. A colour sRGB
    cannot show at its lightness is made paler (in_gamut), never lighter or darker. Pointwise,
    so a large photo can be done in strips.
    """
    io_channels(color_space)
    if color_space == "lab":
        return linear_to_srgb(_gamut_mapped(torch.cat([rgb_to_lab(photo)[..., :1, :, :], chroma_], dim=-3))[1])
    y = luma(photo)
    r, b = y + chroma_[..., 1:2, :, :], y + chroma_[..., 0:1, :, :]
    g = (y - LUMA_601[0] * r - LUMA_601[2] * b) / LUMA_601[1]  # keeps the photo's luma exactly
    return torch.cat([r, g, b], dim=-3).clamp(0, 1)


# The guided filter under a model's chroma: a window of 2 * 4 + 1 pixels at the model's working
# size (about a seventh of a 64 px photo), and lightness edges count once their local standard
# deviation passes about 10 L* (eps is a variance on the [0, 1] lightness scale).
GUIDE_RADIUS, GUIDE_EPS = 4, 1e-2


def lightness(photo: torch.Tensor, color_space: str) -> torch.Tensor:
    """The gray a colorizer sees, on a [0, 1] scale: L* / 100 ("lab") or 601 luma ("rgb"),
    [..., 3, H, W] sRGB in [0, 1] -> [..., 1, H, W]."""
    io_channels(color_space)
    return rgb_to_lab(photo)[..., :1, :, :] / 100 if color_space == "lab" else luma(photo)


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over a (2r + 1)^2 window, edges replicated (same size out)."""
    flat = x.reshape(-1, *x.shape[-3:])
    out = F.avg_pool2d(F.pad(flat, (r, r, r, r), mode="replicate"), 2 * r + 1, stride=1)
    return out.reshape(x.shape)


class ChromaGuide:
    """A model's low-resolution chroma laid under a photo's own lightness, at any size.

    Bilinear upsampling lets colour run across edges, and it keeps every blotch the model paints on a
    plain sky or wall. A guided filter (He, Sun and Tang 2010) instead models the chroma in each
    window as a linear function of the lightness, c = a * L + b: where the lightness is flat (a sky),
    a is near 0 and the colour is averaged out over the window; where the lightness has an edge,
    the colour follows that edge. Fitted at the model's size and with a and b upsampled to the
    photo's (the fast guided filter, He and Sun 2015), it is a joint upsampling: the output's colour
    edges are the full-resolution photo's own. Rows come out a strip at a time, so a 24-megapixel
    photo never needs its whole chroma in memory at once.
    """

    def __init__(self, chroma_: torch.Tensor, gray: torch.Tensor, size: tuple[int, int],
                 radius: int = GUIDE_RADIUS, eps: float = GUIDE_EPS):
        """`chroma_` [..., 2, h, w] (color.chroma's units), `gray` [..., 1, h, w] the lightness
        (see `lightness`) at the same size; `size` the (H, W) of the photo it will paint."""
        chroma_, gray = chroma_.float(), gray.float()
        mean_g, mean_c = _box(gray, radius), _box(chroma_, radius)
        a = (_box(gray * chroma_, radius) - mean_g * mean_c) / (_box(gray * gray, radius) - mean_g * mean_g + eps)
        b = mean_c - a * mean_g
        ab = torch.cat([_box(a, radius), _box(b, radius)], dim=-3)
        self.height, self.small_height = size[0], ab.shape[-2]
        flat = ab.reshape(-1, *ab.shape[-3:])  # the width once, the rows strip by strip
        self._wide = F.interpolate(flat, size=(self.small_height, size[1]), mode="bilinear", align_corners=False)
        self._wide = self._wide.reshape(*ab.shape[:-2], *self._wide.shape[-2:])

    def rows(self, gray: torch.Tensor, start: int = 0) -> torch.Tensor:
        """The chroma of the photo's rows start .. start + len, given their lightness
        [..., 1, rows, W]: exactly bilinear upsampling of a and b (as F.interpolate does it)."""
        scale = self.small_height / self.height
        y = ((torch.arange(start, start + gray.shape[-2], dtype=torch.float64) + 0.5) * scale - 0.5).clamp(min=0)
        y0 = y.floor().long().clamp(max=self.small_height - 1)
        y1 = (y0 + 1).clamp(max=self.small_height - 1)
        t = (y - y0).float().view(-1, 1)
        ab = self._wide[..., y0, :] * (1 - t) + self._wide[..., y1, :] * t
        a, b = ab.split(2, dim=-3)
        return a * gray.float() + b


def guided_chroma(chroma_: torch.Tensor, gray: torch.Tensor) -> torch.Tensor:
    """A model's chroma [..., 2, h, w] at the size of the lightness `gray` [..., 1, H, W] it goes
    under, through the guided filter (ChromaGuide), in one piece."""
    small = F.interpolate(gray.reshape(-1, 1, *gray.shape[-2:]).float(), size=chroma_.shape[-2:], mode="bilinear",
                          antialias=True, align_corners=False).reshape(*gray.shape[:-2], *chroma_.shape[-2:])
    return ChromaGuide(chroma_, small, gray.shape[-2:]).rows(gray)

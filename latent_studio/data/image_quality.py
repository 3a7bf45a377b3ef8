"""Full-reference image metrics for the image-to-image models: PSNR, SSIM, L1, Hasler and
Suesstrunk's colourfulness, and hue agreement. Images are float [B, C, H, W] in [0, 1]; each function returns one
value per image, so callers average over a test set however they batch it. Pure functions, each
tested on cases with known answers."""

from __future__ import annotations

import torch

from latent_studio.data.color import rgb_to_lab


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference per image, on the [0, 1] scale."""
    return (x.float() - y.float()).abs().flatten(1).mean(1)


def psnr(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB for a peak of 1: 10 log10(1 / MSE), per image."""
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1 / mse.clamp(min=eps))


def _band(size: int, window: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    """[size - window + 1, size] matrix whose rows are the Gaussian window at each valid offset:
    multiplying by it blurs along one axis with no padding (as a matmul, far faster on CPU than
    a depthwise convolution)."""
    x = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    band = torch.zeros(size - window + 1, size, dtype=torch.float64)
    for i in range(size - window + 1):
        band[i, i:i + window] = g
    return band.to(like)


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) with their 11x11 Gaussian window (sigma 1.5) and
    constants K1 0.01, K2 0.03 for a data range of 1; the mean over valid windows and channels,
    per image (what skimage's structural_similarity gives with gaussian_weights=True). Computed
    in float64: variances are differences of nearly equal means, which float32 blurs."""
    x, y = x.double(), y.double()
    rows, cols = _band(x.size(-2), window, sigma, x), _band(x.size(-1), window, sigma, x)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return rows @ t @ cols.T

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(1).float()


def colorfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler and Suesstrunk's (2003) colourfulness M on the 0-255 scale, per image:
    sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2) with rg = R - G and
    yb = (R + G) / 2 - B. 0 for any gray image; they rate about 33 "moderately" and 59 "quite"
    colourful."""
    r, g, b = (rgb.float() * 255).unbind(1)
    rg, yb = (r - g).flatten(1), ((r + g) / 2 - b).flatten(1)
    std = (rg.var(1, unbiased=False) + yb.var(1, unbiased=False)).sqrt()
    mean = (rg.mean(1) ** 2 + yb.mean(1) ** 2).sqrt()
    return std + 0.3 * mean


COLOURFUL_CHROMA = 15.0  # a*b* length past which a pixel has a hue worth judging (grays have none)


def hue_agreement(rgb: torch.Tensor, true_rgb: torch.Tensor, degrees: float = 45.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: (share of the truly colourful pixels whose a*b* hue angle is within `degrees`
    of the true one, number of those pixels). A gray prediction has no hue, so it never agrees:
    this measures the right colour, where colourfulness only measures some colour."""
    ab, true_ab = rgb_to_lab(rgb.float())[:, 1:], rgb_to_lab(true_rgb.float())[:, 1:]
    colourful = true_ab.norm(dim=1) > COLOURFUL_CHROMA
    cos = (ab * true_ab).sum(1) / (ab.norm(dim=1) * true_ab.norm(dim=1)).clamp(min=1e-6)
    close = (cos > torch.cos(torch.deg2rad(torch.tensor(degrees)))) & (ab.norm(dim=1) > 1e-3)
    count = colourful.flatten(1).sum(1)
    return (close & colourful).flatten(1).sum(1) / count.clamp(min=1), count


HUE_SECTORS = 36  # 10-degree sectors for an image's dominant hue
DOMINANT_SHARE = 0.05  # an image needs this share of colourful pixels to have a dominant hue


def dominant_hue(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: (the hue angle in degrees that most of its colour sits at, whether it has one).
    The colourful pixels' hues fill a histogram of 10-degree sectors weighted by chroma, summed
    over each sector's neighbours (30 degrees in all), whose peak is the dominant hue: the colour a
    viewer names the photo by (a green lawn, an orange cat). An image with fewer than 5% colourful
    pixels has none."""
    ab = rgb_to_lab(rgb.float())[:, 1:].flatten(2)  # [B, 2, N]
    chroma = ab.norm(dim=1)
    weight = chroma * (chroma > COLOURFUL_CHROMA)
    sector = ((torch.atan2(ab[:, 1], ab[:, 0]) / (2 * torch.pi) * HUE_SECTORS).floor().long()) % HUE_SECTORS
    hist = torch.zeros(len(rgb), HUE_SECTORS, device=rgb.device).scatter_add_(1, sector, weight)
    hist = hist + hist.roll(1, 1) + hist.roll(-1, 1)
    angle = (hist.argmax(1).float() + 0.5) * 360 / HUE_SECTORS
    return angle, (chroma > COLOURFUL_CHROMA).float().mean(1) >= DOMINANT_SHARE


def dominant_hue_agreement(rgb: torch.Tensor, true_rgb: torch.Tensor, degrees: float = 45.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: (whether its dominant hue is within `degrees` of the true photo's, whether the
    true photo has one to judge). A colorized photo with no dominant hue of its own is wrong."""
    angle, has = dominant_hue(rgb)
    true_angle, true_has = dominant_hue(true_rgb)
    apart = (angle - true_angle).abs() % 360
    return (torch.minimum(apart, 360 - apart) <= degrees) & has & true_has, true_has


def checkerboard_energy(rgb: torch.Tensor) -> torch.Tensor:
    """Per image: the share of its luminance's spectral energy (the mean removed) that sits at the
    period-2 frequencies, horizontal, vertical and diagonal: the grid a stride-2 transposed
    convolution leaves. Those are the Fourier coefficients sum x[i, j] (-1)^i, (-1)^j and
    (-1)^(i+j), taken directly. Photos have little energy there, so a ratio to real photos'
    value near 1 means no visible grid. Differentiable, so it also serves as a training penalty
    (families.losses.grid_excess); the share is the same for x and a x + b, so [-1, 1] images
    need no rescaling."""
    y = (0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]).double()
    y = y - y.mean((-2, -1), keepdim=True)
    h, w = y.shape[-2:]
    rows = 1 - 2 * (torch.arange(h, dtype=y.dtype, device=y.device) % 2)  # (-1)^i
    cols = 1 - 2 * (torch.arange(w, dtype=y.dtype, device=y.device) % 2)
    grid = [rows[:, None].expand(h, w), cols.expand(h, w), rows[:, None] * cols]
    nyquist = sum((y * g).sum((-2, -1)).square() for g in grid)
    total = y.square().sum((-2, -1)) * h * w  # Parseval: the energy of all coefficients
    return (nyquist / total.clamp(min=1e-12)).float()

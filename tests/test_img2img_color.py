"""Colour spaces for colorization and the image metrics: known values, exact round trips."""

import math

import pytest
import torch

from latent_studio.data import color
from latent_studio.data.image_quality import checkerboard_energy, colorfulness, l1, psnr, ssim


def pixels(*rgb: tuple[float, float, float]) -> torch.Tensor:
    """[3, 1, N] image holding the given RGB values."""
    return torch.tensor(rgb, dtype=torch.float32).T[:, None, :]


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [
        ((1, 1, 1), (100, 0, 0)),
        ((0, 0, 0), (0, 0, 0)),
        ((1, 0, 0), (53.2408, 80.0925, 67.2032)),  # published sRGB primaries in CIE Lab (D65)
        ((0, 1, 0), (87.7347, -86.1827, 83.1793)),
        ((0, 0, 1), (32.2970, 79.1875, -107.8602)),
        ((0.5, 0.5, 0.5), (53.3890, 0, 0)),
    ],
)
def test_rgb_to_lab_known_values(rgb, lab):
    got = color.rgb_to_lab(pixels(rgb))[:, 0, 0]
    assert got.tolist() == pytest.approx(lab, abs=2e-3)


def test_lab_round_trip_is_exact_to_float_precision():
    rgb = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert (color.lab_to_rgb(color.rgb_to_lab(rgb)) - rgb).abs().max() < 1e-4


def test_out_of_gamut_lab_clips_into_srgb():
    out = color.lab_to_rgb(torch.tensor([50.0, 127.0, -127.0]).view(3, 1, 1))
    assert out.min() >= 0 and out.max() <= 1


def test_luma_uses_itu_r_601_weights():
    assert color.luma(pixels((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1))).flatten().tolist() == pytest.approx([0.299, 0.587, 0.114, 1])


@pytest.mark.parametrize(("space", "channels"), [("lab", 2), ("rgb", 3)])
def test_split_gives_model_units_and_merge_inverts_it(space, channels):
    rgb = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    gray, target = color.split(rgb, space)
    assert gray.shape == (2, 1, 8, 8) and target.shape == (2, channels, 8, 8)
    assert gray.abs().max() <= 1 and target.abs().max() <= 1
    assert (color.merge(gray, target, space) - rgb).abs().max() < 1e-4
    assert color.io_channels(space) == (1, channels)


def test_lab_gray_input_is_lightness_and_rgb_gray_input_is_luma():
    rgb = pixels((1, 0, 0)) * 2 - 1
    assert color.split(rgb, "lab")[0].item() == pytest.approx(53.2408 / 50 - 1, abs=1e-4)
    assert color.split(rgb, "rgb")[0].item() == pytest.approx(0.299 * 2 - 1, abs=1e-6)


@pytest.mark.parametrize("space", ["lab", "rgb"])
def test_gray_shown_as_rgb_has_no_colour_and_the_same_lightness(space):
    rgb = torch.rand(1, 3, 8, 8) * 2 - 1
    shown = color.as_gray_rgb(color.split(rgb, space)[0], space)
    assert shown.shape == (1, 3, 8, 8)
    assert colorfulness((shown + 1) / 2).item() == pytest.approx(0, abs=1e-3)


@pytest.mark.parametrize("space", ["lab", "rgb"])
def test_with_chroma_restores_a_photo_from_its_own_chroma(space):
    photo = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    prediction = color.split(photo * 2 - 1, space)[1]
    assert (color.with_chroma(photo, color.chroma(prediction, space), space) - photo).abs().max() < 1e-4


def test_with_chroma_keeps_the_photos_lightness():
    photo = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3)) * 0.6 + 0.2
    chroma = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(4)) * 0.1
    lab = color.with_chroma(photo, color.chroma(chroma, "lab"), "lab")
    assert (color.rgb_to_lab(lab)[:, 0] - color.rgb_to_lab(photo)[:, 0]).abs().max() < 1e-3
    rgb = color.with_chroma(photo, color.chroma(chroma.repeat(1, 2, 1, 1)[:, :3], "rgb") * 0.2, "rgb")
    assert (color.luma(rgb) - color.luma(photo)).abs().max() < 1e-5  # 601 luma exactly, while in gamut


def _smooth_gray(h: int, w: int, seed: int) -> torch.Tensor:
    """A [1, 1, h, w] lightness in [0.1, 0.9] with structure at several scales."""
    g = torch.nn.functional.interpolate(torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(seed)), size=(h, w),
                                        mode="bicubic", align_corners=False)
    return (g - g.min()) / (g.max() - g.min()) * 0.8 + 0.1


def test_guide_fits_a_chroma_that_follows_the_lightness_exactly_at_full_resolution():
    """Where colour is a linear function of lightness, every window fits it exactly, so the
    upsampled chroma carries the full-resolution photo's own detail (bilinear would blur it). The
    regularizer eps only decides how much lightness contrast counts as an edge; here it is ~0."""
    gray = _smooth_gray(96, 80, seed=1) + 0.05 * torch.rand(1, 1, 96, 80, generator=torch.Generator().manual_seed(2))
    small = torch.nn.functional.interpolate(gray, size=(24, 20), mode="bilinear", antialias=True, align_corners=False)
    chroma = torch.cat([40 * small - 10, -25 * small + 5], dim=1)
    up = color.ChromaGuide(chroma, small, (96, 80), eps=1e-8).rows(gray)
    assert up.shape == (1, 2, 96, 80)
    assert torch.allclose(up, torch.cat([40 * gray - 10, -25 * gray + 5], dim=1), atol=0.05)


def test_guided_chroma_evens_out_a_colour_blotch_on_a_plain_sky():
    chroma = torch.zeros(1, 2, 64, 64)
    chroma[:, 0], chroma[:, 1] = -5.0, -30.0  # a blue sky ...
    chroma[:, :, 20:26, 30:36] = torch.tensor([25.0, 40.0]).view(1, 2, 1, 1)  # ... with an orange smear
    bilinear = torch.nn.functional.interpolate(chroma, size=(128, 128), mode="bilinear", align_corners=False)
    guided = color.guided_chroma(chroma, torch.full((1, 1, 128, 128), 0.7))
    assert bilinear[0, 0].max() - bilinear[0, 0].min() > 29
    assert guided[0, 0].max() - guided[0, 0].min() < 0.5 * (bilinear[0, 0].max() - bilinear[0, 0].min())


def test_guided_chroma_stops_colour_at_a_lightness_edge():
    """Two colours on either side of a dark/bright edge at low resolution stay on their sides at
    full resolution: no halo where bilinear upsampling mixes them."""
    gray = torch.full((1, 1, 128, 128), 0.2)
    gray[..., 61:] = 0.8  # an edge that falls between the small image's pixels
    chroma = torch.full((1, 2, 32, 32), 30.0)
    chroma[..., 16:] = -30.0
    chroma[..., 15] = 0.0  # the small pixel the edge crosses holds the average
    guided = color.guided_chroma(chroma, gray)[0, 0, 64]
    bilinear = torch.nn.functional.interpolate(chroma, size=(128, 128), mode="bilinear", align_corners=False)[0, 0, 64]
    assert (guided[:61] > 15).all() and (guided[61:] < -15).all()
    assert (bilinear[:61] < 15).any()  # the halo the guide removes


def test_chroma_guide_in_strips_equals_one_piece():
    gray = _smooth_gray(75, 50, seed=3)
    chroma = torch.randn(2, 19, 13, generator=torch.Generator().manual_seed(4)) * 20
    small = torch.nn.functional.interpolate(gray, size=(19, 13), mode="bilinear", antialias=True, align_corners=False)[0]
    whole = color.guided_chroma(chroma[None], gray)[0]
    guide = color.ChromaGuide(chroma, small, (75, 50))
    strips = torch.cat([guide.rows(gray[0, :, r:r + 16], r) for r in range(0, 75, 16)], dim=-2)
    assert torch.allclose(strips, whole, atol=1e-4)


@pytest.mark.parametrize("space", ["lab", "rgb"])
def test_lightness_is_the_colorizers_gray_input_on_a_unit_scale(space):
    photo = torch.rand(2, 3, 5, 5, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(color.lightness(photo, space), (color.split(photo * 2 - 1, space)[0] + 1) / 2, atol=1e-5)


def test_unknown_color_space_is_refused():
    with pytest.raises(ValueError, match="unknown colorization color space 'hsv'"):
        color.split(torch.zeros(1, 3, 2, 2), "hsv")


def test_psnr_and_l1_known_values():
    x = torch.zeros(2, 3, 4, 4)
    y = torch.full_like(x, 0.1)  # MSE 0.01 -> 20 dB
    assert psnr(x, y).tolist() == pytest.approx([20.0, 20.0])
    assert l1(x, y).tolist() == pytest.approx([0.1, 0.1])


def test_ssim_of_constant_images_has_its_closed_form():
    a, b = 0.3, 0.6
    x, y = torch.full((1, 3, 16, 16), a), torch.full((1, 3, 16, 16), b)
    c1 = 0.01**2
    assert ssim(x, y).item() == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-5)
    noisy = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert ssim(noisy, noisy).item() == pytest.approx(1.0, abs=1e-5)
    assert ssim(noisy, (noisy + 0.2 * torch.randn_like(noisy)).clamp(0, 1)).item() < 0.9


def test_colorfulness_known_values():
    assert colorfulness(torch.full((1, 3, 4, 4), 0.5)).item() == pytest.approx(0.0)
    red_green = torch.zeros(1, 3, 2, 2)
    red_green[0, 0, 0] = 1  # top row red
    red_green[0, 1, 1] = 1  # bottom row green
    # rg = +-255 (sd 255, mean 0); yb = 127.5 everywhere (sd 0, mean 127.5)
    assert colorfulness(red_green).item() == pytest.approx(255 + 0.3 * 127.5)
    assert math.isfinite(colorfulness(torch.rand(3, 3, 8, 8)).sum().item())


def test_hue_agreement_counts_colourful_pixels_with_the_right_hue():
    from latent_studio.data.image_quality import hue_agreement

    red, orange, blue = (torch.tensor(c).view(1, 3, 1, 1).expand(1, 3, 4, 4) for c in ([0.8, 0.1, 0.1], [0.9, 0.5, 0.1], [0.1, 0.2, 0.8]))
    gray = torch.full((1, 3, 4, 4), 0.5)
    assert hue_agreement(orange, red)[0].item() == 1.0  # within 45 degrees of red
    assert hue_agreement(blue, red)[0].item() == 0.0
    assert hue_agreement(gray, red)[0].item() == 0.0  # no colour is not the right colour
    share, count = hue_agreement(red, gray)  # a gray truth has no colourful pixel to judge
    assert count.item() == 0 and share.item() == 0.0


def test_checkerboard_energy_finds_a_period_2_grid_and_not_a_smooth_photo():
    i = torch.arange(64)
    grid = ((i[:, None] + i[None, :]) % 2).float().expand(1, 3, 64, 64)
    stripes = (i % 2).float().expand(1, 3, 64, 64)  # a grid along one axis only
    smooth = torch.linspace(0, 1, 64).expand(1, 3, 64, 64)
    assert checkerboard_energy(grid).item() == pytest.approx(1.0)
    assert checkerboard_energy(stripes).item() == pytest.approx(1.0)
    assert checkerboard_energy(smooth).item() < 1e-3
    faint = smooth * 0.9 + 0.05 * grid  # a faint grid over a photo still stands out
    assert checkerboard_energy(faint).item() > 10 * checkerboard_energy(smooth).item()


def test_a_colour_srgb_cannot_show_is_made_paler_never_lighter_or_darker():
    photo = torch.rand(1, 3, 24, 24)
    vivid = (torch.rand(1, 2, 24, 24) - 0.5) * 300  # most far outside sRGB at their lightness
    faint = (torch.rand(1, 2, 24, 24) - 0.5) * 4  # all inside it
    lightness = color.rgb_to_lab(photo)[:, :1]
    for ab in (vivid, faint):
        lab = color.rgb_to_lab(color.with_chroma(photo, ab, "lab"))
        assert (lab[:, :1] - lightness).abs().max() < 0.2  # the photo's own L*, where clipping RGB moved it by far more
        colourful = lab[:, 1:].norm(dim=1) > 1
        turn = torch.atan2(lab[:, 2], lab[:, 1]) - torch.atan2(ab[:, 1], ab[:, 0])
        assert (torch.remainder(turn + math.pi, 2 * math.pi) - math.pi)[colourful].abs().max() < 0.02  # the same hue
    assert torch.equal(color.in_gamut(lightness, faint), faint)
    clipped = color.rgb_to_lab(color.lab_to_rgb(torch.cat([lightness, vivid], 1)))[:, :1]
    assert (clipped - lightness).abs().mean() > 2  # what the mapping saves

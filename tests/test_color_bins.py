"""Colour as a distribution over a*b* bins: the grid, soft encoding, rebalancing, the annealed
mean, and a colorizer that learns a colour through them."""

import pytest
import torch

from latent_studio.data import color, color_bins


def test_the_bins_cover_the_srgb_gamut_on_a_ten_unit_grid():
    c = color_bins.bin_centres()
    assert c.shape == (color_bins.n_bins(), 2) and 200 < len(c) < 320
    assert torch.equal(c % 10, torch.zeros_like(c))
    ab = color.rgb_to_lab(torch.rand(3, 40, 40))[1:].reshape(2, -1).T  # any sRGB colour is within half a cell of a bin
    assert color_bins.nearest(ab, 1)[1].max() <= 2 * 5.0**2 + 1e-3


def test_soft_encoding_puts_most_weight_on_the_nearest_bin_and_sums_to_one():
    ab = color_bins.bin_centres()[:7] + 1.0
    idx, w = color_bins.soft_encode(ab)
    assert torch.allclose(w.sum(1), torch.ones(7)) and torch.equal(idx[:, 0], torch.arange(7))
    assert (w[:, 0] > w[:, 1]).all()


def test_rare_colours_weigh_more_and_the_expected_weight_is_one():
    gray = torch.zeros(900, 2)  # most pixels nearly gray, a few saturated red
    red = torch.tensor([[60.0, 50.0]]).expand(100, 2)
    w = color_bins.rebalancing_weights(torch.cat([gray, red]))
    g, r = color_bins.nearest(torch.tensor([[0.0, 0.0], [60.0, 50.0]]), 1)[0][:, 0]
    assert w[r] > w[g]


def test_annealed_mean_runs_from_the_mean_to_the_mode():
    c = color_bins.bin_centres()
    logits = torch.full((1, len(c), 1, 1), -1e4)
    vivid, gray = color_bins.nearest(torch.tensor([[60.0, 50.0], [0.0, 0.0]]), 1)[0][:, 0]
    logits[0, vivid], logits[0, gray] = 1.0, 1.5  # gray a little more likely
    mode = color_bins.decode(logits, 0.01)[0, :, 0, 0] * color.AB_SCALE
    mean = color_bins.decode(logits, 1.0)[0, :, 0, 0] * color.AB_SCALE
    assert torch.allclose(mode, c[gray], atol=1e-3)
    assert 0 < mean.norm() < c[vivid].norm()
    assert color_bins.decode(logits, 0.5)[0, :, 0, 0].norm() < color_bins.decode(logits, 2.0)[0, :, 0, 0].norm()


def test_a_network_trained_on_the_bin_loss_learns_a_vivid_colour():
    torch.manual_seed(0)
    target = torch.tensor([60.0, 50.0]).view(1, 2, 1, 1).expand(4, 2, 4, 4) / color.AB_SCALE
    logits = torch.zeros(4, color_bins.n_bins(), 4, 4, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=0.1)
    weights = torch.ones(color_bins.n_bins())
    first = color_bins.loss(logits, target, weights).item()
    for _ in range(100):
        opt.zero_grad()
        color_bins.loss(logits, target, weights).backward()
        opt.step()
    assert color_bins.loss(logits, target, weights).item() < first / 2
    decoded = color_bins.decode(logits)[0, :, 0, 0] * color.AB_SCALE
    assert decoded.tolist() == pytest.approx([60.0, 50.0], abs=3)

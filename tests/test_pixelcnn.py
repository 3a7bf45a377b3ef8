"""PixelCNN: the masks' raster-order causality, the strip sampler's exactness, the likelihood in
bits, the family's training, the shipped run on real held-out digits, and the explorer's Pixel by
pixel tab through AppTest."""

import math
from pathlib import Path

import pytest
import torch

from latent_studio.app.views.pixels import RESULT
from latent_studio.data.datasets import DatasetMissing, load_dataset
from latent_studio.families import StepContext, get_family
from latent_studio.families.networks.pixelcnn import MaskedConv2d, PixelCNN, nll_bits, sample
from latent_studio.families.pixelcnn import binarize, largest_stroke_share, top_half
from latent_studio.families.run_models import load_run
from latent_studio.runs.files import TEST_DIGITS
from latent_studio.training.trainer import new_config
from tests.explorer_runs import checked, explorer_env, images, open_page, view, widget

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "pixelcnn-mnist"
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _net(seed: int = 0, width: int = 16, blocks: int = 2) -> PixelCNN:
    torch.manual_seed(seed)
    net = PixelCNN(width, blocks).eval()
    for p in net.parameters():  # larger weights than the init, so every path carries a visible signal
        p.data.mul_(3)
    return net


@pytest.mark.parametrize(("row", "col"), [(0, 0), (5, 9), (11, 0), (13, 13)])
def test_each_pixel_depends_only_on_the_pixels_before_it_in_raster_order(row, col):
    net = _net()
    x = (torch.rand(1, 1, 14, 14, generator=torch.Generator().manual_seed(1)) > 0.5).float().requires_grad_(True)
    net(x)[0, 0, row, col].backward()
    influence = x.grad[0, 0].abs() > 0
    order = torch.arange(14 * 14).view(14, 14)
    assert not influence[order >= row * 14 + col].any()  # itself and everything after: never seen
    if row or col:
        assert influence[order < row * 14 + col].any()


def test_type_a_hides_the_centre_and_type_b_shows_it():
    a, b = MaskedConv2d("A", 1, 1, 3).mask, MaskedConv2d("B", 1, 1, 3).mask
    assert a.tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]] and b.tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="unknown mask type 'C'"):
        MaskedConv2d("C", 1, 1, 3)


def test_a_strip_of_reach_rows_scores_a_row_exactly_as_the_whole_image():
    """What lets sampling run on a strip: a row's logits need only net.reach rows above it."""
    net = _net(blocks=3)
    x = (torch.rand(2, 1, 20, 12, generator=torch.Generator().manual_seed(2)) > 0.5).float()
    full = net(x)
    for row in (net.reach, 15, 19):
        top = row - net.reach
        torch.testing.assert_close(net(x[..., top:row + 1, :])[..., -1, :], full[..., row, :])


def test_sampling_keeps_the_given_pixels_is_binary_and_follows_its_seed():
    net = _net()
    digit = (torch.rand(3, 1, 14, 14, generator=torch.Generator().manual_seed(3)) > 0.5).float()
    known = top_half(digit)
    rows = []
    out = sample(net, digit, known, torch.Generator().manual_seed(5), on_row=lambda r, x: rows.append(r))
    assert torch.equal(out[known], digit[known]) and set(out.unique().tolist()) <= {0.0, 1.0}
    assert rows == list(range(14))
    assert torch.equal(out, sample(net, digit, known, torch.Generator().manual_seed(5)))
    assert not torch.equal(out, sample(net, digit, known, torch.Generator().manual_seed(6)))


def test_sampling_draws_each_pixel_from_its_own_probability():
    """A network that says 'ink' with probability sigmoid(2) everywhere: about 88% of pixels on."""
    net = _net()
    for p in net.parameters():
        p.data.zero_()
    net.net[-1].bias.data.fill_(2.0)
    out = sample(net, torch.zeros(16, 1, 8, 8), torch.zeros(16, 1, 8, 8, dtype=torch.bool), torch.Generator().manual_seed(0))
    assert abs(out.mean().item() - torch.sigmoid(torch.tensor(2.0)).item()) < 0.05


def test_nll_in_bits_has_its_closed_form():
    x = (torch.rand(4, 1, 6, 6) > 0.5).float()
    assert torch.allclose(nll_bits(torch.zeros_like(x), x), torch.ones(4))  # a fair coin: one bit a pixel
    sure = (x * 2 - 1) * 30
    assert nll_bits(sure, x).max() < 1e-6


def test_training_steps_learn_what_the_pixels_above_say():
    """Images of random vertical bars: every pixel below the first row repeats the one above, so
    the likelihood a step learns falls from 1 bit a pixel towards 1/28."""
    cfg = new_config("pixelcnn", "fake", 100, overrides=[{"arch": {"generator": {"width": 16, "blocks": 2}}, "train": {"lr_g": 3e-3}}])
    fam = get_family("pixelcnn")(cfg)
    torch.manual_seed(0)
    m = fam.build()
    bars = (torch.rand(16, 1, 1, 28, generator=torch.Generator().manual_seed(0)) > 0.5).float().expand(-1, -1, 28, -1) * 2 - 1
    ctx = StepContext(torch.device("cpu"), fam.make_optimizers(m), lambda: (bars, torch.zeros(16)))
    first = fam.train_step(m, ctx)["bits_per_dim"].item()
    for step in range(1, 100):
        ctx.step = step
        last = fam.train_step(m, ctx)["bits_per_dim"].item()
    assert first > 0.95 and last == pytest.approx(1 / 28, abs=0.01)  # the first row is a coin flip, the rest certain


def test_pixelcnn_refuses_colour_datasets_with_a_reason():
    with pytest.raises(ValueError, match="binary one-channel images"):
        new_config("pixelcnn", "celeba", 10)


def test_binarize_is_mid_gray():
    assert binarize(torch.tensor([-1.0, -0.01, 0.01, 1.0])).tolist() == [0, 0, 1, 1]


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="the shipped PixelCNN is not in checkpoints/")
def test_shipped_pixelcnn_models_held_out_digits_far_better_than_independent_pixels():
    """Scored here on real MNIST test digits: well under the best model that treats pixels as
    independent (each pixel's own frequency in the training set), and as its card says."""
    try:
        train = load_dataset(load_run(SHIPPED).config.data, DATA, "train")
        test = load_dataset(load_run(SHIPPED).config.data, DATA, "test")
    except DatasetMissing as e:
        pytest.skip(f"MNIST is not in {DATA}: {e}")
    run = load_run(SHIPPED)
    x = binarize(torch.stack([test[i][0] for i in range(0, len(test), 20)]))  # 500 digits
    with torch.no_grad():
        bits = nll_bits(run.modules["generator"](x), x).mean().item()
    p = binarize(torch.stack([train[i][0] for i in range(0, len(train), 10)])).mean(0).clamp(1e-4, 1 - 1e-4)
    independent = -(x * p.log2() + (1 - x) * (1 - p).log2()).flatten(1).mean().item()
    assert bits < 0.6 * independent
    assert bits == pytest.approx(run.config.metrics["test_nll_bits_per_dim"], abs=0.01)
    kept = load_run(SHIPPED).path / TEST_DIGITS
    assert kept.is_file()


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="the shipped PixelCNN is not in checkpoints/")
def test_shipped_pixelcnn_draws_strokes_not_scattered_pixels():
    """A digit is nearly one stroke: the share of ink in the largest stroke separates digits
    (0.99), PixelCNN draws and independent pixels (0.45), where a digit judge's confidence does
    not (it is confidently wrong on noise as often as not)."""
    run = load_run(SHIPPED)
    try:
        train, test = (load_dataset(run.config.data, DATA, split) for split in ("train", "test"))
    except DatasetMissing as e:
        pytest.skip(f"MNIST is not in {DATA}: {e}")
    draws = run.family.draw(run.modules, 32, torch.Generator().manual_seed(0))
    real = binarize(torch.stack([test[i][0] for i in range(0, len(test), 300)])) * 2 - 1
    freq = binarize(torch.stack([train[i][0] for i in range(0, len(train), 10)])).mean(0)
    independent = torch.bernoulli(freq.expand(32, *freq.shape), generator=torch.Generator().manual_seed(0)) * 2 - 1
    drawn, digits, scattered = (largest_stroke_share(x).mean() for x in (draws, real, independent))
    assert digits > 0.95 and scattered < 0.6
    assert drawn > 0.7 and drawn > scattered + 0.2  # the shipped model: 0.79
    assert math.isfinite(run.config.metrics["class_share_min"])


# --- the explorer's tab ------------------------------------------------------------------------------

@pytest.fixture
def runs(monkeypatch, tmp_path, tmp_path_factory):
    with explorer_env(monkeypatch, tmp_path, tmp_path_factory.getbasetemp()) as root:
        yield root


def test_a_pixelcnn_opens_in_its_own_tab_only(runs):
    assert [t.label for t in open_page(model="pixelcnn").tabs] == ["Pixel by pixel", "Training", "Colorize & translate"]


def test_draw_shows_the_digits_once_drawn_and_keeps_them(runs):
    at = view(open_page(model="pixelcnn"), "Pixel by pixel")
    (blank,) = images(at)
    widget(at.select_slider, "Digits").set_value(4)
    at.button(key="pixels_go").click()
    at = checked(at.run(timeout=120))
    (drawn,) = images(at)
    assert drawn != blank and at.session_state[RESULT][1][0].shape == (4, 1, 28, 28)
    assert any("4 digits, 3,136 pixels" in c.value for c in at.caption)
    assert images(checked(at.run())) == [drawn]  # a rerun shows them again without drawing anew


def test_complete_keeps_the_rows_of_the_test_digit_and_draws_the_rest(runs):
    at = view(open_page(model="pixelcnn"), "Pixel by pixel")
    at.radio(key="pixels_mode").set_value("Complete a digit")
    at = checked(at.run())
    widget(at.select_slider, "Completions").set_value(4)
    widget(at.slider, "Rows kept from the top").set_value(10)
    at = checked(at.run())
    at.button(key="pixels_go").click()
    at = checked(at.run(timeout=120))
    done = at.session_state[RESULT][1][0]
    from safetensors.torch import load_file

    digit = load_file(str(runs / "pixelcnn" / TEST_DIGITS))["images"][7].float()
    assert done.shape == (4, 1, 28, 28) and torch.equal(done[:, :, :10], digit[None, :, :10].expand(4, -1, -1, -1))

"""pix2pix / CycleGAN networks: shapes, output range, skips, PatchGAN receptive field, export."""

from collections.abc import Callable

import pytest
import torch
from torch import nn

from latent_studio.data.image_quality import checkerboard_energy
from latent_studio.families.networks.img2img import PatchDiscriminator, ResnetGenerator, UNetGenerator, norm_layer, receptive_field

# Small widths keep the whole file fast on CPU; the architecture does not depend on them.
W = 8


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize(("size", "depth"), [(128, 7), (256, 8)])
@pytest.mark.parametrize(("c_in", "c_out"), [(1, 2), (1, 3), (3, 3)])
def test_unet_keeps_size_and_outputs_tanh_range(size: int, depth: int, c_in: int, c_out: int) -> None:
    g = UNetGenerator(c_in, c_out, depth=depth, width=W, max_width=64)
    out = g(torch.randn(2, c_in, size, size) * 3)
    assert out.shape == (2, c_out, size, size)
    assert out.abs().max() <= 1


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_unet_trains_at_batch_size_one(norm: str) -> None:
    """pix2pix trains with batch size 1; that only works because the 1x1 innermost level has no
    norm (batch norm refuses to train on a single value per channel)."""
    g = UNetGenerator(1, 2, depth=7, width=W, max_width=64, norm=norm).train()
    g(torch.randn(1, 1, 128, 128)).mean().backward()


@pytest.mark.parametrize(("dropout", "expected"), [(0.5, 3), (0.0, 0)])
def test_unet_dropout_only_in_three_innermost_up_blocks(dropout: float, expected: int) -> None:
    g = UNetGenerator(3, 3, depth=7, width=W, dropout=dropout)
    has_dropout = [any(isinstance(m, nn.Dropout) for m in block) for block in g.decoder]
    assert has_dropout == [True] * expected + [False] * (7 - expected)
    assert not any(isinstance(m, nn.Dropout) for m in g.encoder.modules())


def test_unet_skips_carry_fine_detail_past_a_dead_bottleneck() -> None:
    """With the innermost conv zeroed no information crosses the bottleneck, so any dependence
    of the output on a one-pixel change must travel through the skip connections."""
    g = UNetGenerator(1, 2, depth=7, width=W, max_width=64).eval()
    innermost = g.encoder[-1][1]
    with torch.no_grad():
        innermost.weight.zero_()
        innermost.bias.zero_()
    x = torch.randn(1, 1, 128, 128)
    x_detail = x.clone()
    x_detail[0, 0, 40, 90] += 1.0
    with torch.no_grad():
        diff = (g(x_detail) - g(x)).abs().sum(dim=1)[0]  # (128, 128)
    assert diff.max() > 1e-4
    # The detail lands near where it was drawn: the largest change is within a few pixels of it.
    row, col = divmod(int(diff.argmax()), 128)
    assert abs(row - 40) <= 4 and abs(col - 90) <= 4


@pytest.mark.parametrize(("size", "n_layers", "out"), [(128, 3, 14), (256, 3, 30), (128, 2, 30)])
def test_patch_discriminator_returns_logit_map(size: int, n_layers: int, out: int) -> None:
    d = PatchDiscriminator(1 + 2, width=W, n_layers=n_layers)  # pix2pix: source and target stacked
    assert d(torch.randn(2, 3, size, size)).shape == (2, 1, out, out)


@pytest.mark.parametrize(("n_layers", "expected"), [(1, 16), (2, 34), (3, 70), (4, 142)])
def test_receptive_field_values(n_layers: int, expected: int) -> None:
    assert receptive_field(n_layers) == expected


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_patch_logit_depends_only_on_its_receptive_field(n_layers: int) -> None:
    """The gradient of one central logit is non-zero exactly on a receptive_field-sided square.

    Batch norm in eval mode is a per-channel affine map, so no statistics spread the gradient
    (instance norm would, through its spatial mean and variance)."""
    d = PatchDiscriminator(1, width=W, n_layers=n_layers).eval()
    x = torch.randn(1, 1, 128, 128, requires_grad=True)
    logits = d(x)  # (1, 1, h, w)
    h, w = logits.shape[-2:]
    logits[0, 0, h // 2, w // 2].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    side = receptive_field(n_layers)
    assert rows.max() - rows.min() + 1 == side
    assert cols.max() - cols.min() + 1 == side
    assert rows.min() > 0 and rows.max() < 127  # the window is not clipped by the image border


@pytest.mark.parametrize(("size", "n_blocks"), [(128, 6), (256, 9)])
@pytest.mark.parametrize(("c_in", "c_out"), [(1, 2), (3, 3)])
@pytest.mark.parametrize("upsample", ["transpose", "resize", "bilinear"])
def test_resnet_keeps_size_and_outputs_tanh_range(size: int, n_blocks: int, c_in: int, c_out: int, upsample: str) -> None:
    g = ResnetGenerator(c_in, c_out, width=W, n_blocks=n_blocks, upsample=upsample)
    out = g(torch.randn(1, c_in, size, size) * 3)
    assert out.shape == (1, c_out, size, size)
    assert out.abs().max() <= 1


def test_resize_upsampling_leaves_no_period_2_grid() -> None:
    """The reason for resize-conv: a transposed conv's uneven kernel overlap prints a grid at
    period 2 even with random weights (Odena et al. 2016); nearest resize then a conv prints far
    less, and bilinear resizing less again (nearest's flat 2x2 blocks are what is left)."""
    torch.manual_seed(0)
    photo = torch.linspace(-1, 1, 64).expand(1, 3, 64, 64).contiguous()  # smooth: no grid of its own
    energy = {}
    for upsample in ("transpose", "resize", "bilinear"):
        g = ResnetGenerator(3, 3, width=8, n_blocks=1, upsample=upsample).eval()
        with torch.no_grad():
            for p in g.parameters():
                p.copy_(torch.randn_like(p) * 0.2)
            energy[upsample] = float(checkerboard_energy((g(photo) + 1) / 2))
    assert energy["transpose"] > 10 * energy["resize"]
    assert energy["resize"] > 2 * energy["bilinear"]
    with pytest.raises(ValueError, match="unknown upsample"):
        ResnetGenerator(3, 3, upsample="bicubic")


def test_norm_layer_rejects_unknown_kind() -> None:
    assert isinstance(norm_layer("instance", 4), nn.InstanceNorm2d)
    with pytest.raises(ValueError, match="unknown norm"):
        norm_layer("group", 4)


@pytest.mark.parametrize(
    ("make", "channels"),
    [
        (lambda: UNetGenerator(1, 2, depth=5, width=W), 1),
        (lambda: ResnetGenerator(3, 3, width=W, n_blocks=2), 3),
        (lambda: ResnetGenerator(3, 3, width=W, n_blocks=2, upsample="resize"), 3),
        (lambda: PatchDiscriminator(3, width=W), 3),
    ],
    ids=["unet", "resnet", "resnet-resize", "patchgan"],
)
def test_exports_with_torch_export_and_dynamic_batch(make: Callable[[], nn.Module], channels: int) -> None:
    model = make().eval()
    x = torch.randn(2, channels, 32, 32)
    batch = torch.export.Dim("batch")
    exported = torch.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
    x3 = torch.randn(3, channels, 32, 32)
    torch.testing.assert_close(exported.module()(x3), model(x3))

"""The small-data GAN recipe the face models train with: DiffAugment, the generator's weight average
(EMA), the hinge loss, spectral normalization and resize-convolution upsampling."""

import json

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from latent_studio.data.augment import color, cutout, diff_augment, translation
from latent_studio.families.losses import adversarial, generator_adversarial
from latent_studio.families.networks.gan import ConvGenerator, conv_encoder
from latent_studio.inference.onnx_export import exported_step
from latent_studio.training import ema
from latent_studio.training.trainer import new_config, train
from tests.conftest import TINY


def test_translation_moves_the_image_and_fills_with_zeros():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1.0  # one lit pixel per image
    y = translation(x)
    assert y.shape == x.shape and torch.allclose(y.sum((1, 2, 3)), torch.ones(64))  # moved, never lost (shift <= 2 < 8)
    where = y[:, 0].flatten(1).argmax(1)
    rows, cols = where // 16 - 8, where % 16 - 8
    assert rows.abs().max() == 2 and cols.abs().max() == 2 and len(set(zip(rows.tolist(), cols.tolist()))) > 10


def test_cutout_zeroes_one_square_of_half_the_size_at_most():
    torch.manual_seed(0)
    y = cutout(torch.ones(200, 3, 16, 16))
    zeroed = (y == 0).all(1).flatten(1).sum(1)
    assert zeroed.max() == 64 and zeroed.min() >= 16  # 8x8 inside the image; at least a quarter of it when it overhangs
    assert (y[:, :1] == y[:, 1:2]).all()  # the same square in every channel


def test_color_changes_each_image_differently_but_keeps_its_shape():
    torch.manual_seed(0)
    x = torch.rand(32, 3, 8, 8) * 2 - 1
    y = color(x)
    means = (y - x).mean((1, 2, 3))
    assert means.std() > 0.1 and y.shape == x.shape


def test_the_policy_is_differentiable_so_g_learns_through_it():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    diff_augment(x, ["color", "translation", "cutout"]).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert diff_augment(x, []) is x


def test_hinge_losses():
    scores = torch.tensor([-2.0, 0.0, 0.5, 3.0])
    assert adversarial(scores, True, "hinge").item() == pytest.approx((3 + 1 + 0.5 + 0) / 4)
    assert adversarial(scores, False, "hinge").item() == pytest.approx((0 + 1 + 1.5 + 4) / 4)
    assert generator_adversarial(scores, "hinge").item() == pytest.approx(-scores.mean().item())  # no margin for G
    assert generator_adversarial(scores, "bce").item() == adversarial(scores, True, "bce").item()


def test_spectral_norm_bounds_each_layer_of_d():
    torch.manual_seed(0)
    d = conv_encoder(3, 32, {"adv": 1}, width=8, norm="spectral")
    for _ in range(20):  # power iterations run in train mode
        d(torch.randn(2, 3, 32, 32))
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    head = d.heads["adv"]
    assert torch.linalg.matrix_norm(head.weight, 2).item() == pytest.approx(1.0, rel=0.05)


def test_resize_upsampling_has_no_transposed_convolution_and_no_checkerboard_at_init():
    torch.manual_seed(0)
    g = ConvGenerator(16, 3, 32, width=8, upsample="resize").eval()
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in g.modules())
    assert g(torch.randn(2, 16)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="unknown upsample"):
        ConvGenerator(16, 3, 32, upsample="bilinear-ish")


def test_the_average_follows_the_generator_slowly_and_copies_its_buffers():
    g = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    modules = nn.ModuleDict({"generator": g})
    ema.attach(modules)
    start = modules[ema.EMA][0].weight.clone()
    with torch.no_grad():
        g[0].weight.add_(1.0)
        g[1].running_mean.fill_(5.0)
    ema.update(modules, 0.999, step=10_000)
    moved = modules[ema.EMA][0].weight - start
    assert torch.allclose(moved, torch.full_like(moved, 0.001), atol=1e-6)
    assert (modules[ema.EMA][1].running_mean == 5.0).all()
    assert not any(p.requires_grad for p in modules[ema.EMA].parameters())
    shipped = ema.shipped(modules)
    assert list(shipped) == ["generator"] and shipped["generator"] is modules[ema.EMA]


def test_ema_needs_a_generator():
    with pytest.raises(ValueError, match="has none"):
        ema.attach(nn.ModuleDict({"discriminator": nn.Linear(1, 1)}))


def test_each_generator_of_a_two_way_model_gets_its_own_average():
    modules = nn.ModuleDict({"generator_ab": nn.Linear(1, 1), "generator_ba": nn.Linear(1, 1), "discriminator_a": nn.Linear(1, 1)})
    ema.attach(modules)
    assert sorted(modules) == ["discriminator_a", "generator_ab", "generator_ab_ema", "generator_ba", "generator_ba_ema"]
    with torch.no_grad():
        modules["generator_ba"].weight.add_(1.0)
    before = modules["generator_ab_ema"].weight.clone()
    ema.update(modules, 0.999, step=10_000)
    assert torch.equal(modules["generator_ab_ema"].weight, before)  # each follows its own generator
    assert not torch.equal(modules["generator_ba_ema"].weight, modules["generator_ba"].weight)
    shipped = ema.shipped(modules)
    assert list(shipped) == ["generator_ab", "generator_ba", "discriminator_a"]
    assert shipped["generator_ab"] is modules["generator_ab_ema"] and shipped["discriminator_a"] is modules["discriminator_a"]


def test_an_sngan_run_ships_its_average_and_resumes_it(tmp_path):
    cfg = new_config("sngan", "fake", 6, overrides=[TINY, {"train": {"ema": 0.9, "log_every": 3, "snapshot_every": 3}}])
    assert cfg.train.augment == ["color", "translation", "cutout"] and cfg.arch["discriminator"]["norm"] == "spectral"
    result = train(cfg, tmp_path / "run", progress=False)
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)["modules"]
    shipped = load_file(tmp_path / "run" / "generator.safetensors")
    live = {k.removeprefix("generator."): v for k, v in state.items() if k.startswith("generator.")}
    average = {k.removeprefix(f"{ema.EMA}."): v for k, v in state.items() if k.startswith(f"{ema.EMA}.")}
    weight = next(k for k in shipped if k.endswith("weight") and shipped[k].dim() > 1)
    assert torch.equal(shipped[weight], average[weight]) and not torch.equal(live[weight], average[weight])
    assert result.modules["generator"] is not None and ema.EMA not in result.modules
    assert exported_step(tmp_path / "run") == 6  # the final save exports the browser's generator
    resumed = new_config("sngan", "fake", 9, overrides=[TINY])
    train(resumed, tmp_path / "run", resume=True, progress=False)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["step"] == 9 and exported_step(tmp_path / "run") == 9


def test_recalibration_gives_the_average_its_own_batchnorm_statistics():
    torch.manual_seed(0)
    g = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8))
    modules = nn.ModuleDict({"generator": g})
    ema.attach(modules)
    with torch.no_grad():
        modules[ema.EMA][0].weight.mul_(3.0)  # the average's activations are no longer the live ones
        g[1].running_var.fill_(1.0)
    ema.update(modules, 0.999, step=10_000)  # copies the live statistics
    ema.recalibrate(modules, lambda rng: torch.randn(256, 4, generator=rng), batches=8)
    average = modules[ema.EMA]
    x = torch.randn(4096, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        h = average[0](x)
    assert torch.allclose(average[1].running_mean, h.mean(0), atol=0.1)
    assert torch.allclose(average[1].running_var, h.var(0), rtol=0.15)
    assert average[1].momentum == 0.1  # restored

"""Every family builds networks of the right shapes and ranges, with all layers registered."""

import pytest
import torch
from torch import nn

from latent_studio.families import LATENT, family_names, get_family
from latent_studio.families.networks.gan import ConvGenerator, conv_encoder
from latent_studio.training.presets import PRESETS
from latent_studio.training.trainer import new_config

LATENT_FAMILIES = family_names(LATENT)  # image-to-image networks: tests/test_img2img_models.py
GAN_FAMILIES = [f for f in LATENT_FAMILIES if "d" in get_family(f).optimizer_modules]  # a discriminator to test


def build(family: str, size: int = 28, channels: int = 1, preset: str | None = None):
    cfg = new_config(None if preset else family, "fake", 1, preset=preset,
                     overrides=[{"data": {"image_size": size, "channels": channels}}])
    return cfg, get_family(cfg.family)(cfg).build().eval()


@pytest.mark.parametrize("family", LATENT_FAMILIES)
@pytest.mark.parametrize("size,channels", [(28, 1), (64, 1), (64, 3)])
def test_generator_output_shape_and_range(family, size, channels):
    cfg, m = build(family, size, channels)
    with torch.no_grad():
        images = get_family(family)(cfg).render(m, cfg.latent.sample(5))
    assert images.shape == (5, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1


@pytest.mark.parametrize("family", GAN_FAMILIES)
def test_discriminator_heads(family):
    cfg, m = build(family)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    cond = torch.eye(10)[:4] if family == "cgan" else None
    out = m["discriminator"](x, cond)
    if family == "sgan":
        assert out["cls"].shape == (4, 11)  # ten digits and "fake"
    else:
        assert out["adv"].shape == (4,)
    if family == "acgan":
        assert out["cls"].shape == (4, 10)
    if family == "infogan":
        assert m["q"](out["features"]).shape == (4, 10 + 2 * 2)  # 10 logits, mean and log-std of two codes


def test_infogan_default_is_the_papers_mnist_setting():
    cfg, m = build("infogan")
    assert (cfg.latent.dim, cfg.latent.categorical, cfg.latent.continuous) == (62, [10], 2)
    assert (cfg.train.info_cont_loss, cfg.train.info_cat_jitter) == ("mse", 1.0)  # see InfoGAN.defaults
    assert new_config("infogan", "fake", 1, preset="seed-mlp").train.info_cat_jitter == 0  # the seed book's baseline
    assert m["generator"].project[0].in_features == 62 + 10 + 2


def test_wgan_gp_critic_has_no_batchnorm_and_a_linear_output():
    _, m = build("wgan_gp")
    assert not any(isinstance(x, nn.modules.batchnorm._BatchNorm) for x in m["discriminator"].modules())
    assert isinstance(list(m["discriminator"].modules())[-1], nn.Linear)


def test_dcgan_init_draws_weights_from_n_0_002():
    _, m = build("dcgan", 64, 3)
    w = torch.cat([p.flatten() for n, p in m.named_parameters() if n.endswith("weight") and p.dim() > 1])
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3


def test_every_layer_is_a_registered_module():
    """Layers held in plain Python lists would be missing from state_dict and .to(device)."""
    for family in LATENT_FAMILIES:
        cfg, m = build(family)
        for module in m.modules():
            for value in vars(module).values():
                assert not (isinstance(value, (list, tuple)) and any(isinstance(v, nn.Module) for v in value)), family
        held = sum(p.numel() for p in m.parameters()) + sum(b.numel() for b in m.buffers())
        assert held == sum(t.numel() for t in m.state_dict().values()), family


def test_mode_collapse_preset_has_a_2d_latent_and_a_tiny_generator():
    cfg, m = build(None, preset="mode-collapse")
    assert cfg.latent.dim == 2
    linears = [x for x in m["generator"].modules() if isinstance(x, nn.Linear)]
    assert len(linears) == 2 and linears[0].out_features == 16


def test_convergence_failure_preset_is_one_layer_g_against_three_layer_d():
    cfg, m = build(None, preset="convergence-failure")
    assert len([x for x in m["generator"].modules() if isinstance(x, nn.Linear)]) == 1
    assert len([x for x in m["discriminator"].modules() if isinstance(x, nn.Linear)]) == 3


def test_vae_2d_preset():
    cfg, m = build(None, preset="vae-2d")
    assert cfg.family == "vae" and cfg.latent.dim == 2
    out = m["encoder"](torch.zeros(3, 1, 28, 28))
    assert out["mu"].shape == out["logvar"].shape == (3, 2)


def test_presets_name_known_families():
    assert all(p.family in family_names() for p in PRESETS.values() if p.family)


@pytest.mark.parametrize("family", ["dcgan", "acgan", "infogan", "wgan_gp"])
def test_seed_mlp_preset_applies_to_any_gan_family(family):
    cfg = new_config(family, "fake", 1, preset="seed-mlp")
    m = get_family(family)(cfg).build()
    assert cfg.family == family and not any(isinstance(x, nn.Conv2d) for x in m.modules())
    assert m["generator"](cfg.latent.sample(2).generator_input()).shape == (2, 1, 28, 28)


@pytest.mark.parametrize("size", [28, 64])
def test_generator_exports_with_torch_export(size):
    g = ConvGenerator(20, 3, size, width=8).eval()
    z = torch.randn(2, 20)
    exported = torch.export.export(g, (z,))
    torch.testing.assert_close(exported.module()(z), g(z))


def test_unsupported_image_size_is_refused_clearly():
    with pytest.raises(ValueError, match="image size 48"):
        conv_encoder(1, 48, {"adv": 1})

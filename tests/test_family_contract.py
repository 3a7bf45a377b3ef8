"""The contract every registered family keeps, latent or image-to-image: a new family gets these
tests by registering itself (the list comes from the registry, as diffusers' model tests inherit
one suite). Family-specific behaviour is tested beside each family."""

import pytest
import torch

from latent_studio.families import AUTOREGRESSIVE, FAMILIES, IMG2IMG, LATENT, StepContext, family_names, get_family
from latent_studio.families.img2img import COLORIZE, INPAINT, PAIRED, UNPAIRED, UPSCALE
from latent_studio.families.run_models import load_run, save_run
from latent_studio.training.trainer import new_config
from tests.conftest import TINY, checked_train_step

SIZE = 32  # every network here takes 32 px: a DCGAN, a U-Net of depth 5, a ResNet with two downsamplings


def tiny(family: str):
    """The family's defaults on its example dataset at 32 px, with the smallest widths."""
    cfg = new_config(family, get_family(family).example_dataset, 2, image_size=SIZE, overrides=[TINY])
    fam = get_family(family)(cfg)
    torch.manual_seed(0)
    return cfg, fam, fam.build()


def test_the_registry_lists_every_family_once_by_kind():
    latent, img2img, autoregressive = family_names(LATENT), family_names(IMG2IMG), family_names(AUTOREGRESSIVE)
    assert sorted(latent + img2img + autoregressive) == family_names() == sorted(FAMILIES)
    assert {"dcgan", "infogan", "vae"} <= set(latent) and {"pix2pix", "cyclegan"} <= set(img2img) and autoregressive == ["pixelcnn"]


@pytest.mark.parametrize("family", family_names())
def test_each_player_steps_its_own_parameters_and_no_others(family):
    cfg, fam, m = tiny(family)
    assert {key for keys in fam.optimizer_modules.values() for key in keys} <= set(m) and set(fam.exported) <= set(m)
    batch = fam.example_batch(4)
    # the last step: past any warm-up that trains one player alone (pix2pix's, CartoonGAN's initialization)
    ctx = StepContext(torch.device("cpu"), fam.make_optimizers(m), lambda: batch, step=cfg.train.steps - 1)
    assert set(checked_train_step(fam, m, ctx)) == set(fam.optimizer_modules)  # every player stepped


@pytest.mark.parametrize("family", family_names())
def test_the_sample_grid_is_images_in_range(family):
    cfg, fam, m = tiny(family)
    example = fam.example_batch(3)
    with torch.no_grad():
        images = fam.render(m.eval(), fam.fixed_inputs(list(zip(*example)), 3, torch.device("cpu")))
    assert images.ndim == 4 and images.shape[1:] == (cfg.data.channels, SIZE, SIZE)
    assert images.min() >= -1 and images.max() <= 1


@pytest.mark.parametrize("family", family_names())
def test_a_saved_run_loads_back_with_the_same_weights(family, tmp_path):
    cfg, fam, m = tiny(family)
    save_run(tmp_path, cfg, m)
    loaded = load_run(tmp_path, "cpu")
    assert loaded.family.kind == fam.kind and set(loaded.modules) == set(fam.exported)
    for name in fam.exported:
        saved = m[name].state_dict()
        assert all(torch.equal(v, saved[k]) for k, v in loaded.modules[name].state_dict().items()), name


@pytest.mark.parametrize("family", family_names())
def test_every_exported_generator_exports_with_torch_export(family):
    cfg, fam, m = tiny(family)
    x = fam.generator_example(2)
    for name in (n for n in fam.exported if n.startswith("generator")):
        g = m[name].eval()
        exported = torch.export.export(g, (x,))
        torch.testing.assert_close(exported.module()(x), g(x))


@pytest.mark.parametrize("family", family_names(IMG2IMG))
def test_every_translation_route_runs_exported_generators_at_the_served_scale(family):
    _, fam, m = tiny(family)
    served = fam.serving()
    x = fam.generator_example(1)
    assert x.shape[1:] == (served.in_channels, served.input_size, served.input_size) and served.input_size % served.multiple == 0
    for direction, (forward, backward) in served.routes.items():
        assert direction in fam.directions and forward in fam.exported and backward in (None, *fam.exported)
        assert fam.route(direction) == (forward, backward)
        with torch.no_grad():
            y = m[forward].eval()(x)
            assert y.shape[-2:] == tuple(served.scale * s for s in x.shape[-2:])
            assert backward is None or m[backward].eval()(y).shape == x.shape
    with pytest.raises(ValueError, match="sideways"):
        fam.route("sideways")


@pytest.mark.parametrize("family", family_names(IMG2IMG))
def test_every_image_to_image_family_says_how_it_is_served(family):
    """A task the app and evaluation know, and only controls the app offers."""
    served = tiny(family)[1].serving()
    assert served.task in (COLORIZE, PAIRED, UNPAIRED, UPSCALE, INPAINT) and served.routes and served.scale >= 1
    assert set(served.controls) <= {"vividness"}
    assert served.task != UNPAIRED or {"AtoB"} <= set(served.routes) <= {"AtoB", "BtoA"}  # evaluation judges the ways there are

"""CartoonGAN (face -> anime): the domains, the edge-smoothed negatives, the content loss, the
initialization phase, and how a run is served and judged one way."""

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from PIL import Image
from torch import nn

from latent_studio.data.color import luma
from latent_studio.data.datasets import DatasetMissing, load_dataset
from latent_studio.evaluation.img2img_eval import _identity_kept, _translations_judged
from latent_studio.families import StepContext, get_family
from latent_studio.families.cartoongan import edge_smoothed
from latent_studio.training.trainer import new_config
from tests.conftest import TINY

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _family(steps: int = 10, **train):
    cfg = new_config("cartoongan", "celeba-anime", steps, image_size=32, overrides=[TINY, {"train": train}])
    torch.manual_seed(0)
    fam = get_family("cartoongan")(cfg)
    return cfg, fam, fam.build()


def _faces(split: str):
    cfg = new_config("cartoongan", "celeba-anime", 10)
    try:
        return load_dataset(cfg.data, DATA, split)
    except DatasetMissing as e:
        pytest.skip(f"CelebA or the anime faces are not in {DATA}: {e}")


def test_the_domains_are_celeba_photos_and_anime_faces_each_on_its_own_split():
    test, train = _faces("test"), _faces("train")
    celeba = load_dataset(new_config("dcgan", "celeba", 1).data, DATA, "test")
    anime = load_dataset(new_config("dcgan", "anime", 1).data, DATA, "test")
    assert torch.equal(test.a, celeba.images) and torch.equal(test.b, anime.images)
    assert len(train.a) == 9 * len(test.a) and len(train.b) == 9 * len(test.b)  # every tenth file held out, in each domain
    assert torch.equal(train.b, load_dataset(new_config("dcgan", "anime", 1).data, DATA, "train").images)


def test_edge_smoothing_blurs_the_lines_of_a_drawing_and_leaves_flat_parts_alone():
    x = torch.full((1, 3, 32, 32), -1.0)
    x[..., 8:24, 8:24] = 1.0  # a white square on black: its outline is the drawing's line
    out = edge_smoothed(x)
    assert torch.equal(out[..., :3, :], x[..., :3, :]) and torch.equal(out[..., 14:18, 14:18], x[..., 14:18, 14:18])

    def line_strength(img):
        return (luma(img)[..., :, 1:] - luma(img)[..., :, :-1]).abs().max()

    assert line_strength(out) < 0.7 * line_strength(x)
    assert torch.equal(edge_smoothed(torch.zeros(2, 3, 16, 16)), torch.zeros(2, 3, 16, 16))


def test_content_loss_asks_for_the_same_structure_not_the_same_colours():
    _, fam, _ = _family()
    faces = _faces("test").a[:32].float() / 127.5 - 1
    with torch.no_grad():
        same = float(fam.content_loss(faces, faces))
        recoloured = float(fam.content_loss(faces, faces[:, [2, 0, 1]]))  # hair and skin in other colours
        other = float(fam.content_loss(faces, faces.roll(1, dims=0)))  # another person
    assert same == 0 and recoloured < 0.2 * other


def test_initialization_trains_the_generator_alone_then_the_discriminator_joins():
    cfg, fam, m = _family(steps=10, adv_start=0.5)
    batch = fam.example_batch(4)
    opt = fam.make_optimizers(m)
    d_before = [p.clone() for p in m["discriminator"].parameters()]
    out = fam.train_step(m, StepContext(torch.device("cpu"), opt, lambda: batch, step=4))
    assert set(out) == {"g_loss", "content", "g_pixel", "g_pixel_back", "lr_factor"}
    assert all(torch.equal(a, b) for a, b in zip(d_before, m["discriminator"].parameters()))
    out = fam.train_step(m, StepContext(torch.device("cpu"), opt, lambda: batch, step=5))
    assert {"d_loss", "g_adv", "d_smooth", "content"} <= set(out)
    assert not all(torch.equal(a, b) for a, b in zip(d_before, m["discriminator"].parameters()))


def test_the_way_back_trains_both_cycles_and_reaches_the_generator_only_when_it_is_on():
    updated = {}
    for weight in (0.0, 10.0):
        cfg, fam, m = _family(steps=10, adv_start=0.0, cycle_weight=weight)
        before = {k: [p.clone() for p in m[k].parameters()] for k in ("generator_back", "discriminator_back")}
        torch.manual_seed(1)
        batch = fam.example_batch(4)
        out = fam.train_step(m, StepContext(torch.device("cpu"), fam.make_optimizers(m), lambda batch=batch: batch, step=5))
        for k, params in before.items():
            moved = not all(torch.equal(a, b) for a, b in zip(params, m[k].parameters()))
            assert moved == bool(weight), k
        assert (float(out["cycle"]) > 0) == bool(weight) and (float(out["g_adv_back"]) > 0) == bool(weight)
        updated[weight] = torch.cat([p.flatten() for p in m["generator"].parameters()])
    assert not torch.allclose(updated[0.0], updated[10.0])  # the cycles changed G's step
    assert fam.exported == ("generator",)  # the way back is for training only: runs ship the one generator


def test_a_run_is_served_one_way_on_the_centre_square_of_an_upload(tmp_path):
    from latent_studio.families.run_models import save_run
    from latent_studio.inference.pipeline import translate

    cfg, fam, m = _family()
    served = fam.serving()
    assert served.routes == {"AtoB": ("generator", None)} and served.square
    save_run(tmp_path / "run", cfg, m)
    result = translate(Image.new("RGB", (120, 80), (200, 150, 120)), tmp_path / "run")
    assert result.output.size == (80, 80) and result.reconstruction is None
    with pytest.raises(ValueError, match="AtoB only"):
        translate(Image.new("RGB", (64, 64)), tmp_path / "run", "BtoA")


def test_a_one_way_run_is_judged_from_a_to_b_only():
    _, fam, _ = _family()
    test = _faces("test")
    test.a, test.b = test.a[:30], test.b[:20]

    class Judge(nn.Module):  # calls everything brighter than middle gray B
        def forward(self, x):
            bright = x.mean((1, 2, 3)) > 0
            return torch.stack([(~bright).float(), bright.float()], 1)

    run = SimpleNamespace(device=torch.device("cpu"), family=fam, modules={"generator": lambda x: torch.ones_like(x)})
    judged = _translations_judged(run, Judge(), test)
    assert set(judged) == {"test_target_share_ab", "test_real_a_called_b", "checkerboard_ab"}
    assert judged["test_target_share_ab"] == 1.0
    kept = _identity_kept(SimpleNamespace(device=torch.device("cpu"), family=fam, modules={"generator": nn.Identity()}), test)
    assert kept["identity_closer_share"] == 1.0


def test_content_depth_chooses_fine_maps_or_their_layout_and_refuses_others():
    from latent_studio.families.cartoongan import content_features

    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert content_features("celeba", 11)(x).shape == (2, 64, 16, 16)
    assert content_features("celeba", 12)(x).shape == (2, 64, 4, 4)
    with pytest.raises(ValueError, match="content_depth"):
        content_features("celeba", 3)

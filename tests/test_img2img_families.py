"""pix2pix and CycleGAN: shapes, how the loss terms combine, the history pool, the learning-rate
schedule, alternating updates, and tiny end-to-end runs that load back."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from latent_studio.data import color, color_bins
from latent_studio.data.datasets import DatasetMissing, UnpairedImages, dataset_spec, load_dataset, random_crop_flip, random_flip
from latent_studio.families import StepContext, get_family
from latent_studio.families.cyclegan import ImagePool, shift_averaged
from latent_studio.families.img2img import apply_lr_decay, fixed_batch, linear_decay, seen, unet_depth
from latent_studio.families.pix2pix import VIEW_COUNTS, views
from latent_studio.families.run_models import load_run
from latent_studio.runs import files as checkpoint
from latent_studio.runs.files import read_config, snapshot_steps
from latent_studio.training.presets import PRESETS
from latent_studio.training.trainer import new_config, train
from tests.conftest import checked_train_step
from tests.img2img_helpers import SIZE, tiny_config, write_data_root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_data_root(tmp_path_factory.mktemp("data"))


def batch_for(cfg, n=2, seed=0):
    """A random (A, B) batch shaped as the family's dataset yields it."""
    g = torch.Generator().manual_seed(seed)
    if cfg.data.dataset == "colorize":
        c_in, c_out = cfg.arch["generator"]["in_channels"], 2 if cfg.arch["chroma"] == "bins" else cfg.arch["generator"]["out_channels"]
    else:
        c_in = c_out = cfg.data.channels
    return torch.rand(n, c_in, SIZE, SIZE, generator=g) * 2 - 1, torch.rand(n, c_out, SIZE, SIZE, generator=g) * 2 - 1


def context(cfg, m, step=0):
    batch = batch_for(cfg)
    return StepContext(torch.device("cpu"), get_family(cfg.family)(cfg).make_optimizers(m), lambda: batch, step=step)


CASES = {  # family, dataset, overrides
    "colorize-lab": ("pix2pix", "colorize", {"train": {"adv_start": 0.0}}),  # colour bins, with D from the first step
    "colorize-regression": ("pix2pix", "colorize", {"arch": {"chroma": "regression", "flip_average": True,
                                                             "generator": {"out_channels": 2, "output": "image"}},
                                                    "train": {"l1_weight": 100.0, "adv_start": 0.0}}),
    "colorize-rgb": ("pix2pix", "colorize", {"data": {"color_space": "rgb"},
                                             "arch": {"chroma": "regression", "generator": {"out_channels": 3, "output": "image"}},
                                             "train": {"l1_weight": 100.0, "adv_start": 0.0}}),
    "facades": ("pix2pix", "paired", {"arch": {"direction": "BtoA"}}),
    "cyclegan": ("cyclegan", "unpaired"),
}


def case_config(case, *overrides, steps=2):
    return tiny_config(*CASES[case], *overrides, steps=steps)


@pytest.mark.parametrize(("case", "g_in", "g_out", "d_in"), [
    ("colorize-lab", 1, color_bins.n_bins(), 3), ("colorize-regression", 1, 2, 3), ("colorize-rgb", 1, 3, 4), ("facades", 3, 3, 6),
])
def test_pix2pix_maps_source_to_target_and_conditions_d_on_the_source(case, g_in, g_out, d_in):
    cfg = case_config(case)
    m = get_family("pix2pix")(cfg).build()
    assert cfg.arch["generator"]["depth"] == unet_depth(SIZE) == 5
    size = SIZE // 2 if cfg.arch["generator"].get("output") == "logits" else SIZE  # colour-bin scores at half resolution
    assert m["generator"](torch.zeros(2, g_in, SIZE, SIZE)).shape == (2, g_out, size, size)
    assert m["discriminator"].net[0].in_channels == d_in


def test_unet_depth_follows_the_image_size():
    assert (unet_depth(128), unet_depth(256)) == (7, 8)
    with pytest.raises(ValueError, match="power-of-two"):
        unet_depth(100)


def test_colorizer_records_its_color_space_and_refuses_a_mismatched_generator():
    cfg = tiny_config("pix2pix", "colorize")
    assert (cfg.data.color_space, cfg.arch["chroma"], cfg.arch["generator"]["out_channels"]) == ("lab", "bins", color_bins.n_bins())
    with pytest.raises(ValueError, match="it needs the colorize dataset in the lab color space"):
        get_family("pix2pix")(tiny_config("pix2pix", "colorize", {"data": {"color_space": "rgb"}})).build()
    regression = {"chroma": "regression", "generator": {"output": "image"}}
    bad = tiny_config("pix2pix", "colorize", {"data": {"color_space": "rgb"}, "arch": regression})
    with pytest.raises(ValueError, match="needs 1 -> 3: set arch.generator.in_channels and out_channels"):
        get_family("pix2pix")(bad).build()


def test_cyclegan_builds_two_generators_and_two_patch_discriminators():
    cfg = case_config("cyclegan")
    m = get_family("cyclegan")(cfg).build()
    x = torch.zeros(1, 3, SIZE, SIZE)
    assert m["generator_ab"](x).shape == m["generator_ba"](x).shape == x.shape
    assert m["discriminator_a"](x).shape == m["discriminator_b"](x).shape == (1, 1, 2, 2)
    assert get_family("cyclegan").exported == ("generator_ab", "generator_ba")


class ConstantD(nn.Module):
    """Outputs `value` everywhere (with one parameter, so its optimizer has something to step)."""

    def __init__(self, value: float):
        super().__init__()
        self.value, self.scale = value, nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return self.scale * x[:, :1] + self.value


@pytest.mark.parametrize(("kind", "d_loss", "g_adv"), [("bce", math.log(2), math.log(2)), ("mse", 0.5, 1.0)])
@pytest.mark.parametrize("l1_weight", [100.0, 7.0])
def test_pix2pix_loss_is_adversarial_plus_weighted_l1(kind, d_loss, g_adv, l1_weight):
    cfg = case_config("facades", {"train": {"adversarial": kind, "l1_weight": l1_weight}})
    fam = get_family("pix2pix")(cfg)
    m = fam.build()
    m["discriminator"] = ConstantD(0.0)  # logits 0: BCE ln 2 either way; LSGAN (0 - 1)^2 = 1 and 0^2 = 0
    out = fam.train_step(m, context(cfg, m))
    assert out["d_loss"].item() == pytest.approx(d_loss, rel=1e-5)
    assert out["g_adv"].item() == pytest.approx(g_adv, rel=1e-5)
    assert out["g_loss"].item() == pytest.approx(g_adv + l1_weight * out["g_l1"].item(), rel=1e-5)


def test_pix2pix_warm_up_trains_g_on_l1_alone_then_d_joins():
    cfg = case_config("colorize-regression", {"train": {"adv_start": 0.5}}, steps=10)
    fam = get_family("pix2pix")(cfg)
    m = fam.build()
    d_before = [p.detach().clone() for p in m["discriminator"].parameters()]
    warm = fam.train_step(m, context(cfg, m, step=4))
    assert set(warm) == {"g_loss", "g_l1", "lr_factor"} and warm["g_loss"].item() == pytest.approx(100 * warm["g_l1"].item())
    assert all(torch.equal(a, b) for a, b in zip(d_before, m["discriminator"].parameters()))
    assert {"d_loss", "g_adv"} <= set(fam.train_step(m, context(cfg, m, step=5)))


def test_colorizer_outputs_keep_the_sources_lightness_at_any_size():
    """Evaluation colorizes larger test photos as the app does: the model at its own size, its
    chroma upsampled under the photo's lightness."""
    cfg = case_config("colorize-regression")
    fam = get_family("pix2pix")(cfg)
    m = fam.build().eval()
    src = torch.rand(2, 1, 2 * SIZE, 2 * SIZE) * 2 - 1
    with torch.no_grad():
        out = fam.output(m, src)
    assert out.shape == (2, 3, 2 * SIZE, 2 * SIZE)
    assert torch.allclose(color.split(out, "lab")[0], src, atol=2e-3)


def test_flip_averaged_colorizer_treats_an_image_and_its_mirror_alike():
    cfg = case_config("colorize-regression")
    assert cfg.arch["flip_average"] and case_config("facades").arch["views"] == 1  # an older run's flag: 2 views
    fam = get_family("pix2pix")(cfg)
    m = fam.build().eval()
    src = torch.rand(2, 1, SIZE, SIZE) * 2 - 1
    with torch.no_grad():
        out, mirrored = fam.predict(m, src), fam.predict(m, src.flip(-1))
        assert torch.allclose(out, (m["generator"](src) + m["generator"](src.flip(-1)).flip(-1)) / 2)
    assert torch.allclose(mirrored, out.flip(-1), atol=1e-6)


def test_each_view_is_put_back_where_the_source_was_seen():
    x = torch.rand(1, 3, 16, 16)
    for g in (nn.Identity(), nn.AvgPool2d(2)):  # an answer at the source's resolution, and at half of it
        plain = g(x)
        h, w = plain.shape[-2:]
        edge = 6 * w // 16  # the largest move, at the answer's resolution
        inner = (..., slice(0, h - edge), slice(edge, w - edge))  # away from the edges a move uncovers
        for view, back in zip(views(16), seen(g, x, views(16), batch=3), strict=True):  # passes of 3 views, then 1
            assert back.shape == plain.shape and torch.allclose(back[inner], plain[inner]), (g, view)
    assert [len(views(n)) for n in VIEW_COUNTS] == list(VIEW_COUNTS) and views(2) == [(0, 0, False), (0, 0, True)]
    with pytest.raises(ValueError, match="arch.views"):
        views(3)


def test_a_colour_bin_colorizer_averages_its_views_log_probabilities_as_vivid_as_its_own_answer():
    cfg = case_config("colorize-lab")
    fam = get_family("pix2pix")(cfg)
    m = fam.build().eval()
    src = torch.rand(2, 1, SIZE, SIZE) * 2 - 1
    with torch.no_grad():
        single = fam.predict(m, src)
        assert torch.allclose(single, fam.chroma(m["generator"](src)), atol=1e-5)  # one view: G's own answer
        cfg.arch.update(views=2)
        both = fam.predict(m, src)
        logp = (torch.log_softmax(m["generator"](src), 1) + torch.log_softmax(m["generator"](src.flip(-1)), 1).flip(-1)) / 2
        agreed = fam.chroma(logp)
        hue = torch.nn.functional.cosine_similarity(both, agreed, dim=1)
        assert hue[agreed.norm(dim=1) > 1e-3].min() > 0.999  # the views' colours, each pixel's hue kept ...
        vivid = both.norm(dim=1).mean((1, 2))  # ... each photo as colourful as G's own answer, where that is more
        assert torch.allclose(vivid, torch.maximum(single.norm(dim=1).mean((1, 2)), agreed.norm(dim=1).mean((1, 2))), rtol=1e-4)


def test_pix2pix_defaults_follow_the_paper():
    t = tiny_config("pix2pix", "paired").train
    assert (t.l1_weight, t.adversarial, t.lr_g, t.betas) == (100.0, "bce", 2e-4, [0.5, 0.999])


def test_pix2pix_direction_picks_which_half_is_the_source():
    a, b = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    forward = get_family("pix2pix")(case_config("facades", {"arch": {"direction": "AtoB"}}))
    backward = get_family("pix2pix")(case_config("facades"))
    assert forward.source_target((a, b)) == (a, b)
    assert backward.source_target((a, b)) == (b, a)


@pytest.mark.parametrize(("identity_weight", "grid_weight", "generator_passes"), [(5.0, 0.0, 6), (0.0, 2.0, 4)])
def test_cyclegan_loss_adds_cycle_identity_and_grid_terms_with_their_weights(identity_weight, grid_weight, generator_passes):
    cfg = case_config("cyclegan", {"train": {"identity_weight": identity_weight, "grid_weight": grid_weight}})
    assert cfg.train.cycle_weight == 10.0 and cfg.train.adversarial == "mse"
    fam = get_family("cyclegan")(cfg)
    m = fam.build()
    calls = []
    for name in ("generator_ab", "generator_ba"):
        m[name].register_forward_hook(lambda *_: calls.append(1))
    out = fam.train_step(m, context(cfg, m))
    assert len(calls) == generator_passes  # A->B, B->A, both cycles back, and the two identity passes
    expected = out["g_adv"] + 10.0 * out["cycle"] + identity_weight * out["identity"] + grid_weight * out["grid"]
    assert out["g_loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert (out["identity"].item() > 0) == (identity_weight > 0)
    assert out["grid"].item() >= 0 and (grid_weight > 0 or out["grid"].item() == 0)  # computed only when weighted


def test_cyclegan_discriminator_warmup_leaves_the_generators_alone_then_lets_them_learn():
    cfg = case_config("cyclegan", {"train": {"d_warmup": 1}})
    fam = get_family("cyclegan")(cfg)
    m = fam.build()
    ctx = context(cfg, m)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    changed = lambda prefix: any(not torch.equal(before[k], v) for k, v in m.state_dict().items() if k.startswith(prefix))  # noqa: E731
    out = fam.train_step(m, ctx)
    assert out["g_loss"].item() == 0 and out["d_loss"].item() > 0
    assert changed("discriminator_a") and not changed("generator_ab") and not changed("generator_ba")
    ctx.step = 1  # past the warm-up
    fam.train_step(m, ctx)
    assert changed("generator_ab") and changed("generator_ba")


class LatticeGenerator(nn.Module):
    """A translation that paints a +-0.5 checkerboard fixed to the pixel grid over a shift-equivariant
    change of the photo (a blur): what a resize-convolution decoder's grid looks like, exaggerated."""

    def __init__(self):
        super().__init__()
        self.blur = nn.Conv2d(3, 3, 3, padding=1, padding_mode="replicate", groups=3, bias=False)
        nn.init.constant_(self.blur.weight, 1 / 9)

    def forward(self, x):
        h, w = x.shape[-2:]
        lattice = ((torch.arange(h)[:, None] + torch.arange(w)) % 2) - 0.5
        return self.blur(x) + lattice


def test_shift_average_cancels_a_lattice_fixed_to_the_pixel_grid_and_keeps_the_translation():
    g, x = LatticeGenerator(), torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        single, averaged = g(x), shift_averaged(g, x)
    inner = (..., slice(2, -2), slice(2, -2))  # where the blur sees no edge a shift uncovered
    assert torch.allclose((single - g.blur(x)).abs(), torch.tensor(0.5), atol=1e-6)  # one pass keeps the whole lattice
    assert torch.allclose(averaged[inner], g.blur(x)[inner], atol=1e-6)  # the average keeps only the blur


def test_shift_distillation_needs_the_run_it_distils():
    with pytest.raises(ValueError, match="train.init_from"):
        get_family("cyclegan")(case_config("cyclegan", {"train": {"distill_shifts": True}}))


def test_shift_distillation_moves_the_generators_towards_their_teachers_shift_average(tmp_path, data_root):
    train(case_config("cyclegan"), tmp_path / "source", data_root=data_root, progress=False)
    cfg = case_config("cyclegan", {"train": {"distill_shifts": True, "init_from": str(tmp_path / "source"), "lr_g": 1e-3}})
    fam = get_family("cyclegan")(cfg)
    m = fam.build()
    checkpoint.warm_start(m, tmp_path / "source", fam.exported)
    ctx = context(cfg, m)
    a, b = ctx.next_batch()
    teachers = fam.teachers(ctx.device)
    with torch.no_grad():
        targets = shift_averaged(teachers["generator_ab"], a), shift_averaged(teachers["generator_ba"], b)

    def gap():
        with torch.no_grad():
            return float(F.l1_loss(m["generator_ab"](a), targets[0]) + F.l1_loss(m["generator_ba"](b), targets[1]))

    before, d_before, teacher_before = gap(), m["discriminator_a"].state_dict(), copy.deepcopy(teachers.state_dict())
    losses = [fam.train_step(m, ctx)["distill"].item() for _ in range(20)]
    assert losses[0] == pytest.approx(before, rel=1e-4) and gap() < 0.5 * before
    assert all(torch.equal(v, m["discriminator_a"].state_dict()[k]) for k, v in d_before.items())  # D sits this out
    assert all(torch.equal(v, teachers.state_dict()[k]) for k, v in teacher_before.items())  # the targets stay put
    result = train(cfg, tmp_path / "distilled", data_root=data_root, progress=False)
    assert "distill" in result.config.metrics and load_run(tmp_path / "distilled", device="cpu").modules


def test_a_fine_tune_keeps_frozen_networks_as_its_source_left_them_and_trains_the_rest(tmp_path, data_root):
    train(case_config("cyclegan"), tmp_path / "source", data_root=data_root, progress=False)
    source = load_run(tmp_path / "source", device="cpu").modules
    cfg = case_config("cyclegan", {"train": {"init_from": str(tmp_path / "source"), "frozen": ["generator_ab"], "lr_g": 1e-3}}, steps=3)
    train(cfg, tmp_path / "tuned", data_root=data_root, progress=False)
    tuned = load_run(tmp_path / "tuned", device="cpu").modules
    kept = lambda name: all(torch.equal(v, tuned[name].state_dict()[k]) for k, v in source[name].state_dict().items())  # noqa: E731
    assert kept("generator_ab") and not kept("generator_ba")  # one way kept, the other trained through it
    assert read_config(tmp_path / "tuned").train.frozen == ["generator_ab"]


@pytest.mark.parametrize("train_overrides, message", [
    ({"frozen": ["generator_ab"]}, "set train.init_from"),  # fresh weights kept fixed would stay noise
    ({"frozen": ["discriminator_a"], "init_from": "runs/x"}, "not discriminator_a"),  # a fine-tune starts fresh discriminators
    ({"frozen": ["generator_ab", "generator_ba"], "init_from": "runs/x"}, "leave one of generator_ab, generator_ba"),
])
def test_freezing_is_refused_where_it_would_keep_noise_or_leave_a_player_nothing(train_overrides, message):
    cfg = case_config("cyclegan", {"train": train_overrides})
    fam = get_family("cyclegan")(cfg)
    with pytest.raises(ValueError, match=message):
        fam.make_optimizers(fam.build())


def test_paper_identity_weight_is_half_the_cycle_weight():
    t = tiny_config("cyclegan", "unpaired").train
    assert t.identity_weight == 0.5 * t.cycle_weight == 5.0


def images(n, start=0):
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, 2, 2)


def test_an_unpaired_grid_shows_the_same_images_of_both_domains_at_every_start():
    data = UnpairedImages(torch.arange(20, dtype=torch.uint8).view(20, 1, 1, 1).expand(20, 3, 4, 4),
                          torch.arange(7, dtype=torch.uint8).view(7, 1, 1, 1).expand(7, 3, 4, 4))
    first, again = fixed_batch(data, 8, torch.device("cpu")), fixed_batch(data, 8, torch.device("cpu"))
    assert all(torch.equal(x, y) for x, y in zip(first, again))
    b = first[1][:, 0, 0, 0].add(1).mul(127.5).round().long().tolist()
    assert len(first[0]) == 8 and b[0] == 0 and b[-1] == 6 and b == sorted(b)  # spread over all of B, in order


def test_history_pool_returns_new_images_until_full():
    pool = ImagePool(4)
    assert torch.equal(pool.query(images(3)), images(3))
    assert torch.equal(pool.query(images(1, 3)), images(1, 3))
    assert len(pool.images) == 4


def test_full_history_pool_swaps_about_half_for_stored_images():
    pool = ImagePool(50, seed=0)
    pool.query(images(50))
    returned = torch.cat([pool.query(images(10, 100 + 10 * i)) for i in range(20)])[:, 0, 0, 0]
    new = torch.arange(100, 300, dtype=torch.float32)
    from_history = returned != new
    assert 0.35 < from_history.float().mean() < 0.65  # each image: probability 1/2
    assert len(pool.images) == 50  # the pool never grows past its size
    # an image from history is one stored earlier: either an original or a newer one swapped in
    assert all(v < 50 or (100 <= v < 300 and v < n) for v, n in zip(returned[from_history].tolist(), new[from_history].tolist()))


def test_pool_of_size_zero_passes_images_through():
    x = images(5)
    assert ImagePool(0).query(x) is x


@pytest.mark.parametrize(("step", "factor"), [(0, 1.0), (49, 1.0), (50, 1.0), (75, 0.5), (99, 0.02)])
def test_linear_decay_is_constant_then_falls_to_zero_over_the_second_half(step, factor):
    assert linear_decay(step, 100, 0.5) == pytest.approx(factor)


def test_no_decay_when_it_starts_at_the_end():
    assert linear_decay(99, 100, 1.0) == 1.0


def test_cyclegan_step_sets_both_optimizers_rates_from_the_step_count():
    cfg = case_config("cyclegan", {"train": {"lr_g": 2e-4, "lr_d": 1e-4}}, steps=100)
    fam = get_family("cyclegan")(cfg)
    m = fam.build()
    ctx = context(cfg, m, step=75)
    out = fam.train_step(m, ctx)
    assert out["lr_factor"].item() == pytest.approx(0.5)
    assert [g["lr"] for g in ctx.optimizers["g"].param_groups] == [pytest.approx(1e-4)]
    assert [g["lr"] for g in ctx.optimizers["d"].param_groups] == [pytest.approx(5e-5)]
    ctx.step = 10
    assert apply_lr_decay(ctx, 2e-4, 1e-4, 100, 0.5) == 1.0 and ctx.optimizers["d"].param_groups[0]["lr"] == 1e-4


@pytest.mark.parametrize("case", list(CASES))
def test_each_player_leaves_the_others_parameters_unchanged(case):
    cfg = case_config(case)
    fam = get_family(cfg.family)(cfg)
    m = fam.build()
    assert sorted(checked_train_step(fam, m, context(cfg, m))) == ["d", "g"]


def test_colorize_dataset_holds_out_a_fixed_test_split(data_root):
    spec = dataset_spec("colorize", SIZE)
    train_set, test_set = load_dataset(spec, data_root, "train"), load_dataset(spec, data_root, "test")
    # photos 3 | 1, faces 9 | 1, flowers 9 | 1, summer2winter train A+B | test A+B
    assert (len(train_set), len(test_set)) == (3 + 9 + 9 + 12, 1 + 1 + 1 + 4)
    gray, ab = train_set[0]
    assert gray.shape == (1, SIZE, SIZE) and ab.shape == (2, SIZE, SIZE)
    test_images = {tuple(test_set[i][0].flatten()[:50].tolist()) for i in range(len(test_set))}
    assert not test_images & {tuple(train_set[i][0].flatten()[:50].tolist()) for i in range(len(train_set))}


def test_colorize_dataset_takes_any_folder_of_colour_photos(data_root):
    spec = dataset_spec("colorize", SIZE, path="flowers_128")
    assert (len(load_dataset(spec, data_root, "train")), len(load_dataset(spec, data_root, "test"))) == (9, 1)


def test_colorize_dataset_missing_says_where_it_looked(tmp_path):
    with pytest.raises(DatasetMissing, match="flowers_128"):
        load_dataset(dataset_spec("colorize"), tmp_path, "train")


@pytest.mark.parametrize(("case", "files", "metrics"), [
    ("colorize-lab", ["generator.safetensors"], {"test_psnr", "test_ssim", "gray_psnr", "colorfulness", "colorfulness_ratio"}),
    ("facades", ["generator.safetensors"], {"test_l1", "test_psnr", "test_ssim"}),
    ("cyclegan", ["generator_ab.safetensors", "generator_ba.safetensors"], {"test_cycle_l1", "test_cycle_l1_a", "test_cycle_l1_b"}),
])
def test_tiny_training_run_writes_a_loadable_run_directory(tmp_path, data_root, case, files, metrics):
    cfg = case_config(case)
    train(cfg, tmp_path, data_root=data_root, progress=False)
    saved = read_config(tmp_path)
    assert saved.step == 2 and metrics <= set(saved.metrics) and {"d_loss", "g_loss", "lr_factor"} <= set(saved.metrics)
    for f in [*files, "config.json", "state.pt", "samples/step_2.png"]:
        assert (tmp_path / f).is_file(), f
    assert snapshot_steps(tmp_path) == [2]
    run = load_run(tmp_path, device="cpu")
    assert sorted(run.modules) == sorted(f.removesuffix(".safetensors") for f in files)
    assert not run.modules[files[0].removesuffix(".safetensors")].training


@pytest.mark.parametrize(("case", "generators"), [("colorize-lab", ["generator"]), ("cyclegan", ["generator_ab", "generator_ba"])])
def test_an_image_to_image_run_ships_the_average_of_each_generator(tmp_path, data_root, case, generators):
    train(case_config(case, {"train": {"ema": 0.5}}), tmp_path, data_root=data_root, progress=False)
    state = torch.load(tmp_path / "state.pt", weights_only=True)["modules"]
    for name in generators:
        shipped = load_file(tmp_path / f"{name}.safetensors")
        weight = next(k for k in shipped if k.endswith("weight") and shipped[k].dim() > 1)
        average, live = state[f"{name}_ema.{weight}"], state[f"{name}.{weight}"]
        assert torch.equal(shipped[weight], average.to(shipped[weight].dtype)) and not torch.equal(average, live)


def test_resumed_cyclegan_continues_the_schedule(tmp_path, data_root):
    train(case_config("cyclegan", {"train": {"lr_decay_start": 0.5}}), tmp_path, data_root=data_root, progress=False)
    result = train(case_config("cyclegan", steps=4), tmp_path, resume=True, data_root=data_root, progress=False)
    # the resumed steps run with factors 1 and 0.5 of the 4-step schedule; the last one is logged
    assert result.config.step == 4 and result.config.metrics["lr_factor"] == pytest.approx(0.5)


def test_one_photo_batches_still_log_a_meaningful_diversity_ratio(tmp_path, data_root):
    # a single photo has no spread of its own: the monitor draws as many batches as it renders images
    cfg = case_config("cyclegan", {"train": {"batch_size": 1}})
    result = train(cfg, tmp_path, data_root=data_root, progress=False)
    assert 0.05 < result.config.metrics["diversity_ratio"] < 20


def test_book_and_paper_cyclegan_presets():
    unet, resnet = (new_config(None, None, 10, preset=name) for name in ("cyclegan-book-unet", "cyclegan-book-resnet"))
    assert (unet.arch["generator"]["kind"], unet.train.identity_weight, unet.train.cycle_weight) == ("unet", 3.0, 10.0)
    assert (resnet.arch["generator"]["kind"], resnet.arch["generator"]["n_blocks"], resnet.train.identity_weight) == ("resnet", 9, 5.0)
    paper = new_config("cyclegan", "unpaired", 10)
    assert (paper.arch["generator"]["n_blocks"], paper.train.identity_weight, paper.train.pool_size) == (6, 5.0, 50)
    for cfg in (unet, resnet):
        assert cfg.data.dataset == "unpaired" and PRESETS[cfg.preset].family == "cyclegan"
        get_family("cyclegan")(cfg).build()
    facades = new_config(None, None, 10, preset="pix2pix-facades")
    assert (facades.family, facades.data.dataset, facades.arch["direction"]) == ("pix2pix", "paired", "BtoA")


@pytest.mark.parametrize("case", list(CASES))
def test_every_layer_is_a_registered_module(case):
    """Layers held in plain Python lists would be missing from state_dict and .to(device)."""
    cfg = case_config(case)
    m = get_family(cfg.family)(cfg).build()
    for module in m.modules():
        for value in vars(module).values():
            assert not (isinstance(value, (list, tuple)) and any(isinstance(v, nn.Module) for v in value))
    n_params = sum(p.numel() for p in m.parameters())
    assert n_params == sum(t.numel() for k, t in m.state_dict().items() if "running" not in k and "num_batches" not in k)


def test_random_crop_flip_takes_one_window_per_batch_and_mirrors_some_images():
    torch.manual_seed(0)
    x = torch.arange(8 * 8, dtype=torch.float32).view(1, 1, 8, 8).expand(64, 3, 8, 8)
    out = random_crop_flip(x, 4)
    assert out.shape == (64, 3, 4, 4)
    rows = out[:, 0, :, 0] // 8  # a window of whole rows of the source
    assert (rows == rows[0]).all() and (rows[0].diff() == 1).all()
    mirrored = out[:, 0, 0, 0] > out[:, 0, 0, -1]
    assert 0.25 < mirrored.float().mean() < 0.75
    jittered = random_crop_flip(x, 9)  # larger than the image: enlarged to 9 x 9, its own 8 x 8 cropped back
    assert jittered.shape == x.shape and not torch.equal(jittered, x)


def test_random_flip_tosses_one_coin_per_image():
    torch.manual_seed(0)
    x = torch.arange(4, dtype=torch.float32).view(1, 1, 1, 4).expand(64, 3, 4, 4)
    out = random_flip(x)
    mirrored = out[:, 0, 0, 0] == 3
    assert ((out == x) | (out == x.flip(-1))).all()
    assert 0.25 < mirrored.float().mean() < 0.75  # a coin per batch would give 0 or 1


def test_pix2pix_crops_source_and_target_with_one_window():
    cfg = case_config("facades", {"train": {"crop": 36}})
    fam = get_family("pix2pix")(cfg)
    m = fam.build()
    seen = {}
    m["generator"].register_forward_pre_hook(lambda _, args: seen.setdefault("src", args[0].clone()))
    m["discriminator"].register_forward_pre_hook(lambda _, args: seen.setdefault("pair", args[0].clone()))
    ctx = context(cfg, m)
    ctx.next_batch = lambda: (torch.linspace(-1, 1, SIZE).expand(2, 3, SIZE, SIZE),) * 2  # target = source
    fam.train_step(m, ctx)
    assert seen["src"].shape[-1] == SIZE  # jittered back to the U-Net's size
    src, tgt = seen["pair"].split(3, 1)  # D's real pair: the source beside its (identical) target
    assert torch.equal(src, tgt)


def test_cyclegan_trains_on_crops_when_asked():
    cfg = case_config("cyclegan", {"train": {"crop": 24}})
    fam = get_family("cyclegan")(cfg)
    m = fam.build()
    seen = []
    m["generator_ab"].register_forward_pre_hook(lambda _, args: seen.append(args[0].shape[-1]))
    fam.train_step(m, context(cfg, m))
    assert seen[0] == 24 and cfg.arch["generator"]["upsample"] == "resize"

"""The colorizer that knows what it is looking at: the U-Net's global branch and how it starts from
a colorizer without one, the corpus labels it learns from, the dominant-hue measure, the
vividness control and the side-by-side sheet."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from latent_studio.data.datasets import COLORIZE_LABELS, ColorPairs, colorize_classes, colorize_files
from latent_studio.data.image_quality import colorfulness, dominant_hue, dominant_hue_agreement
from latent_studio.evaluation.colorize_sheet import GAP, PER_ROW, SIZE, sheet, sheet_photos
from latent_studio.families.networks.img2img import UNetGenerator
from latent_studio.families.pix2pix import Labelled, Pix2Pix, class_accuracy, class_loss
from latent_studio.families.run_models import load_run
from latent_studio.inference.pipeline import BOLD_GAIN, DEFAULT_VIVIDNESS, MUTED_GAIN, chroma_gain, colorize
from latent_studio.runs.files import read_config
from tests.conftest import ROOT

SHIPPED = ROOT / "checkpoints" / "colorize-photos"
UNET = {"in_channels": 1, "out_channels": 261, "depth": 6, "width": 8, "max_width": 16, "dropout": 0.0, "output": "logits"}


def test_global_branch_starts_silent_and_classifies_each_photo():
    torch.manual_seed(0)
    plain, context = UNetGenerator(**UNET).eval(), UNetGenerator(**UNET, classes=7, global_width=32).eval()
    missing, unexpected = context.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith(("context", "classifier", "fusion")) for k in missing)
    x = torch.rand(3, 1, 64, 64) * 2 - 1
    out, classes = context.forward_classes(x)
    assert torch.equal(out, plain(x)) and torch.equal(context(x), out)
    assert classes.shape == (3, 7)
    torch.nn.init.normal_(context.fusion[1].weight)  # once trained, the photo's class vector changes the colours
    assert not torch.allclose(context(x), plain(x))


def test_a_config_without_classes_builds_the_unet_it_always_did():
    shipped = load_run(SHIPPED, "cpu")  # its file holds exactly the weights of the U-Net without the branch
    assert "classes" not in shipped.config.arch["generator"]
    assert not any(k.startswith(("context", "classifier", "fusion")) for k in shipped.modules["generator"].state_dict())
    assert UNetGenerator(**UNET).forward_classes(torch.zeros(1, 1, 64, 64))[1] is None


def with_classes(cfg, classes: int = 123):
    cfg.arch["generator"]["classes"] = classes
    return cfg


def test_warm_start_from_the_shipped_colorizer_starts_out_equal_to_it():
    shipped = load_run(SHIPPED, "cpu")
    family = Pix2Pix(with_classes(read_config(SHIPPED)))
    m = family.build()
    family.warm_start(m, SHIPPED)
    m.eval()
    gray = torch.rand(2, 1, 64, 64) * 2 - 1
    with torch.inference_mode():
        out, classes = m["generator"].forward_classes(gray)
        assert torch.allclose(out, shipped.modules["generator"](gray), atol=1e-5)
    assert classes.shape == (2, 123)


def test_warm_start_refuses_a_unet_that_differs_beyond_the_branch():
    cfg = with_classes(read_config(SHIPPED))
    cfg.arch["generator"]["width"] = 16
    family = Pix2Pix(cfg)
    with pytest.raises(ValueError, match="without its global branch"):
        family.warm_start(family.build(), SHIPPED)


def test_the_corpus_labels_every_source(real_data: Path):
    names = colorize_classes(real_data)
    assert len(names) == 123 and len(set(names)) == 123
    assert {"face", "flower_rose", "landscape_summer", "landscape_winter", "imagenette_church"} <= set(names)
    files = colorize_files(real_data, "test")
    assert {COLORIZE_LABELS[s](f) for s, fs in files.items() for f in fs} <= set(names)  # test photos fall in the train classes
    photo = files["photos_128"][0]
    assert COLORIZE_LABELS["photos_128"](photo) == photo.parent.name


def test_training_data_hands_each_pair_its_label_and_refuses_unlabelled_photos():
    family = Pix2Pix(with_classes(read_config(SHIPPED), 4))
    images = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8)
    labelled = family.training_data(ColorPairs(images, "lab", torch.tensor([0, 1, 2, 3, -1, 0])), torch.tensor([0, 1, 2, 3, -1, 0]))
    assert isinstance(labelled, Labelled) and len(labelled) == 6
    gray, chroma, label = labelled[2]
    assert gray.shape == (1, 16, 16) and chroma.shape == (2, 16, 16) and int(label) == 2
    unlabelled = ColorPairs(images, "lab")
    with pytest.raises(ValueError, match="labelled photos"):
        family.training_data(unlabelled, unlabelled.targets)
    with pytest.raises(ValueError, match="classes is 4"):
        family.training_data(unlabelled, torch.tensor([0, 1, 2, 3, 4, 5]))


def test_class_loss_and_accuracy_leave_out_unknown_labels():
    logits = torch.tensor([[5.0, 0.0], [0.0, 5.0], [5.0, 0.0]])
    labels = torch.tensor([0, 0, -1])
    expected = torch.nn.functional.cross_entropy(logits[:2], labels[:2])
    assert torch.allclose(class_loss(logits, labels), expected)
    assert float(class_accuracy(logits, labels)) == 0.5
    assert float(class_loss(logits, torch.full((3,), -1))) == 0.0  # a batch of faces without a label trains nothing


def flat(rgb: tuple[float, float, float], size: int = 16) -> torch.Tensor:
    return torch.tensor(rgb).view(1, 3, 1, 1).expand(1, 3, size, size).clone()


def test_dominant_hue_is_the_colour_most_of_the_photo_has():
    red_with_green_patch = flat((0.8, 0.1, 0.1))
    red_with_green_patch[:, :, :4, :4] = torch.tensor([0.1, 0.7, 0.1]).view(1, 3, 1, 1)
    photos = torch.cat([red_with_green_patch, flat((0.1, 0.6, 0.1)), flat((0.5, 0.5, 0.5))])
    angle, has = dominant_hue(photos)
    assert has.tolist() == [True, True, False]  # gray has no hue to name
    assert angle[0] < 60 or angle[0] > 330  # red sits near a*b* angle 40 degrees
    assert 110 < angle[1] < 160  # green near 135


def test_dominant_hue_agreement_judges_photos_that_have_a_colour():
    red, green, gray = flat((0.8, 0.1, 0.1)), flat((0.1, 0.6, 0.1)), flat((0.5, 0.5, 0.5))
    right, judged = dominant_hue_agreement(torch.cat([red, green, gray, gray]), torch.cat([red, red, red, gray]))
    assert right.tolist() == [True, False, False, False]  # a gray answer to a red photo is wrong
    assert judged.tolist() == [True, True, True, False]  # a gray photo is not judged


def test_chroma_gain_is_one_at_the_default_and_spans_muted_to_bold():
    assert chroma_gain(DEFAULT_VIVIDNESS) == pytest.approx(1.0)
    assert chroma_gain(0) == MUTED_GAIN and chroma_gain(1) == pytest.approx(BOLD_GAIN)
    steps = [chroma_gain(v / 20) for v in range(21)]
    assert steps == sorted(steps)
    assert chroma_gain(-3) == MUTED_GAIN and chroma_gain(7) == pytest.approx(BOLD_GAIN)


def test_vividness_changes_colourfulness_visibly(real_data: Path):
    photo = Image.open(colorize_files(real_data, "test")["flowers_128"][0]).convert("L")
    shown = {}
    for v in (0.0, DEFAULT_VIVIDNESS, 1.0):
        rgb = torch.from_numpy(np.array(colorize(photo, SHIPPED, vividness=v))).permute(2, 0, 1)[None] / 255
        shown[v] = float(colorfulness(rgb))
    assert shown[0.0] < 0.6 * shown[DEFAULT_VIVIDNESS] and shown[1.0] > 1.2 * shown[DEFAULT_VIVIDNESS]


def test_sheet_shows_gray_each_run_and_the_true_photo(real_data: Path):
    photos = sheet_photos(real_data)
    assert photos.shape == (48, 3, SIZE, SIZE)
    versions = [photos.flip(-1), photos.flip(-2)]
    image = sheet(photos, versions)
    columns = 2 + len(versions)
    assert image.size == (PER_ROW * columns * SIZE + (PER_ROW - 1) * GAP, 16 * SIZE + 15 * GAP)
    first = torch.from_numpy(np.array(image)).permute(2, 0, 1)
    assert torch.equal(first[:, :SIZE, SIZE:2 * SIZE], versions[0][0])  # the first run's version beside the gray one
    assert torch.equal(first[:, :SIZE, (columns - 1) * SIZE:columns * SIZE], photos[0])  # the true photo last
    gray = first[:, :SIZE, :SIZE].int()
    assert (gray[0] - gray[1]).abs().max() <= 1 and (gray[1] - gray[2]).abs().max() <= 1

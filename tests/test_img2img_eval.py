"""The image-to-image evaluation script: the right metrics per kind of run, recorded in config.json,
and judges (classifiers) that are trained once per dataset and then reused."""

import json

import pytest
import torch

from latent_studio.data.datasets import load_dataset
from latent_studio.data.image_quality import l1, ssim
from latent_studio.evaluation.colorize_eval import SEMANTIC
from latent_studio.evaluation.img2img_eval import evaluate_run, main
from latent_studio.families import IMG2IMG, family_names, get_family
from latent_studio.families.run_models import save_run
from latent_studio.runs.files import read_config
from latent_studio.training.trainer import new_config
from tests.conftest import TINY
from tests.img2img_helpers import tiny_config, write_data_root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_data_root(tmp_path_factory.mktemp("data"))


def untrained_run(path, *args):
    cfg = tiny_config(*args)
    torch.manual_seed(0)
    save_run(path, cfg, get_family(cfg.family)(cfg).build())
    return path


def test_colorizer_is_measured_against_the_gray_baseline_and_real_colourfulness(tmp_path, data_root):
    run, judges = untrained_run(tmp_path / "run", "pix2pix", "colorize"), tmp_path / "judges"
    metrics = evaluate_run(run, data_root, judges=judges)
    assert metrics["test_images"] == 7 and metrics["eval_image_size"] == 128  # the photos' own size, not the model's 32
    assert {"test_psnr", "test_ssim", "gray_psnr", "gray_ssim", "colorfulness", "real_colorfulness"} <= set(metrics)
    assert metrics["colorfulness_ratio"] == pytest.approx(metrics["colorfulness"] / metrics["real_colorfulness"], abs=1e-3)
    assert read_config(run).metrics["test_psnr"] == metrics["test_psnr"]  # recorded in config.json
    # per source of the corpus, the sources' test images adding up to the whole
    per_source = metrics["per_source"]
    assert set(per_source) == {"photos_128", "celeba_64", "flowers_128", "summer2winter_yosemite_128"}
    assert sum(m["test_images"] for m in per_source.values()) == metrics["test_images"]
    assert all("hue_within_45" in m or m["test_images"] == 0 for m in per_source.values())


def test_colorizer_judges_meaning_and_realism_with_a_kept_semantic_classifier(tmp_path, data_root):
    run, judges = untrained_run(tmp_path / "run", "pix2pix", "colorize"), tmp_path / "judges"
    metrics = evaluate_run(run, data_root, write=False, judges=judges)
    assert metrics["semantic_classes"] == 2 and metrics["semantic_test_images"] == 2  # a church and a daisy held out
    for key in ("semantic_real", "semantic_gray", "semantic_colorized", "fool_rate"):
        assert 0 <= metrics[key] <= 1, key
    assert metrics["fool_rate_images"] == 6  # the odd-indexed half of 7 test photos, each real and colorized
    assert (judges / SEMANTIC).is_file()
    with torch.no_grad():  # as `python -m latent_studio evaluate` calls it: the fool-rate judge still trains
        assert evaluate_run(run, data_root, write=False, judges=judges) == metrics  # the same judges, the same verdicts


def test_facades_are_measured_with_l1_and_psnr_beside_the_mean_photo(tmp_path, data_root):
    run = untrained_run(tmp_path, "pix2pix", "paired", {"arch": {"direction": "BtoA"}})
    metrics = evaluate_run(run, data_root, write=False)
    assert metrics["test_images"] == 2 and 0 <= metrics["test_l1"] <= 1 and metrics["test_psnr"] > 0
    assert "test_psnr" not in read_config(run).metrics
    # the baseline answers every label map with the mean training photo (A: the photo half)
    spec = read_config(run).data
    mean = load_dataset(spec, data_root, "train").a.float().div(255).mean(0, keepdim=True)
    photos = load_dataset(spec, data_root, "test").a.float().div(255)
    assert metrics["baseline_l1"] == pytest.approx(float(l1(mean.expand_as(photos), photos).mean()), abs=1e-4)
    assert metrics["baseline_ssim"] == pytest.approx(float(ssim(mean.expand_as(photos), photos).mean()), abs=1e-4)


def test_cyclegan_gets_cycle_l1_target_domain_shares_and_grid_energy(tmp_path, data_root, capsys):
    run, judges = untrained_run(tmp_path / "run", "cyclegan", "unpaired"), tmp_path / "judges"
    assert main([str(run), "--data-root", str(data_root), "--judges", str(judges), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)[str(run)]
    assert (metrics["test_images_a"], metrics["test_images_b"]) == (2, 2)
    for key in ("test_cycle_l1_a", "test_cycle_l1_b", "test_target_share_ab", "test_target_share_ba", "classifier_test_accuracy"):
        assert 0 <= metrics[key] <= 1, key
    assert metrics["checkerboard_ab"] > 0 and metrics["checkerboard_ba"] > 0
    assert (judges / "domains-summer2winter_yosemite_128.safetensors").is_file()
    again = evaluate_run(run, data_root, write=False, judges=judges)  # the kept classifier: the same numbers
    assert again == metrics


def test_latent_runs_are_refused_with_a_clear_error(tmp_path, capsys):
    cfg = new_config("dcgan", "fake", 1, overrides=[TINY])
    save_run(tmp_path, cfg, get_family("dcgan")(cfg).build())
    assert main([str(tmp_path)]) == 2
    names = ", ".join(family_names(IMG2IMG))
    assert "pix2pix" in names and "dcgan" not in names
    expected = f"error: {tmp_path} is a dcgan run; img2img_eval measures image-to-image runs ({names})"
    assert capsys.readouterr().err.startswith(expected)

"""The image-to-image evaluation script: the right metrics per kind of run, recorded in config.json,
and a CycleGAN domain classifier that is trained once and then reused."""

import json

import pytest
import torch

from tests.conftest import TINY
from tests.img2img_helpers import tiny_config, write_data_root
from training.checkpoint import read_config, save_run
from training.families import get_family
from training.img2img_eval import CLASSIFIER, evaluate_run, main
from training.trainer import new_config


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_data_root(tmp_path_factory.mktemp("data"))


def untrained_run(path, *args):
    cfg = tiny_config(*args)
    torch.manual_seed(0)
    save_run(path, cfg, get_family(cfg.family)(cfg).build())
    return path


def test_colorizer_is_measured_against_the_gray_baseline_and_real_colourfulness(tmp_path, data_root):
    run = untrained_run(tmp_path, "pix2pix", "colorize")
    metrics = evaluate_run(run, data_root)
    assert metrics["test_images"] == 7 and metrics["eval_image_size"] == 128  # the photos' own size, not the model's 32
    assert {"test_psnr", "test_ssim", "gray_psnr", "gray_ssim", "colorfulness", "real_colorfulness"} <= set(metrics)
    assert metrics["colorfulness_ratio"] == pytest.approx(metrics["colorfulness"] / metrics["real_colorfulness"], abs=1e-3)
    assert read_config(run).metrics["test_psnr"] == metrics["test_psnr"]  # recorded in config.json


def test_facades_are_measured_with_l1_and_psnr(tmp_path, data_root):
    run = untrained_run(tmp_path, "pix2pix", "paired", {"arch": {"direction": "BtoA"}})
    metrics = evaluate_run(run, data_root, write=False)
    assert metrics["test_images"] == 2 and 0 <= metrics["test_l1"] <= 1 and metrics["test_psnr"] > 0
    assert "test_psnr" not in read_config(run).metrics


def test_cyclegan_gets_cycle_l1_and_target_domain_shares_from_a_kept_classifier(tmp_path, data_root, capsys):
    run = untrained_run(tmp_path, "cyclegan", "unpaired")
    assert main([str(run), "--data-root", str(data_root), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)[str(run)]
    assert (metrics["test_images_a"], metrics["test_images_b"]) == (2, 2)
    for key in ("test_cycle_l1_a", "test_cycle_l1_b", "test_target_share_ab", "test_target_share_ba", "classifier_test_accuracy"):
        assert 0 <= metrics[key] <= 1, key
    assert (run / CLASSIFIER).is_file()
    again = evaluate_run(run, data_root, write=False)  # the kept classifier: the same numbers
    assert again == metrics


def test_latent_runs_are_refused_with_a_clear_error(tmp_path, capsys):
    cfg = new_config("dcgan", "fake", 1, overrides=[TINY])
    save_run(tmp_path, cfg, get_family("dcgan")(cfg).build())
    assert main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path} is a dcgan run; img2img_eval measures pix2pix and cyclegan runs")

"""`evaluate` end to end on a tiny run with a tiny classifier, and its parts."""

import json

import pytest
import torch

from tests.conftest import TINY
from training import classifier as classifier_module
from training.checkpoint import load_run, read_config
from training.evaluate import attribute_directions, evaluate_run
from training.trainer import new_config, train


@pytest.fixture
def fake_classifier(tmp_path, monkeypatch):
    monkeypatch.setattr(classifier_module, "CLASSIFIERS", tmp_path / "classifiers")
    meta = classifier_module.train_classifier("fake", None, epochs=1)
    assert 0 <= meta["test_accuracy"] <= 1
    return meta


def test_evaluate_infogan_records_every_metric(tmp_path, fake_classifier):
    run = tmp_path / "run"
    train(new_config("infogan", "fake", 2, overrides=[TINY]), run, progress=False)
    results = evaluate_run(run, samples=600)
    for key in ("fid", "fid_floor", "inception_score", "precision", "recall", "purity", "cont0_pixel_change",
                "cont1_class_kept", "nn_distance", "nn_distance_test"):
        assert key in results, key
    assert results["fid"] > 0 and 1 <= results["inception_score"] <= 10
    assert 0.1 <= results["purity"] <= 1 and 0 <= results["precision"] <= 1
    assert results["inception_fid"] is None or results["inception_fid"] >= 0
    assert "Inception" in results["inception_fid_note"]
    assert read_config(run).metrics["purity"] == results["purity"]  # recorded in config.json
    assert (run / "nearest.png").is_file()


def test_evaluate_without_a_classifier_says_what_it_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(classifier_module, "CLASSIFIERS", tmp_path / "none")
    train(new_config("cgan", "fake", 2, overrides=[TINY]), tmp_path / "run", progress=False)
    results = evaluate_run(tmp_path / "run", samples=300)
    assert "skipped" in results["classifier"] and "fid" not in results and "nn_distance" in results


def test_conditional_models_get_a_class_accuracy(tmp_path, fake_classifier):
    train(new_config("acgan", "fake", 2, overrides=[TINY]), tmp_path / "run", progress=False)
    assert 0 <= evaluate_run(tmp_path / "run", samples=300)["class_accuracy"] <= 1


def test_attribute_direction_points_from_negative_to_positive_samples(tmp_path):
    train(new_config("dcgan", "fake", 2, overrides=[TINY]), tmp_path / "run", progress=False)
    run = load_run(tmp_path / "run", "cpu")
    # An "attribute classifier" that calls an image positive when it is brighter than the median.
    def bright(x):
        m = x.flatten(1).mean(1)
        return (m - m.median())[:, None]

    directions, counts = attribute_directions(run, bright, 400, 0, ["Bright"])
    assert directions["Bright"].shape == (run.config.latent.dim,)
    assert 150 <= counts["Bright"] <= 250
    # Moving along the direction makes samples brighter.
    z = run.config.latent.sample(200, torch.Generator().manual_seed(9))
    with torch.inference_mode():
        before = run.family.render(run.modules, z).mean()
        z.z += 3 * directions["Bright"] / directions["Bright"].norm()
        after = run.family.render(run.modules, z).mean()
    assert after > before


def test_evaluate_cli_prints_json(tmp_path, fake_classifier):
    from training.__main__ import main

    train(new_config("dcgan", "fake", 2, overrides=[TINY]), tmp_path / "run", progress=False)
    assert main(["evaluate", str(tmp_path / "run"), "--samples", "300"]) == 0
    assert "fid" in json.loads((tmp_path / "run" / "config.json").read_text())["metrics"]

"""`evaluate` end to end on a tiny run with a tiny classifier, and its parts."""

import json

import pytest
import torch
from torch import nn

from latent_studio.evaluation import evaluate as evaluate_module
from latent_studio.evaluation.evaluate import attribute_directions, class_shares, direction_effects, evaluate_run, image_statistics
from latent_studio.families import classifier as classifier_module
from latent_studio.families.run_models import load_run
from latent_studio.runs.files import DISCOVERED, read_config
from latent_studio.training.trainer import new_config, train
from tests.conftest import TINY


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
    assert len(results["class_shares"]) == 10 and abs(sum(results["class_shares"]) - 1) < 1e-3
    assert 0.1 <= results["purity"] <= 1 and 0 <= results["precision"] <= 1
    assert read_config(run).metrics["purity"] == results["purity"]  # recorded in config.json
    assert (run / "nearest.png").is_file()
    assert (run / DISCOVERED).is_file() and results["discovered_method"] == "sefa"  # directions found and named for the explorer
    assert results["discovered_changing_class"] >= 0 and results["discovered_moving_classes"] >= 0  # the class judge was asked


def test_evaluate_without_a_classifier_says_what_it_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(classifier_module, "CLASSIFIERS", tmp_path / "none")
    train(new_config("cgan", "fake", 2, overrides=[TINY]), tmp_path / "run", progress=False)
    results = evaluate_run(tmp_path / "run", samples=300)
    assert "skipped" in results["classifier"] and "fid" not in results and "nn_distance" in results


def test_a_dataset_without_a_judge_of_its_own_is_measured_in_a_borrowed_one(tmp_path, fake_classifier, monkeypatch):
    """Anime faces have no labels to train a judge on: FID and precision/recall are taken in
    another dataset's judge's features, and the run records whose."""
    judges = tmp_path / "classifiers"
    (judges / "borrowed.safetensors").write_bytes((judges / "fake.safetensors").read_bytes())
    (judges / "fake.safetensors").unlink()
    monkeypatch.setattr(evaluate_module, "FEATURES_FROM", {"fake": "borrowed"})
    train(new_config("dcgan", "fake", 2, overrides=[TINY]), tmp_path / "run", progress=False)
    results = evaluate_run(tmp_path / "run", samples=300)
    assert results["features_from"] == "borrowed" and results["fid"] > 0 and 0 <= results["recall"] <= 1
    monkeypatch.setattr(evaluate_module, "FEATURES_FROM", {})
    assert "no classifier for fake" in evaluate_run(tmp_path / "run", samples=300)["classifier"]


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
    from latent_studio.cli import main

    train(new_config("dcgan", "fake", 2, overrides=[TINY]), tmp_path / "run", progress=False)
    assert main(["evaluate", str(tmp_path / "run"), "--samples", "300"]) == 0
    assert "fid" in json.loads((tmp_path / "run" / "config.json").read_text())["metrics"]


def test_a_direction_that_moves_its_attribute_measures_as_monotone_and_no_move_does_not(tmp_path):
    train(new_config("dcgan", "fake", 2, overrides=[TINY]), tmp_path / "run", progress=False)
    run = load_run(tmp_path / "run", "cpu")
    d = run.config.data  # a linear generator, so a brightness direction brightens every sample
    run.modules["generator"] = nn.Sequential(nn.Linear(run.config.latent.input_dim, d.channels * d.image_size ** 2),
                                             nn.Unflatten(1, (d.channels, d.image_size, d.image_size)))

    def bright(x):  # two "attributes", both brightness (a fixed threshold: each image is judged on its own)
        return x.flatten(1).mean(1)[:, None].expand(-1, 2)

    directions, _ = attribute_directions(run, bright, 400, 0, ["Bright", "Still"])
    still = torch.zeros_like(directions["Bright"])  # no move: nothing rises
    effects = direction_effects(run, bright, lambda x: x.flatten(1), {"Bright": directions["Bright"], "Still": still}, 200, 0,
                                ["Bright", "Still"])
    assert effects["Bright"]["monotone_share"] >= 0.8 > effects["Still"]["monotone_share"]
    assert effects["Still"]["identity_distance"] == 0 < effects["Bright"]["identity_distance"]


def test_image_statistics_compare_colour_and_borders_with_the_real_images():
    torch.manual_seed(0)
    real = torch.rand(64, 3, 16, 16) * 2 - 1
    same = image_statistics(real.clone(), real)
    assert all(same[k] == pytest.approx(1.0) for k in ("brightness_ratio", "saturation_ratio", "contrast_ratio", "edge_energy_ratio"))
    washed = image_statistics(real * 0.3 + 0.7, real)
    assert washed["brightness_ratio"] > 1.3 and washed["near_white"] > washed["near_white_real"] and washed["contrast_ratio"] < 0.5
    striped = real.clone() * 0.2
    striped[..., -2:] = torch.where(torch.arange(16) % 2 == 0, 1.0, -1.0)[:, None]  # a sawtooth down the right edge
    assert image_statistics(striped, real * 0.2)["edge_energy_ratio"] > 2
    assert same["channel_ratios"] == pytest.approx([1.0, 1.0, 1.0])
    tinted = real.clone()
    tinted[:, 2] = (tinted[:, 2] + 0.5).clamp(max=1)  # a blue cast
    red, green, blue = image_statistics(tinted, real)["channel_ratios"]
    assert red == green == pytest.approx(1.0) and blue > 1.2
    assert "channel_ratios" not in image_statistics(real[:, :1], real[:, :1])  # gray images have no tint


def test_class_shares_show_a_favoured_and_a_dropped_class():
    shares = class_shares(torch.tensor([0, 0, 0, 1, 1, 2, 2, 2]), 4)
    assert shares["class_shares"] == [0.375, 0.25, 0.375, 0.0]
    assert shares["class_share_min"] == 0.0 and shares["class_share_max"] == 0.375

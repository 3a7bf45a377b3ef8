"""Directions found without labels (latent_studio.inference.directions), named by the judges and
kept with the run (latent_studio.evaluation.discovered), and InfoGAN values named by the judge."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

from latent_studio import SHIPPED
from latent_studio.app import code_names
from latent_studio.evaluation import discovered
from latent_studio.families.run_models import load_run
from latent_studio.inference.directions import first_activations, first_linear, ganspace, sefa, strip
from latent_studio.runs.files import DISCOVERED, CheckpointError, read_config
from tests.explorer_runs import DEFAULT_INIT, make_run


def orthonormal(n: int, dim: int, seed: int = 0) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(dim, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q.T.float()


def test_sefa_returns_the_directions_the_first_layer_stretches_most_in_order():
    v = orthonormal(4, 10)  # planted right singular vectors, stretched 9, 5, 2, 1
    u = orthonormal(4, 30, seed=1)
    weight = (u.T * torch.tensor([9.0, 5.0, 2.0, 1.0])) @ v
    found = sefa(weight, 3)
    assert found.shape == (3, 10)
    assert torch.allclose((found * v[:3]).sum(1).abs(), torch.ones(3), atol=1e-5)
    assert torch.allclose(sefa(-3 * weight, 3), found, atol=1e-6)  # a scaled (spectrally normalized) layer: the same directions, same signs


def test_ganspace_carries_the_main_feature_variation_back_to_z():
    z = torch.randn(4000, 6, generator=torch.Generator().manual_seed(0))
    mix = torch.zeros(6, 40)
    mix[2, :20], mix[4, 20:] = 3.0, 1.0  # z[2] moves the features most, then z[4]
    features = torch.relu(z @ mix) + 0.01 * torch.randn(4000, 40, generator=torch.Generator().manual_seed(1))
    found = ganspace(z, features, 2)
    assert found[0, 2].abs() > 0.95 and found[1, 4].abs() > 0.95
    assert torch.allclose(found.norm(dim=1), torch.ones(2))


def test_the_first_layers_of_a_generator_are_found_and_the_forward_pass_stops_after_the_first_nonlinearity():
    calls = []
    tail = nn.Linear(8, 3)
    tail.register_forward_hook(lambda *a: calls.append("tail"))
    g = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), tail)
    x = torch.randn(4, 5)
    assert first_linear(g, 5) is g[0] and first_linear(g, 6) is None
    assert torch.equal(first_activations(g, x), torch.relu(g[0](x)))
    assert not calls


def test_a_strip_moves_only_z_by_each_weight():
    base = torch.arange(7.0)  # z of 4, then 3 code values
    d = torch.tensor([1.0, 0.0, 0.0, -1.0])
    rows = strip(base, d, torch.tensor([-2.0, 0.0, 2.0]))
    assert torch.equal(rows[1], base) and torch.equal(rows[2, 4:], base[4:])
    assert rows[0, 0] == -2 and rows[2, 3] == 3 - 2


def test_a_label_names_only_steady_strong_changes():
    effects = {"moved": [{"name": "Smiling", "sign": "+", "share": 0.9, "effect": 1.2},
                         {"name": "Bangs", "sign": "-", "share": 0.85, "effect": -0.7},
                         {"name": "Brightness", "sign": "+", "share": 0.95, "effect": 0.1},  # steady, but faint
                         {"name": "Male", "sign": "+", "share": 0.6, "effect": 2.0}]}  # strong, but for too few
    assert discovered.label(effects) == "mostly: Smiling +, Bangs -"
    assert discovered.label({"moved": effects["moved"][2:]}) == discovered.NOTHING
    changed = {"digit": {"share": 0.7, "most": ["digit 7", "digit 0", 0.2]}}
    named = discovered.label({**effects, "changed": changed})
    assert named == "mostly: changes the digit, most often digit 7 → digit 0, Smiling +, Bangs -"
    assert discovered.label({"moved": [], "changed": {"digit": {"share": 0.4, "most": ["digit 7", "digit 0", 0.2]}}}) == discovered.NOTHING


def test_a_class_change_counts_the_samples_whose_class_differs_and_the_most_common_change():
    minus, plus = torch.tensor([7, 7, 7, 3, 1]), torch.tensor([0, 0, 7, 5, 1])
    names = [f"digit {i}" for i in range(10)]
    assert discovered.class_change(plus, minus, names) == {"share": 0.6, "most": ["digit 7", "digit 0", 0.4]}
    assert discovered.class_change(minus, minus, names) == {"share": 0.0}


def test_a_direction_is_turned_so_that_plus_adds_what_names_it():
    effects = [{"moved": [{"name": "Male", "sign": "+", "share": 0.6, "effect": 2.0},
                          {"name": "Blond Hair", "sign": "-", "share": 0.9, "effect": -1.0}]},
               {"moved": [{"name": "Smiling", "sign": "+", "share": 0.9, "effect": 1.0}]}]
    directions, turned = discovered.turned(torch.eye(2), effects)
    assert torch.equal(directions, torch.tensor([[-1.0, 0.0], [0.0, 1.0]]))
    assert discovered.label(turned[0]) == "mostly: Blond Hair +" and turned[0]["moved"][0]["sign"] == "-"
    assert turned[1] == effects[1]


class Brightness(nn.Module):
    """A generator whose z[1] sets the whole image's brightness and nothing else moves it."""

    def __init__(self, input_dim: int, channels: int, size: int):
        super().__init__()
        self.shape = (channels, size, size)
        self.first, self.act = nn.Linear(input_dim, 1, bias=False), nn.Tanh()
        with torch.no_grad():
            self.first.weight.zero_()[0, 1] = 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.first(x)).expand(-1, self.shape[0] * self.shape[1] * self.shape[2]).reshape(-1, *self.shape)


@pytest.fixture
def planted(tmp_path):
    """A tiny DCGAN run whose generator is Brightness."""
    make_run(tmp_path / "run", "dcgan", DEFAULT_INIT, steps=(2,))
    run = load_run(tmp_path / "run", "cpu")
    data = run.config.data
    return dataclasses.replace(run, modules={"generator": Brightness(run.config.latent.input_dim, data.channels, data.image_size)})


@pytest.mark.parametrize("method", discovered.METHODS)
def test_a_planted_brightness_direction_is_found_turned_and_named_by_the_statistics_judge(planted, method):
    found = discovered.discover(planted, method=method, samples=64)
    top = found.directions[0]
    assert top[1] > 0.95  # z[1], turned so that + is brighter
    assert found.labels[0].startswith("mostly: Brightness +")
    assert found.info["effects"][0]["best_share"]["image statistics"] == 1.0


def test_directions_are_kept_with_the_run_and_found_again_for_a_newer_checkpoint(planted, tmp_path):
    found = discovered.discovered(planted, samples=16)
    path = planted.path / DISCOVERED
    stored = discovered.load(planted.path, planted.config.latent.dim)
    assert torch.equal(stored.directions, found.directions) and stored.labels == found.labels
    assert stored.info["step"] == planted.config.step
    mtime = path.stat().st_mtime_ns
    assert discovered.discovered(planted, samples=16).labels == found.labels and path.stat().st_mtime_ns == mtime  # read, not found
    newer = dataclasses.replace(planted, config=dataclasses.replace(planted.config, step=planted.config.step + 1))
    assert discovered.discovered(newer, samples=16).info["step"] == planted.config.step + 1


@pytest.mark.parametrize("content", [b"not safetensors", b""])
def test_a_damaged_file_is_refused_by_name_and_found_afresh_on_demand(planted, content):
    (planted.path / DISCOVERED).write_bytes(content)
    with pytest.raises(CheckpointError, match="discovered"):
        discovered.load(planted.path, planted.config.latent.dim)
    assert discovered.discovered(planted, samples=16).labels[0].startswith("mostly: Brightness +")


def test_a_file_for_another_latent_size_is_refused(planted):
    discovered.save(planted.path, discovered.Discovered(torch.zeros(2, 3), ["a", "b"], {"step": planted.config.step}))
    with pytest.raises(CheckpointError, match=r"\[K, "):
        discovered.load(planted.path, planted.config.latent.dim)


def test_record_stores_the_directions_and_returns_evaluates_numbers(planted):
    results = discovered.record(planted, samples=32)
    assert results["discovered_method"] == "sefa" and results["discovered_named"] >= 1
    assert results["discovered_moving_image_statistics"] >= 1
    assert (planted.path / DISCOVERED).is_file()


def test_infogan_values_default_to_the_judges_majority_class_and_a_saved_name_wins(tmp_path):
    make_run(tmp_path / "run", "infogan", DEFAULT_INIT, steps=(2,))
    raw = json.loads((tmp_path / "run" / "config.json").read_text())
    raw["data"]["class_names"] = [str(i) for i in range(10)]
    raw["data"]["dataset"] = "mnist"
    raw["metrics"] = {"purity_mapping": {"0": 6, "1": 4, "9": 99}}  # 99: no such class, names nothing
    (tmp_path / "run" / "config.json").write_text(json.dumps(raw))
    config = read_config(tmp_path / "run")
    judged = code_names.judged(config)
    assert judged[0][:3] == ["digit 6", "digit 4", ""] and judged[0][9] == ""
    assert code_names.load(tmp_path / "run", config.latent.categorical, judged)[0][0] == "digit 6"
    code_names.save(tmp_path / "run", [["zero"] + [""] * 9])
    assert code_names.load(tmp_path / "run", config.latent.categorical, judged)[0][:2] == ["zero", "digit 4"]


def test_on_the_shipped_mnist_gan_the_digit_judge_sees_directions_change_the_digit():
    """Its top directions turn a 7 into a 0 or a 3 into a 5: which digit depends on where z starts,
    so no one class rises for most samples, but the top class changes."""
    run = load_run(SHIPPED / "dcgan-mnist", "cpu")
    found = discovered.discover(run, samples=48)
    assert [j.noun for j in discovered.judges(run)] == ["digit", ""]
    assert any(label.startswith("mostly: changes the digit") for label in found.labels)
    assert all(0 <= e["changed"]["digit"]["share"] <= 1 for e in found.info["effects"])

"""InfoGAN helpers: the sweep grid, Q's reading, and the names people give code values."""

import json

import pytest
import torch
from torch.testing import assert_close

from latent_studio.app import code_names
from latent_studio.app.infogan import read_q, sweep
from latent_studio.app.sampling import LatentState, build
from latent_studio.runs.config import LatentSpec

SPEC = LatentSpec(dim=4, categorical=[3, 2], continuous=2)


def test_sweep_rows_walk_the_categorical_code_and_columns_the_continuous_one():
    sample = build(SPEC, LatentState(seed=1, categorical={1: 1}, continuous={0: 0.3}))
    values = torch.tensor([-2.0, 0.0, 2.0])
    grid = sweep(sample, 0, 1, values)
    assert grid.categorical[0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert grid.categorical[1].tolist() == [1] * 9
    assert grid.continuous[:, 1].tolist() == [-2.0, 0.0, 2.0] * 3
    assert_close(grid.continuous[:, 0], torch.full((9,), 0.3))
    assert torch.equal(grid.z, sample.z.expand(9, -1))
    assert grid.generator_input().shape == (9, SPEC.input_dim)


def test_sweep_without_a_continuous_code_is_one_column():
    sample = build(SPEC, LatentState(seed=0))
    grid = sweep(sample, 1, None, torch.tensor([5.0]))
    assert grid.categorical[1].tolist() == [0, 1]
    assert torch.equal(grid.continuous, sample.continuous.expand(2, -1))


def test_sweep_leaves_the_sample_alone():
    sample = build(SPEC, LatentState(seed=0))
    before = sample.generator_input().clone()
    sweep(sample, 0, 0, torch.linspace(-2, 2, 5))
    assert torch.equal(sample.generator_input(), before)


def test_read_q_splits_logits_means_and_log_stds():
    q_out = torch.tensor([[0.0, 0.0, 0.0, 2.0, 2.0, 0.5, -0.5, 0.0, 1.0]])
    reading = read_q(q_out, [3, 2], 2)
    assert_close(reading.probabilities[0], torch.full((1, 3), 1 / 3))
    assert_close(reading.probabilities[1], torch.tensor([[0.5, 0.5]]))
    assert reading.means.tolist() == [[0.5, -0.5]]
    assert_close(reading.stds, torch.tensor([[1.0, torch.e]]))


def test_read_q_refuses_an_output_of_the_wrong_width():
    with pytest.raises(ValueError, match="9 values per image; the codes need 7"):
        read_q(torch.zeros(1, 9), [3], 2)


def test_code_names_round_trip_with_the_run(tmp_path):
    assert code_names.load(tmp_path, [3]) == [["", "", ""]]
    code_names.save(tmp_path, [["zero", " seven ", ""]])
    assert code_names.load(tmp_path, [3]) == [["zero", "seven", ""]]
    assert json.loads((tmp_path / code_names.FILE).read_text()) == {"categorical": [["zero", "seven", ""]]}


@pytest.mark.parametrize("content, expected", [
    ("{broken", ["", "", ""]),
    ('{"categorical": 3}', ["", "", ""]),
    ('{"categorical": [[1, null, "two", "three", "four"]]}', ["", "", "two"]),
])
def test_damaged_code_names_name_nothing_they_cannot(tmp_path, content, expected):
    (tmp_path / code_names.FILE).write_text(content)
    assert code_names.load(tmp_path, [3]) == [expected]


def test_describe_shows_the_name_beside_the_value():
    assert code_names.describe(3, "sevens") == "3 · sevens"
    assert code_names.describe(3, "") == "3"

"""The explorer's latent state and its URL form (latent_studio.app.sampling, latent_studio.app.permalink)."""

import pytest
import torch

from latent_studio.app.permalink import Permalink, from_query, to_query
from latent_studio.app.sampling import LatentState, build, draw, each_class, with_rows
from latent_studio.runs.config import LatentSpec

INFOGAN = LatentSpec(dim=5, categorical=[10], continuous=2)
CGAN = LatentSpec(dim=4, num_classes=3)


def test_unchanged_state_is_the_seed_draw():
    sample, drawn = build(INFOGAN, LatentState(seed=3)), draw(INFOGAN, 3)
    assert torch.equal(sample.generator_input(), drawn.generator_input())


def test_same_state_gives_same_input_and_another_seed_another():
    state = LatentState(seed=5, z={1: 0.5})
    assert torch.equal(build(INFOGAN, state).generator_input(), build(INFOGAN, state).generator_input())
    assert not torch.equal(build(INFOGAN, state).z, build(INFOGAN, LatentState(seed=6, z={1: 0.5})).z)


def test_changes_overwrite_only_their_own_entries():
    base = draw(INFOGAN, 1)
    sample = build(INFOGAN, LatentState(seed=1, z={0: 2.5, 4: -1.0}, categorical={0: 7}, continuous={1: 1.75}))
    expected_z = base.z.clone()
    expected_z[0, 0], expected_z[0, 4] = 2.5, -1.0
    assert torch.equal(sample.z, expected_z)
    assert sample.categorical[0].tolist() == [7]
    assert sample.continuous.tolist() == [[base.continuous[0, 0].item(), 1.75]]


def test_label_overrides_the_drawn_class():
    assert build(CGAN, LatentState(seed=0, label=2)).labels.tolist() == [2]


def test_fit_drops_what_the_spec_has_no_place_for():
    state = LatentState(seed=4, z={0: 1.0, 5: 2.0, -1: 3.0}, categorical={0: 9, 1: 0}, continuous={0: 0.5, 2: 1.0}, label=1)
    assert state.fit(INFOGAN) == LatentState(seed=4, z={0: 1.0}, categorical={0: 9}, continuous={0: 0.5}, label=None)
    assert LatentState(categorical={0: 10}, label=3).fit(INFOGAN) == LatentState()
    assert LatentState(label=2).fit(CGAN).label == 2


def test_with_methods_return_new_states():
    state = LatentState(seed=1)
    changed = state.with_z(2, 1.0).with_categorical(0, 3).with_continuous(1, -0.5).with_label(2)
    assert state == LatentState(seed=1)
    assert changed == LatentState(seed=1, z={2: 1.0}, categorical={0: 3}, continuous={1: -0.5}, label=2)


def test_with_rows_repeats_codes_and_class_for_each_z():
    sample = build(LatentSpec(dim=3, categorical=[4], continuous=1, num_classes=2), LatentState(seed=0, categorical={0: 3}, label=1))
    rows = with_rows(sample, torch.arange(6.0).view(2, 3))
    assert rows.z.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert rows.categorical[0].tolist() == [3, 3]
    assert rows.labels.tolist() == [1, 1]
    assert torch.equal(rows.continuous, sample.continuous.expand(2, 1))


def test_each_class_keeps_z_and_walks_the_labels():
    sample = build(CGAN, LatentState(seed=2))
    every = each_class(sample)
    assert every.labels.tolist() == [0, 1, 2]
    assert torch.equal(every.z, sample.z.expand(3, -1))


def test_permalink_round_trip_is_exact():
    link = Permalink("runs/dcgan-mnist", "InfoGAN codes",
                     LatentState(seed=42, z={3: 1.5, 40: -0.25, 7: 0.1 + 0.2}, categorical={0: 7}, continuous={1: -1.95}, label=2))
    assert from_query(to_query(link)) == link


def test_permalink_leaves_out_defaults():
    assert to_query(Permalink("m", None, LatentState())) == {"model": "m"}
    assert to_query(Permalink(None, "Sliders", LatentState(seed=3, z={1: 2.0}))) == {"view": "Sliders", "seed": "3", "z": "1:2.0"}


def test_permalink_writes_dimensions_in_order():
    assert to_query(Permalink(state=LatentState(z={12: 1.0, 3: -2.0})))["z"] == "3:-2.0,12:1.0"


@pytest.mark.parametrize("query, expected", [
    ({"seed": "abc", "z": "1:2,x:3,4:nan,5:,6:1e1,:1"}, LatentState(z={1: 2.0, 6: 10.0})),
    ({"cat": "0:1.5,1:2", "cont": "0:inf", "label": "two"}, LatentState(categorical={1: 2})),
    ({"seed": "-5"}, LatentState()),
    ({"seed": str(2**40)}, LatentState()),
    ({}, LatentState()),
])
def test_permalink_ignores_malformed_parts(query, expected):
    assert from_query(query).state == expected

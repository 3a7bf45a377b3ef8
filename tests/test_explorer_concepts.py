"""Concepts and the latent math the bank, attributes and manifold views build on."""

import json

import pytest
import torch
from torch.testing import assert_close

from latent_studio.app.concepts import MAX_CONCEPTS, MAX_NAME, MAX_VECTORS, Concept, ConceptError, from_json, merged, to_json
from latent_studio.inference.latent import plane, steer


def _concepts() -> dict[str, Concept]:
    g = torch.Generator().manual_seed(0)
    return {"smiling": Concept(torch.randn(3, 5, generator=g), {"seed": 4, "indices": [1, 2, 9]}),
            "glasses": Concept(torch.randn(1, 5, generator=g))}


def test_concept_mean_is_the_mean_of_its_vectors():
    concept = Concept(torch.tensor([[1.0, 2.0], [3.0, 6.0]]))
    assert concept.mean.tolist() == [2.0, 4.0]


def test_concepts_round_trip_through_json_exactly():
    concepts = _concepts()
    loaded = from_json(to_json(concepts, "dcgan", 5), 5)
    assert list(loaded) == ["smiling", "glasses"]
    for name, concept in concepts.items():
        assert torch.equal(loaded[name].vectors, concept.vectors)
        assert loaded[name].source == concept.source


def test_concepts_json_records_model_and_size():
    data = json.loads(to_json(_concepts(), "sngan-celeba", 5))
    assert (data["format"], data["version"], data["model"], data["input_dim"]) == ("latent-studio-concepts", 1, "sngan-celeba", 5)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"format": "other"}', "not a Latent Studio concepts file"),
    ('{"format": "latent-studio-concepts", "version": 2, "input_dim": 5}', "version 2"),
    ('{"format": "latent-studio-concepts", "version": 1, "input_dim": 7, "model": "big"}', "7 latent inputs .*'big'.* has 5"),
    ('{"format": "latent-studio-concepts", "version": 1, "input_dim": 5}', "no 'concepts'"),
    ('{"format": "latent-studio-concepts", "version": 1, "input_dim": 5, "concepts": {"a": {"vectors": [["x"]]}}}', "'a'.*numbers"),
    ('{"format": "latent-studio-concepts", "version": 1, "input_dim": 5, "concepts": {"a": {"vectors": [[1, 2]]}}}', "length 5"),
    ('{"format": "latent-studio-concepts", "version": 1, "input_dim": 5, "concepts": {"a": {"vectors": []}}}', "non-empty"),
    ('{"format": "latent-studio-concepts", "version": 1, "input_dim": 1, "concepts": {"a": {"vectors": [[NaN]]}}}', "not finite"),
    ("[" * 200_000 + "]" * 200_000, "too deeply"),
    ('{"format": "latent-studio-concepts", "version": 1, "input_dim": 1, "concepts": {"a": {"vectors": [[' + "9" * 5000 + ']]}}}',
     "not valid JSON"),
    ('{"format": "latent-studio-concepts", "version": 1, "input_dim": 1, "concepts": {"a": {"vectors": [[' + str(10**400) + ']]}}}',
     "'a'.*numbers"),
    ('{"format": "latent-studio-concepts", "version": 1, "input_dim": 1, "concepts": {"a": {"vectors": [' + "[" * 500 + "]" * 500
     + ']}}}', "'a'.*numbers"),
])
def test_bad_concept_files_are_refused_with_a_reason(text, message):  # hostile ones too: deep, huge numbers
    size = 1 if '"input_dim": 1' in text else 5
    with pytest.raises(ConceptError, match=message):
        from_json(text, size)


def _file(concepts: dict) -> str:
    return json.dumps({"format": "latent-studio-concepts", "version": 1, "input_dim": 1, "concepts": concepts})


@pytest.mark.parametrize("concepts, message", [
    ({f"c{i}": {"vectors": [[0.0]]} for i in range(MAX_CONCEPTS + 1)}, f"{MAX_CONCEPTS + 1} concepts.*at most {MAX_CONCEPTS}"),
    ({"many": {"vectors": [[0.0]] * (MAX_VECTORS + 1)}}, f"{MAX_VECTORS + 1} vectors"),
    ({"x" * (MAX_NAME + 1): {"vectors": [[0.0]]}}, f"longer than {MAX_NAME}"),
], ids=["concepts", "vectors", "name"])
def test_a_concepts_file_too_big_to_draw_is_refused_before_its_vectors_are_read(concepts, message):
    """Each concept is drawn in the gallery: a file of thousands would have the server generate
    thousands of images in one run."""
    with pytest.raises(ConceptError, match=message):
        from_json(_file(concepts), 1)


def test_loaded_concepts_join_the_current_ones_up_to_the_limit():
    one = Concept(torch.zeros(1, 1))
    current = {f"c{i}": one for i in range(MAX_CONCEPTS - 1)}
    assert len(merged(current, {"c0": one, "new": one})) == MAX_CONCEPTS  # c0 replaced, one added
    with pytest.raises(ConceptError, match="delete some first"):
        merged(current, {"new": one, "newer": one})


def test_steer_adds_weighted_directions():
    z = torch.tensor([1.0, 0.0, -1.0])
    directions = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 2.0]])
    assert_close(steer(z, directions, [0.5, -1.0]), torch.tensor([1.5, -2.0, -3.0]))
    assert_close(steer(z[None], directions, [0.0, 0.0]), z[None])


def test_steer_leaves_z_unchanged():
    z = torch.zeros(3)
    steer(z, torch.ones(1, 3), [2.0])
    assert z.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("directions, weights, message", [
    (torch.ones(2, 4), [1.0, 1.0], r"shaped \[K, 3\]"),
    (torch.ones(2, 3), [1.0], "1 weights for 2 directions"),
])
def test_steer_rejects_mismatched_shapes(directions, weights, message):
    with pytest.raises(ValueError, match=message):
        steer(torch.zeros(3), directions, weights)


def test_plane_reads_like_a_plot_of_the_latent_plane():
    assert plane(3, 2.0).tolist() == [[-2, 2], [0, 2], [2, 2], [-2, 0], [0, 0], [2, 0], [-2, -2], [0, -2], [2, -2]]


def test_plane_needs_two_points_a_side():
    with pytest.raises(ValueError, match="at least 2"):
        plane(1, 1.0)

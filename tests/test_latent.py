import math

import pytest
import torch
from torch.testing import assert_close

from latent_studio.inference.latent import arithmetic, concept_mean, interpolate, lerp, mix, one_hot, perturb, slerp, window_positions


def _random(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_lerp_midpoint_is_average():
    a = torch.tensor([0.0, 2.0, -4.0])
    b = torch.tensor([2.0, 4.0, 4.0])
    assert_close(lerp(a, b, 0.5), torch.tensor([1.0, 3.0, 0.0]))


def test_slerp_endpoints_equal_inputs():
    a, b = _random(8, seed=1), _random(8, seed=2)
    assert_close(slerp(a, b, 0.0), a)
    assert_close(slerp(a, b, 1.0), b)


@pytest.mark.parametrize("t", [0.25, 0.5, 0.75])
def test_slerp_keeps_norm_of_equal_norm_vectors(t):
    a = _random(16, seed=1)
    b = _random(16, seed=2)
    b = b / b.norm() * a.norm()
    assert_close(slerp(a, b, t).norm(), a.norm())


def test_slerp_orthogonal_unit_vectors_midpoint():
    a = torch.tensor([1.0, 0.0, 0.0])
    b = torch.tensor([0.0, 1.0, 0.0])
    assert_close(slerp(a, b, 0.5), (a + b) / math.sqrt(2))


@pytest.mark.parametrize(
    "a, b",
    [
        (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 6.0])),
        (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([-1.0, -2.0, -3.0])),
        (torch.zeros(3), torch.tensor([1.0, 2.0, 3.0])),
    ],
    ids=["parallel", "opposite", "zero"],
)
def test_slerp_falls_back_to_lerp_when_arc_is_undefined(a, b):
    for t in (0.0, 0.3, 0.5, 1.0):
        result = slerp(a, b, t)
        assert torch.isfinite(result).all()
        assert_close(result, lerp(a, b, t))


def test_batch_slerp_matches_per_row_slerp():
    a, b = _random(4, 6, seed=1), _random(4, 6, seed=2)
    b[2] = 3 * a[2]  # one degenerate row must not affect the others
    expected = torch.stack([slerp(a[i], b[i], 0.3) for i in range(4)])
    assert_close(slerp(a, b, 0.3), expected)


def test_slerp_does_not_modify_inputs():
    a, b = _random(5, seed=1), _random(5, seed=2)
    a_before, b_before = a.clone(), b.clone()
    slerp(a, b, 0.4)
    assert torch.equal(a, a_before)
    assert torch.equal(b, b_before)


@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_interpolate_shape_and_endpoints(method):
    a, b = _random(8, seed=1), _random(8, seed=2)
    frames = interpolate(a, b, 5, method=method)
    assert frames.shape == (5, 8)
    assert_close(frames[0], a)
    assert_close(frames[-1], b)


def test_interpolate_rejects_unknown_method():
    with pytest.raises(ValueError, match="unknown interpolation method 'cubic'"):
        interpolate(torch.zeros(3), torch.ones(3), 4, method="cubic")


@pytest.mark.parametrize("steps", [0, 1])
def test_interpolate_rejects_fewer_than_two_steps(steps):
    with pytest.raises(ValueError, match="steps must be at least 2"):
        interpolate(torch.zeros(3), torch.ones(3), steps)


def test_concept_mean_of_known_vectors():
    vectors = [
        torch.tensor([1.0, 2.0]),
        torch.tensor([3.0, 6.0]),
        torch.tensor([5.0, 1.0]),
    ]
    assert_close(concept_mean(vectors), torch.tensor([3.0, 3.0]))
    assert_close(concept_mean(torch.stack(vectors)), torch.tensor([3.0, 3.0]))


@pytest.mark.parametrize("empty", [[], torch.empty(0, 4)], ids=["list", "tensor"])
def test_concept_mean_rejects_empty_group(empty):
    with pytest.raises(ValueError, match="empty group"):
        concept_mean(empty)


@pytest.mark.parametrize(
    "alpha, expected", [(0.0, [2.0, 0.0]), (0.5, [1.0, 1.0]), (1.0, [0.0, 2.0])]
)
def test_mix_blends_by_alpha(alpha, expected):
    a = torch.tensor([2.0, 0.0])
    b = torch.tensor([0.0, 2.0])
    assert_close(mix(a, b, alpha), torch.tensor(expected))


def test_arithmetic_is_a_minus_b_plus_c():
    a = torch.tensor([5.0, 1.0])
    b = torch.tensor([2.0, 3.0])
    c = torch.tensor([1.0, 1.0])
    assert_close(arithmetic(a, b, c), torch.tensor([4.0, -1.0]))


def test_one_hot():
    vector = one_hot(2, 5)
    assert vector.dtype == torch.float32
    assert_close(vector, torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0]))


@pytest.mark.parametrize("index", [-1, 5])
def test_one_hot_rejects_index_out_of_range(index):
    with pytest.raises(ValueError, match="out of range"):
        one_hot(index, 5)


@pytest.mark.parametrize("fill", ["random", "hanning", "zeros", "ones"])
def test_perturb_leaves_base_untouched(fill):
    base = _random(10)
    before = base.clone()
    perturb(base, 3, [0, 4, 8], fill, generator=torch.Generator().manual_seed(0))
    assert torch.equal(base, before)


@pytest.mark.parametrize("fill", ["random", "hanning", "zeros", "ones"])
def test_perturb_rows_equal_base_outside_window(fill):
    base = _random(10)
    rows = perturb(base, 3, [0, 4], fill, generator=torch.Generator().manual_seed(0))
    assert rows.shape == (2, 10)
    assert torch.equal(rows[0, 3:], base[3:])
    assert torch.equal(rows[1, :4], base[:4])
    assert torch.equal(rows[1, 7:], base[7:])


@pytest.mark.parametrize(
    "fill, expected",
    [
        ("zeros", torch.zeros(5)),
        ("ones", torch.ones(5)),
        ("hanning", torch.tensor([0.0, 0.5, 1.0, 0.5, 0.0])),
        ("random", torch.randn(5, generator=torch.Generator().manual_seed(7))),
    ],
)
def test_perturb_window_contents_per_fill(fill, expected):
    rows = perturb(
        _random(12), 5, [3], fill, generator=torch.Generator().manual_seed(7)
    )
    assert_close(rows[0, 3:8], expected)


def test_perturb_random_draws_fresh_values_per_row():
    rows = perturb(
        torch.zeros(8), 4, [0, 0], "random", generator=torch.Generator().manual_seed(0)
    )
    assert not torch.equal(rows[0], rows[1])


def test_perturb_clips_window_at_end():
    base = _random(10)
    rows = perturb(base, 5, [7], "hanning")
    assert torch.equal(rows[0, :7], base[:7])
    assert_close(rows[0, 7:], torch.tensor([0.0, 0.5, 1.0]))


@pytest.mark.parametrize(
    "window, positions, fill, message",
    [
        (0, [0], "zeros", "window must be between 1 and 6"),
        (7, [0], "zeros", "window must be between 1 and 6"),
        (2, [6], "zeros", r"positions \[6\] are outside"),
        (2, [-1], "zeros", r"positions \[-1\] are outside"),
        (2, [0], "stripes", "unknown fill 'stripes'"),
    ],
)
def test_perturb_rejects_bad_arguments(window, positions, fill, message):
    with pytest.raises(ValueError, match=message):
        perturb(torch.zeros(6), window, positions, fill)


@pytest.mark.parametrize(
    "dim, window, stride, expected",
    [
        (10, 3, 2, [0, 2, 4, 6]),
        (10, 3, 3, [0, 3, 6]),
        (10, 10, 1, [0]),
        (4, 5, 1, []),
    ],
)
def test_window_positions_keep_window_inside_vector(dim, window, stride, expected):
    assert window_positions(dim, window, stride) == expected


@pytest.mark.parametrize("window, stride", [(0, 1), (2, 0)])
def test_window_positions_rejects_bad_arguments(window, stride):
    with pytest.raises(ValueError):
        window_positions(10, window, stride)

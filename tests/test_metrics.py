"""Sample-quality metrics on cases with known answers."""

import numpy as np
import pytest
import torch

from latent_studio.evaluation.metrics import frechet_distance, gaussian, inception_score, nearest_neighbours, precision_recall, purity


def test_frechet_distance_is_zero_for_the_same_gaussian():
    x = torch.randn(2000, 4)
    assert frechet_distance(gaussian(x), gaussian(x)) == pytest.approx(0, abs=1e-6)


def test_frechet_distance_of_1d_gaussians_matches_the_closed_form():
    a = (np.array([1.0]), np.array([[4.0]]))
    b = (np.array([3.0]), np.array([[1.0]]))
    assert frechet_distance(a, b) == pytest.approx((1 - 3) ** 2 + 4 + 1 - 2 * 2)


def test_frechet_distance_of_shifted_isotropic_gaussians():
    a = (np.zeros(3), np.eye(3))
    b = (np.ones(3) * 2, np.eye(3))
    assert frechet_distance(a, b) == pytest.approx(12.0)


def test_inception_score_bounds():
    assert inception_score(torch.full((10, 5), 0.2)) == pytest.approx(1.0)
    assert inception_score(torch.eye(5).repeat(2, 1)) == pytest.approx(5.0, rel=1e-6)


def test_precision_and_recall_of_identical_and_disjoint_sets():
    real = torch.randn(200, 2)
    assert precision_recall(real, real.clone()) == (1.0, 1.0)
    assert precision_recall(real, real + 100) == (0.0, 0.0)
    p, r = precision_recall(real, real[:20] * 0.01)  # collapsed fakes: precise, no recall
    assert p == 1.0 and r < 0.2


def test_purity_maps_each_code_to_its_majority_class():
    codes = torch.tensor([0, 0, 0, 1, 1, 1])
    preds = torch.tensor([7, 7, 3, 2, 2, 2])
    score, mapping = purity(codes, preds)
    assert score == pytest.approx(5 / 6) and mapping == {0: 7, 1: 2}


def test_nearest_neighbours_across_chunks():
    pool = torch.arange(10.0)[:, None] * torch.ones(1, 3)
    d, i = nearest_neighbours(torch.tensor([[7.2, 7.2, 7.2]]), pool, k=2, chunk=3)
    assert i.tolist() == [[7, 8]]
    torch.testing.assert_close(d, torch.tensor([[0.2, 0.8]]) * 3**0.5)

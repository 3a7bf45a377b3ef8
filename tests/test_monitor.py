"""Failure-mode warnings fire on the patterns they describe, once, and not on healthy training."""

import torch

from latent_studio.training.monitor import FailureMonitor, diversity


def test_discriminator_dominance_is_reported_once():
    monitor = FailureMonitor(window=3, warmup=0)
    warnings = [monitor.update(i, {"d_loss": 0.01, "g_loss": 2.0 + i}) for i in range(6)]
    assert [len(w) for w in warnings] == [0, 0, 1, 0, 0, 0]
    assert "discriminator dominance" in warnings[2][0]


def test_balanced_losses_raise_no_warning():
    monitor = FailureMonitor(window=3, warmup=0)
    assert not any(monitor.update(i, {"d_loss": 1.3, "g_loss": 0.8 + 0.01 * i}) for i in range(10))


def test_collapsed_samples_are_reported_after_warmup():
    real = torch.rand(16, 1, 8, 8)
    collapsed = torch.rand(1, 1, 8, 8).expand(16, -1, -1, -1) + 0.001 * torch.rand(16, 1, 8, 8)
    monitor = FailureMonitor(warmup=100)
    metrics = {}
    assert monitor.update(50, metrics, collapsed, real) == []
    assert "collapsed diversity" in monitor.update(100, metrics, collapsed, real)[0]
    assert metrics["diversity_ratio"] < 0.05
    assert FailureMonitor(warmup=0).update(100, {}, torch.rand(16, 1, 8, 8), real) == []


def test_diversity_is_zero_for_identical_images():
    assert diversity(torch.ones(4, 3, 2, 2)) == 0.0

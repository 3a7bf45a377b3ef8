"""Properties of the loss terms, checked exactly on constructed inputs."""

import math

import pytest
import torch
from torch import nn

from latent_studio.families.losses import adversarial, clip_weights, gradient_penalty, grid_excess, info_loss


class LinearCritic(nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere, with norm ||w||."""

    def __init__(self, norm: float, shape=(1, 4, 4)):
        super().__init__()
        w = torch.randn(*shape)
        self.w = nn.Parameter(w / w.norm() * norm)

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


@pytest.mark.parametrize("batch", [1, 3, 64])
def test_gradient_penalty_is_zero_for_unit_gradient_and_one_for_norm_two(batch):
    real, fake = torch.randn(batch, 1, 4, 4), torch.randn(batch, 1, 4, 4)
    assert gradient_penalty(LinearCritic(1.0), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert gradient_penalty(LinearCritic(2.0), real, fake).item() == pytest.approx(1.0, abs=1e-5)


def test_gradient_penalty_is_differentiable_wrt_the_critic():
    critic = LinearCritic(2.0)
    gradient_penalty(critic, torch.randn(4, 1, 4, 4), torch.randn(4, 1, 4, 4)).backward()
    assert critic.w.grad is not None and critic.w.grad.norm() > 0


def test_bce_at_zero_logits_is_ln2():
    zeros = torch.zeros(16)
    assert adversarial(zeros, True, "bce").item() == pytest.approx(math.log(2))
    assert adversarial(zeros, False, "bce").item() == pytest.approx(math.log(2))


def test_wasserstein_and_least_squares_losses():
    x = torch.tensor([1.0, 3.0])
    assert adversarial(x, True, "wasserstein").item() == -2.0
    assert adversarial(x, False, "wasserstein").item() == 2.0
    assert adversarial(x, True, "mse").item() == pytest.approx((0 + 4) / 2)
    with pytest.raises(ValueError, match="unknown adversarial loss"):
        adversarial(x, True, "softplus-ish")


def test_clip_weights_bounds_every_parameter():
    net = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
    nn.init.normal_(net[0].weight, std=5)
    clip_weights(net, 0.01)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())


def test_info_loss_matches_hand_computed_values():
    # One 3-way code, one continuous code. Logits favour the right class; mean 0.5, log-std 0.
    q = torch.tensor([[2.0, 0.0, 0.0, 0.5, 0.0]])
    cat, cont = info_loss(q, [torch.tensor([0])], [3], torch.tensor([[1.5]]), "gaussian")
    assert cat.item() == pytest.approx(-math.log(math.exp(2) / (math.exp(2) + 2)))
    assert cont.item() == pytest.approx(0.5 * 1.0**2)  # 0.5 * ((1.5 - 0.5) / 1)^2 + log 1
    _, mse = info_loss(q, [torch.tensor([0])], [3], torch.tensor([[1.5]]), "mse")
    assert mse.item() == pytest.approx(1.0)


def smooth_photos(n=2, size=32):
    """Soft diagonal gradients with a little random texture, in [-1, 1]."""
    ramp = torch.linspace(-0.8, 0.8, size)
    base = ((ramp[None, :] + ramp[:, None]) / 2).expand(n, 3, size, size)
    return (base + 0.05 * torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)


def period_2_grid(size=32):
    i, j = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (1 - 2 * ((i + j) % 2)).float()  # the pattern a stride-2 decoder leaves


def test_grid_excess_is_zero_for_the_source_itself_and_grows_with_an_added_grid():
    source, grid = smooth_photos(), period_2_grid()
    assert grid_excess(source, source).item() == 0.0
    faint, strong = (grid_excess(source + a * grid, source).item() for a in (0.02, 0.1))
    assert 0 < faint < strong
    assert grid_excess(source, source + 0.1 * grid).item() == 0.0  # less grid than its source: no penalty


def test_grid_excess_gradient_removes_the_grid():
    source = smooth_photos()
    output = (source + 0.1 * period_2_grid()).requires_grad_()
    before = grid_excess(output, source)
    before.backward()
    stepped = output - 0.01 * output.grad / output.grad.abs().max()
    assert grid_excess(stepped.detach(), source).item() < before.item()

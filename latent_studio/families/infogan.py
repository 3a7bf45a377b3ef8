"""InfoGAN (Chen et al. 2016): G gets codes c beside z, and a head Q on D's trunk recovers c from
G(z, c). Maximising that mutual information makes the codes interpretable: on MNIST a 10-way
categorical code becomes the digit and two continuous codes become slant and width."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from latent_studio.families.base import register
from latent_studio.families.gan import GAN, Objective
from latent_studio.families.losses import adversarial, categorical_info_loss, info_loss, split_q_output
from latent_studio.families.networks.gan import dcgan_init, norm_1d
from latent_studio.runs.config import DataSpec, LatentSample


def jitter(images: torch.Tensor, degrees: float = 10.0, scale: float = 0.1, shift: float = 0.1) -> torch.Tensor:
    """Each image rotated by up to `degrees`, scaled by up to `scale` and shifted by up to `shift` of
    its width, at random and differentiably, with the border colour filling in."""
    n = images.size(0)
    rand = lambda *size: torch.rand(n, *size, device=images.device) * 2 - 1  # noqa: E731
    angle, zoom, offset = rand() * math.radians(degrees), 1 + rand() * scale, rand(2) * 2 * shift
    cos, sin = angle.cos() / zoom, angle.sin() / zoom
    theta = torch.stack([torch.stack([cos, -sin, offset[:, 0]], 1), torch.stack([sin, cos, offset[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode="border", align_corners=False)


class QHead(nn.Module):
    """Q(c | x) from D's features: logits per categorical code, mean and log-std per continuous
    (losses.split_q_output splits its output)."""

    def __init__(self, features: int, out: int, hidden: int = 128, norm: str = "batch"):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, hidden), norm_1d(norm, hidden), nn.LeakyReLU(0.2, True), nn.Linear(hidden, out))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


@register
class InfoGAN(GAN):
    name = "infogan"
    exported = ("generator", "discriminator", "q")  # the explorer shows Q's reading of an image
    optimizer_modules = {"g": ("generator",), "d": ("discriminator", "q")}

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        """The paper's MNIST setting (z of 62, one 10-way categorical code, two continuous codes in
        [-1, 1], a fully connected layer in G and in D, lr 1e-3 for G and 2e-4 for D), with the
        continuous codes read by a fixed-variance Gaussian (MSE, weight 0.5) and Q also reading the
        categorical code from jittered fakes (weight 1): both keep the categorical code on digit
        identity (MNIST purity 98.3-99.6% over four seeds; 68-92% without jitter, 78% with a
        learned variance; the runs are in docs/experiments.md).
        """
        d = super().defaults(data)
        d["arch"]["generator"]["hidden"] = 256
        d["arch"]["discriminator"]["hidden"] = 512
        d["arch"]["q_hidden"] = 128
        d["latent"] = {"dim": 62, "categorical": [10], "continuous": 2, "continuous_range": 1.0}
        # fp32: under bf16 autocast three seeds reached purity 90/99/96% and domain FID 8.1/10.1/12.2 at
        # 3000 steps, against 99.1/98.6/99.0% and 8.2/7.8/7.6 in fp32 (docs/experiments.md, Speed)
        d["train"].update(lr_g=1e-3, lr_d=2e-4, info_cont_loss="mse", info_cont_weight=0.5, info_cat_jitter=1.0, bf16=False)
        return d

    def build(self) -> nn.ModuleDict:
        m = super().build()
        lat = self.cfg.latent
        q = QHead(m["discriminator"].features, sum(lat.categorical) + 2 * lat.continuous, self.cfg.arch.get("q_hidden", 128),
                  self.cfg.arch["discriminator"].get("norm", "batch"))
        if self.cfg.arch.get("init") == "dcgan":
            dcgan_init(q)
        m["q"] = q
        return m

    def info_terms(self, m: nn.ModuleDict, fake: torch.Tensor, features: torch.Tensor, noise: LatentSample) -> Objective:
        """Q's reading of the codes of `fake` (whose D features are `features`). With
        info_cat_jitter, Q must also read the categorical codes from a rotated, scaled and shifted
        copy, so a code value cannot be told apart by slant, size or position alone."""
        t, lat = self.cfg.train, self.cfg.latent
        q_out = m["q"](features)
        cat, cont = info_loss(q_out, noise.categorical, lat.categorical, noise.continuous, t.info_cont_loss)
        parts = {"info_cat": cat, "info_cont": cont}
        if lat.categorical:
            first = split_q_output(q_out, lat.categorical, lat.continuous).logits[0]
            parts["q_cat_acc"] = (first.argmax(1) == noise.categorical[0]).float().mean()
        loss = t.info_cat_weight * cat + t.info_cont_weight * cont
        if t.info_cat_jitter and lat.categorical:
            q_jittered = split_q_output(m["q"](m["discriminator"](jitter(fake))["features"]), lat.categorical, lat.continuous)
            parts["info_cat_jitter"] = categorical_info_loss(q_jittered.logits, noise.categorical)
            loss = loss + t.info_cat_jitter * parts["info_cat_jitter"]
        return loss, parts

    def d_objective(self, m: nn.ModuleDict, real: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor, noise: LatentSample) -> Objective:
        """D and Q together: the adversarial loss, plus Q learning to read the codes of fakes."""
        D = m["discriminator"]
        f = D(fake)
        loss, parts = self.adversarial_terms(D(real), f)
        info, info_parts = self.info_terms(m, fake, f["features"], noise)
        parts.update(info_loss=info, **info_parts)
        return loss + info, parts

    def g_objective(self, m: nn.ModuleDict, fake: torch.Tensor, noise: LatentSample) -> Objective:
        """G fools D and makes its codes readable by Q (Q itself is frozen in this step)."""
        f = m["discriminator"](fake)
        info, _ = self.info_terms(m, fake, f["features"], noise)
        return adversarial(f["adv"], True, self.loss_kind) + info, {"g_info_loss": info}

"""Variational autoencoder (Kingma & Welling 2014). Its decoder is a generator like any other, so
the explorer samples it the same way; with a 2-D latent the whole latent plane can be drawn."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from latent_studio.families.base import Family, StepContext, register
from latent_studio.families.networks.gan import make_encoder, make_generator
from latent_studio.runs.config import DataSpec


@register
class VAE(Family):
    name = "vae"
    exported = ("generator", "encoder")  # decoder for sampling, encoder for the latent scatter
    optimizer_modules = {"g": ("encoder", "generator")}

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        return {
            "arch": {"generator": {"kind": "conv", "width": 32}, "encoder": {"kind": "conv", "width": 32, "norm": "batch", "hidden": 256}},
            "latent": {"dim": 16, "prior": "normal"},
            "train": {"optimizer": "adam", "lr_g": 1e-3, "betas": [0.9, 0.999]},
        }

    def build(self) -> nn.ModuleDict:
        c, d = self.cfg, self.cfg.latent.dim
        return nn.ModuleDict({
            "encoder": make_encoder(c.arch["encoder"], c.data.channels, c.data.image_size, {"mu": d, "logvar": d}),
            "generator": make_generator(c.arch["generator"], d, c.data.channels, c.data.image_size),
        })

    def train_step(self, m: nn.ModuleDict, ctx: StepContext) -> dict[str, torch.Tensor]:
        real, _ = ctx.next_batch()
        with ctx.autocast():
            out = m["encoder"](real)
            mu, logvar = out["mu"].float(), out["logvar"].float().clamp(-10, 10)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # reparameterization trick
            recon_x = m["generator"](z).float()
        # Pixels are Bernoulli probabilities: map both images from [-1, 1] to [0, 1].
        p = ((recon_x + 1) / 2).clamp(1e-6, 1 - 1e-6)
        recon = F.binary_cross_entropy(p, (real.float() + 1) / 2, reduction="sum") / real.size(0)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum() / real.size(0)
        loss = recon + self.cfg.train.kl_weight * kl
        ctx.update("g", loss)
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}

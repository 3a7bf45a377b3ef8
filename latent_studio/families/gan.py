"""The unconditional GANs: DCGAN, LSGAN, WGAN, WGAN-GP. They differ only in the adversarial loss,
the critic's normalization and the regularizer (clipping or gradient penalty), so one GAN class
holds the alternating D/G step and each family sets what differs."""

from __future__ import annotations

import torch
from torch import nn

from latent_studio.data.augment import diff_augment
from latent_studio.families.base import Family, StepContext, register
from latent_studio.families.losses import adversarial, clip_weights, confidence, generator_adversarial, gradient_penalty
from latent_studio.families.networks.gan import dcgan_init, make_encoder, make_generator
from latent_studio.runs.config import DataSpec, LatentSample

# What an objective returns: the loss one player minimises, and its parts by name (the trainer logs them).
Objective = tuple[torch.Tensor, dict[str, torch.Tensor]]


class GAN(Family):
    loss_kind = "bce"

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        return {
            "arch": {
                "generator": {"kind": "conv", "width": 64},
                "discriminator": {"kind": "conv", "width": 64, "norm": "batch"},
                "init": "dcgan",
            },
            "latent": {"dim": 100, "prior": "normal"},
            "train": {"optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999]},
        }

    def d_heads(self) -> dict[str, int]:
        return {"adv": 1}

    def condition(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        """What D sees beside the image (CGAN's one-hot label); nothing for unconditional GANs."""
        return None

    def build(self) -> nn.ModuleDict:
        c = self.cfg
        cond_dim = c.latent.num_classes if type(self).condition is not GAN.condition else 0
        m = nn.ModuleDict({
            "generator": make_generator(c.arch["generator"], c.latent.input_dim, c.data.channels, c.data.image_size),
            "discriminator": make_encoder(c.arch["discriminator"], c.data.channels, c.data.image_size, self.d_heads(), cond_dim),
        })
        if c.arch.get("init") == "dcgan":
            dcgan_init(m)
        return m

    def d_objective(self, m: nn.ModuleDict, real: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor, noise: LatentSample) -> Objective:
        """D's loss: m holds every network; real [B, C, H, W] has labels [B] (-1: unlabelled); fake is
        G(noise) without gradients to G; noise is what G drew (noise.labels: the fakes' classes)."""
        D, seen = m["discriminator"], self.augment
        return self.adversarial_terms(D(seen(real), self.condition(labels)), D(seen(fake), self.condition(noise.labels)))

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """What D is shown of a real or fake batch: the batch through train.augment's transforms."""
        return diff_augment(images, self.cfg.train.augment)

    def adversarial_terms(self, r: dict[str, torch.Tensor], f: dict[str, torch.Tensor]) -> Objective:
        """D's adversarial loss from its outputs on a real and a fake batch, with its parts."""
        kind = self.loss_kind
        loss_r, loss_f = adversarial(r["adv"], True, kind), adversarial(f["adv"], False, kind)
        parts = {"d_loss_real": loss_r, "d_loss_fake": loss_f, "d_real": confidence(r["adv"], kind), "d_fake": confidence(f["adv"], kind)}
        return loss_r + loss_f, parts

    def g_objective(self, m: nn.ModuleDict, fake: torch.Tensor, noise: LatentSample) -> Objective:
        """G's loss: m holds every network (D frozen); fake [B, C, H, W] is G(noise), with gradients to G."""
        f = m["discriminator"](self.augment(fake), self.condition(noise.labels))
        return generator_adversarial(f["adv"], self.loss_kind), {}

    def train_step(self, m: nn.ModuleDict, ctx: StepContext) -> dict[str, torch.Tensor]:
        t, latent = self.cfg.train, self.cfg.latent
        for _ in range(t.n_critic):
            real, labels = ctx.next_batch()
            noise = latent.sample(real.size(0), device=ctx.device)
            with torch.no_grad(), ctx.autocast():
                fake = m["generator"](noise.generator_input())
            with ctx.autocast():
                d_loss, parts = self.d_objective(m, real, labels, fake, noise)
            ctx.update("d", d_loss)
            if t.clip:
                clip_weights(m["discriminator"], t.clip)
        noise = latent.sample(t.batch_size, device=ctx.device)
        with ctx.frozen("d"), ctx.autocast():
            g_loss, g_parts = self.g_objective(m, m["generator"](noise.generator_input()), noise)
            ctx.update("g", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), **{k: v.detach() for k, v in {**parts, **g_parts}.items()}}


@register
class DCGAN(GAN):
    name = "dcgan"


@register
class LSGAN(GAN):
    name = "lsgan"
    loss_kind = "mse"


@register
class SNGAN(GAN):
    """Spectral normalization in every layer of D instead of BatchNorm, and the hinge loss (Miyato et
    al. 2018): D stays 1-Lipschitz at the cost of one power iteration per layer and step, which keeps
    its gradients useful to G all through training. The face models' recipe, with train.ema and
    train.augment (DiffAugment) for datasets of a few thousand images, and resize-convolution
    upsampling in G (no checkerboard)."""

    name = "sngan"
    loss_kind = "hinge"

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        d = super().defaults(data)
        d["arch"] = {"generator": {"kind": "conv", "width": 64, "upsample": "resize"},
                     "discriminator": {"kind": "conv", "width": 64, "norm": "spectral"}, "init": "default"}
        d["train"] = {**d["train"], "ema": 0.999, "augment": ["color", "translation", "cutout"]}
        return d


@register
class WGAN(GAN):
    """Weight clipping, RMSprop, five critic steps per generator step (Arjovsky et al. 2017)."""

    name = "wgan"
    loss_kind = "wasserstein"

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        d = super().defaults(data)
        d["train"] = {"optimizer": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5, "n_critic": 5, "clip": 0.01}
        return d

    def d_objective(self, m: nn.ModuleDict, real: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor, noise: LatentSample) -> Objective:
        loss, parts = super().d_objective(m, real, labels, fake, noise)
        parts["wasserstein"] = parts["d_real"] - parts["d_fake"]  # the critic's distance estimate
        return loss, parts


@register
class WGANGP(WGAN):
    """Gradient penalty instead of clipping (Gulrajani et al. 2017): per-sample critic (layer norm,
    no BatchNorm), linear output, Adam(1e-4, betas 0/0.9), lambda 10, five critic steps."""

    name = "wgan_gp"

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        d = super().defaults(data)
        d["arch"]["discriminator"]["norm"] = "layer"
        d["train"] = {"optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "betas": [0.0, 0.9], "n_critic": 5, "clip": 0.0, "gp_weight": 10.0}
        return d

    def d_objective(self, m: nn.ModuleDict, real: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor, noise: LatentSample) -> Objective:
        loss, parts = super().d_objective(m, real, labels, fake, noise)
        gp = gradient_penalty(lambda x: m["discriminator"](x)["adv"], real, fake)
        parts["gp"] = gp
        return loss + self.cfg.train.gp_weight * gp, parts

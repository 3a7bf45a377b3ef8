"""CycleGAN (Zhu et al. 2017): two generators translate between unpaired domains A and B, each
judged by its own PatchGAN, with least-squares adversarial losses.

With no pairs, nothing ties an output to its input except the cycle: A -> B -> A must return to
where it started (L1, weight 10). The identity term (G_AB(B) should stay B) stops the
generators from shifting colours they have no reason to touch. Each D also sees a pool of the
last 50 fakes, so it cannot simply chase G's latest trick and set off an oscillation. Rates stay
constant for the first half of training and fall linearly to zero over the second. An optional
grid term (train.grid_weight, off by default) charges each translation for period-2 energy above
its source photo's: the faint grid a resize-convolution decoder still leaves. A fine-tune
(train.init_from) starts fresh discriminators; train.d_warmup trains them alone for its first steps.

A fine-tune with train.distill_shifts takes the other road to a clean grid: no discriminator and no
cycle, only L1 to what the init_from generators make of a photo averaged over its one-pixel shifts
(shift_averaged). That average keeps everything the GAN learned (the snow included) and cancels
the lattice, and the distilled generators make it in one pass instead of four. Every fine-tune
that put a discriminator back in the loop lost the snow along with the grid.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from latent_studio.data.datasets import random_crop_flip
from latent_studio.data.image_quality import l1
from latent_studio.families.base import StepContext, register
from latent_studio.families.img2img import (
    UNPAIRED,
    Img2ImgFamily,
    Serving,
    apply_lr_decay,
    fixed_batch,
    make_discriminator,
    make_generator,
    seen,
)
from latent_studio.families.losses import adversarial, grid_excess
from latent_studio.families.networks.gan import dcgan_init
from latent_studio.runs.config import DataSpec

SHIFTS = ((0, 0), (0, 1), (1, 0), (1, 1))  # (down, right) in pixels: the four phases of a period-2 lattice


def shift_averaged(generator: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """`generator`'s translation of x averaged over x and its one-pixel shifts right, down and
    both, each output shifted back into place. A pattern tied to the decoder's upsampling grid
    does not move with the photo, so in the shifted-back copies its period-2 part appears in
    opposite phases and cancels; what the generator paints because of the photo moves with it and
    stays. The pixel row or column a shift uncovers repeats the image's edge."""
    return sum(seen(generator, x, [(right, down, False) for down, right in SHIFTS])) / len(SHIFTS)


class ImagePool:
    """A history of generated images (Shrivastava et al. 2017). Until the pool holds `size`
    images, each new image is stored and returned; after that each one is, with probability 1/2,
    swapped for a random stored image (which is returned instead), else returned as is."""

    def __init__(self, size: int, seed: int = 0):
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = torch.Generator().manual_seed(seed)  # its own: draws here never shift training noise

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif torch.rand((), generator=self.rng) < 0.5:
                j = int(torch.randint(self.size, (), generator=self.rng))
                out.append(self.images[j])
                self.images[j] = image
            else:
                out.append(image)
        return torch.stack(out)


@register
class CycleGAN(Img2ImgFamily):
    name = "cyclegan"
    example_dataset = "unpaired"
    directions = ("AtoB", "BtoA")
    exported = ("generator_ab", "generator_ba")
    optimizer_modules = {"g": ("generator_ab", "generator_ba"), "d": ("discriminator_a", "discriminator_b")}

    def __init__(self, cfg):
        super().__init__(cfg)
        if cfg.train.distill_shifts and not cfg.train.init_from:
            raise ValueError("train.distill_shifts distils a trained run's generators: set train.init_from to that run")
        self.pools = {d: ImagePool(cfg.train.pool_size, cfg.seed * 2 + i) for i, d in enumerate("ab")}
        self._teachers: nn.ModuleDict | None = None

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        c = data.channels
        return {
            "arch": {
                "generator": {"kind": "resnet", "in_channels": c, "out_channels": c, "width": 64,
                              "n_blocks": 9 if data.image_size >= 256 else 6, "norm": "instance",
                              "upsample": "resize"},
                "discriminator": {"kind": "patch", "width": 64, "n_layers": 3, "norm": "instance"},
            },
            "train": {"optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "batch_size": 1, "adversarial": "mse",
                      "cycle_weight": 10.0, "identity_weight": 5.0, "pool_size": 50, "lr_decay_start": 0.5},
        }

    def build(self) -> nn.ModuleDict:
        g, c = self.cfg.arch["generator"], self.cfg.data.channels
        if (g["in_channels"], g["out_channels"]) != (c, c):
            raise ValueError(f"arch.generator maps {g['in_channels']} -> {g['out_channels']} channels, but the data has {c}: "
                             "set arch.generator.in_channels and out_channels to match")
        d = {**self.cfg.arch["discriminator"], "in_channels": c}
        m = nn.ModuleDict({"generator_ab": make_generator(g), "generator_ba": make_generator(g),
                           "discriminator_a": make_discriminator(d), "discriminator_b": make_discriminator(d)})
        dcgan_init(m)
        return m

    def train_step(self, m: nn.ModuleDict, ctx: StepContext) -> dict[str, torch.Tensor]:
        t = self.cfg.train
        G_ab, G_ba, D_a, D_b = m["generator_ab"], m["generator_ba"], m["discriminator_a"], m["discriminator_b"]
        real_a, real_b = ctx.next_batch()
        if t.crop:
            real_a, real_b = random_crop_flip(real_a, t.crop), random_crop_flip(real_b, t.crop)
        factor = apply_lr_decay(ctx, t.lr_g, t.lr_d, t.steps, t.lr_decay_start)
        if t.distill_shifts:
            return {"distill": self._distill_step(m, ctx, real_a, real_b), "lr_factor": torch.tensor(factor)}
        if ctx.step < t.d_warmup:  # a fine-tune's fresh discriminators learn what is real before they steer G
            with torch.no_grad(), ctx.autocast():
                fake_b, fake_a = G_ab(real_a), G_ba(real_b)
            g_loss = g_adv = cycle = identity = grid = torch.zeros((), device=real_a.device)
        else:
            fake_a, fake_b, (g_loss, g_adv, cycle, identity, grid) = self._generator_step(m, ctx, real_a, real_b)
        with ctx.autocast():
            pooled_a, pooled_b = self.pools["a"].query(fake_a), self.pools["b"].query(fake_b)
            # halved, as in the paper, so each D learns at half its G's pace
            d_a = 0.5 * (adversarial(D_a(real_a), True, t.adversarial) + adversarial(D_a(pooled_a), False, t.adversarial))
            d_b = 0.5 * (adversarial(D_b(real_b), True, t.adversarial) + adversarial(D_b(pooled_b), False, t.adversarial))
            d_loss = d_a + d_b
        ctx.update("d", d_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "g_adv": g_adv.detach(), "cycle": cycle.detach(),
                "identity": identity.detach(), "grid": grid.detach(), "d_a": d_a.detach(), "d_b": d_b.detach(),
                "lr_factor": torch.tensor(factor)}

    def _generator_step(self, m: nn.ModuleDict, ctx: StepContext, real_a: torch.Tensor,
                        real_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
        """Both generators' update: adversarial, cycle, identity and grid terms. Returns the
        translations (for the discriminators) and the losses."""
        t = self.cfg.train
        G_ab, G_ba, D_a, D_b = m["generator_ab"], m["generator_ba"], m["discriminator_a"], m["discriminator_b"]
        with ctx.frozen("d"), ctx.autocast():
            fake_b, fake_a = G_ab(real_a), G_ba(real_b)
            g_adv = adversarial(D_b(fake_b), True, t.adversarial) + adversarial(D_a(fake_a), True, t.adversarial)
            cycle = F.l1_loss(G_ba(fake_b).float(), real_a.float()) + F.l1_loss(G_ab(fake_a).float(), real_b.float())
            identity = torch.zeros((), device=real_a.device)
            if t.identity_weight:  # two more generator passes: skipped when the term is off
                identity = F.l1_loss(G_ab(real_b).float(), real_b.float()) + F.l1_loss(G_ba(real_a).float(), real_a.float())
            grid = torch.zeros((), device=real_a.device)
            if t.grid_weight:
                grid = grid_excess(fake_b, real_a) + grid_excess(fake_a, real_b)  # computed in float64 whatever autocast
            g_loss = g_adv + t.cycle_weight * cycle + t.identity_weight * identity + t.grid_weight * grid
            ctx.update("g", g_loss)
        return fake_a, fake_b, (g_loss, g_adv, cycle, identity, grid)

    def _distill_step(self, m: nn.ModuleDict, ctx: StepContext, real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
        """Both generators' update towards the init_from generators' shift-averaged translations
        (L1); the discriminators are not used. Returns the loss."""
        teachers = self.teachers(ctx.device)
        with torch.no_grad(), ctx.autocast():
            target_b, target_a = shift_averaged(teachers["generator_ab"], real_a), shift_averaged(teachers["generator_ba"], real_b)
        with ctx.autocast():
            fake_b, fake_a = m["generator_ab"](real_a), m["generator_ba"](real_b)
            loss = F.l1_loss(fake_b.float(), target_b.float()) + F.l1_loss(fake_a.float(), target_a.float())
        ctx.update("g", loss)
        return loss.detach()

    def teachers(self, device: torch.device) -> nn.ModuleDict:
        """The init_from run's generators, frozen: read from its files, not from the modules being
        trained, so a resumed distillation aims at the same targets as it started with."""
        from latent_studio.runs.files import warm_start  # checkpoint reads the families: imported when first needed

        if self._teachers is None:
            g = self.cfg.arch["generator"]
            teachers = nn.ModuleDict({name: make_generator(g) for name in self.exported})
            warm_start(teachers, Path(self.cfg.train.init_from), self.exported)
            self._teachers = teachers.to(device).eval().requires_grad_(False)
        return self._teachers

    def serving(self) -> Serving:
        """Both ways, each with the other generator for the round trip."""
        return self.served_as(UNPAIRED, {"AtoB": ("generator_ab", "generator_ba"), "BtoA": ("generator_ba", "generator_ab")})

    def example_batch(self, n: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """(A, B): n images of each domain."""
        return self.image(n, self.cfg.data.channels, device), self.image(n, self.cfg.data.channels, device)

    def fixed_inputs(self, dataset, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        return fixed_batch(dataset, n, device)

    def render(self, m: nn.ModuleDict, fixed: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Six rows: A, A -> B, A -> B -> A, then B, B -> A, B -> A -> B."""
        a, b = fixed
        fake_b, fake_a = m["generator_ab"](a), m["generator_ba"](b)
        return torch.cat([a, fake_b, m["generator_ba"](fake_b), b, fake_a, m["generator_ab"](fake_a)])

    def evaluate(self, m: nn.ModuleDict, test_batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """Mean cycle L1 (on the [0, 1] scale) per domain on the test split. The two halves of a
        batch may differ in length (even be empty), so a caller can show each domain exactly once."""
        sums, counts = {"a": 0.0, "b": 0.0}, {"a": 0, "b": 0}
        for a, b in test_batches:
            for name, x, there, back in (("a", a, "generator_ab", "generator_ba"), ("b", b, "generator_ba", "generator_ab")):
                if len(x):
                    sums[name] += float(l1((m[back](m[there](x)) + 1) / 2, (x + 1) / 2).sum())
                    counts[name] += len(x)
        if not all(counts.values()):
            return {}
        cycle = {f"test_cycle_l1_{d}": round(sums[d] / counts[d], 4) for d in "ab"}
        return {**cycle, "test_cycle_l1": round((cycle["test_cycle_l1_a"] + cycle["test_cycle_l1_b"]) / 2, 4)}

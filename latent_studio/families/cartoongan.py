"""CartoonGAN (Chen et al. 2018), small: photos of faces -> anime faces, learned without pairs.

One generator and one discriminator (and a way back in training, below). The discriminator is
shown three kinds of image: real cartoons (real), the generator's outputs (fake), and the same
real cartoons with their edges smoothed away (also fake). That third kind is the paper's
edge-promoting trick: what sets a drawing apart from a photo is its clear lines, so D is taught
that a cartoon without them is not one, and G learns to draw them. A content loss keeps the
output the same face: L1 between the content features of the photo and of its cartoon, both taken
in gray, so the loss asks for the same structure and leaves G free to recolour. The paper takes
VGG's conv4_4 features; no pretrained network exists here, so they are the feature maps of the
CelebA attribute classifier (checkpoints/classifiers/celeba.safetensors), trained on these faces
to see hair, pose, mouth and eyes, and frozen; by default averaged down to a 4 x 4 layout
(arch.content_depth, below). The paper starts with an initialization phase that trains G on the
content loss alone (train.adv_start, a share of the steps); those features are too coarse to pin
colours, so that phase also asks for the photo back pixel by pixel, and G starts as a copier.

A frozen three-layer face classifier is a weaker content judge than VGG: trained against it alone,
G either kept the photo and painted it in rainbow colours (content weight 10 on the 16 x 16 maps)
or, with less content, drew the same anime face for every photo (weight 3 to 5). Asking a second
generator to give the photo back from its cartoon was not enough either: G drew one face again and
hid what the way back needed in faint colour noise. So with train.cycle_weight the family has
CycleGAN's whole way back: a generator from cartoons to photos with its own discriminator, and both
cycles (photo -> cartoon -> photo, cartoon -> photo -> cartoon). The second cycle is the one that
rules out the collapse: every real cartoon must be one G can draw again, so G has to be able to
draw all of them. The way back is for training only; a run ships the one generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from latent_studio.data.color import luma
from latent_studio.families.base import StepContext, register
from latent_studio.families.img2img import UNPAIRED, Img2ImgFamily, Serving, apply_lr_decay, fixed_batch, make_discriminator, make_generator
from latent_studio.families.losses import adversarial, confidence
from latent_studio.families.networks.gan import dcgan_init
from latent_studio.runs.config import DataSpec

if TYPE_CHECKING:
    from latent_studio.families.classifier import DomainClassifier

# arch.content_depth: how much of the classifier's trunk the content features come from: 11 ends at
# the ReLU after its third conv, 64 maps at a quarter of the side; 12 (the default) adds its 4 x 4
# average pool, which keeps where hair, face and background are but frees the details.
CONTENT_DEPTHS = (11, 12)
FIRST_CONTENT_DEPTH = 11  # what runs trained before arch.content_depth existed used (their config lacks the key)
EDGE_SHARE = 0.1  # the strongest tenth of a cartoon's luma gradients are its lines ...
EDGE_FLOOR = 0.01  # ... if at least this strong (squared, on the [-1, 1] scale: a step of a twentieth of the range)


class ContentFeatures(nn.Module):
    """The frozen feature maps the content loss compares (see the module docstring)."""

    def __init__(self, classifier: DomainClassifier, depth: int):
        super().__init__()
        if depth not in CONTENT_DEPTHS:
            raise ValueError(f"arch.content_depth must be one of {CONTENT_DEPTHS}, not {depth!r}")
        self.net = classifier.trunk[:depth].eval().requires_grad_(False)

    def train(self, mode: bool = True) -> "ContentFeatures":
        return super().train(False)  # its batch norms keep their statistics

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features of the image's gray version: content is structure, so G stays free to recolour
        (anime hair and eyes take colours no photo has)."""
        return self.net(luma(x).expand_as(x))


def content_features(name: str, depth: int) -> ContentFeatures:
    from latent_studio.families.classifier import load_classifier  # the classifiers' module reads checkpoints, which reads the families

    classifier = load_classifier(name)
    if classifier is None:
        raise FileNotFoundError(f"CartoonGAN's content loss needs the shipped {name!r} classifier "
                                f"(checkpoints/classifiers/{name}.safetensors); train it with python -m latent_studio classifier {name}")
    return ContentFeatures(classifier, depth)


def _gaussian(x: torch.Tensor, sigma: float = 1.0, radius: int = 2) -> torch.Tensor:
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t**2 / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def edge_smoothed(cartoons: torch.Tensor) -> torch.Tensor:
    """Cartoons with their lines blurred away (the paper's edge-promoting step, done per batch):
    the strongest EDGE_SHARE of each image's luma gradients (none weaker than EDGE_FLOOR), dilated
    by two pixels, replaced by a Gaussian blur of the image. The rest stays as it was."""
    y = luma(cartoons)
    gx = F.pad(y[..., :, 1:] - y[..., :, :-1], (0, 1, 0, 0))
    gy = F.pad(y[..., 1:, :] - y[..., :-1, :], (0, 0, 0, 1))
    strength = (gx.square() + gy.square()).flatten(1)
    threshold = strength.quantile(1 - EDGE_SHARE, dim=1).view(-1, 1, 1, 1)
    edges = (strength.view_as(y) >= threshold.clamp(min=EDGE_FLOOR)).float()
    near = F.max_pool2d(edges, 5, stride=1, padding=2)
    return torch.lerp(cartoons, _gaussian(cartoons), near)


@register
class CartoonGAN(Img2ImgFamily):
    name = "cartoongan"
    example_dataset = "celeba-anime"
    directions = ("AtoB",)
    exported = ("generator",)
    optimizer_modules = {"g": ("generator", "generator_back"), "d": ("discriminator", "discriminator_back")}

    def __init__(self, cfg):
        super().__init__(cfg)
        self._content: ContentFeatures | None = None

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        c = data.channels
        return {
            "arch": {
                "generator": {"kind": "resnet", "in_channels": c, "out_channels": c, "width": 32, "n_blocks": 4, "norm": "instance",
                              "upsample": "resize"},
                "discriminator": {"kind": "patch", "width": 32, "n_layers": 3, "norm": "instance"},
                "content_features": "celeba", "content_depth": 12,
            },
            "train": {"optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "batch_size": 8, "adversarial": "mse",
                      "content_weight": 2.0, "cycle_weight": 10.0, "adv_start": 0.1, "lr_decay_start": 0.5},
        }

    def content(self, device: torch.device) -> ContentFeatures:
        """The frozen feature net, loaded once (it is not part of the run's weights)."""
        if self._content is None:
            a = self.cfg.arch
            self._content = content_features(a.get("content_features", "celeba"), a.get("content_depth", FIRST_CONTENT_DEPTH))
        return self._content.to(device)

    def build(self) -> nn.ModuleDict:
        g, c = self.cfg.arch["generator"], self.cfg.data.channels
        if (g["in_channels"], g["out_channels"]) != (c, c):
            raise ValueError(f"arch.generator maps {g['in_channels']} -> {g['out_channels']} channels, but the data has {c}: "
                             "set arch.generator.in_channels and out_channels to match")
        d = {**self.cfg.arch["discriminator"], "in_channels": c}
        m = nn.ModuleDict({"generator": make_generator(g), "discriminator": make_discriminator(d),
                           # the way back (train.cycle_weight): cartoons -> photos, judged by a photo discriminator
                           "generator_back": make_generator(g), "discriminator_back": make_discriminator(d)})
        dcgan_init(m)
        return m

    def content_loss(self, photos: torch.Tensor, cartoons: torch.Tensor) -> torch.Tensor:
        """Mean L1 between the content features of each photo and of its cartoon."""
        net = self.content(photos.device)
        return F.l1_loss(net(cartoons.float()), net(photos.float()).detach())

    def train_step(self, m: nn.ModuleDict, ctx: StepContext) -> dict[str, torch.Tensor]:
        t = self.cfg.train
        G, D, G_back, D_back = m["generator"], m["discriminator"], m["generator_back"], m["discriminator_back"]
        back = bool(t.cycle_weight)
        photos, cartoons = ctx.next_batch()
        factor = apply_lr_decay(ctx, t.lr_g, t.lr_d, t.steps, t.lr_decay_start)
        zero = torch.zeros((), device=photos.device)
        if ctx.step < t.adv_start * t.steps:  # initialization: both generators learn to copy their input
            with ctx.autocast():
                out = G(photos)
                copy = G_back(cartoons) if back else None
            content = self.content_loss(photos, out)
            pixel = F.l1_loss(out.float(), photos.float())
            pixel_back = F.l1_loss(copy.float(), cartoons.float()) if back else zero
            g_loss = content + pixel + pixel_back
            ctx.update("g", g_loss)
            return {"g_loss": g_loss.detach(), "content": content.detach(), "g_pixel": pixel.detach(),
                    "g_pixel_back": pixel_back.detach(), "lr_factor": torch.tensor(factor)}
        smoothed = edge_smoothed(cartoons)
        with ctx.autocast():
            fake = G(photos)
            fake_photo = G_back(cartoons) if back else None
            d_real, d_smooth, d_fake = D(cartoons), D(smoothed), D(fake.detach())
            d_loss = (adversarial(d_real, True, t.adversarial) + adversarial(d_smooth, False, t.adversarial)
                      + adversarial(d_fake, False, t.adversarial))
            if back:
                d_loss = (d_loss + adversarial(D_back(photos), True, t.adversarial)
                          + adversarial(D_back(fake_photo.detach()), False, t.adversarial))
        ctx.update("d", d_loss)
        with ctx.frozen("d"), ctx.autocast():
            g_adv = adversarial(D(fake), True, t.adversarial)
            g_adv_back = adversarial(D_back(fake_photo), True, t.adversarial) if back else zero
            cycle = (F.l1_loss(G_back(fake).float(), photos.float()) + F.l1_loss(G(fake_photo).float(), cartoons.float())
                     if back else zero)
        content = self.content_loss(photos, fake)
        g_loss = g_adv + g_adv_back + t.content_weight * content + t.cycle_weight * cycle
        ctx.update("g", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "g_adv": g_adv.detach(), "g_adv_back": g_adv_back.detach(),
                "content": content.detach(), "cycle": cycle.detach(),
                "d_real": confidence(d_real, t.adversarial).detach(), "d_smooth": confidence(d_smooth, t.adversarial).detach(),
                "d_fake": confidence(d_fake, t.adversarial).detach(), "lr_factor": torch.tensor(factor)}

    def serving(self) -> Serving:
        """One way, photo (A) -> cartoon (B): the way back is for training and does not ship."""
        return self.served_as(UNPAIRED, {"AtoB": ("generator", None)})

    def example_batch(self, n: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """(photos, cartoons): n images of each domain."""
        return self.image(n, self.cfg.data.channels, device), self.image(n, self.cfg.data.channels, device)

    def fixed_inputs(self, dataset, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        return fixed_batch(dataset, n, device)

    def render(self, m: nn.ModuleDict, fixed: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Three rows: photos, their cartoons, and real cartoons for comparison."""
        photos, cartoons = fixed
        return torch.cat([photos, m["generator"](photos), cartoons])

    def evaluate(self, m: nn.ModuleDict, test_batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """The content loss on the held-out photos (how far the cartoons' content features are
        from the photos'), beside the same distance from each photo to a real cartoon: the scale
        on which keeping the content is judged."""
        ours = other = 0.0
        n = 0
        for photos, cartoons in test_batches:
            if not len(photos):
                continue
            net = self.content(photos.device)
            f = net(photos.float())
            ours += float((net(m["generator"](photos).float()) - f).abs().flatten(1).mean(1).sum())
            if len(cartoons):
                k = min(len(photos), len(cartoons))
                other += float((net(cartoons[:k].float()) - f[:k]).abs().flatten(1).mean(1).sum()) * len(photos) / k
            n += len(photos)
        if not n:
            return {}
        return {"test_content_l1": round(ours / n, 4), "cartoon_content_l1": round(other / n, 4)}

"""Label-aware GANs: CGAN (the label enters G and D), ACGAN (D also classifies), SGAN
(semi-supervised: D is an 11-way classifier, the 11th class being "fake")."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from latent_studio.families.base import register
from latent_studio.families.gan import GAN, Objective
from latent_studio.families.losses import adversarial
from latent_studio.runs.config import DataSpec, LatentSample


def _needs_labels(data: DataSpec, family: str) -> None:
    if not data.num_classes:
        raise ValueError(f"{family} needs a labelled dataset (mnist, fashion-mnist, flowers, fake); {data.dataset!r} has no classes")


@register
class CGAN(GAN):
    name = "cgan"

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        _needs_labels(data, cls.name)
        return {**super().defaults(data), "latent": {"dim": 100, "num_classes": data.num_classes}}

    def condition(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        return F.one_hot(labels, self.cfg.latent.num_classes).float()


@register
class ACGAN(GAN):
    """D has an auxiliary classifier head; both players also minimise its cross-entropy."""

    name = "acgan"

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        _needs_labels(data, cls.name)
        return {**super().defaults(data), "latent": {"dim": 100, "num_classes": data.num_classes}}

    def d_heads(self) -> dict[str, int]:
        return {"adv": 1, "cls": self.cfg.latent.num_classes}

    def d_objective(self, m: nn.ModuleDict, real: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor, noise: LatentSample) -> Objective:
        D = m["discriminator"]
        r, f = D(real), D(fake)
        loss, parts = self.adversarial_terms(r, f)
        cls_real = F.cross_entropy(r["cls"].float(), labels)
        cls_fake = F.cross_entropy(f["cls"].float(), noise.labels)
        parts.update(cls_loss=cls_real + cls_fake, cls_acc=(r["cls"].argmax(1) == labels).float().mean())
        return loss + cls_real + cls_fake, parts

    def g_objective(self, m: nn.ModuleDict, fake: torch.Tensor, noise: LatentSample) -> Objective:
        f = m["discriminator"](fake)
        cls = F.cross_entropy(f["cls"].float(), noise.labels)
        return adversarial(f["adv"], True, "bce") + cls, {"g_cls_loss": cls}


class PartialLabels(Dataset):
    """Keeps the labels of the first `per_class` examples of each class; the rest read as -1."""

    def __init__(self, dataset: Dataset, labels: torch.Tensor, per_class: int):
        self.dataset = dataset
        keep = torch.zeros(len(labels), dtype=torch.bool)
        for c in labels.unique():
            keep[(labels == c).nonzero().flatten()[:per_class]] = True
        self.keep = keep
        self.labeled = int(keep.sum())

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        x, y = self.dataset[i]
        return x, (y if self.keep[i] else -1)


@register
class SGAN(GAN):
    """Semi-supervised GAN (Salimans et al. 2016, Odena 2016): D outputs K + 1 logits, class K
    meaning fake. Labelled reals train the K-way classifier, unlabelled reals only need to look
    real, fakes go to class K. After training, D's first K logits are a digit classifier."""

    name = "sgan"

    @classmethod
    def defaults(cls, data: DataSpec) -> dict:
        _needs_labels(data, cls.name)
        return super().defaults(data)

    def d_heads(self) -> dict[str, int]:
        return {"cls": self.cfg.data.num_classes + 1}

    def training_data(self, dataset: Dataset, labels: torch.Tensor) -> Dataset:
        return PartialLabels(dataset, labels, self.cfg.train.labeled_per_class)

    def _log_p_real(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log P(real), log P(fake)) from the K + 1 logits."""
        logits = logits.float()
        total = logits.logsumexp(1)
        return logits[:, :-1].logsumexp(1) - total, logits[:, -1] - total

    def d_objective(self, m: nn.ModuleDict, real: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor, noise: LatentSample) -> Objective:
        D, k = m["discriminator"], self.cfg.data.num_classes
        r, f = D(real)["cls"].float(), D(fake)["cls"].float()
        labeled = labels >= 0
        supervised = F.cross_entropy(r[labeled], labels[labeled]) if labeled.any() else r.new_zeros(())
        log_real_r, _ = self._log_p_real(r)
        unsup_real = -log_real_r.mean()
        unsup_fake = F.cross_entropy(f, torch.full_like(noise.z[:, 0], k, dtype=torch.long))
        parts = {
            "d_loss_supervised": supervised, "d_loss_real": unsup_real, "d_loss_fake": unsup_fake,
            "d_real": log_real_r.exp().mean(), "d_fake": self._log_p_real(f)[0].exp().mean(),
        }
        return supervised + unsup_real + unsup_fake, parts

    def g_objective(self, m: nn.ModuleDict, fake: torch.Tensor, noise: LatentSample) -> Objective:
        log_real, _ = self._log_p_real(m["discriminator"](fake)["cls"])
        return -log_real.mean(), {}

    @torch.no_grad()
    def evaluate(self, m: nn.ModuleDict, test_batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """Test accuracy of D as a K-way classifier (the fake logit ignored)."""
        D, correct, total = m["discriminator"], 0, 0
        for x, y in test_batches:
            correct += (D(x)["cls"][:, :-1].argmax(1) == y).sum().item()
            total += y.numel()
        return {"test_accuracy": correct / max(total, 1)}

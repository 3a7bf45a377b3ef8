"""DiscoGAN (women <-> men in CelebA): the domains follow CelebA's Male attribute, the preset
trains, and evaluation asks whether a translated face is still the same person."""

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from latent_studio.data.datasets import DatasetMissing, celeba_attributes, load_dataset
from latent_studio.evaluation.img2img_eval import _identity_kept
from latent_studio.families import StepContext, get_family
from latent_studio.training.trainer import new_config

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _gender(split: str):
    cfg = new_config("cyclegan", "celeba-gender", 10, preset="discogan")
    try:
        return cfg, load_dataset(cfg.data, DATA, split)
    except DatasetMissing as e:
        pytest.skip(f"CelebA is not in {DATA}: {e}")


def test_the_domains_are_celebas_women_and_men_on_its_own_split():
    cfg, test = _gender("test")
    faces = load_dataset(new_config("dcgan", "celeba", 1).data, DATA, "test")
    male = faces.targets[:, celeba_attributes(DATA).index("Male")].bool()
    assert torch.equal(test.a, faces.images[~male]) and torch.equal(test.b, faces.images[male])
    assert len(test.a) + len(test.b) == len(faces) and len(test.a) > 100 and len(test.b) > 100
    assert cfg.train.identity_weight == 0 and cfg.family == "cyclegan"  # DiscoGAN: the reconstruction loss alone


def test_the_preset_trains_both_generators():
    cfg, train = _gender("train")
    fam = get_family(cfg.family)(cfg)
    torch.manual_seed(0)
    m = fam.build()
    before = {k: v.clone() for k, v in m.state_dict().items() if "generator" in k}
    batch = (torch.stack([train[i][0] for i in range(4)]), torch.stack([train[i][1] for i in range(4)]))
    ctx = StepContext(torch.device("cpu"), fam.make_optimizers(m), lambda: batch)
    out = fam.train_step(m, ctx)
    assert float(out["identity"]) == 0 and float(out["cycle"]) > 0
    changed = {k.split(".")[0] for k, v in m.state_dict().items() if k in before and not torch.equal(v, before[k])}
    assert changed == {"generator_ab", "generator_ba"}


def test_identity_is_kept_by_a_generator_that_changes_nothing_and_lost_by_one_that_swaps_faces():
    _, test = _gender("test")
    test.a, test.b = test.a[:40], test.b[:40]
    served = SimpleNamespace(routes={"AtoB": ("generator_ab", "generator_ba"), "BtoA": ("generator_ba", "generator_ab")})

    def run(generator: nn.Module):
        return SimpleNamespace(device=torch.device("cpu"), family=SimpleNamespace(serving=lambda: served),
                               modules={"generator_ab": generator, "generator_ba": generator})

    kept = _identity_kept(run(nn.Identity()), test)
    assert kept == {"identity_closer_share": 1.0, "identity_distance_ratio": 0.0}

    class Stranger(nn.Module):  # every face becomes another person's
        def forward(self, x):
            return x.roll(1, dims=0)

    lost = _identity_kept(run(Stranger()), test)
    assert 0.2 < lost["identity_closer_share"] < 0.8 and 0.7 < lost["identity_distance_ratio"] < 1.3

"""The fast training path: bf16 autocast where the device computes it natively, channels_last,
the fused optimizer. Each has a switch in config.json, falls back to fp32 without hardware bf16,
keeps fp32 master weights, and trains every family."""

import json

import pytest
import torch

from latent_studio.families import LATENT, StepContext, family_names, get_family, precision
from latent_studio.runs.config import TrainSpec
from latent_studio.runs.files import read_config
from latent_studio.training.trainer import new_config, train
from tests.conftest import TINY, checked_train_step

CPU = torch.device("cpu")


def test_bf16_is_used_only_where_the_run_asks_and_the_hardware_computes_it(monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    assert precision.autocast_dtype(TrainSpec(), CPU) is torch.bfloat16
    assert precision.autocast_dtype(TrainSpec(bf16=False), CPU) is None
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    assert precision.autocast_dtype(TrainSpec(), CPU) is None
    assert precision.describe(TrainSpec(), CPU).startswith("fp32")


def test_the_switches_and_what_ran_are_recorded_in_config_json(tmp_path):
    cfg = new_config("dcgan", "fake", 2, overrides=[TINY, {"train": {"bf16": False, "channels_last": True}}])
    train(cfg, tmp_path / "run", progress=False)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (saved["train"]["bf16"], saved["train"]["channels_last"], saved["train"]["compile"]) == (False, True, False)
    assert saved["card"]["precision"] == "fp32, channels_last, fused Adam"
    assert read_config(tmp_path / "run").train.channels_last is True


@pytest.mark.parametrize("family", family_names())
def test_every_family_steps_under_bf16_and_channels_last_with_fp32_weights(family):
    torch.manual_seed(0)
    cfg = new_config(family, get_family(family).example_dataset, 2, image_size=32, overrides=[TINY, {"train": {"channels_last": True}}])
    fam = get_family(family)(cfg)
    m = precision.prepare(fam.build(), cfg.train)
    batch = tuple(precision.to_memory_format(x, cfg.train) for x in fam.example_batch(4))
    ctx = StepContext(CPU, fam.make_optimizers(m), lambda: batch, dtype=torch.bfloat16)
    checked_train_step(fam, m, ctx)
    metrics = fam.train_step(m, ctx)
    assert all(torch.isfinite(v).all() for v in metrics.values())
    assert all(p.dtype == torch.float32 for p in m.parameters())


def test_the_fused_optimizer_makes_the_same_update_as_the_plain_one():
    torch.manual_seed(0)
    results = []
    for fused in (True, False):
        cfg = new_config("dcgan", "fake", 2, overrides=[TINY, {"train": {"fused_optimizer": fused, "bf16": False}}])
        fam = get_family("dcgan")(cfg)
        torch.manual_seed(1)
        m = fam.build()
        x = torch.rand(8, 1, 28, 28) * 2 - 1
        batch = (x, torch.zeros(8, dtype=torch.long))
        ctx = StepContext(CPU, fam.make_optimizers(m), lambda b=batch: b)
        torch.manual_seed(2)
        for _ in range(3):
            fam.train_step(m, ctx)
        results.append(torch.cat([p.flatten() for p in m.parameters()]))
    assert torch.allclose(results[0], results[1], atol=1e-5)


def test_bf16_is_the_default_except_for_the_infogan_whose_codes_measured_worse_under_it():
    assert not new_config("infogan", "fake", 2).train.bf16
    assert all(new_config(f, "fake", 2).train.bf16 for f in family_names(LATENT) if f != "infogan")
    assert new_config("pix2pix", "paired", 2).train.bf16 and new_config("cyclegan", "unpaired", 2).train.bf16

"""The trainer loop and the families' steps: alternating updates, init losses, determinism,
resume, SGAN's partial labels, clipping."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from latent_studio.families import LATENT, StepContext, family_names, get_family
from latent_studio.families.conditional import PartialLabels
from latent_studio.families.infogan import jitter
from latent_studio.runs.files import CheckpointError, load_state, read_config, snapshot_steps
from latent_studio.training.trainer import RunExists, new_config, train
from tests.conftest import TINY, checked_train_step

GAN_FAMILIES = [f for f in family_names(LATENT) if "d" in get_family(f).optimizer_modules]  # (the VAE has no D)


def tiny(family, steps=4, **extra):
    return new_config(family, "fake", steps, overrides=[TINY, extra])


def step_context(cfg, m, batch_size=8):
    x = torch.rand(batch_size, 1, 28, 28) * 2 - 1
    y = torch.arange(batch_size) % 10
    return StepContext(torch.device("cpu"), get_family(cfg.family)(cfg).make_optimizers(m), lambda: (x, y))


@pytest.mark.parametrize("family", GAN_FAMILIES)
def test_the_critic_steps_n_critic_times_before_the_generator(family):
    cfg = tiny(family)
    fam = get_family(family)(cfg)
    m = fam.build()
    assert checked_train_step(fam, m, step_context(cfg, m)) == ["d"] * cfg.train.n_critic + ["g"]


@pytest.mark.parametrize("family", ["dcgan", "cgan", "infogan"])
def test_bce_losses_start_near_ln2(family):
    torch.manual_seed(0)
    cfg = tiny(family)
    fam = get_family(family)(cfg)
    m = fam.build()
    metrics = fam.train_step(m, step_context(cfg, m, 64))
    for key in ("d_loss_real", "d_loss_fake", "g_loss" if family != "infogan" else "d_loss_fake"):
        assert metrics[key].item() == pytest.approx(math.log(2), abs=0.1), key


def test_wgan_weights_stay_clipped_after_critic_steps():
    cfg = tiny("wgan")
    fam = get_family("wgan")(cfg)
    m = fam.build()
    for p in m["discriminator"].parameters():
        p.data.normal_(0, 1)
    fam.train_step(m, step_context(cfg, m))
    assert all(p.abs().max() <= cfg.train.clip for p in m["discriminator"].parameters())


def test_wgan_gp_logs_its_penalty_and_uses_five_critic_steps():
    cfg = tiny("wgan_gp")
    assert (cfg.train.n_critic, cfg.train.gp_weight, cfg.train.betas) == (5, 10.0, [0.0, 0.9])
    fam = get_family("wgan_gp")(cfg)
    m = fam.build()
    assert fam.train_step(m, step_context(cfg, m))["gp"] >= 0


def test_jitter_moves_images_a_little_and_passes_gradients():
    x = (torch.rand(6, 1, 28, 28) * 2 - 1).requires_grad_()
    assert torch.allclose(jitter(x, 0, 0, 0), x, atol=1e-5)
    moved = jitter(x)
    assert moved.shape == x.shape and moved.min() >= -1 and moved.max() <= 1 and not torch.allclose(moved, x, atol=0.1)
    moved.sum().backward()
    assert x.grad.abs().sum() > 0


def test_infogan_jitter_adds_the_code_read_from_jittered_fakes():
    torch.manual_seed(0)
    cfg = tiny("infogan", train={"info_cat_jitter": 2.0})
    fam = get_family("infogan")(cfg)
    m = fam.build()
    assert checked_train_step(fam, m, step_context(cfg, m)) == ["d", "g"]
    out = fam.train_step(m, step_context(cfg, m))
    t = cfg.train
    expected = t.info_cat_weight * out["info_cat"] + t.info_cont_weight * out["info_cont"] + 2.0 * out["info_cat_jitter"]
    assert out["info_cat_jitter"] > 0 and out["info_loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    plain = tiny("infogan", train={"info_cat_jitter": 0.0})
    assert "info_cat_jitter" not in get_family("infogan")(plain).train_step(m, step_context(plain, m))


def first_rows(run):
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for r in rows:
        r.pop("images_per_s")
    return rows


def test_seeded_cpu_runs_give_identical_losses(tmp_path):
    for name in ("a", "b"):
        train(tiny("dcgan", seed=3), tmp_path / name, progress=False)
    assert first_rows(tmp_path / "a") == first_rows(tmp_path / "b")
    train(tiny("dcgan", seed=4), tmp_path / "c", progress=False)
    assert first_rows(tmp_path / "a") != first_rows(tmp_path / "c")


def test_run_directory_holds_the_contract(tmp_path):
    train(tiny("infogan"), tmp_path, progress=False, command="python -m latent_studio train ...")
    cfg = read_config(tmp_path)
    assert cfg.step == 4 and cfg.family == "infogan"
    assert cfg.card["command"].startswith("python -m latent_studio") and cfg.card["train_seconds"] > 0 and cfg.card["hardware"]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "info_loss", "images_per_s"} <= set(cfg.metrics)
    assert cfg.data.normalization["range"] == [-1, 1]
    for f in ("generator.safetensors", "discriminator.safetensors", "q.safetensors", "state.pt", "metrics.jsonl"):
        assert (tmp_path / f).is_file(), f
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["step_2.png", "step_4.png"]
    assert snapshot_steps(tmp_path) == [2, 4]
    assert not list(tmp_path.rglob("*.tmp"))


def test_resume_continues_step_count_and_optimizer_state(tmp_path):
    train(tiny("dcgan"), tmp_path, progress=False)
    assert load_state(tmp_path)["optimizers"]["g"]["state"][0]["step"].item() == 4
    train(tiny("dcgan", steps=8), tmp_path, resume=True, progress=False)
    state = load_state(tmp_path)
    assert state["step"] == 8 and read_config(tmp_path).step == 8
    assert state["optimizers"]["g"]["state"][0]["step"].item() == 8  # Adam's moments carried over, not restarted
    assert [r["step"] for r in first_rows(tmp_path)] == [2, 4, 6, 8]


def test_an_existing_run_is_not_overwritten(tmp_path):
    train(tiny("dcgan", steps=2), tmp_path, progress=False)
    with pytest.raises(RunExists, match="--resume"):
        train(tiny("dcgan", steps=2), tmp_path, progress=False)


def test_sgan_keeps_labels_for_a_few_examples_per_class():
    labels = torch.arange(100) % 10
    ds = PartialLabels(list(zip(torch.zeros(100), labels.tolist())), labels, per_class=3)
    kept = [ds[i][1] for i in range(100)]
    assert ds.labeled == 30 and sum(y >= 0 for y in kept) == 30
    assert sorted(y for y in kept if y >= 0) == sorted(list(range(10)) * 3)


def test_sgan_reports_test_accuracy(tmp_path):
    result = train(tiny("sgan"), tmp_path, progress=False)
    assert 0.0 <= result.config.metrics["test_accuracy"] <= 1.0


def test_conditional_families_refuse_unlabelled_data():
    with pytest.raises(ValueError, match="needs a labelled dataset"):
        new_config("cgan", "anime", 1)


def test_a_frozen_network_keeps_its_batchnorm_statistics_too(tmp_path):
    """A VAE fine-tune that keeps its encoder (BatchNorm inside) ships it exactly as the source
    did, running statistics included, while the decoder trains."""
    train(new_config("vae", "fake", 2, overrides=[TINY]), tmp_path / "source", progress=False)
    tune = {"train": {"init_from": str(tmp_path / "source"), "frozen": ["encoder"]}}
    train(new_config("vae", "fake", 2, overrides=[TINY, tune]), tmp_path / "tuned", progress=False)
    source, tuned = (load_file(tmp_path / run / "encoder.safetensors") for run in ("source", "tuned"))
    assert any(k.endswith("running_mean") for k in source) and all(torch.equal(source[k], tuned[k]) for k in source)
    source, tuned = (load_file(tmp_path / run / "generator.safetensors") for run in ("source", "tuned"))
    assert not all(torch.equal(source[k], tuned[k]) for k in source)


def test_a_frozen_generator_gets_no_average(tmp_path):
    """With train.ema on, a frozen generator ships as its source left it: an average of it would
    have its BatchNorm statistics measured anew before it shipped."""
    train(new_config("vae", "fake", 2, overrides=[TINY]), tmp_path / "source", progress=False)
    tune = {"train": {"init_from": str(tmp_path / "source"), "frozen": ["generator"], "ema": 0.9}}
    train(new_config("vae", "fake", 2, overrides=[TINY, tune]), tmp_path / "tuned", progress=False)
    source, tuned = (load_file(tmp_path / run / "generator.safetensors") for run in ("source", "tuned"))
    assert any(k.endswith("running_var") for k in source) and all(torch.equal(source[k], tuned[k]) for k in source)


def test_init_from_starts_a_fine_tune_from_a_shipped_run(tmp_path):
    """train.init_from loads the source run's shipped networks before the first step: with a rate
    too small to move them, the fine-tune ships what it started from, and its card records how the
    source was trained; a run that ships nothing to start from is refused with the file it lacks."""
    source_cfg = new_config("dcgan", "fake", 2, overrides=[TINY])
    source_cfg.seed = 1  # other starting weights than the fine-tune's own seed would give
    train(source_cfg, tmp_path / "source", progress=False, command="python -m latent_studio train --out source")
    tune = {"train": {"init_from": str(tmp_path / "source"), "lr_g": 1e-12, "lr_d": 1e-12}}
    train(new_config("dcgan", "fake", 2, overrides=[TINY, tune]), tmp_path / "tuned", progress=False)
    before = read_config(tmp_path / "tuned").card["started_from"]
    assert before["run"] == str(tmp_path / "source") and before["command"] == "python -m latent_studio train --out source"
    assert before["train_seconds"] == read_config(tmp_path / "source").card["train_seconds"]  # a 2-step run may round to 0.0 s
    source, tuned = load_file(tmp_path / "source" / "generator.safetensors"), load_file(tmp_path / "tuned" / "generator.safetensors")
    weights = [k for k in source if k.endswith("weight") and source[k].dim() > 1]
    assert weights and all(torch.allclose(source[k].float(), tuned[k].float(), atol=1e-3) for k in weights)
    train(new_config("dcgan", "fake", 2, overrides=[TINY, {"train": {"lr_g": 1e-12, "lr_d": 1e-12}}]), tmp_path / "fresh", progress=False)
    fresh = load_file(tmp_path / "fresh" / "generator.safetensors")
    assert not all(torch.allclose(source[k].float(), fresh[k].float(), atol=1e-3) for k in weights)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no generator.safetensors"):
        bad = new_config("dcgan", "fake", 2, overrides=[TINY, {"train": {"init_from": str(tmp_path / "empty")}}])
        train(bad, tmp_path / "bad", progress=False)

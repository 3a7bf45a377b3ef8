"""The checkpoint contract: a run directory rebuilds its model alone, and every kind of bad
checkpoint is refused with a message that names the problem."""

import json
import pickle

import pytest
import torch
from safetensors.torch import save as save_safetensors
from torch import nn

from latent_studio.families.run_models import load_run
from latent_studio.runs.files import CheckpointError, atomic_write, load_state, load_weights, read_config, save_weights
from latent_studio.training.trainer import new_config, train
from tests.conftest import TINY


@pytest.fixture
def run(tmp_path):
    train(new_config("infogan", "fake", 2, overrides=[TINY]), tmp_path / "run", progress=False)
    return tmp_path / "run"


def test_loader_rebuilds_the_generator_from_the_directory_alone(run):
    loaded = load_run(run, device="cpu")
    assert loaded.device.type == "cpu" and not loaded.modules.training
    assert set(loaded.modules) == {"generator", "discriminator", "q"}
    sample = loaded.config.latent.sample(3, torch.Generator().manual_seed(0))
    with torch.inference_mode():
        a = loaded.family.render(loaded.modules, sample)
        b = load_run(run, device="cpu").family.render(load_run(run, device="cpu").modules, sample)
    assert a.shape == (3, 1, 28, 28)
    torch.testing.assert_close(a, b)


def test_loader_picks_the_best_device(run):
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert load_run(run).device.type == expected


def test_half_precision_weights_load_into_a_float_model(tmp_path):
    cfg = new_config("dcgan", "fake", 2, overrides=[TINY, {"train": {"weights_dtype": "float16"}}])
    result = train(cfg, tmp_path, progress=False)
    loaded = load_run(tmp_path, device="cpu")
    assert next(loaded.modules.parameters()).dtype == torch.float32
    z = torch.randn(2, cfg.latent.input_dim)
    result.modules.eval()
    torch.testing.assert_close(loaded.modules["generator"](z), result.modules["generator"](z), atol=2e-3, rtol=0)


def edit_config(run, **changes):
    cfg = json.loads((run / "config.json").read_text())
    cfg.update(changes)
    (run / "config.json").write_text(json.dumps(cfg))


def test_unknown_family_is_refused_by_name(run):
    edit_config(run, family="stylegan9")
    with pytest.raises(CheckpointError, match="unknown model family 'stylegan9'"):
        load_run(run)


def test_newer_format_version_is_refused(run):
    edit_config(run, format_version=99)
    with pytest.raises(CheckpointError, match="format_version 99, newer"):
        load_run(run)


def test_weights_that_disagree_with_the_config_are_refused(run):
    cfg = json.loads((run / "config.json").read_text())
    cfg["latent"]["dim"] = 30
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"'project.0.weight' has shape \[256, 74\] in the file but \[256, 42\]"):
        load_run(run)


def test_truncated_weights_are_refused(run):
    path = run / "generator.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="generator.safetensors is not a valid safetensors file"):
        load_run(run)


class Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_pickle_in_place_of_weights_is_refused(run, capsys):
    (run / "generator.safetensors").write_bytes(pickle.dumps({"project.0.weight": Boom()}))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_run(run)
    assert "must never run" not in capsys.readouterr().out


def test_resume_state_holding_pickled_code_is_refused(run, capsys):
    torch.save({"step": 1, "evil": Boom()}, run / "state.pt")
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        load_state(run)
    assert "must never run" not in capsys.readouterr().out


def test_missing_or_damaged_config_is_refused(tmp_path, run):
    with pytest.raises(CheckpointError, match="has no config.json"):
        load_run(tmp_path / "nothing")
    (run / "config.json").write_text('{"family": "dcg')
    with pytest.raises(CheckpointError, match="not valid JSON"):
        read_config(run)


def test_missing_weights_file_is_refused(run):
    (run / "q.safetensors").unlink()
    with pytest.raises(CheckpointError, match="missing weights: .*q.safetensors"):
        load_run(run)


def test_atomic_write_leaves_the_old_file_when_the_writer_dies(tmp_path):
    target = tmp_path / "config.json"
    target.write_text("old")

    def dies(tmp):
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, dies)
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_loader_renders_the_generator_kept_at_each_snapshot(tmp_path):
    train(new_config("dcgan", "fake", 4, overrides=[TINY]), tmp_path, progress=False)
    sample = read_config(tmp_path).latent.fixed(4, 0)

    def render(step=None):
        loaded = load_run(tmp_path, "cpu", step=step)
        with torch.inference_mode():
            return loaded.family.render(loaded.modules, sample)

    torch.testing.assert_close(render(4), render())
    assert not torch.allclose(render(2), render())
    with pytest.raises(CheckpointError, match="generator_step_7"):
        render(7)


def test_weights_are_one_file_whatever_their_size_and_old_parts_read_whole_then_go(tmp_path):
    module = nn.Sequential(nn.Linear(100, 100), nn.Linear(100, 100), nn.Linear(100, 100))  # ~40 kB each in float32
    path = tmp_path / "generator.safetensors"
    tensors = {k: v.contiguous() for k, v in module.state_dict().items()}
    keys = list(tensors)
    # weights as an older version split them: the first file says how many parts, the rest follow
    path.write_bytes(save_safetensors({k: tensors[k] for k in keys[:2]}, metadata={"format": "pt", "parts": "3"}))
    (tmp_path / "generator.safetensors.part2").write_bytes(save_safetensors({k: tensors[k] for k in keys[2:4]}))
    (tmp_path / "generator.safetensors.part3").write_bytes(save_safetensors({k: tensors[k] for k in keys[4:]}))
    copy = nn.Sequential(nn.Linear(100, 100), nn.Linear(100, 100), nn.Linear(100, 100))
    load_weights(copy, path)
    assert all(torch.equal(a, b) for a, b in zip(module.state_dict().values(), copy.state_dict().values()))
    (tmp_path / "generator.safetensors.part3").unlink()  # a part gone: a clear error, not half a model
    with pytest.raises(CheckpointError, match="missing weights"):
        load_weights(copy, path)
    big = nn.Linear(2000, 2000)  # 16 MB in float32: still one file
    save_weights(path, big)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generator.safetensors"]  # the old parts go
    assert path.stat().st_size > 16_000_000
    load_weights(nn.Linear(2000, 2000), path)

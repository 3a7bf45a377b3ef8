"""The generator as ONNX (latent_studio.inference.onnx_export): what the browser runs must draw what torch draws,
for every latent family and every shipped run that ships an export."""

import numpy as np
import onnxruntime as ort
import pytest
import torch

from latent_studio.app.runs import shipped_folder
from latent_studio.families import LATENT, family_names, kind_of
from latent_studio.families.run_models import load_run, save_run
from latent_studio.inference.onnx_export import INPUT, OUTPUT, TOLERANCE, ExportError, export_onnx, exported_step, onnx_path
from latent_studio.runs.files import find_runs, read_config
from tests.test_family_contract import tiny


def _onnx_and_torch(run_dir, inputs):
    session = ort.InferenceSession(str(onnx_path(run_dir)), providers=["CPUExecutionProvider"])
    (ours,) = session.run([OUTPUT], {INPUT: inputs.numpy()})
    run = load_run(run_dir, "cpu")
    with torch.inference_mode():
        return ours, run.modules["generator"](inputs).numpy()


@pytest.mark.parametrize("family", family_names(LATENT))
def test_every_latent_family_exports_a_generator_that_matches_torch(family, tmp_path):
    cfg, fam, m = tiny(family)
    save_run(tmp_path, cfg, m)
    export_onnx(tmp_path)
    assert exported_step(tmp_path) == cfg.step
    for n in (1, 5):  # the batch axis is dynamic
        inputs = cfg.latent.sample(n, torch.Generator().manual_seed(n)).generator_input()
        ours, reference = _onnx_and_torch(tmp_path, inputs)
        assert ours.shape == reference.shape == (n, cfg.data.channels, cfg.data.image_size, cfg.data.image_size)
        np.testing.assert_allclose(ours, reference, rtol=0, atol=TOLERANCE)


def test_an_image_to_image_run_is_refused_and_writes_nothing(tmp_path):
    cfg, _, m = tiny("pix2pix")
    save_run(tmp_path, cfg, m)
    with pytest.raises(ExportError, match="image-to-image"):
        export_onnx(tmp_path)
    assert not onnx_path(tmp_path).exists()


def test_a_missing_or_broken_export_has_no_step(tmp_path):
    assert exported_step(tmp_path) is None
    onnx_path(tmp_path).write_bytes(b"not onnx")
    assert exported_step(tmp_path) is None


def test_export_is_a_cli_command(tmp_path, capsys):
    from latent_studio.cli import main

    cfg, _, m = tiny("dcgan")
    save_run(tmp_path, cfg, m)
    assert main(["export", str(tmp_path)]) == 0
    assert "matches torch" in capsys.readouterr().out and onnx_path(tmp_path).is_file()


SHIPPED = [run for run in find_runs(shipped_folder()) if kind_of(read_config(run).family) == LATENT and onnx_path(run).exists()]


@pytest.mark.parametrize("run", SHIPPED, ids=lambda run: run.name)
def test_each_shipped_export_matches_its_generator_and_is_current(run):
    cfg = read_config(run)
    assert exported_step(run) == cfg.step, "re-export with python -m latent_studio export"
    assert onnx_path(run).stat().st_size <= 10 * 1024 * 1024
    ours, reference = _onnx_and_torch(run, cfg.latent.sample(16, torch.Generator().manual_seed(1)).generator_input())
    np.testing.assert_allclose(ours, reference, rtol=0, atol=TOLERANCE)

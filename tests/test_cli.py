"""The CLI and background jobs, as a user runs them: train, stop, resume, list, load."""

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from latent_studio.families.run_models import load_run
from latent_studio.runs.files import read_config
from latent_studio.training import jobs
from tests.conftest import ROOT

SMALL = ["--set", "arch.generator.width=8", "--set", "arch.discriminator.width=8", "--set", "train.batch_size=16",
         "--set", "train.log_every=2", "--set", "train.snapshot_every=2"]


def cli(*args, check=True):
    done = subprocess.run([sys.executable, "-m", "latent_studio", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if check:
        assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_train_list_resume_with_the_cli(tmp_path):
    run = tmp_path / "runs" / "info"
    cli("train", "--model", "infogan", "--dataset", "fake", "--steps", 4, "--out", run, "--no-progress", *SMALL)
    listed = json.loads(cli("list", tmp_path / "runs", "--json").stdout)
    assert [(r["family"], r["dataset"], r["step"]) for r in listed] == [("infogan", "fake", 4)]
    assert "info_loss" in listed[0]["metrics"]
    raw = json.loads((run / "config.json").read_text())
    raw["metrics"].update(fid=12.5, eval_step=4)  # as `evaluate` leaves it
    (run / "config.json").write_text(json.dumps(raw))
    cli("train", "--out", run, "--resume", "--steps", 6, "--no-progress")
    cfg = read_config(run)
    assert cfg.step == 6 and cfg.card["command"].startswith("python -m latent_studio train --model infogan --dataset fake")
    assert cfg.card["resumed_with"][0].endswith("--resume --steps 6 --no-progress")
    line = cli("list", tmp_path / "runs").stdout
    assert "infogan" in line and "fid=12.5" in line and "(evaluated at step 4)" in line  # measured numbers, marked stale


def test_cli_errors_are_one_clear_line(tmp_path):
    bad = cli("train", "--model", "stylegan9", "--dataset", "fake", "--out", tmp_path / "x", check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown model family 'stylegan9'")
    cli("train", "--model", "dcgan", "--dataset", "fake", "--steps", 2, "--out", tmp_path / "y", "--no-progress", *SMALL)
    again = cli("train", "--model", "dcgan", "--dataset", "fake", "--steps", 2, "--out", tmp_path / "y", check=False)
    assert again.returncode == 2 and "pass --resume" in again.stderr
    missing = cli("train", "--model", "dcgan", "--dataset", "mnist", "--out", tmp_path / "z", "--data-root", tmp_path, check=False)
    assert missing.returncode == 2 and "not found" in missing.stderr and "Traceback" not in missing.stderr


def test_bench_prints_numbers_per_family():
    rows = json.loads(cli("bench", "--families", "dcgan", "vae", "--steps", 2, "--json").stdout)
    assert [r["family"] for r in rows] == ["dcgan", "vae", "dcgan"]  # the last is the 64x64 RGB DCGAN
    assert all(r["gen_ms_per_image_batch1_p50"] > 0 and r["train_images_per_s"] > 0 for r in rows)


def test_bench_compare_times_the_default_recipe_against_the_reference_with_every_speed_up_off(monkeypatch):
    from latent_studio.training import bench

    built = []
    real_rate = bench.train_rate
    monkeypatch.setattr(bench, "train_rate", lambda cfg, steps, device: built.append(cfg.train) or real_rate(cfg, steps, device))
    rows = bench.compare(rounds=2, cases=[("tiny DCGAN", "dcgan", "fake", 28, 1)], device=torch.device("cpu"))
    assert [r["case"] for r in rows] == ["tiny DCGAN"] and rows[0]["speedup"] > 0
    assert rows[0]["speedup"] == pytest.approx(rows[0]["ours_images_per_s"] / rows[0]["reference_images_per_s"], rel=0.01)
    reference, ours = built[0::2], built[1::2]  # alternating, reference first
    assert len(reference) == len(ours) == 2
    assert all(not (t.bf16 or t.channels_last or t.compile or t.fused_optimizer) for t in reference)
    assert all(t.bf16 and t.fused_optimizer for t in ours)


def wait_for(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_infogan_on_mnist_start_stop_resume_list_load(tmp_path, real_data):
    """The README walk-through: a background InfoGAN run on real MNIST, stopped and resumed."""
    run = tmp_path / "infogan-mnist"
    jobs.start(run, ["--preset", "infogan-mnist", "--steps", "100000", "--data-root", str(real_data), *SMALL])
    wait_for(lambda: jobs.status(run).step >= 4)
    assert jobs.status(run).state == "running"
    stopped = jobs.stop(run)
    assert stopped.state == "stopped" and 4 <= stopped.step < 100000
    assert read_config(run).step == stopped.step  # the stop wrote a checkpoint at the step it reached
    cli("train", "--out", run, "--resume", "--steps", stopped.step + 2, "--no-progress", "--data-root", real_data)
    assert jobs.status(run).state == "finished"
    assert read_config(run).step == stopped.step + 2
    loaded = load_run(run, device="cpu")
    with torch.inference_mode():
        images = loaded.family.render(loaded.modules, loaded.config.latent.sample(4))
    assert images.shape == (4, 1, 28, 28)


def test_a_failing_job_reports_its_error(tmp_path):
    run = tmp_path / "bad"
    jobs.start(run, ["--model", "dcgan", "--dataset", "mnist", "--data-root", str(tmp_path / "nowhere")])
    wait_for(lambda: jobs.status(run).state != "running")
    status = jobs.status(run)
    assert status.state == "failed" and "not found" in status.error


def test_a_second_job_in_the_same_run_is_refused(tmp_path):
    run = tmp_path / "busy"
    jobs.start(run, ["--model", "dcgan", "--dataset", "fake", "--steps", "100000", *SMALL])
    try:
        with pytest.raises(RuntimeError, match="already running"):
            jobs.start(run, ["--model", "dcgan", "--dataset", "fake"])
    finally:
        jobs.stop(run)

"""The trainer under interruption: kill -9 between snapshots, resume, signals during start-up,
and what a killed write leaves behind."""

import json
import os
import signal
import subprocess
import sys
import time

from latent_studio.runs.files import read_metrics
from latent_studio.training.trainer import new_config, train
from tests.conftest import ROOT, TINY

TINY_ARGS = ["--model", "dcgan", "--dataset", "fake", "--set", "arch.generator.width=8", "--set", "arch.discriminator.width=8",
             "--set", "train.batch_size=8", "--set", "train.log_every=5", "--no-progress"]


def cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "latent_studio", *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def wait_for(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_kill_9_before_the_first_snapshot_loses_only_seconds_and_resume_logs_no_step_twice(tmp_path):
    run = tmp_path / "run"
    # 100,000 steps and the default snapshot_every (500): the timed checkpoint is what saves the work
    job = cli("train", *TINY_ARGS, "--steps", 100_000, "--out", run, "--set", "train.checkpoint_seconds=1")
    try:
        # config.json is written last, after state.pt and the weights
        wait_for(lambda: (run / "config.json").exists() and json.loads((run / "config.json").read_text())["step"] >= 5)
    finally:
        job.kill()
        job.wait()
    saved = json.loads((run / "config.json").read_text())["step"]
    assert 0 < saved < 500 and not list(run.glob("samples/*.png"))  # a timed checkpoint, not a snapshot
    logged = [r["step"] for r in read_metrics(run)]
    resumed = cli("train", "--out", run, "--resume", "--steps", saved + 20, "--no-progress")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    steps = [r["step"] for r in read_metrics(run)]
    assert len(steps) == len(set(steps)) and steps == sorted(steps), "a resumed run logged a step twice"
    assert steps[-1] == saved + 20 and [s for s in logged if s <= saved] == [s for s in steps if s <= saved]


def test_resume_where_there_is_no_checkpoint_says_why(tmp_path):
    (tmp_path / "empty").mkdir()
    out = cli("train", "--out", tmp_path / "empty", "--resume")
    _, err = out.communicate(timeout=120)
    assert out.returncode == 2 and "cannot resume" in err and "holds no checkpoint yet" in err and "Traceback" not in err


def test_sigterm_or_ctrl_c_during_start_up_exits_cleanly_with_a_message(tmp_path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        job = cli("train", *TINY_ARGS, "--steps", 10, "--out", tmp_path / f"run{sig}")
        time.sleep(1.0)  # importing torch
        job.send_signal(sig)
        _, err = job.communicate(timeout=120)
        assert job.returncode == 130, err
        assert "Traceback" not in err and ("nothing was written" in err)


def test_a_write_killed_half_way_leaves_no_temp_file_after_the_next_start(tmp_path):
    run = tmp_path / "run"
    train(new_config("dcgan", "fake", 2, overrides=[TINY]), run, progress=False)
    leftovers = [run / ".config.json.x1.tmp", run / "samples" / ".step_4.png.x2.tmp", run / "snapshots" / ".g.x3.tmp"]
    for path in leftovers:
        path.write_bytes(b"half")
    cfg = new_config("dcgan", "fake", 4, overrides=[TINY])
    train(cfg, run, resume=True, progress=False)
    assert not [p for p in leftovers if p.exists()]
    assert os.listdir(run)  # the run itself is whole

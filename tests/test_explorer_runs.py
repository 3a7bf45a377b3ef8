"""Which runs the explorer lists, and the helpers of its training tab."""

import json
import os

import pytest

from latent_studio.app.runs import scan
from latent_studio.app.training_runs import free_name, latest_samples, loss_figure, started_runs, train_args
from tests.explorer_runs import make_run


def test_scan_lists_runs_of_every_folder_with_ids_relative_to_their_folder(tmp_path):
    make_run(tmp_path / "shipped" / "dcgan", "dcgan", {"arch": {"generator": {"width": 8}}}, steps=(2,))
    make_run(tmp_path / "user" / "nested" / "vae", "vae", {"latent": {"dim": 2}}, steps=(2,))
    entries = scan([tmp_path / "shipped", tmp_path / "user", tmp_path / "missing"])
    assert [e.id for e in entries] == ["dcgan", "nested/vae"]
    assert all(e.explorable and e.error is None for e in entries)
    assert entries[0].label == "dcgan (dcgan on fake, step 2)"


def test_scan_counts_a_folder_once_and_keeps_the_first_of_two_equal_ids(tmp_path):
    make_run(tmp_path / "a" / "run", "dcgan", {}, steps=(2,))
    make_run(tmp_path / "b" / "run", "vae", {}, steps=(2,))
    entries = scan([tmp_path / "a", tmp_path / "a", tmp_path / "b"])
    assert [(e.id, e.config.family) for e in entries] == [("run", "dcgan")]


def test_scan_reports_an_unreadable_run_instead_of_failing(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{")
    (entry,) = scan([tmp_path])
    assert entry.config is None and not entry.explorable
    assert "not valid JSON" in entry.error
    assert entry.label == "bad (cannot be read)"


def test_train_args_for_the_cli():
    assert train_args("infogan", "mnist", 500, "data", "infogan-mnist", "train.lr_g=1e-4  arch.q_hidden=64") == [
        "--model", "infogan", "--dataset", "mnist", "--steps", "500", "--data-root", "data", "--preset", "infogan-mnist",
        "--set", "train.lr_g=1e-4", "--set", "arch.q_hidden=64",
    ]


def test_train_args_refuse_a_malformed_setting():
    with pytest.raises(ValueError, match="KEY=VALUE"):
        train_args("dcgan", "fake", 10, "data", settings="train.lr_g")


def test_free_name_skips_taken_names_and_cleans_the_text(tmp_path):
    assert free_name(tmp_path, "dcgan-mnist") == "dcgan-mnist"
    (tmp_path / "dcgan-mnist").mkdir()
    (tmp_path / "dcgan-mnist-2").mkdir()
    assert free_name(tmp_path, "dcgan-mnist") == "dcgan-mnist-3"
    assert free_name(tmp_path, "../my run!") == "my-run"


def test_started_runs_are_those_with_a_job_newest_first(tmp_path):
    for i, name in enumerate(["old", "new"]):
        (tmp_path / name).mkdir()
        (tmp_path / name / "job.json").write_text("{}")
        os.utime(tmp_path / name / "job.json", (1000 + i, 1000 + i))
    (tmp_path / "plain").mkdir()
    assert started_runs(tmp_path) == [tmp_path / "new", tmp_path / "old"]
    assert started_runs(tmp_path / "missing") == []


def test_loss_figure_shows_main_losses_and_keeps_the_rest_in_the_legend():
    metrics = [{"step": 2, "d_loss": 1.0, "g_loss": 2.0, "d_real": 0.5, "images_per_s": 9.0},
               {"step": 4, "d_loss": 0.5, "g_loss": 2.5, "d_real": 0.6, "warnings": ["collapse"]}]
    traces = {t.name: t for t in loss_figure(metrics).data}
    assert set(traces) == {"d_loss", "g_loss", "d_real"}
    assert list(traces["g_loss"].x) == [2, 4] and list(traces["g_loss"].y) == [2.0, 2.5]
    assert traces["d_loss"].visible is True and traces["d_real"].visible == "legendonly"
    distilled = {t.name: t for t in loss_figure([{"step": 50, "distill": 0.09, "lr_factor": 1.0}]).data}
    assert distilled["distill"].visible is True  # a distillation's only loss is not hidden in the legend


def test_latest_samples_is_the_highest_step(tmp_path):
    assert latest_samples(tmp_path) is None
    (tmp_path / "samples").mkdir()
    for step in (500, 1500, 1000):
        (tmp_path / "samples" / f"step_{step}.png").write_bytes(b"")
    assert latest_samples(tmp_path) == (1500, tmp_path / "samples" / "step_1500.png")


def test_scan_sees_a_run_written_after_the_first_scan(tmp_path):
    assert scan([tmp_path]) == []
    make_run(tmp_path / "late", "dcgan", {}, steps=(2,))
    assert [e.id for e in scan([tmp_path])] == ["late"]


def test_image_to_image_runs_are_listed_but_not_explored(tmp_path):
    (tmp_path / "facades").mkdir()
    (tmp_path / "facades" / "config.json").write_text(json.dumps({"family": "pix2pix", "step": 10}))
    (entry,) = scan([tmp_path])
    assert not entry.explorable and entry.error is None
    assert entry.label == "facades (pix2pix: open in Colorize & translate)"

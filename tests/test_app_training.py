"""The Training tab through AppTest: a real background job on the fake dataset, started, watched
and stopped from the page; and the checkpoint scrubber."""

import time

import pytest

from latent_studio.training import jobs
from tests.explorer_runs import checked, explorer_env, images, open_page, view, widget

# Small enough that a step takes milliseconds; a snapshot every 2 steps, so one comes quickly.
TINY_SETTINGS = ("arch.generator.width=8 arch.discriminator.width=8 train.batch_size=8 train.log_every=2 "
                 "train.snapshot_every=2 train.grid_size=8")


@pytest.fixture(autouse=True)
def runs(monkeypatch, tmp_path, tmp_path_factory):
    with explorer_env(monkeypatch, tmp_path, tmp_path_factory.getbasetemp()) as root:
        yield root


def _fill(at, name: str, settings: str = TINY_SETTINGS):
    widget(at.selectbox, "Model family").set_value("dcgan")
    widget(at.selectbox, "Dataset").set_value("fake")
    widget(at.number_input, "Steps").set_value(100_000)
    widget(at.text_input, "Run name").set_value(name)
    widget(at.text_input, "Extra settings").set_value(settings)
    widget(checked(at.run()).button, "Start training").click()
    return checked(at.run())


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the training job did not get there in time"
        time.sleep(0.2)


@pytest.mark.slow
def test_training_starts_shows_progress_stops_and_the_run_is_listed(tmp_path):
    run = tmp_path / "user" / "tiny"
    at = _fill(view(open_page(model="dcgan"), "Training"), "tiny")
    try:
        assert at.success[0].value.startswith(f"Training dcgan on fake in {run} (process ")
        _wait_for(lambda: list(run.glob("samples/step_*.png")) and jobs.status(run).metrics)  # a grid, not just its folder
        checked(at.run())
        assert at.get("progress")[0].proto.text.startswith("running: step ")
        assert len(at.get("plotly_chart")) == 1
        assert any(c.startswith("Fixed noise at step ") for image in at.image for c in image.captions)
        widget(at.button, "Stop training").click()
        checked(at.run(timeout=90))
    finally:
        jobs.stop(run)
    status = jobs.status(run)
    assert status.state == "stopped" and status.step > 0
    assert at.get("progress")[0].proto.text == f"stopped: step {status.step} of 100000"
    options = widget(at.selectbox, "Model").options
    assert f"tiny (dcgan on fake, step {status.step}/100000)" in options


def test_a_malformed_setting_is_reported_and_nothing_starts(tmp_path):
    at = _fill(view(open_page(model="dcgan"), "Training"), "bad", settings="train.lr_g")
    assert at.error[0].value.startswith("Could not start training: --set expects KEY=VALUE")
    assert not (tmp_path / "user" / "bad").exists()


def test_scrubber_renders_the_fixed_noise_at_each_snapshot():
    at = view(open_page(model="dcgan"), "Training")
    assert widget(at.selectbox, "Run").value.endswith("dcgan")  # the model open in the picker
    scrubber = widget(at.select_slider, "Snapshot step")
    assert scrubber.options == ["2", "4"] and scrubber.value == 4
    last = images(at)[-1]
    scrubber.set_value(2)
    assert images(checked(at.run()))[-1] != last

"""What an anonymous visitor of a public server can and cannot do, tried as a hostile visitor
would: server paths, training, run names, wrongly typed configs, permalinks, request budgets."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import gradio as gr
import pytest

from latent_studio.app.permalink import from_query
from latent_studio.app.request_limits import ClientBudget
from latent_studio.app.runs import user_folder
from latent_studio.app.sampling import LatentState
from latent_studio.app.training_runs import run_dir
from latent_studio.runs.config import LatentSpec
from latent_studio.runs.files import CheckpointError, find_runs, read_config
from latent_studio.training import jobs
from tests.conftest import ROOT
from tests.explorer_runs import checked, explorer_env, make_run, open_page, view, widget

BAD_FIELDS = {  # field -> (what a hand-edited or hostile config.json says, the message's part)
    "train.steps": ({"train": {"steps": "abc"}}, "train.steps: Input should be a valid integer"),
    "metrics": ({"metrics": [1, 2, 3]}, "metrics: Input should be a valid dictionary"),
    "card": ({"card": "hello"}, "card: Input should be a valid dictionary"),
    "latent.dim": ({"latent": {"dim": -5}}, "latent.dim: Input should be greater than or equal to 1"),
    "card.train_seconds": ({"card": {"train_seconds": "long"}}, "card.train_seconds: Input should be a valid number"),
    "unknown key": ({"train": {"stepz": 5}}, "train.stepz: Unexpected keyword argument"),
}


@pytest.fixture
def runs(monkeypatch, tmp_path, tmp_path_factory):
    with explorer_env(monkeypatch, tmp_path, tmp_path_factory.getbasetemp()) as root:
        yield root


def write_bad_run(folder: Path, name: str, change: dict) -> Path:
    make_run(folder / name, "dcgan", {"arch": {"generator": {"width": 8}}}, steps=(2,))
    config = json.loads((folder / name / "config.json").read_text())
    for key, value in change.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) and isinstance(config.get(key), dict) else value
    (folder / name / "config.json").write_text(json.dumps(config))
    return folder / name


# --- configs: validated where they are read ---------------------------------------------------------


@pytest.mark.parametrize("field", BAD_FIELDS)
def test_a_wrongly_typed_config_field_is_refused_with_its_name(tmp_path, field):
    change, message = BAD_FIELDS[field]
    with pytest.raises(CheckpointError, match=message.replace(".", r"\.")):
        read_config(write_bad_run(tmp_path, "bad", change))


@pytest.mark.parametrize("field", BAD_FIELDS)
def test_a_wrongly_typed_run_is_listed_with_its_error_and_never_breaks_the_page(runs, tmp_path, field):
    write_bad_run(tmp_path / "user", "bad", BAD_FIELDS[field][0])
    at = open_page(model="bad")  # checked: no exception
    assert "bad (cannot be read)" in widget(at.selectbox, "Model").options
    assert [e.value for e in at.error if BAD_FIELDS[field][1] in e.value]
    checked(view(open_page(model="dcgan"), "Training"))


def test_weights_holding_nan_are_refused_when_loaded_instead_of_drawing_black(tmp_path):
    from safetensors.torch import load_file, save_file

    from latent_studio.families.run_models import load_run

    run = tmp_path / "nan"
    make_run(run, "dcgan", {"arch": {"generator": {"width": 8}}}, steps=(2,))
    weights = load_file(run / "generator.safetensors")
    first = next(k for k, v in weights.items() if v.is_floating_point())
    weights[first] = weights[first].clone().fill_(float("nan"))
    save_file(weights, run / "generator.safetensors")
    with pytest.raises(CheckpointError, match="not finite"):
        load_run(run, "cpu")


def test_a_broken_default_model_opens_another_run_and_is_still_listed_with_its_problem(runs, monkeypatch):
    from latent_studio.app.views import picker

    monkeypatch.setattr(picker, "OPENS_FIRST", "broken")  # the truncated config.json of tests.explorer_runs
    at = open_page()  # checked: no exception
    model = widget(at.selectbox, "Model")
    assert model.value != "broken" and "broken (cannot be read)" in model.options
    assert at.image or at.tabs  # a model's views, not an error page


def test_list_in_every_format_and_the_gradio_model_list_survive_a_wrongly_typed_run(tmp_path):
    from latent_studio.app.img2img.app import _pick, image_to_image_runs

    for name, (change, _) in BAD_FIELDS.items():
        write_bad_run(tmp_path, name.replace(" ", "-"), change)
    for fmt in ([], ["--json"], ["--markdown"]):
        out = subprocess.run([sys.executable, "-m", "latent_studio", "list", str(tmp_path), *fmt], cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
        assert out.stdout.count("does not fit the run config schema") == len(BAD_FIELDS)
    assert not any(image_to_image_runs([tmp_path]).values())  # no tab offers a run it cannot read...
    with pytest.raises(gr.Error) as refused:  # ...but a request for one is told they are there, by name only
        _pick({}, "wrong-type", "colorizer", [tmp_path])
    assert "none installed (not offered, their files cannot be read: " in refused.value.message
    assert all(name.replace(" ", "-") in refused.value.message for name in BAD_FIELDS)
    assert str(tmp_path) not in refused.value.message


def test_set_overrides_are_checked_against_the_schema_before_training(tmp_path):
    out = subprocess.run([sys.executable, "-m", "latent_studio", "train", "--model", "dcgan", "--dataset", "fake",
                          "--out", str(tmp_path / "r"), "--set", "train.snapshot_every=0"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "train.snapshot_every: Input should be greater than or equal to 1" in out.stderr
    assert not (tmp_path / "r").exists()


# --- public mode: no server paths, no training, no one else's job -----------------------------------


def test_public_mode_offers_no_runs_folder_and_ignores_one_set_in_the_session(runs, monkeypatch):
    monkeypatch.setenv("LATENT_STUDIO_PUBLIC", "1")
    at = open_page()
    assert not [w for w in at.text_input if w.label == "Your runs folder"]
    at.session_state["user_folder"] = "/"
    checked(at.run())
    assert all(not o.startswith(("tmp", "usr", "work")) for o in widget(at.selectbox, "Model").options)


def test_a_damaged_inverter_is_reported_without_a_server_path_and_the_search_goes_on(runs, monkeypatch):
    monkeypatch.setenv("LATENT_STUDIO_PUBLIC", "1")
    inverter = runs / "dcgan" / "inverter.safetensors"  # the tiny runs are shared by the whole session: put it back after
    kept = inverter.read_bytes() if inverter.exists() else None
    inverter.write_bytes(b"not safetensors" * 64)
    try:
        at = view(open_page(model="dcgan"), "Your image")  # checked: no exception
    finally:
        if kept is None:
            inverter.unlink()
        else:
            inverter.write_bytes(kept)
    shown = [e.value for e in at.error] + [e.value for e in at.info] + [c.value for c in at.code]
    assert any("inverter file could not be read" in text for text in shown), shown
    assert not any(str(runs) in text or str(ROOT) in text for text in shown), shown


def test_public_mode_turns_training_off_and_shows_no_stop_button_for_a_running_job(runs, monkeypatch, tmp_path):
    make_run(tmp_path / "user" / "someones", "dcgan", {"arch": {"generator": {"width": 8}}}, steps=(2,))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # a job someone started on the server: running, in the user folder
        record = {"pid": sleeper.pid, "pid_started": jobs.process_start(sleeper.pid)}
        (tmp_path / "user" / "someones" / jobs.JOB).write_text(json.dumps(record))
        monkeypatch.setenv("LATENT_STUDIO_PUBLIC", "1")
        at = view(open_page(model="someones"), "Training")
        assert not [b for b in at.button if b.label in ("Start training", "Stop training")]
        assert "Training from the page is off on this public server" in at.info[0].value
        assert at.get("progress")[0].proto.text.startswith("running")
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_run_name_cannot_leave_the_runs_folder(runs, tmp_path):
    for name in ("../../escaped", "/tmp/escaped", "a/b", "..", ".hidden", "x" * 65):
        with pytest.raises(ValueError, match="a run name is up to 64 letters"):
            run_dir(tmp_path / "user", name)
    at = view(open_page(model="dcgan"), "Training")
    widget(at.text_input, "Run name").set_value("../../escaped")
    widget(checked(at.run()).button, "Start training").click()
    checked(at.run())
    assert "a run name is up to 64 letters" in at.error[0].value
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()


@pytest.mark.parametrize("typed, message", [
    ("x" * 1100, "the limit is 1024"), ("runs\0/etc", "NUL"), ("y" * 300, "longer than 255 bytes"), ("README.md", "a file"),
])
def test_a_runs_folder_that_cannot_be_one_is_refused_with_a_reason(typed, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ValueError, match=message):
        user_folder(typed)


def test_local_mode_a_bad_runs_folder_shows_a_warning_not_a_traceback(runs):
    at = open_page()
    for typed in ("z" * 300, "runs\0x"):
        widget(at.text_input, "Your runs folder").set_value(typed)
        checked(at.run())
        assert at.warning and "Not a runs folder" in at.warning[0].value


def test_finding_runs_under_the_root_folder_is_bounded():
    started = time.process_time()
    found = find_runs("/")
    assert time.process_time() - started < 5 and len(found) <= 1000
    assert all(len(p.parts) <= 5 for p in found)  # "/" and at most three folders, then the run


# --- permalinks ------------------------------------------------------------------------------------


def test_a_permalink_with_huge_or_broken_values_is_clamped_or_dropped_with_a_warning(runs):
    link = from_query({"z": "3:1e39,4:abc,5:1e999", "seed": "-4", "cont": "0:-7"})
    assert link.dropped == ("seed=-4", "z=4:abc", "z=5:1e999")
    fitted = LatentState(z={3: 1e39}, continuous={0: -7.0}).fit(LatentSpec(dim=10, continuous=1))
    assert fitted == LatentState(z={3: 3.0}, continuous={0: -2.0})
    at = open_page(model="dcgan", z="3:1e39,4:abc")  # checked: no traceback
    assert any("brought into the sliders' range" in w.value for w in at.warning)
    assert any("'z=4:abc' is not a valid value" in w.value for w in at.warning)
    assert at.query_params["z"] == "3:3.0"


# --- the worker's share per client -----------------------------------------------------------------


def test_a_client_over_its_budget_waits_while_others_do_not():
    budget = ClientBudget(seconds=10, window=60)
    budget.charge("a", 6, now=0)
    assert budget.wait_needed("a", now=1) == 0
    budget.charge("a", 6, now=2)
    assert budget.wait_needed("a", now=3) == pytest.approx(57)  # 12 s used: under 10 once the request of t=0 leaves the window
    assert budget.wait_needed("b", now=3) == 0
    assert budget.wait_needed("a", now=60.5) == 0


# --- background jobs ---------------------------------------------------------------------------------


def test_a_job_whose_pid_was_reused_by_another_process_is_not_running_and_is_never_killed(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # job.json names this pid, but a process that started at another time
        (run / jobs.JOB).write_text(json.dumps({"pid": other.pid, "pid_started": jobs.process_start(other.pid) - 100}))
        assert jobs.status(run).state != "running"
        jobs.stop(run, timeout=1)
        time.sleep(0.2)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_finished_background_jobs_leave_no_defunct_process(tmp_path):
    run = tmp_path / "job"
    pid = jobs.start(run, ["--model", "dcgan", "--dataset", "fake", "--steps", "2", "--set", "arch.generator.width=8",
                           "--set", "arch.discriminator.width=8", "--set", "train.batch_size=8"])
    # Every process is a zombie for the moment between its exit and its parent's wait; one that
    # nobody reaps stays one (and keeps its /proc entry), so the entry must go, with nobody asking.
    deadline = time.monotonic() + 120
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists(), "the finished job is still a <defunct> process: nobody reaped it"
    assert jobs.status(run).state == "finished"


def test_every_module_imports_with_only_the_declared_requirements():
    """In CI this runs in the fresh virtual environment .ci/run makes from requirements.txt, so a
    module importing an undeclared package (scipy, say) fails here."""
    modules = sorted({".".join(p.relative_to(ROOT).with_suffix("").parts) for folder in ("latent_studio",)
                      for p in (ROOT / folder).rglob("*.py") if p.name != "__main__.py" and p.stem != "page"})
    script = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)\n"
    out = subprocess.run([sys.executable, "-c", script, *modules], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "latent_studio.evaluation.metrics" in modules and "latent_studio.app.img2img.app" in modules

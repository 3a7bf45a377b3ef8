"""Runs as Hub model repos: loaded by repo id through huggingface_hub's own cache in offline mode
(the real snapshot_download path, the cache pre-filled as a download leaves it), listed in the
explorer by repo id, and described by model cards generated from config.json."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard

from latent_studio import PROJECT, SHIPPED
from latent_studio.families import kind_of
from latent_studio.families.run_models import load_run, read_known_config
from latent_studio.runs.cards import hub_card
from latent_studio.runs.config import RunConfig
from latent_studio.runs.files import CARD, CONFIG, CheckpointError, find_runs, published_files, write_json
from latent_studio.runs.hub import is_repo_id, push_run, resolve_run

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fill_cache(cache: Path, repo_id: str, run: Path) -> Path:
    """The Hugging Face cache as snapshot_download leaves it after fetching `run`'s published files
    from the model repo `repo_id`: content-addressed blobs, a snapshot of links to them, refs/main."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    for rel in published_files(run):
        data = (run / rel).read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / rel).symlink_to(os.path.relpath(blob, (snapshot / rel).parent))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    return snapshot


def offline(cache: Path, script: str, **env: str) -> dict:
    """Run `script` in a fresh interpreter with the cache at `cache` and the Hub offline (the
    library reads HF_HUB_OFFLINE when it is imported); it prints one JSON object."""
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
                                 "PYTHONPATH": str(PROJECT), **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


LOAD = """
import json, torch
from latent_studio.families.run_models import load_run
from latent_studio.runs.files import CheckpointError
run = load_run("someone/mode-collapse", "cpu")
torch.manual_seed(0)
with torch.inference_mode():
    images = run.modules["generator"](torch.randn(4, run.config.latent.input_dim))
try:
    load_run("someone/not-cached", "cpu")
    missing = ""
except CheckpointError as e:
    missing = str(e)
print(json.dumps({"path": str(run.path), "step": run.config.step, "sum": float(images.double().sum()), "missing": missing}))
"""


def test_load_run_by_repo_id_reads_the_hugging_face_cache_offline(tmp_path):
    source = SHIPPED / "mode-collapse-mnist"
    snapshot = fill_cache(tmp_path / "hub", "someone/mode-collapse", source)
    got = offline(tmp_path / "hub", LOAD)
    assert Path(got["path"]) == snapshot  # the cache's snapshot itself, not a copy
    local = load_run(source, "cpu")
    torch.manual_seed(0)
    with torch.inference_mode():
        expected = local.modules["generator"](torch.randn(4, local.config.latent.input_dim))
    assert got["step"] == local.config.step and got["sum"] == pytest.approx(float(expected.double().sum()), abs=1e-6)
    assert "someone/not-cached" in got["missing"] and "HF_HUB_OFFLINE=1" in got["missing"]


SCAN = """
import json
from latent_studio.app.runs import scan
print(json.dumps([[e.id, str(e.path), e.explorable, e.error] for e in scan([])]))
"""


def test_the_explorer_lists_hub_runs_by_repo_id_and_says_why_one_cannot_be_had(tmp_path):
    snapshot = fill_cache(tmp_path / "hub", "someone/dcgan", SHIPPED / "dcgan-mnist")
    entries = offline(tmp_path / "hub", SCAN, LATENT_STUDIO_HUB_RUNS="someone/dcgan, someone/gone ../../etc someone/dcgan")
    assert [e[0] for e in entries] == ["someone/dcgan", "someone/gone", "../../etc"]
    assert entries[0][1:] == [str(snapshot), True, None]
    assert "HF_HUB_OFFLINE=1" in entries[1][3] and "not a Hub repo id" in entries[2][3]


def test_a_local_folder_wins_over_a_repo_id_and_ids_are_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "someone" / "run").mkdir(parents=True)
    assert resolve_run("someone/run") == Path("someone/run")  # no Hub call for a folder that is there
    assert resolve_run("no-slash") == Path("no-slash")
    assert [is_repo_id(t) for t in ("user/name", "user/na.me-1", "../x", "a/b/c", "/abs", "user/..", "u/" + "n" * 97)] == \
        [True, True, False, False, False, False, False]
    with pytest.raises(CheckpointError, match="no config.json"):
        push_run(tmp_path, "user/name", "card")
    with pytest.raises(ValueError, match="not a Hub repo id"):
        push_run(SHIPPED / "mode-collapse-mnist", "../name", "card")


def test_every_shipped_run_carries_the_model_card_its_config_generates():
    runs = find_runs(SHIPPED)
    assert len(runs) >= 20
    stale = [str(run) for run in runs if (run / CARD).read_text() != hub_card(run, cfg := read_known_config(run), kind_of(cfg.family))]
    assert not stale, "regenerate with: python -m latent_studio card " + " ".join(stale)


def test_a_card_is_hub_metadata_and_the_facts_a_reader_needs():
    run = SHIPPED / "sngan-celeba"
    cfg = read_known_config(run)
    card = ModelCard(hub_card(run, cfg, kind_of(cfg.family), "someone/faces"))
    meta = card.data.to_dict()
    assert meta["license"] == "other" and meta["license_name"] == "non-commercial-research"
    assert meta["library_name"] == "latent-studio" and meta["pipeline_tag"] == "unconditional-image-generation"
    assert {"sngan", "gan", "safetensors", "onnx"} <= set(meta["tags"])
    assert {r.metric_type: r.metric_value for r in card.data.eval_results} == {"fid": 25.844, "fid_floor": 0.753, "precision": 0.9008,
                                                                                "recall": 0.343}
    text = card.text
    assert "![Samples at step 16000](samples/step_16000.png)" in text and (run / "samples/step_16000.png").is_file()
    assert 'load_run("someone/faces")' in text and "CelebA agreement" in text and "non-commercial research use only" in text
    assert cfg.card["command"] in text and "108 min 53 s" in text and "| fid | 25.84 |" in text

    mnist = ModelCard((SHIPPED / "infogan-mnist" / CARD).read_text()).data.to_dict()
    assert mnist["license"] == "mit" and mnist["datasets"] == ["ylecun/mnist"] and "base_model" not in mnist


def test_a_fine_tune_names_its_base_and_a_cards_own_text_cannot_add_markup(tmp_path):
    raw = json.loads((SHIPPED / "mode-collapse-mnist" / CONFIG).read_text())
    raw["card"] |= {"notes": "<script>alert(1)</script> ```\nrm -rf /\n```",
                    "started_from": {"run": "someone/base-run", "hardware": "a GPU", "train_seconds": 61}}
    write_json(tmp_path / CONFIG, raw)
    card = hub_card(tmp_path, RunConfig.from_dict(raw), "latent", "someone/tuned")
    meta = ModelCard(card).data.to_dict()
    assert meta["base_model"] == "someone/base-run"
    assert "<script>" not in card and "&lt;script>" in card and "rm -rf /" in card and card.count("```") % 2 == 0
    assert "Fine-tuned from the run `someone/base-run` (a GPU, 1 min 1 s)" in card

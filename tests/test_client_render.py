"""The browser path's routes (latent_studio.app.client_render): the runtime's own files and the exports of
discovered runs are served; anything else, including traversal, is a 404."""

import shutil

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from latent_studio.app import client_render
from latent_studio.families.run_models import load_run, save_run
from latent_studio.inference.onnx_export import export_onnx, onnx_path
from tests.test_family_contract import tiny


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A shipped folder with one exported run, one without an export, and a fake runtime."""
    shipped, runtime = tmp_path / "shipped", tmp_path / "dist"
    cfg, _, m = tiny("dcgan")
    save_run(shipped / "group" / "exported", cfg, m)
    export_onnx(shipped / "group" / "exported")
    save_run(shipped / "plain", cfg, m)
    runtime.mkdir()
    for name in client_render.RUNTIME_FILES:
        (runtime / name).write_bytes(b"runtime " + name.encode())
    (runtime / "ort.all.min.mjs").write_bytes(b"not on the list")
    (tmp_path / "secret.txt").write_text("secret")
    monkeypatch.setenv("LATENT_STUDIO_RUNS", str(shipped))
    monkeypatch.setenv("LATENT_STUDIO_USER_RUNS", str(tmp_path / "user"))
    monkeypatch.setattr(client_render, "RUNTIME", runtime)
    return shipped, TestClient(Starlette(routes=client_render.routes()))


def test_the_runtimes_listed_files_are_served_with_their_types(served):
    _, http = served
    wasm = http.get("/ort/ort-wasm-simd-threaded.wasm")
    assert wasm.status_code == 200 and wasm.headers["content-type"] == "application/wasm"
    assert wasm.content == b"runtime ort-wasm-simd-threaded.wasm"
    assert http.get("/ort/ort.wasm.min.mjs").headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize("path", ["/ort/ort.all.min.mjs", "/ort/..%2Fsecret.txt", "/ort/../secret.txt", "/ort/%2e%2e/secret.txt",
                                  "/ort/", "/ort/package.json"])
def test_other_runtime_names_are_not_found(served, path):
    _, http = served
    assert http.get(path).status_code == 404


def test_a_discovered_runs_export_is_served_by_its_id(served):
    shipped, http = served
    response = http.get("/onnx/group/exported?step=0")
    assert response.status_code == 200 and response.content == onnx_path(shipped / "group" / "exported").read_bytes()


@pytest.mark.parametrize("path", ["/onnx/plain", "/onnx/nothing", "/onnx/group", "/onnx/group/exported/config.json",
                                  "/onnx/../secret.txt", "/onnx/%2e%2e/secret.txt", "/onnx//etc/passwd", "/onnx/group/../plain"])
def test_runs_without_an_export_and_other_paths_are_not_found(served, path):
    _, http = served
    assert http.get(path).status_code == 404


def test_the_browser_path_needs_the_runtime_a_served_run_and_a_current_export(served, monkeypatch, tmp_path):
    shipped, _ = served
    exported = load_run(shipped / "group" / "exported", "cpu")
    model = client_render.client_model(exported, 4)
    assert model is not None and model.model == "/onnx/group/exported?step=0" and model.runtime == "/ort/ort.wasm.min.mjs"
    assert client_render.client_model(load_run(shipped / "plain", "cpu"), 4) is None  # no export
    monkeypatch.setenv(client_render.SWITCH, "0")
    assert client_render.client_model(exported, 4) is None  # switched off
    monkeypatch.delenv(client_render.SWITCH)
    exported.config.step = 7  # trained on since the export: stale
    assert client_render.client_model(exported, 4) is None
    exported.config.step = 0
    elsewhere = tmp_path / "elsewhere"  # the same files outside the served folders
    shutil.copytree(shipped / "group" / "exported", elsewhere)
    assert client_render.client_model(load_run(elsewhere, "cpu"), 4) is None
    monkeypatch.setattr(client_render, "RUNTIME", tmp_path / "missing")
    assert client_render.client_model(exported, 4) is None


def test_a_run_id_is_escaped_in_the_model_url_and_found_by_it(served):
    shipped, http = served
    cfg, _, m = tiny("dcgan")
    save_run(shipped / "night #2", cfg, m)
    export_onnx(shipped / "night #2")
    model = client_render.client_model(load_run(shipped / "night #2", "cpu"), 4)
    assert model is not None and model.model == "/onnx/night%20%232?step=0"
    assert http.get(model.model).status_code == 200

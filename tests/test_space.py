"""The Hugging Face Space's folder (latent_studio.deploy): committed with git-lfs and held to the
Hub's push rule, holding what the app runs and nothing else, and served from that folder alone in
public mode, as the Dockerfile runs it, in a real Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latent_studio import PROJECT, SHIPPED
from latent_studio.app.tools.local_server import running
from latent_studio.app.tools.screenshots import ARGS, settle
from latent_studio.cli import main
from latent_studio.deploy import SPACE_SNAPSHOTS, assemble
from latent_studio.runs.files import find_runs, snapshot_steps
from tests.server import require_chromium

MB = 1_000_000
GIT = ["git", "-c", "user.name=Latent Studio", "-c", "user.email=tests@latent.studio", "-c", "init.defaultBranch=main"]
RUNTIME = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")  # what the Dockerfile copies in


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    return assemble(tmp_path_factory.mktemp("space") / "space")


def git(folder: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=folder, capture_output=True, text=True, check=True).stdout


def commit(folder: Path) -> None:
    """Commit everything in `folder` in a fresh repository, with git-lfs's filters installed there."""
    git(folder, "init", "-q")
    git(folder, "lfs", "install", "--local")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "Deploy")


def hub_refusals(folder: Path) -> list[str]:
    """What the Hub's pre-receive hook refuses in the commit at HEAD: a binary blob (a NUL byte in
    its first 8 kB, as git decides) over 1 MB, or any blob over 10 MB. A file in LFS is a pointer."""
    refused = []
    for line in git(folder, "ls-tree", "-r", "-l", "-z", "HEAD").split("\0"):
        if not line:
            continue
        meta, path = line.split("\t", 1)
        _, _, sha, size = meta.split()
        if int(size) > 10 * MB:
            refused.append(f"{path}: {int(size) / MB:.1f} MB")
        elif int(size) > MB:
            head = subprocess.run(["git", "cat-file", "blob", sha], cwd=folder, capture_output=True, check=True).stdout[:8000]
            if b"\0" in head:
                refused.append(f"{path}: binary, {int(size) / MB:.1f} MB")
    return refused


def test_the_space_folder_commits_within_the_hubs_rule_with_every_binary_in_lfs(space):
    commit(space.root)
    assert hub_refusals(space.root) == []
    in_lfs = set(git(space.root, "lfs", "ls-files", "-n").split())
    assert {"checkpoints/pix2pix-facades/generator.safetensors", "checkpoints/infogan-mnist/generator.onnx",
            "checkpoints/infogan-mnist/samples/step_7741.png", "latent_studio/app/icon.png"} <= in_lfs
    assert in_lfs == set(space.through_lfs())  # what the summary says goes through LFS/Xet is what git put there


def test_the_rule_refuses_the_shipped_weights_committed_without_lfs(tmp_path):
    """What a plain push of the repository met: its weights as ordinary git blobs."""
    for name in ("pix2pix-facades/generator.safetensors", "infogan-mnist/generator.safetensors", "mode-collapse-mnist/config.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHIPPED / name, tmp_path / name)
    commit(tmp_path)
    refused = hub_refusals(tmp_path)
    assert [r.split(":")[0] for r in refused] == ["infogan-mnist/generator.safetensors", "pix2pix-facades/generator.safetensors"]
    assert "20.9 MB" in refused[1]  # one file per network, over 10 MB: fine in LFS, refused as a git blob


def test_the_space_folder_holds_what_the_app_runs_and_nothing_else(space):
    files = set(space.files)
    assert {"app.py", "Dockerfile", "LICENSE", "requirements.txt", "package-lock.json", ".streamlit/config.toml", "README.md",
            ".gitattributes", "latent_studio/app/page.py", "latent_studio/app/icon.png"} <= files
    assert not [f for f in files if f.startswith(("tests/", "node_modules/", "runs/", ".git/", ".ci/")) or "__pycache__" in f
                or f.endswith((".pyc", ".pt", ".tmp", ".part2", ".pyi")) or f == "requirements-dev.txt"]
    for run in find_runs(SHIPPED):
        rel = run.relative_to(PROJECT).as_posix()
        assert {f"{rel}/config.json", f"{rel}/README.md"} <= files
        kept = [f for f in files if f.startswith(f"{rel}/snapshots/")]
        assert len(kept) == min(len(snapshot_steps(run)), SPACE_SNAPSHOTS)
    assert (space.root / "checkpoints/seed-recipe/dcgan-mnist/generator.safetensors").is_file()
    assert space.bytes == sum(p.stat().st_size for p in space.root.rglob("*") if p.is_file() and ".git" not in p.parts)
    front = (space.root / "README.md").read_text().split("---")[1]
    assert {"sdk: docker", "app_port: 8501", "license: mit"} <= set(front.splitlines())
    runtime = (space.root / "requirements.txt").read_text()
    assert "huggingface_hub" in runtime and not re.search(r"^(pytest|playwright|ruff|gradio_client)\b", runtime, re.M)
    docker = (space.root / "Dockerfile").read_text()
    assert "RUN pip install -r requirements.txt\n" in docker and "CMD streamlit run app.py\n" in docker


def test_the_space_command_without_a_token_says_what_it_would_upload(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert main(["space", str(tmp_path / "out"), "--repo-id", "someone/latent-studio"]) == 0
    said = capsys.readouterr().out
    assert re.search(r"out: \d+ files, \d+\.\d MB", said) and re.search(r"through LFS/Xet: \d+ files", said)
    assert "tests/" in said and "node_modules/" in said and "scrubber snapshots beyond 5" in said
    assert "nothing uploaded" in said
    assert main(["space", str(tmp_path / "out")]) == 2  # never written over
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["space", str(tmp_path / "other"), "--repo-id", "../etc", "--token", "x"]) == 2


@pytest.fixture(scope="module")
def served_space(space, tmp_path_factory):
    """The app started from the Space's folder alone, in public mode, as its Dockerfile runs it:
    `streamlit run app.py` in the folder, with the browser runtime its build stage copies in."""
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    runtime = space.root / "node_modules/onnxruntime-web/dist"
    runtime.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME:
        source = PROJECT / "node_modules/onnxruntime-web/dist" / name
        if not source.is_file():  # CI runs npm ci, as README says
            (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{source} is missing: run npm ci")
        shutil.copy(source, runtime / name)
    env = {"LATENT_STUDIO_PUBLIC": "1", "LATENT_STUDIO_RUNS": "", "LATENT_STUDIO_USER_RUNS": "",
           "LATENT_STUDIO_HUB_RUNS": "", "PYTHONPATH": "", "HOME": str(tmp_path_factory.mktemp("home"))}
    with running(env, [sys.executable, "-m", "streamlit", "run", "app.py"], cwd=space.root) as (url, pid), sync_playwright() as p:
        assert Path(f"/proc/{pid}/cwd").resolve() == space.root.resolve()
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield url, browser
        browser.close()


@pytest.mark.browser
@pytest.mark.slow
def test_in_the_served_space_a_slider_draws_and_the_colorize_tab_colorizes(served_space, tmp_path):
    url, browser = served_space
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/?model=dcgan-mnist&view=Sliders")
    settle(page)
    canvas = page.locator(".live canvas")
    canvas.wait_for(timeout=60_000)
    drawn = "() => (window.__latentStudio || {}).frames || 0"
    page.wait_for_function(f"() => ({drawn})() > 0", timeout=60_000)  # the first picture, drawn in the page
    before, count = canvas.evaluate("c => c.toDataURL('image/png')"), page.evaluate(drawn)
    page.get_by_role("slider", name="z[0]").focus()
    page.keyboard.press("End")
    page.wait_for_function(f"() => ({drawn})() > {count}", timeout=60_000)
    assert canvas.evaluate("c => c.toDataURL('image/png')") != before
    assert page.get_by_text("browser · onnxruntime-web (wasm)").count() == 1  # by the runtime the build stage installs
    page.screenshot(path=tmp_path / "space-slider.png")

    photo = tmp_path / "old-photo.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (90, 120), dtype=np.uint8)).save(photo)
    page.goto(url + "/")
    settle(page)
    page.get_by_role("tab", name="Colorize & translate").click()
    frame = page.frame_locator("iframe")
    frame.get_by_role("button", name="Colorize", exact=True).wait_for(timeout=60_000)
    frame.locator("input[type=file]").first.set_input_files(str(photo))
    frame.locator("img").first.wait_for(timeout=30_000)
    frame.get_by_role("button", name="Colorize", exact=True).click()
    frame.get_by_role("link", name=re.compile(r"\d KB")).wait_for(timeout=120_000)
    assert "colorized.png" in frame.locator("body").inner_text().replace("\n", "")
    page.screenshot(path=tmp_path / "space-colorize.png", full_page=True)
    assert not errors


DEVELOPMENT_ONLY = ("pytest", "_pytest", "playwright", "ruff", "pluggy", "iniconfig")  # requirements-dev.txt's, not gradio's
IMPORT_ALL = """
import importlib, json, pathlib, sys
import app
for path in sorted(pathlib.Path("latent_studio").rglob("*.py")):
    name = ".".join(path.with_suffix("").parts).removesuffix(".__init__")
    if not name.startswith("latent_studio.app.tools") and path.stem not in ("page", "__main__"):
        importlib.import_module(name)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_the_app_and_its_package_import_nothing_only_the_development_set_installs(space):
    """The runtime requirements are enough: nothing the Space runs imports a test, browser-driving
    or lint package (the benchmarks and screenshots under latent_studio/app/tools are development tools)."""
    out = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=space.root, capture_output=True, text=True, timeout=300,
                         env={"PATH": "/usr/bin:/bin", "LATENT_STUDIO_PUBLIC": "1", "OMP_NUM_THREADS": "1", "HOME": str(space.root)})
    assert out.returncode == 0, out.stderr[-3000:]
    imported = set(json.loads(out.stdout.splitlines()[-1]))
    assert {"torch", "gradio", "streamlit", "huggingface_hub", "latent_studio"} <= imported
    assert not imported & set(DEVELOPMENT_ONLY)

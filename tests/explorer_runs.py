"""Tiny run directories for the explorer's tests, made once per test session, and helpers that
drive the explorer page with Streamlit's AppTest.

The networks are built and saved without training (latent_studio.families.run_models.save_run): the explorer
only needs weights that make different inputs give different images, and PyTorch's default init
does that in milliseconds. Every explorer test file asks for the same folder (keyed by pytest's
base temp directory), so the runs are written once however many files use them.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from streamlit.testing.v1 import AppTest

from latent_studio.families import get_family
from latent_studio.families.run_models import save_run
from latent_studio.runs.config import merge
from latent_studio.runs.files import TEST_DIGITS
from latent_studio.training.trainer import new_config
from tests.conftest import TINY

DEFAULT_INIT = merge(TINY, {"arch": {"init": "default"}})
VAE_TINY = {"arch": {"generator": {"width": 8}, "encoder": {"width": 8, "hidden": 16}}, "latent": {"dim": 2}}
ATTRIBUTES = ("Eyeglasses", "Smiling")
SNAPSHOTS = (2, 4)


def make_run(run: Path, family: str, overrides: dict, steps: tuple[int, ...] = SNAPSHOTS) -> None:
    """Save freshly initialised networks of `family` as a run that reached each of `steps`."""
    cfg = new_config(family, "fake", steps[-1], overrides=[overrides])
    modules = get_family(family)(cfg).build().eval()
    for step in steps:
        cfg.step = step
        with torch.no_grad():  # a different generator at each snapshot, like a run that learns
            for p in modules["generator"].parameters():
                p.mul_(1.1)
        save_run(run, cfg, modules)


@functools.cache
def tiny_runs(base: Path) -> Path:
    """<base>/explorer-runs holding dcgan (with attribute directions), infogan (with a model card,
    a fine-tune's, and metrics), cgan, a 2-D vae, a pixelcnn (with kept test digits), a run whose config.json is
    truncated and one whose weights disagree with its config."""
    root = base / "explorer-runs"
    for family, overrides in [("dcgan", DEFAULT_INIT), ("infogan", DEFAULT_INIT), ("cgan", DEFAULT_INIT), ("vae", VAE_TINY),
                              ("pixelcnn", TINY)]:
        make_run(root / family, family, overrides)
    digits = (torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.7).to(torch.uint8)
    save_file({"images": digits, "labels": torch.arange(20) % 10}, str(root / "pixelcnn" / TEST_DIGITS))
    infogan = json.loads((root / "infogan" / "config.json").read_text())
    infogan["metrics"] = {"d_loss": 0.61234, "q_cat_acc": 0.99}
    infogan["card"] = {"hardware": "test CPU", "train_seconds": 75.0, "command": "python -m latent_studio train --preset infogan-mnist",
                       "started_from": {"run": "runs/infogan-base", "command": "python -m latent_studio train --out runs/infogan-base",
                                        "hardware": "test GPU", "train_seconds": 130.0}}
    (root / "infogan" / "config.json").write_text(json.dumps(infogan))
    dim = json.loads((root / "dcgan" / "config.json").read_text())["latent"]["dim"]
    save_file({name: torch.randn(dim, generator=torch.Generator().manual_seed(i)) for i, name in enumerate(ATTRIBUTES)},
              str(root / "dcgan" / "directions.safetensors"))
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text('{"family": "dcgan", "arch"')
    make_run(root / "mismatched", "dcgan", TINY, steps=(2,))
    config = json.loads((root / "mismatched" / "config.json").read_text())
    config["latent"]["dim"] = 7
    (root / "mismatched" / "config.json").write_text(json.dumps(config))
    return root


# --- driving the page with Streamlit's AppTest -----------------------------------------------------

PAGE = Path(__file__).resolve().parent.parent / "latent_studio" / "app" / "page.py"


@contextlib.contextmanager
def explorer_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, base: Path) -> Iterator[Path]:
    """Point the page at the tiny runs, an empty user folder and an empty data root. torch's
    thread count, which the explorer sets when it loads a model on a CPU, is restored after."""
    root = tiny_runs(base)
    monkeypatch.setenv("LATENT_STUDIO_RUNS", str(root))
    monkeypatch.setenv("LATENT_STUDIO_USER_RUNS", str(tmp_path / "user"))
    monkeypatch.setenv("LATENT_STUDIO_DATA", str(tmp_path / "data"))
    threads = torch.get_num_threads()
    try:
        yield root
    finally:
        torch.set_num_threads(threads)


def open_page(timeout: float = 30, **query: str) -> AppTest:
    """The explorer as a browser would open it with this query (a permalink)."""
    at = AppTest.from_file(str(PAGE), default_timeout=timeout)
    at.query_params.update(query)
    return checked(at.run())


def checked(at: AppTest) -> AppTest:
    """`at`, after making sure the run raised nothing (a traceback is never what a user sees)."""
    assert not at.exception, [e.value for e in at.exception]
    return at


def view(at: AppTest, title: str) -> AppTest:
    """Open the tab `title`, as a click on it would."""
    at.session_state["view"] = title
    return checked(at.run())


def widget(widgets, label: str):
    """The widget of a list (at.slider, at.selectbox, ...) with this label."""
    matches = [w for w in widgets if w.label == label]
    assert len(matches) == 1, f"{len(matches)} widgets labelled {label!r} among {[w.label for w in widgets]}"
    return matches[0]


def images(at: AppTest) -> list[str]:
    """The URLs of the page's images; a URL names its content, so equal URLs mean equal images."""
    return [url for image in at.image for url in image.value]


def panel_key(at: AppTest, name: str) -> str:
    """The key of a live slider panel that follows the latent state's revision (latent_studio.app.session.key)."""
    return f"{name}@{at.session_state['latent_revision']}"


def sliders(at: AppTest, key: str) -> dict[str, float]:
    """{label: value} that the live slider panel `key` shows."""
    (panel,) = [e for e in at.get("bidi_component") if e.proto.id.endswith(f"-{key}")]
    return {s["label"]: s["value"] for s in json.loads(panel.proto.json)["sliders"]}


def drag(at: AppTest, key: str, **moved: float) -> AppTest:
    """Report slider moves from the live panel `key`, as the browser does while the user drags."""
    state = at.session_state[key] if key in at.session_state else {}
    at.session_state[key] = {"values": {**state.get("values", {}), **moved}}
    return checked(at.run())

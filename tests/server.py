"""A real server for the tests: README's start command, on a free port, over tiny runs of every
kind (explorer models and image-to-image models)."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from latent_studio.app.tools.local_server import running
from latent_studio.families import get_family
from latent_studio.families.run_models import save_run
from latent_studio.training.trainer import train
from tests.conftest import ROOT, TINY
from tests.explorer_runs import DEFAULT_INIT, make_run
from tests.img2img_helpers import tiny_config, write_data_root

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def readme_commands() -> tuple[str, str]:
    """(install, start) from README's quick start: the first fenced command."""
    block = re.search(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text()).group(1)
    install, start = (part.strip() for part in block.split("&&"))
    return install, start


def require_chromium() -> str:
    """Chromium's path; without it the browser tests skip locally and fail in CI (which installs it)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    return CHROMIUM


def tiny_server_runs(base: Path) -> Path:
    """A colorizer, a CycleGAN, a facades pix2pix, an SRGAN, a context encoder, a face -> anime
    CartoonGAN, a DCGAN and a PixelCNN, the first three trained for two steps, the others only
    initialised."""
    data = write_data_root(base / "data")
    runs = base / "runs"
    train(tiny_config("pix2pix", "colorize"), runs / "colorizer", data_root=str(data), progress=False)
    train(tiny_config("cyclegan", "unpaired"), runs / "summer2winter", data_root=str(data), progress=False)
    train(tiny_config("pix2pix", "paired", {"arch": {"direction": "BtoA"}}), runs / "facades", data_root=str(data), progress=False)
    make_run(runs / "dcgan", "dcgan", DEFAULT_INIT)
    make_run(runs / "pixelcnn", "pixelcnn", TINY)
    make_run(runs / "upscaler", "srgan", TINY)
    make_run(runs / "inpainter", "context_encoder", TINY)
    face2anime = tiny_config("cartoongan", "celeba-anime")  # faces: its Serving reads an upload's centre square
    save_run(runs / "face2anime", face2anime, get_family("cartoongan")(face2anime).build())
    return runs


@contextmanager
def running_server(runs: Path, user_runs: Path) -> Iterator[str]:
    """README's start command over `runs`."""
    env = {"LATENT_STUDIO_RUNS": str(runs), "LATENT_STUDIO_USER_RUNS": str(user_runs), "LATENT_STUDIO_CPU_THREADS": "1"}
    with running(env, shlex.split(readme_commands()[1])) as (url, _pid):
        yield url

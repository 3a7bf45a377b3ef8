"""The browser path of the live sliders: onnxruntime-web and the runs' generator.onnx, served from
the app's own origin, and what the slider component needs to draw in the page.

    npm ci       installs onnxruntime-web (package.json, package-lock.json) into node_modules/
    LATENT_STUDIO_BROWSER_RENDER=0    every view renders on the server (default: the browser when it can)

app.py mounts routes() on the one st.App:

    /ort/<file>            a file of onnxruntime-web's wasm backend, from RUNTIME_FILES only
    /onnx/<run id>         the generator.onnx of a run the explorer discovered (latent_studio.app.runs.scan)

Neither route builds a path from the URL: a runtime file is one of a fixed list, and a run id is
looked up among the scanned runs, so no request reaches any other file. Without node_modules (no
Node on the machine), without a current export (latent_studio.inference.onnx_export), or when the page reports
that the runtime failed (no WebAssembly, a model that would not load), the views render on the
server as before.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from latent_studio import PROJECT
from latent_studio.app.runs import default_user_folder, scan, shipped_folder
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.onnx_export import MAX_BYTES, exported_step, onnx_path

RUNTIME = PROJECT / "node_modules" / "onnxruntime-web" / "dist"
# The wasm backend's module and the single-threaded SIMD build it loads (a page that is not
# cross-origin isolated gets one thread).
RUNTIME_FILES = {
    "ort.wasm.min.mjs": "text/javascript",
    "ort-wasm-simd-threaded.mjs": "text/javascript",
    "ort-wasm-simd-threaded.wasm": "application/wasm",
}
ENTRY = "ort.wasm.min.mjs"
RUNTIME_URL, MODEL_URL = "/ort", "/onnx"
CACHE = "public, max-age=3600"
SWITCH = "LATENT_STUDIO_BROWSER_RENDER"


def runtime_installed() -> bool:
    return all((RUNTIME / name).is_file() for name in RUNTIME_FILES)


SCAN_EVERY_S = 10.0  # how stale the /onnx route's list of runs may be: a request never pays for a scan


def served_runs() -> dict[str, Path]:
    """Run id -> directory, for the runs whose export the /onnx route serves: the shipped folder's
    and the default user folder's (the ones every visitor's picker shows), latent runs only.
    Scanned at most every SCAN_EVERY_S, so a flood of requests costs no more folder walks."""
    global _served
    now, folders = time.monotonic(), [shipped_folder(), Path(default_user_folder())]
    if now - _served[0] > SCAN_EVERY_S or _served[1] != folders:
        _served = (now, folders, {e.id: e.path for e in scan(folders) if e.explorable})
    return _served[2]


_served: tuple[float, list[Path], dict[str, Path]] = (float("-inf"), [], {})


@dataclass(frozen=True)
class ClientModel:
    """What the slider component needs to run a run's generator in the page."""

    runtime: str  # URL of onnxruntime-web's entry module
    wasm: str  # URL prefix of its wasm files
    model: str  # URL of the generator.onnx (with the step, so a browser never keeps a stale one)
    channels: int
    size: int  # the generated image's side, in pixels
    scale: int  # whole-number enlargement, as the server's picture uses
    input_dim: int


def enabled() -> bool:
    """LATENT_STUDIO_BROWSER_RENDER=0 keeps every view on the server (benchmarks compare the two)."""
    return os.environ.get(SWITCH, "1").strip().lower() not in {"0", "false", "no", "off"}


def client_model(run: LoadedRun, scale: int) -> ClientModel | None:
    """The browser path for `run`, or None when it must render on the server: switched off, no
    runtime installed, a run the /onnx route does not serve, or no current export."""
    if not enabled() or not runtime_installed():
        return None
    here = run.path.resolve()
    run_id = next((i for i, path in served_runs().items() if path.resolve() == here), None)
    if run_id is None:
        return None
    path = onnx_path(run.path)
    if not path.is_file() or path.stat().st_size > MAX_BYTES or _step(path) != run.config.step:
        return None
    data = run.config.data
    return ClientModel(f"{RUNTIME_URL}/{ENTRY}", f"{RUNTIME_URL}/", f"{MODEL_URL}/{quote(run_id)}?step={run.config.step}",
                       data.channels, data.image_size, scale, run.config.latent.input_dim)


_steps: dict[tuple[str, float], int | None] = {}


def _step(path: Path) -> int | None:
    """exported_step, kept per file and modification time (reading the metadata parses the file)."""
    key = (str(path), path.stat().st_mtime)
    if key not in _steps:
        _steps[key] = exported_step(path.parent)
    return _steps[key]


def _not_found() -> Response:
    return PlainTextResponse("Not found", status_code=404)


async def runtime_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in RUNTIME_FILES or not (RUNTIME / name).is_file():
        return _not_found()
    return FileResponse(RUNTIME / name, media_type=RUNTIME_FILES[name], headers={"Cache-Control": CACHE})


async def model_file(request: Request) -> Response:
    run = served_runs().get(request.path_params["run_id"])
    if run is None or not onnx_path(run).is_file() or onnx_path(run).is_symlink():  # only a file the run itself holds
        return _not_found()
    return FileResponse(onnx_path(run), media_type="application/octet-stream", headers={"Cache-Control": CACHE})


def routes() -> list[Route]:
    return [Route(RUNTIME_URL + "/{name}", runtime_file, methods=["GET", "HEAD"]),
            Route(MODEL_URL + "/{run_id:path}", model_file, methods=["GET", "HEAD"])]

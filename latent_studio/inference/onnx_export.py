"""A latent run's generator as ONNX (<run>/generator.onnx), for the browser's live sliders.

The explorer's slider component runs this file with onnxruntime-web while the user drags
(docs/architecture.md, "Two places a generator runs"). Its one input is what LatentSample.generator_input()
builds, [N, input_dim] = z | one-hot categorical codes | continuous codes | class one-hot, and its
one output the image [N, C, H, W] in [-1, 1]; the page rebuilds the input from the vector the
server hands it (latent_studio.app.client_render), so config.json and directions.safetensors are all the
browser needs beside this file. The layout is also written into the model's metadata, so the file
explains itself.

The opset is fixed so that a file exported today loads in the onnxruntime-web the lockfile pins;
the batch axis is dynamic. An export is checked against torch before it is kept.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from latent_studio.families import LATENT
from latent_studio.families.run_models import LoadedRun, load_run
from latent_studio.runs.files import CheckpointError, atomic_write

ONNX = "generator.onnx"
OPSET = 18
TOLERANCE = 1e-4  # largest |onnxruntime - torch| allowed in an exported generator's output ([-1, 1] images)
MAX_BYTES = 10 * 1024 * 1024  # a Space refuses larger files; the browser would not want them either
INPUT, OUTPUT = "latent", "image"


class ExportError(CheckpointError):
    """A generator that did not export, or whose export disagrees with torch."""


def onnx_path(run: str | os.PathLike) -> Path:
    return Path(run) / ONNX


def export_generator(generator: nn.Module, example: torch.Tensor, path: Path, metadata: dict[str, str] | None = None) -> None:
    """Write `generator` (eval mode, float32, CPU) to `path` as ONNX with a dynamic batch axis."""
    generator = generator.float().cpu().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's progress chatter and deprecation notes
        program = torch.onnx.export(
            generator, (example.float().cpu(),), input_names=[INPUT], output_names=[OUTPUT], opset_version=OPSET,
            dynamo=True, dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},), external_data=False,
            verbose=False,
        )
    model = program.model_proto
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value

    def write(tmp: Path) -> None:
        import onnx

        onnx.save_model(model, str(tmp))

    atomic_write(path, write)


def max_difference(path: Path, generator: nn.Module, inputs: torch.Tensor) -> float:
    """Largest |onnxruntime(path) - torch| over `inputs`."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = inputs.float().cpu()
    (ours,) = session.run([OUTPUT], {INPUT: x.numpy()})
    with torch.inference_mode():
        reference = generator.float().cpu().eval()(x).numpy()
    return float(np.abs(ours - reference).max())


def layout(run: LoadedRun) -> dict[str, str]:
    """The input's layout, written into the ONNX file's metadata."""
    spec, data = run.config.latent, run.config.data
    return {
        "latent_studio.family": run.config.family,
        "latent_studio.step": str(run.config.step),
        "latent_studio.input": "z | one-hot categorical codes | continuous codes | class one-hot",
        "latent_studio.latent": json.dumps({"dim": spec.dim, "prior": spec.prior, "categorical": list(spec.categorical),
                                            "continuous": spec.continuous, "num_classes": spec.num_classes,
                                            "input_dim": spec.input_dim}),
        "latent_studio.output": json.dumps({"channels": data.channels, "image_size": data.image_size, "range": [-1, 1]}),
    }


def export_onnx(run_dir: str | os.PathLike, run: LoadedRun | None = None) -> Path:
    """Export the latent run's generator to <run>/generator.onnx and check it against torch
    (TOLERANCE); a failing export leaves no file, and the explorer renders on the server."""
    run_dir = Path(run_dir)
    run = run or load_run(run_dir, "cpu")
    if run.family.kind != LATENT:
        raise ExportError(f"{run_dir}: {run.config.family} is an image-to-image family; only latent generators run in the browser")
    generator = run.modules["generator"]
    path = onnx_path(run_dir)
    device = next(generator.parameters()).device
    try:
        export_generator(generator, run.family.generator_example(2), path, layout(run))
        check = run.config.latent.sample(8, torch.Generator().manual_seed(0)).generator_input()
        worst = max_difference(path, generator, check)
    except ExportError:
        raise
    except Exception as e:  # the exporter raises many types; all mean "no ONNX for this run"
        path.unlink(missing_ok=True)
        raise ExportError(f"{run_dir}: the generator did not export to ONNX: {type(e).__name__}: {e}") from e
    finally:
        generator.to(device)
    if worst > TOLERANCE:
        path.unlink(missing_ok=True)
        raise ExportError(f"{run_dir}: the ONNX generator differs from torch by {worst:.2e} (allowed {TOLERANCE:g}); not kept")
    if path.stat().st_size > MAX_BYTES:
        size = path.stat().st_size
        path.unlink()
        raise ExportError(f"{run_dir}: the ONNX generator is {size / 2**20:.1f} MB, over {MAX_BYTES / 2**20:.0f} MB; not kept")
    return path


def export_report(run_dir: str | os.PathLike) -> str:
    """export_onnx for the trainer's final save and `evaluate`: what was written, or why not. A failed
    export is reported, not fatal: the explorer then renders that run on the server."""
    try:
        path = export_onnx(run_dir)
    except ExportError as e:
        return f"not exported: {e}"
    return f"{path.name}, {path.stat().st_size / 2**20:.1f} MB"


def exported_step(run_dir: str | os.PathLike) -> int | None:
    """The training step whose generator <run>/generator.onnx holds (None: no readable export).
    A run trained further since its export has a stale file, which the explorer does not use."""
    import onnx

    path = onnx_path(run_dir)
    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception:  # missing, truncated or not ONNX: protobuf and onnx raise several types
        return None
    step = {p.key: p.value for p in model.metadata_props}.get("latent_studio.step", "")
    return int(step) if step.isdigit() else None

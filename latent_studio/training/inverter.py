"""Training the inverter that gives inversion its first guess (latent_studio.inference.inversion),
and measuring how well a run's images come back: what `python -m latent_studio inverter RUN` does."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from latent_studio.data.datasets import DatasetMissing, load_dataset
from latent_studio.evaluation.evaluate import real_images
from latent_studio.evaluation.metrics import purity
from latent_studio.families.device import hardware
from latent_studio.families.networks.gan import Encoder
from latent_studio.families.run_models import LoadedRun
from latent_studio.inference.inversion import ARCH, INVERTER, STEPS, build_inverter, invert, load_inverter, predict, save_inverter
from latent_studio.runs.config import LatentSample, LatentSpec
from latent_studio.runs.files import CheckpointError, record_metrics


def inverter_loss(out: dict[str, torch.Tensor], sample: LatentSample) -> torch.Tensor:
    """MSE on z and the continuous codes, cross-entropy on categorical codes and classes."""
    loss = F.mse_loss(out["z"], sample.z)
    for i, codes in enumerate(sample.categorical):
        loss = loss + F.cross_entropy(out[f"cat{i}"], codes)
    if sample.spec.continuous:
        loss = loss + F.mse_loss(out["cont"], sample.continuous)
    if sample.labels is not None:
        loss = loss + F.cross_entropy(out["label"], sample.labels)
    return loss


def _soft_input(out: dict[str, torch.Tensor], spec: LatentSpec) -> torch.Tensor:
    """G's input from the inverter's outputs with softmax in place of one-hots: differentiable, so
    the pixel term reaches every head."""
    parts = [out["z"]] + [out[f"cat{i}"].softmax(1) for i in range(len(spec.categorical))]
    if spec.continuous:
        parts.append(out["cont"])
    if spec.num_classes:
        parts.append(out["label"].softmax(1))
    return torch.cat(parts, 1)


def train_inverter(run: LoadedRun, steps: int = 2000, batch_size: int = 64, lr: float = 1e-3, pixel_weight: float = 1.0,
                   seconds: float | None = None, seed: int = 0, progress=None) -> tuple[Encoder, dict]:
    """Train an inverter on fresh samples of the run's generator (every batch is new, so it cannot
    overfit), for `steps` steps or until this process has used `seconds` of CPU time (on a shared
    machine the CPU time, not the wall clock, is the budget that means the same everywhere). Besides the latent losses, `pixel_weight`
    weighs the MSE between G(E(x)) and x through the frozen G: two latents can differ in
    dimensions G barely uses, and what the user sees is the image, not z. Returns the inverter (in
    eval mode) and what it was trained with."""
    torch.manual_seed(seed)
    spec, G = run.config.latent, run.modules["generator"]
    inverter = build_inverter(run).to(run.device).train()
    opt = torch.optim.Adam(inverter.parameters(), lr=lr, betas=(0.5, 0.999))
    for p in G.parameters():
        p.requires_grad_(False)
    start, cpu_start, step, losses = time.perf_counter(), time.process_time(), 0, []
    try:
        while (done := max(step / steps, (time.process_time() - cpu_start) / seconds if seconds else 0)) < 1:
            for group in opt.param_groups:  # cosine decay over whichever ends first, the steps or the seconds
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * done))
            sample = spec.sample(batch_size, device=run.device)
            with torch.no_grad():
                images = run.family.render(run.modules, sample)
            out = inverter(images)
            loss = inverter_loss(out, sample)
            if pixel_weight:
                loss = loss + pixel_weight * F.mse_loss(G(_soft_input(out, spec)), images)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            losses.append(loss.item())
            if progress is not None and step % 100 == 0:
                progress(step, float(np.mean(losses[-100:])))
    finally:
        for p in G.parameters():
            p.requires_grad_(True)
    info = {"steps": step, "seconds": round(time.perf_counter() - start, 1), "cpu_seconds": round(time.process_time() - cpu_start, 1),
            "threads": torch.get_num_threads(), "batch_size": batch_size, "lr": lr,
            "pixel_weight": pixel_weight, "final_loss": round(float(np.mean(losses[-100:])), 4) if losses else None,
            "arch": ARCH}
    return inverter.eval(), info


# --- measures ------------------------------------------------------------------------------------


def measure(run: LoadedRun, inverter: Encoder, data_root: str | None = None, n_test: int = 300, n_generated: int = 100,
            n_timed: int = 20, seed: int = 0) -> dict:
    """How well the run's images come back, for config.json and README:
    - test_psnr: mean PSNR of held-out real test images (the first n_test) after invert();
    - generated_psnr: the same for G's own samples, which have an exact answer;
    - seconds_per_inversion: median wall time of n_timed single-image inversions, with the
      thread count it ran on, and cpu_seconds_per_inversion, their median CPU time (on a machine
      that other work keeps busy, the wall time would measure the others);
    - for a run with a categorical code and labelled test images (InfoGAN on MNIST), digit_share:
      over the whole test set, the share of images whose inverted code maps to their true digit,
      each code value mapped to its majority digit (as evaluate's purity maps codes), and
      digit_share_run_mapping with the mapping evaluate found on the run's samples instead.
    Raises latent_studio.data.datasets.DatasetMissing when the test split is not under data_root."""
    cfg = run.config
    test = load_dataset(cfg.data, data_root, "test")
    images = real_images(test)
    out: dict = {}
    real = invert(run, images[:n_test], inverter=inverter)
    out["test_psnr"] = round(float(np.mean(real.psnr)), 2)
    with torch.no_grad():
        start_only = invert(run, images[:n_test], steps=0, inverter=inverter)
    out["test_psnr_inverter_only"] = round(float(np.mean(start_only.psnr)), 2)
    sample = cfg.latent.sample(n_generated, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        generated = run.family.render(run.modules, sample.to(run.device)).float().cpu()
    out["generated_psnr"] = round(float(np.mean(invert(run, generated, inverter=inverter).psnr)), 2)
    times, cpu = [], []
    for i in range(n_timed):
        cpu_start = time.process_time()
        times.append(invert(run, images[i], inverter=inverter).seconds)
        cpu.append(time.process_time() - cpu_start)
    out["seconds_per_inversion"] = round(float(np.median(times)), 3)
    out["cpu_seconds_per_inversion"] = round(float(np.median(cpu)), 3)  # the wall time on an idle core of this kind
    out["threads"] = torch.get_num_threads()
    out["steps_per_inversion"] = STEPS.get(cfg.data.image_size, 60)
    targets = getattr(test, "targets", None)
    if cfg.latent.categorical and targets is not None and int(targets.min()) >= 0 and targets.dim() == 1:
        codes = []
        with torch.no_grad():
            for i in range(0, len(images), 500):
                codes.append(predict(inverter, images[i:i + 500].to(run.device), cfg.latent).categorical[0].cpu())
        codes = torch.cat(codes)
        share, mapping = purity(codes, targets)
        out["digit_share"] = round(share, 4)
        out["digit_mapping"] = mapping
        kept = cfg.metrics.get("purity_mapping")
        if isinstance(kept, dict) and kept:
            mapped = torch.tensor([int(kept.get(str(c), kept.get(c, -1))) for c in codes.tolist()])
            out["digit_share_run_mapping"] = round(float((mapped == targets).float().mean()), 4)
    out["n_test"], out["n_generated"] = min(n_test, len(images)), n_generated
    return out


def measure_saved(run: LoadedRun, data_root: str | None = None) -> dict:
    """measure() the run's saved inverter again and record the numbers in config.json."""
    inverter = load_inverter(run)
    if inverter is None:
        raise CheckpointError(f"{run.path} has no {INVERTER}; train one with python -m latent_studio inverter {run.path}")
    measures = measure(run, inverter, data_root)
    raw = json.loads((run.path / "config.json").read_text())
    record_metrics(run.path, {"inverter": {**raw.get("metrics", {}).get("inverter", {}), "measures": measures}})
    return measures


def train_and_measure(run: LoadedRun, steps: int, seconds: float | None, data_root: str | None, command: str,
                      progress=None) -> dict:
    """What `python -m latent_studio inverter RUN` does: train, save, measure, and record it all under
    metrics["inverter"] in config.json (measures are skipped, saying why, without the test data)."""
    inverter, info = train_inverter(run, steps, seconds=seconds, progress=progress)
    path = save_inverter(run.path, inverter, info["arch"])
    info.update({"command": command, "hardware": hardware(run.device), "file_mb": round(path.stat().st_size / 2**20, 2)})
    try:
        info["measures"] = measure(run, inverter, data_root)
    except DatasetMissing as e:
        info["measures"] = {"skipped": f"the test split is not here: {e}"}
    record_metrics(run.path, {"inverter": info})
    return info


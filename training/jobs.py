"""Background training runs for the UI: start `python -m training train` as its own process, read
its progress from its run directory, stop it cleanly.

The run directory is the only channel (DESIGN.md: the UI reads nothing else), so a page reload or
a second browser tab sees the same job: job.json holds the process id and command, train.log its
output, config.json and metrics.jsonl its progress. Stopping sends SIGTERM; the trainer finishes
its step and writes a resumable checkpoint before it exits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from training.checkpoint import CheckpointError, read_config, read_metrics, write_json

JOB = "job.json"
LOG = "train.log"
PROJECT = Path(__file__).resolve().parent.parent
_children: dict[int, subprocess.Popen] = {}  # processes this one started, so exits get reaped


@dataclass
class JobStatus:
    state: str  # running | finished | stopped | failed | unknown
    step: int = 0
    steps: int = 0
    metrics: list[dict] = field(default_factory=list)
    error: str = ""


def start(run_dir: str | os.PathLike, train_args: list[str]) -> int:
    """Start training into `run_dir` with the CLI's train arguments (without --out); returns the pid."""
    run = Path(run_dir)
    if (run / JOB).exists() and status(run).state == "running":
        raise RuntimeError(f"a job is already running in {run}")
    run.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "training", "train", *train_args, "--out", str(run), "--no-progress"]
    with open(run / LOG, "ab") as log:
        proc = subprocess.Popen(
            cmd, cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
        )
    _children[proc.pid] = proc
    write_json(run / JOB, {"pid": proc.pid, "command": cmd, "started": time.time()})
    return proc.pid


def _alive(pid: int) -> bool:
    if pid in _children:
        return _children[pid].poll() is None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _pid(run: Path) -> int | None:
    try:
        return int(json.loads((run / JOB).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def status(run_dir: str | os.PathLike) -> JobStatus:
    """What the job in `run_dir` is doing, from the run directory alone."""
    run = Path(run_dir)
    try:
        cfg = read_config(run)
        step, steps = cfg.step, cfg.train.steps
    except CheckpointError:
        step, steps = 0, 0
    metrics = read_metrics(run)
    if metrics:
        step = max(step, metrics[-1].get("step", 0))
    pid = _pid(run)
    if pid is not None and _alive(pid):
        return JobStatus("running", step, steps, metrics)
    if steps and step >= steps:
        return JobStatus("finished", step, steps, metrics)
    log = (run / LOG).read_text(errors="replace") if (run / LOG).exists() else ""
    if "Traceback" in log or "error:" in log:
        lines = [line for line in log.strip().splitlines() if line.strip()]
        return JobStatus("failed", step, steps, metrics, lines[-1] if lines else "")
    return JobStatus("stopped" if pid is not None else "unknown", step, steps, metrics)


def stop(run_dir: str | os.PathLike, timeout: float = 60.0) -> JobStatus:
    """Ask the job to stop (SIGTERM), wait for its checkpoint, and return its final status."""
    run = Path(run_dir)
    pid = _pid(run)
    if pid is not None and _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    return status(run)

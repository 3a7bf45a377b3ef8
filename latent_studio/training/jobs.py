"""Background training runs for the UI: start `python -m latent_studio train` as its own process, read
its progress from its run directory, stop it cleanly.

The run directory is the only channel (docs/architecture.md: the app reads nothing else), so a page reload or
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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from latent_studio import PROJECT
from latent_studio.runs.files import CheckpointError, read_config, read_metrics, write_json

JOB = "job.json"
LOG = "train.log"
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
    cmd = [sys.executable, "-m", "latent_studio", "train", *train_args, "--out", str(run), "--no-progress"]
    with open(run / LOG, "ab") as log:
        proc = subprocess.Popen(
            cmd, cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
        )
    _children[proc.pid] = proc
    threading.Thread(target=proc.wait, daemon=True).start()  # reaped when it exits: no <defunct> left behind
    write_json(run / JOB, {"pid": proc.pid, "pid_started": process_start(proc.pid), "command": cmd, "started": time.time()})
    return proc.pid


def process_start(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (Linux), or None where that is not known.
    With the pid it names one process: a pid the system reuses later has another start time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[19])  # field 22; the command name before ")" may hold spaces


def _alive(job: tuple[int, int | None]) -> bool:
    pid, started = job
    if pid in _children:
        return _children[pid].poll() is None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return started is None or process_start(pid) in (started, None)


def _job(run: Path) -> tuple[int, int | None] | None:
    """(pid, start time) of the job that job.json records, or None."""
    try:
        record = json.loads((run / JOB).read_text())
        started = record.get("pid_started")
        return int(record["pid"]), int(started) if started is not None else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
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
    job = _job(run)
    if job is not None and _alive(job):
        return JobStatus("running", step, steps, metrics)
    if steps and step >= steps:
        return JobStatus("finished", step, steps, metrics)
    log = (run / LOG).read_text(errors="replace") if (run / LOG).exists() else ""
    if "Traceback" in log or "error:" in log:
        lines = [line for line in log.strip().splitlines() if line.strip()]
        return JobStatus("failed", step, steps, metrics, lines[-1] if lines else "")
    return JobStatus("stopped" if job is not None else "unknown", step, steps, metrics)


def stop(run_dir: str | os.PathLike, timeout: float = 60.0) -> JobStatus:
    """Ask the job to stop (SIGTERM), wait for its checkpoint, and return its final status."""
    run = Path(run_dir)
    job = _job(run)
    if job is not None and _alive(job):
        os.kill(job[0], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(job) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(job):
            os.kill(job[0], signal.SIGKILL)
    return status(run)

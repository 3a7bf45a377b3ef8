"""The same trainer under torchrun: 2 CPU processes (gloo) end with identical weights."""

import os
import subprocess
import sys

import torch
from safetensors.torch import load_file

from latent_studio.runs.files import read_config
from tests.conftest import ROOT


def test_two_cpu_ranks_end_with_identical_weights(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           str(ROOT / "tests" / "ddp_worker.py"), str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert rank0.keys() == rank1.keys() and len(rank0) > 10
    for key in rank0:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=key)
    cfg = read_config(tmp_path / "run")  # rank 0 wrote the run directory
    assert cfg.step == 4 and cfg.card["hardware"].endswith("x 2")

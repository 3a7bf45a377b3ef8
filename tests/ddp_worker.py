"""Run by tests/test_distributed.py under torchrun: trains a tiny InfoGAN on 2 CPU processes and
saves each rank's final weights, so the test can compare the ranks."""

import os
import sys
from pathlib import Path

from safetensors.torch import save_file

from latent_studio.training.trainer import new_config, train
from tests.conftest import TINY

out = Path(sys.argv[1])
result = train(new_config("infogan", "fake", 4, overrides=[TINY]), out / "run", device="cpu", progress=False)
state = {k: v.contiguous() for k, v in result.modules.state_dict().items()}
save_file(state, out / f"rank{os.environ['RANK']}.safetensors")

"""README's model table is the one the shipped run directories generate, and train_all.sh retrains
every shipped latent model for the steps it was trained."""

import re

from tests.conftest import ROOT
from training.checkpoint import find_runs, read_config
from training.families import LATENT, get_family
from training.report import BEGIN, END, model_table


def test_readme_model_table_matches_the_shipped_runs():
    text = (ROOT / "README.md").read_text()
    table = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()
    assert table == model_table(ROOT / "checkpoints")
    assert "infogan-mnist" in table and "purity" in table


def test_train_all_retrains_every_shipped_latent_model_for_its_steps():
    script = (ROOT / "checkpoints" / "train_all.sh").read_text()
    lines = {m[1]: int(m[2]) for m in re.finditer(r"run (checkpoints/\S+) .*?--steps (\d+)", script)}
    shipped = {str(run.relative_to(ROOT)): read_config(run) for run in find_runs(ROOT / "checkpoints")}
    latent = {name: cfg.step for name, cfg in shipped.items() if get_family(cfg.family).kind == LATENT}
    assert len(latent) >= 10 and lines == latent

"""README's model table is the one the shipped run directories generate."""

from tests.conftest import ROOT
from training.report import BEGIN, END, model_table


def test_readme_model_table_matches_the_shipped_runs():
    text = (ROOT / "README.md").read_text()
    table = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()
    assert table == model_table(ROOT / "checkpoints")
    assert "infogan-mnist" in table and "purity" in table

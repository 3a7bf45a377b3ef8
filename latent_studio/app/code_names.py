"""Names people give an InfoGAN's categorical values ("value 3 draws sevens"), kept with the run.

An InfoGAN learns its codes without labels, so value 3 of the digit code can mean any digit;
only a person looking at the sweep can say which. The names live in <run>/code_names.json,
written atomically like every other file of a run, so they outlast the session and travel with
the run directory:

    {"categorical": [["zero", "", "seven", ...]]}   one list per code, "" for an unnamed value

Until a person names a value, it carries the name the dataset's judge gives it where `evaluate`
measured the codes: the majority class the judge sees in that value's images ("digit 7").
"""

from __future__ import annotations

import json
from pathlib import Path

from latent_studio.evaluation.discovered import class_names
from latent_studio.runs.config import RunConfig
from latent_studio.runs.files import write_json

FILE = "code_names.json"


def judged(config: RunConfig) -> list[list[str]]:
    """Names per categorical code from the judge (evaluate's purity_mapping: value -> majority
    class, measured on the first code), "" where there is none."""
    names = [[""] * size for size in config.latent.categorical]
    mapping, classes = config.metrics.get("purity_mapping"), class_names(config.data)
    if names and isinstance(mapping, dict):
        for value, cls in mapping.items():
            if str(value).isdigit() and int(value) < len(names[0]) and isinstance(cls, int) and 0 <= cls < len(classes):
                names[0][int(value)] = classes[cls]
    return names


def load(run: Path, sizes: list[int], defaults: list[list[str]] | None = None) -> list[list[str]]:
    """Saved names per categorical code, `defaults` (else "") for values without one; a missing or
    damaged file (or one written for other code sizes) names nothing rather than failing the view."""
    names = [list(code) for code in defaults] if defaults else [[""] * size for size in sizes]
    try:
        saved = json.loads((Path(run) / FILE).read_text())["categorical"]
    except (OSError, ValueError, KeyError, TypeError):
        return names
    if not isinstance(saved, list):
        return names
    for code, values in enumerate(saved[: len(sizes)]):
        if isinstance(values, list):
            for value, name in enumerate(values[: sizes[code]]):
                if isinstance(name, str) and name.strip():
                    names[code][value] = name.strip()
    return names


def save(run: Path, names: list[list[str]]) -> None:
    """Write the names for every code (raises OSError when the run folder is read-only)."""
    write_json(Path(run) / FILE, {"categorical": [[n.strip() for n in code] for code in names]})


def describe(value: int, name: str) -> str:
    """How a value shows in selects and grids: "3 · seven", or "3" while it has no name."""
    return f"{value} · {name}" if name else str(value)

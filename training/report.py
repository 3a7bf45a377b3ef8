"""README's model table, generated from the run directories so it never drifts from them."""

from __future__ import annotations

from pathlib import Path

from training.checkpoint import CheckpointError, find_runs, read_config

BEGIN, END = "<!-- model-table:begin -->", "<!-- model-table:end -->"


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def model_table(root: str | Path) -> str:
    """One markdown row per run: what it is, what it cost, what it measured."""
    lines = [
        "| run | family | dataset | steps | train time | hardware | domain FID (floor) | IS | precision / recall | codes / classes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in find_runs(root):
        try:
            cfg = read_config(run)
        except CheckpointError:
            continue
        m, card = cfg.metrics, cfg.card
        fid = f"{_fmt(m.get('fid'))} ({_fmt(m.get('fid_floor'))})" if "fid" in m else "–"
        pr = f"{_fmt(m.get('precision'))} / {_fmt(m.get('recall'))}" if "precision" in m else "–"
        extra = [f"{k} {_fmt(m[k])}" for k in ("purity", "class_accuracy", "test_accuracy", "attribute_directions") if k in m]
        minutes = f"{card.get('train_seconds', 0) / 60:.0f} min" if "train_seconds" in card else "–"
        name = Path(run).relative_to(root).as_posix()
        family = f"{cfg.family} ({cfg.preset})" if cfg.preset else cfg.family
        lines.append(f"| {name} | {family} | {cfg.data.dataset} | {cfg.step} | {minutes} | {card.get('hardware', '–')} | {fid} | "
                     f"{_fmt(m.get('inception_score'))} | {pr} | {', '.join(extra) or '–'} |")
    return "\n".join(lines)


def update_readme(readme: Path, root: str | Path) -> bool:
    """Replace the table between the markers in README; True when it changed."""
    text = readme.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    new = text[:start] + "\n" + model_table(root) + "\n" + text[end:]
    if new != text:
        readme.write_text(new)
    return new != text

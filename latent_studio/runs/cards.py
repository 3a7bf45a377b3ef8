"""Model cards. The card in every run's config.json: what the model is for, and what its dataset
does and does not cover, written once at the start of a run (edit config.json to refine). And the
run's Hub model card (README.md), generated from config.json when the run is pushed to the Hub or
shipped, so a run directory is a Hub model repo as it stands."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from latent_studio.runs.config import RunConfig

DATASET_NOTES = {
    "mnist": "MNIST: 60,000 28x28 handwritten digits by US Census employees and students (LeCun, Cortes, Burges). "
             "Centred, size-normalized digits in one writing tradition; no licence is stated by the source.",
    "fashion-mnist": "Fashion-MNIST (Zalando, MIT licence): 60,000 28x28 grayscale product photos in 10 classes. "
                     "Catalogue images on plain backgrounds; not representative of clothing as worn.",
    "celeba": "CelebA aligned faces (first 10,000 images, 64x64) with 40 binary attributes. Celebrities only, mostly young, "
              "light-skinned and smiling; attribute labels are subjective. Non-commercial research use only (CelebA agreement).",
    "anime": "Anime faces (5,000 64x64 crops scraped from getchu.com). No licence stated; for research and demos only.",
    "flowers": "Flowers Recognition (5 classes, Flickr photos, CC-BY 2.0 via TensorFlow flower_photos).",
    "paired": "CMP Facades (pix2pix layout): 400 training facades, mostly European buildings.",
    "unpaired": "summer2winter_yosemite (CycleGAN): Flickr photos of Yosemite; one place, one photographic style.",
    "colorize": "Colour photos, each source's own test split held out: photos_128 (8,145 everyday photos: people, animals, "
                "vehicles, food, buildings, interiors; ImageNette and Tiny ImageNet, ImageNet terms: non-commercial research only), "
                "celeba_64 (9,000 faces; CelebA agreement: non-commercial research only), flowers_128 (3,886, CC-BY 2.0) and "
                "summer2winter_yosemite_128 (2,193 landscapes). The colours are plausible guesses learned from these photos.",
    "fake": "Random tensors: a dry run, not a model.",
}

INTENDED_USE = (
    "Exploring what a generative model learned (latent sliders, codes, interpolation, arithmetic) and teaching how GANs "
    "and VAEs behave. Not for generating images of real people or for any decision about people."
)


def model_card(dataset: str) -> dict:
    return {"intended_use": INTENDED_USE, "dataset_notes": DATASET_NOTES.get(dataset, f"Images from the folder dataset {dataset!r}.")}


def fine_tune_source(card: dict) -> dict:
    """The run a fine-tune started from, as its card records it (trainer.started_from): `run`, and
    `command`, `hardware` and `train_seconds` where recorded. A card is a file people edit, so
    only entries of those types are kept, and a record without a run reads as none: {} for a run
    trained from scratch."""
    record = card.get("started_from")
    if not isinstance(record, dict) or not isinstance(record.get("run"), str) or not record["run"]:
        return {}
    kinds = {"run": str, "command": str, "hardware": str, "train_seconds": (int, float)}
    return {key: record[key] for key, kind in kinds.items() if isinstance(record.get(key), kind)}


# --- the run as a Hub model repo: README.md with YAML metadata ---------------------------------------

NON_COMMERCIAL = "non-commercial-research"
# The terms trained weights inherit from their data: ("mit", ...) where the data's own terms let the
# code's licence stand, NON_COMMERCIAL where they restrict use; then the Hub's dataset ids, if any.
DATASET_TERMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mnist": ("mit", ("ylecun/mnist",)),
    "fashion-mnist": ("mit", ("zalando-datasets/fashion_mnist",)),
    "celeba": (NON_COMMERCIAL, ()),
    "anime": (NON_COMMERCIAL, ()),
    "flowers": ("mit", ()),
    "paired": (NON_COMMERCIAL, ()),
    "unpaired": (NON_COMMERCIAL, ()),
    "colorize": (NON_COMMERCIAL, ()),
    "fake": ("mit", ()),
}
PIPELINE_TAGS = {"img2img": "image-to-image"}  # by the family's kind; a latent or pixel model samples images
UNCONDITIONAL = "unconditional-image-generation"
# Measures the Hub shows as evaluation results (model-index), where a run has them.
HUB_METRICS = ("fid", "fid_floor", "inception_score", "precision", "recall", "purity", "class_accuracy", "test_accuracy",
               "test_psnr", "test_ssim", "test_l1", "test_cycle_l1", "test_hole_psnr", "test_nll_bits_per_dim",
               "colorfulness_ratio", "hue_within_45")
EVAL_RECORD = ("eval_step", "eval_samples", "eval_seed")  # how the evaluation ran, said in words, not as measures


def hub_card(run: Path, cfg: RunConfig, kind: str, repo_id: str | None = None) -> str:
    """The run's Hub model card: YAML metadata the Hub indexes (licence, library, tags, datasets,
    the base run of a fine-tune, evaluation results), then what a reader needs: the latest sample
    grid, intended use and limits, the data's terms, how it was trained and how it measured. All of
    it from config.json and the files beside it, so `python -m latent_studio card` rewrites it (the run's README.md, files.CARD)."""
    licence, datasets = DATASET_TERMS.get(cfg.data.dataset, (NON_COMMERCIAL, ()))
    card = cfg.card if isinstance(cfg.card, dict) else {}
    name = repo_id or f"USER/{Path(run).name}"  # the repo id it is pushed to; push_run writes the real one
    task = PIPELINE_TAGS.get(kind, UNCONDITIONAL)
    base = fine_tune_source(card).get("run", "")
    meta: dict = {"license": "other" if licence == NON_COMMERCIAL else licence}
    if licence == NON_COMMERCIAL:
        meta["license_name"] = NON_COMMERCIAL  # the card's "Data and its terms" says whose terms
    meta |= {"library_name": "latent-studio", "pipeline_tag": task,
             "tags": ["latent-studio", cfg.family, kind, "pytorch", "safetensors", "gan" if "gan" in cfg.family else cfg.family]}
    if (Path(run) / "generator.onnx").is_file():
        meta["tags"].append("onnx")
    meta["tags"] = list(dict.fromkeys(meta["tags"]))
    if datasets:
        meta["datasets"] = list(datasets)
    if _is_repo_id(base):
        meta["base_model"] = base
    results = [{"type": key, "name": key, "value": _number(cfg.metrics[key])} for key in HUB_METRICS if _measured(cfg.metrics, key)]
    if results:
        dataset = {"name": cfg.data.dataset, "type": (datasets or (cfg.data.dataset,))[0]}
        result = {"task": {"type": task}, "dataset": dataset, "metrics": results}
        meta["model-index"] = [{"name": repo_id or Path(run).name, "results": [result]}]
    return "---\n" + _yaml(meta) + "---\n\n" + "\n".join(_body(Path(run), cfg, card, name, licence, kind)) + "\n"


def _body(run: Path, cfg: RunConfig, card: dict, name: str, licence: str, kind: str) -> list[str]:
    size = f"{cfg.data.image_size}x{cfg.data.image_size}, {cfg.data.channels} channel{'s' if cfg.data.channels > 1 else ''}"
    lines = [f"# {Path(run).name if name.startswith('USER/') else name}", "", f"A **{cfg.family}** trained with Latent Studio "
             f"on **{cfg.data.dataset}** ({size}), step {cfg.step} of {cfg.train.steps}.", ""]
    grid = latest_samples(run)
    if grid is not None:
        lines += [f"![Samples at step {grid.stem.removeprefix('step_')}]({grid.relative_to(run).as_posix()})", ""]
    lines += ["## Use", "", "```python", "from latent_studio.families.run_models import load_run", "",
              f'run = load_run("{name}")  # downloads into the Hugging Face cache once; HF_HUB_OFFLINE=1 reads the cache only',
              "```", "", "Or pick it in the explorer: `LATENT_STUDIO_HUB_RUNS=" + name + " streamlit run app.py`"
              + (" (image-to-image runs open in Colorize & translate)." if kind == "img2img" else "."), ""]
    lines += ["## Intended use and limits", "", _text(card.get("intended_use")) or "Not stated.", ""]
    if isinstance(card.get("notes"), str):
        lines += [_text(card["notes"]), ""]
    lines += ["## Data and its terms", "", _text(card.get("dataset_notes")) or f"The folder dataset {cfg.data.dataset!r}.", ""]
    lines += ["These weights are for non-commercial research use only, as the data's terms above require; "
              "Latent Studio's code is MIT-licensed." if licence == NON_COMMERCIAL else
              "The weights are MIT-licensed, as Latent Studio's code is; credit the data as its terms above ask.", ""]
    lines += ["## Training", ""]
    facts = {"hardware": card.get("hardware"), "precision": card.get("precision"), "training time": _duration(card.get("train_seconds")),
             "seed": cfg.seed}
    lines += [f"- {k}: {_text(v)}" for k, v in facts.items() if isinstance(v, (str, int, float)) and v != ""] + [""]
    commands = [card.get("command"), *(card.get("resumed_with") or [])]
    commands = [c for c in commands if isinstance(c, str) and c]
    if commands:
        lines += ["```bash", *(c.replace("```", "") for c in commands), "```", ""]
    before = fine_tune_source(card)
    if before:
        made = ", ".join(x for x in (before.get("hardware"), _duration(before.get("train_seconds"))) if x)
        lines += [f"Fine-tuned from the run `{_text(before['run'])}`" + (f" ({made})" if made else "")
                  + (", trained by:" if before.get("command") else "."), ""]
        if before.get("command"):
            lines += ["```bash", before["command"].replace("```", ""), "```", ""]
    measured = {k: v for k, v in cfg.metrics.items() if _measured(cfg.metrics, k) and k not in EVAL_RECORD}
    lines += ["## Evaluation", ""]
    if not measured:
        return lines + ["Not evaluated."]
    record = {k: cfg.metrics.get(k) for k in EVAL_RECORD}
    when = f" at step {record['eval_step']}" if _measured(record, "eval_step") else ""
    samples = f" on {record['eval_samples']} samples" if _measured(record, "eval_samples") else ""
    lines += [f"The last logged training numbers, and what `python -m latent_studio evaluate` measured{when}{samples}:", ""]
    return lines + ["| metric | value |", "|---|---|", *(f"| {k} | {_number(v):.4g} |" for k, v in measured.items())]


def latest_samples(run: Path) -> Path | None:
    """The fixed-noise grid of the latest snapshot, samples/step_N.png with the largest N."""
    grids = [(int(p.stem.removeprefix("step_")), p) for p in (Path(run) / "samples").glob("step_*.png") if p.stem[5:].isdigit()]
    return max(grids)[1] if grids else None


def _measured(metrics: dict, key: str) -> bool:
    value = metrics.get(key)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: float) -> float:
    return round(float(value), 6)


def _text(value) -> str:
    """A card's free text (a file people edit) as one markdown paragraph: no raw HTML, no fences."""
    return " ".join(str(value).split()).replace("<", "&lt;").replace("```", "") if value is not None else ""


def _duration(seconds) -> str | None:
    if not isinstance(seconds, (int, float)) or seconds <= 0:
        return None
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")


def _is_repo_id(text: str) -> bool:
    return bool(REPO_ID.fullmatch(text)) and ".." not in text and not text.startswith(("runs/", "checkpoints/"))


def _yaml(value, indent: int = 0) -> str:
    """The metadata as YAML (block style, strings quoted as JSON, which YAML reads): no YAML library needed."""
    pad = " " * indent
    out = ""
    for key, item in value.items():
        if isinstance(item, dict):
            out += f"{pad}{key}:\n" + _yaml(item, indent + 2)
        elif isinstance(item, list):
            out += f"{pad}{key}:\n" + "".join(_yaml_item(x, indent + 2) for x in item)
        else:
            out += f"{pad}{key}: {_scalar(item)}\n"
    return out


def _yaml_item(item, indent: int) -> str:
    if isinstance(item, dict):
        text = _yaml(item, indent + 2)
        return " " * indent + "- " + text[indent + 2:]
    return " " * indent + f"- {_scalar(item)}\n"


def _scalar(value) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)

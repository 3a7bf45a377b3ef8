"""Model-card text written into every run's config.json: what the model is for, and what its
dataset does and does not cover. Written once at the start of a run; edit config.json to refine."""

from __future__ import annotations

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

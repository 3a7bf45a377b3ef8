"""Concepts: named groups of generator inputs the user picked, and the JSON they travel in.

A concept is a group of [input_dim] vectors ("smiling", "glasses"); its mean is the steadier
direction the explorer renders, mixes and adds (latent_studio.inference.latent). Vectors are whole generator
inputs (z, then any codes or class one-hot), so concepts work the same for every family.

The file is plain JSON a person can read, written for one model's input size:

    {"format": "latent-studio-concepts", "version": 1, "model": "sngan-celeba", "input_dim": 100,
     "concepts": {"smiling": {"vectors": [[...], ...], "source": {"seed": 0, "indices": [3, 7]}}}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import torch
from torch import Tensor

from latent_studio.inference.latent import concept_mean

FORMAT = "latent-studio-concepts"
VERSION = 1
# What one model's concepts may hold in a session. Each concept is drawn in the gallery, so a file
# of thousands would have the server generate thousands of images in one run (one small upload
# could exhaust its memory); a concept's vectors are picks from a bank of at most 64 samples.
MAX_CONCEPTS, MAX_VECTORS, MAX_NAME = 32, 64, 60


class ConceptError(ValueError):
    """A concepts file that cannot be used; the message says why, for the person who uploaded it."""


@dataclass
class Concept:
    vectors: Tensor  # [N, input_dim]
    source: dict = field(default_factory=dict)  # where the vectors came from (bank seed, indices)

    @property
    def mean(self) -> Tensor:
        return concept_mean(self.vectors)


def to_json(concepts: dict[str, Concept], model: str, input_dim: int) -> str:
    """The concepts as JSON text; float32 values read back exactly (a float32 widens to a float
    without loss, and JSON keeps every digit of a float)."""
    return json.dumps({
        "format": FORMAT, "version": VERSION, "model": model, "input_dim": input_dim,
        "concepts": {name: {"vectors": c.vectors.tolist(), "source": c.source} for name, c in concepts.items()},
    })


def from_json(text: str | bytes, input_dim: int) -> dict[str, Concept]:
    """Concepts from JSON text, checked against the model's input size."""
    try:
        data = json.loads(text)
    except RecursionError:  # nested deeper than the parser goes
        raise ConceptError("this file nests its values too deeply to be a concepts file") from None
    except ValueError as e:  # not JSON, not UTF-8, or a number of thousands of digits
        raise ConceptError(f"this file is not valid JSON ({str(e)[:200]}); choose a concepts file saved by Latent Studio") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConceptError("this JSON file is not a Latent Studio concepts file (its 'format' is not 'latent-studio-concepts')")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise ConceptError(f"this concepts file has version {data.get('version')!r}; this Latent Studio reads version {VERSION}")
    if data.get("input_dim") != input_dim:
        raise ConceptError(
            f"these concepts were saved for a model with {data.get('input_dim')} latent inputs "
            f"(model {data.get('model')!r}); the model open now has {input_dim}"
        )
    concepts = data.get("concepts")
    if not isinstance(concepts, dict):
        raise ConceptError("this concepts file has no 'concepts' object")
    if len(concepts) > MAX_CONCEPTS:
        raise ConceptError(f"this file holds {len(concepts)} concepts; the explorer keeps at most {MAX_CONCEPTS} per model")
    out = {}
    for name, entry in concepts.items():
        vectors = entry.get("vectors") if isinstance(entry, dict) else None
        if len(name) > MAX_NAME:
            raise ConceptError(f"concept {name[:20]!r}...: its name is longer than {MAX_NAME} characters")
        if isinstance(vectors, list) and len(vectors) > MAX_VECTORS:
            raise ConceptError(f"concept {name!r}: {len(vectors)} vectors; a concept holds at most {MAX_VECTORS}")
        try:
            tensor = torch.tensor(vectors, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError, OverflowError, RecursionError) as e:
            raise ConceptError(f"concept {name!r}: its vectors are not a list of lists of numbers (of at most float32's size)") from e
        if tensor.ndim != 2 or tensor.shape[0] == 0 or tensor.shape[1] != input_dim:
            raise ConceptError(f"concept {name!r}: expected a non-empty list of vectors of length {input_dim}")
        if not torch.isfinite(tensor).all():
            raise ConceptError(f"concept {name!r}: its vectors hold values that are not finite numbers")
        out[str(name)] = Concept(tensor, entry.get("source") if isinstance(entry.get("source"), dict) else {})
    return out


def count_with(current: dict[str, Concept], names) -> int:
    """How many concepts `current` would hold with `names` added: a name it has replaces its concept."""
    return len(current.keys() | set(names))


def merged(current: dict[str, Concept], loaded: dict[str, Concept]) -> dict[str, Concept]:
    """`current` with `loaded` added (a loaded concept replaces one of the same name), refused when
    that would hold more than MAX_CONCEPTS."""
    total = count_with(current, loaded)
    if total > MAX_CONCEPTS:
        raise ConceptError(f"with these, this model would have {total} concepts; the explorer keeps at most "
                           f"{MAX_CONCEPTS} per model (delete some first)")
    return {**current, **loaded}

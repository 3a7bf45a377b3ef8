"""The explorer's URL: which model, which view, and the latent state, as query parameters.

    ?model=infogan-mnist&view=Sliders&seed=7&z=3:1.5,40:-0.25&cat=0:7&cont=1:0.8&label=2

Only what the user changed is written (LatentState holds nothing else), so links stay short and
opening one reproduces the image exactly. Reading is forgiving: a link is typed, truncated and
shared by people, so a malformed part is dropped and the rest still applies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from latent_studio.app.sampling import LatentState

T = TypeVar("T", int, float)
MAX_SEED = 2**32  # seeds are drawn below 100 000; the seed box takes any 32-bit one


@dataclass(frozen=True)
class Permalink:
    model: str | None = None  # run id (its path under the runs folder)
    view: str | None = None  # tab title
    state: LatentState = field(default_factory=LatentState)
    dropped: tuple[str, ...] = ()  # parts of the query that could not be read, as "name=part"


def _pairs(values: Mapping[int, float | int]) -> str:
    # repr is the shortest text that reads back as the same float, so the round trip is exact.
    return ",".join(f"{k}:{values[k]!r}" for k in sorted(values))


def to_query(link: Permalink) -> dict[str, str]:
    """Query parameters for `link`, leaving out everything that is at its default."""
    s = link.state
    query = {"model": link.model, "view": link.view, "seed": str(s.seed) if s.seed else None,
             "z": _pairs(s.z), "cat": _pairs(s.categorical), "cont": _pairs(s.continuous),
             "label": None if s.label is None else str(s.label)}
    return {k: v for k, v in query.items() if v}


def _number(text: str, kind: Callable[[str], T]) -> T | None:
    try:
        value = kind(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


MAX_PAIRS = 4096  # more edits than any model has dimensions: the rest of a longer list is dropped


def _read_pairs(name: str, text: str, kind: Callable[[str], T], dropped: list[str]) -> dict[int, T]:
    out: dict[int, T] = {}
    for part in text.split(",")[:MAX_PAIRS] if text else []:
        key, sep, raw = part.partition(":")
        index, value = _number(key, int), _number(raw, kind)
        if sep and index is not None and value is not None:
            out[index] = value
        else:
            dropped.append(f"{name}={part}")
    return out


def from_query(query: Mapping[str, str]) -> Permalink:
    """The Permalink a URL's query parameters describe; malformed parts are dropped and listed.
    (Whether a value fits the model is for LatentState.fit to say, once the model is known.)"""
    dropped: list[str] = []
    seed = _number(query.get("seed", ""), int)
    if query.get("seed") and (seed is None or not 0 <= seed < MAX_SEED):
        dropped.append(f"seed={query['seed']}")
    label = _number(query.get("label", ""), int)
    if query.get("label") and label is None:
        dropped.append(f"label={query['label']}")
    state = LatentState(
        seed=seed if seed is not None and 0 <= seed < MAX_SEED else 0,
        z=_read_pairs("z", query.get("z", ""), float, dropped),
        categorical=_read_pairs("cat", query.get("cat", ""), int, dropped),
        continuous=_read_pairs("cont", query.get("cont", ""), float, dropped),
        label=label,
    )
    return Permalink(query.get("model") or None, query.get("view") or None, state, tuple(dropped))

"""The model zoo: every family registers itself by name when its module is imported here, and
every question about families (which exist, of what kind, how an image-to-image run is served)
is asked of this registry, so a new family is picked up everywhere by adding its module."""

from latent_studio.families import cartoongan, conditional, cyclegan, gan, infogan, inpaint, pix2pix, pixelcnn, srgan, vae  # noqa: F401
from latent_studio.families.base import AUTOREGRESSIVE, EXPLORED, FAMILIES, IMG2IMG, LATENT, Family, StepContext
from latent_studio.families.img2img import Serving
from latent_studio.runs.config import RunConfig

__all__ = ["AUTOREGRESSIVE", "EXPLORED", "FAMILIES", "IMG2IMG", "LATENT", "Family", "StepContext", "UnknownFamily", "family_names",
           "get_family", "kind_of", "serving", "translation_directions"]


class UnknownFamily(ValueError):
    pass


def get_family(name: str) -> type[Family]:
    if name not in FAMILIES:
        raise UnknownFamily(f"unknown model family {name!r}; known families: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]


def family_names(kind: str | None = None) -> list[str]:
    """Every registered family's name (of one kind, if given), sorted: where tests, benchmarks and
    the app get their lists, so a new family is picked up everywhere by registering it."""
    return sorted(name for name, cls in FAMILIES.items() if kind is None or cls.kind == kind)


def kind_of(family: str) -> str:
    """LATENT, IMG2IMG or AUTOREGRESSIVE for a family's name: which part of the app serves its runs."""
    return get_family(family).kind


def serving(cfg: RunConfig) -> Serving:
    """How the run configured by `cfg` (an image-to-image family's RunConfig) is served."""
    return get_family(cfg.family)(cfg).serving()


def translation_directions() -> list[str]:
    """Every direction a registered image-to-image family may translate in, in registry order
    without repeats: the Translate tab's choices."""
    families = (get_family(name) for name in family_names(IMG2IMG))
    return list(dict.fromkeys(d for cls in families if cls.translates for d in cls.directions))

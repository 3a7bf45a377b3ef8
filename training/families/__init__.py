"""The model zoo: every family registers itself here by name."""

from training.families import conditional, cyclegan, gan, infogan, pix2pix, vae  # noqa: F401  (registration)
from training.families.base import FAMILIES, IMG2IMG, LATENT, Family, StepContext, UnknownFamily, family_names, get_family, kind_of

__all__ = ["FAMILIES", "IMG2IMG", "LATENT", "Family", "StepContext", "UnknownFamily", "family_names", "get_family", "kind_of"]

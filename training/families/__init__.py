"""The model zoo: every family registers itself here by name."""

from training.families import cartoongan, conditional, cyclegan, gan, infogan, inpaint, pix2pix, pixelcnn, srgan, vae  # noqa: F401  (registration)
from training.families.base import (
    AUTOREGRESSIVE,
    EXPLORED,
    FAMILIES,
    IMG2IMG,
    LATENT,
    Family,
    StepContext,
    UnknownFamily,
    family_names,
    get_family,
    kind_of,
)

__all__ = ["AUTOREGRESSIVE", "EXPLORED", "FAMILIES", "IMG2IMG", "LATENT", "Family", "StepContext", "UnknownFamily", "family_names",
           "get_family", "kind_of"]

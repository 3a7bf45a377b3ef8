"""How the face models' tabs frame a photo: the choice a user makes, and what they are told when no face is
found (latent_studio.data.faces does the finding and framing)."""

from __future__ import annotations

import gradio as gr

from latent_studio.data.faces import Framing


def face_choice() -> gr.Checkbox:
    """Whether a face model finds the face (True) or reads the centre square; other models ignore it."""
    return gr.Checkbox(value=True, label="Find the face (face models)",
                       info="Frame the face as the model's training faces were: eyes level, at the same place and size. "
                            "Off: the model reads the photo's centre square.")


def tell(framing: Framing | None) -> None:
    """A warning beside the result when the face model found no face and read the centre square."""
    if framing is not None and framing.message:
        gr.Warning(framing.message)

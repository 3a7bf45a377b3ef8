"""The Inpaint tab's photo editor: Gradio's ImageEditor, bounded for anonymous visitors.

In the browser the editor does not send its images with the request: it first posts each one
(background, composite, every layer) to the component's `accept_blobs` server function, which
keeps them in memory under an id, and the request then carries only that id. Left as it is, that
store keeps whatever nobody submits, and a post may name any layer index (the store grows a list
up to it). Here a post may only fill the one mask layer, and only the MAX_PENDING newest edits
are kept: memory stays bounded whoever posts, and an edit that was pushed out asks for the photo
again. Each posted file is already bounded by the server's request body limit.
"""

from __future__ import annotations

import gradio as gr
from gradio.components.base import server
from gradio.components.image_editor import AcceptBlobs

MAX_PENDING = 8  # edits posted and not yet submitted, from all visitors: each holds up to three images
LAYERS = 1  # the mask the user paints


class MaskEditor(gr.ImageEditor):
    """ImageEditor whose blob store is bounded; made by mask_editor(). It keeps ImageEditor's
    constructor: Gradio sends the page a component's props by the names its __init__ takes."""

    is_template = True  # the page draws it with ImageEditor's front end

    @server
    def accept_blobs(self, data: AcceptBlobs):
        fields = data.data
        index = fields.get("index")
        if fields.get("type") == "layer" and not (isinstance(index, str) and index.isdigit() and int(index) < LAYERS):
            raise ValueError("the editor has one layer")
        if len(data.files) != 1:
            raise ValueError("one file per post")
        super().accept_blobs(data)
        while len(self.blob_storage) > MAX_PENDING:
            self.blob_storage.pop(next(iter(self.blob_storage)))

    def take(self, payload: dict | None) -> tuple[bytes | dict | None, bytes | dict | None]:
        """(photo, mask) of a submitted edit: bytes posted from the page (taken out of the store),
        or the file payloads an API client sent (their paths are checked by the caller)."""
        if not payload:
            return None, None
        if payload.get("id") is not None:
            blobs = self.blob_storage.pop(str(payload["id"]), None)
            if blobs is None:
                raise gr.Error("This edit is no longer on the server (it is busy); load the photo and paint the region again.")
            return blobs.background, next((layer for layer in blobs.layers if layer), None)
        layers = [layer for layer in payload.get("layers") or [] if layer]
        return payload.get("background"), layers[0] if layers else None


def mask_editor(label: str, elem_id: str | None = None) -> MaskEditor:
    """A photo with one layer to paint the region to fill on, a magenta brush and an eraser."""
    return MaskEditor(label=label, elem_id=elem_id, type="filepath", sources=["upload", "webcam", "clipboard"], transforms=(),
                      layers=gr.LayerOptions(allow_additional_layers=False), image_mode="RGB",
                      brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed", default_size=24), eraser=gr.Eraser(default_size=24))

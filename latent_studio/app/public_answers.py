"""What Colorize & translate's answers tell a visitor in public mode: no server path, and a message
for every error.

Gradio names files by their absolute paths: an upload's answer, a result's path and URL, the example
photos in its config, and its own error messages all carry them. In public mode its upload folder is
kept inside the working directory (use_upload_folder) and PublicAnswers cuts the working directory
off every answer, so each path a visitor sees is relative (`upload-cache/3f2a.../photo.png`); Gradio
resolves a relative path against the same directory, so a client that sends one back (gradio_client
does) names the same file. Gradio's own errors (a payload that fails its validation, a path that was
never uploaded) are sent without details in public mode (show_error=False: their text quotes the
payload and server paths), and PublicAnswers gives them a message instead of none.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

UPLOAD_CACHE = "upload-cache"  # Gradio's upload folder in public mode, inside the working directory
GRADIO_FOLDER_ENV = "GRADIO_TEMP_DIR"
MALFORMED = ("This request could not be read: send a photo uploaded to this app (its upload route) and the other "
             "values as the API page lists them.")
REWRITTEN = (b"application/json", b"text/event-stream")  # the answers Gradio writes paths and errors into
_NO_MESSAGE = re.compile(rb'"error": ?null')


def use_upload_folder(root: Path | None = None) -> Path:
    """Keep Gradio's upload folder inside `root` (the working directory): UPLOAD_CACHE there unless
    GRADIO_TEMP_DIR names one. Called before Gradio is imported, which reads the variable then.
    A folder outside `root` is refused: its paths could not be told to a visitor relatively."""
    root = (root or Path.cwd()).resolve()
    folder = Path(os.environ.setdefault(GRADIO_FOLDER_ENV, str(root / UPLOAD_CACHE))).resolve()
    if not folder.is_relative_to(root) or folder == root:
        raise ValueError(f"In public mode Gradio's upload folder ({GRADIO_FOLDER_ENV}={folder}) must be a folder inside the "
                         f"working directory ({root}), so that no answer names a server path; unset it to use {UPLOAD_CACHE}/.")
    return folder


class PublicAnswers:
    """ASGI middleware in front of Gradio in public mode: its JSON and event-stream answers have
    `root` (the working directory) cut off every path and a message in every error that has none.
    A JSON answer is rewritten whole (its length changes); an event stream line by line as it goes.
    Requests reach Gradio without Accept-Encoding, so what comes back is plain text to rewrite."""

    def __init__(self, app, root: Path | None = None, message: str = MALFORMED):
        self.app = app
        self.prefix = str((root or Path.cwd()).resolve()).rstrip("/").encode() + b"/"
        if self.prefix == b"/":
            raise ValueError("PublicAnswers cannot make paths relative to / (run the server from its project folder)")
        self.message = json.dumps(message).encode()

    def clean(self, text: bytes) -> bytes:
        return _NO_MESSAGE.sub(b'"error": ' + self.message.replace(b"\\", b"\\\\"), text.replace(self.prefix, b""))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"])
        start, whole, rewrite, carry = None, [], False, b""

        async def answer(message):
            nonlocal start, rewrite, carry
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                rewrite = kind.startswith(REWRITTEN)
                if not rewrite:
                    return await send(message)
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
                if kind.startswith(b"text/event-stream"):  # streamed: sent on, without a length
                    return await send(dict(message, headers=headers))
                start = dict(message, headers=headers)  # held until the body is whole
                return None
            if message["type"] != "http.response.body" or not rewrite:
                return await send(message)
            more = message.get("more_body", False)
            if start is not None:
                whole.append(message.get("body", b""))
                if more:
                    return None
                body = self.clean(b"".join(whole))
                await send(dict(start, headers=[*start["headers"], (b"content-length", str(len(body)).encode())]))
                return await send({"type": "http.response.body", "body": body})
            text = carry + message.get("body", b"")
            cut = text.rfind(b"\n") + 1 if more else len(text)  # a path or an error split between pieces is joined first
            carry = text[cut:]
            return await send({"type": "http.response.body", "body": self.clean(text[:cut]), "more_body": more})

        await self.app(scope, receive, answer)

"""The Colorize & translate app (Gradio Blocks), mounted at /gradio beside the explorer.

One tab for each tool the declared image-to-image tasks name (latent_studio.families.img2img.TASKS),
built from its Tab below, each also a named API endpoint for gradio_client: `/colorize`,
`/translate`, `/upscale` and `/inpaint` (its editor is latent_studio.app.img2img.editor's, bounded for anonymous visitors). The
model a request names must be one of the discovered runs (never a path from the request), the
queue runs as many jobs at once as the machine can serve, and every upload goes through
latent_studio.data.uploads, so a bad one comes back as a readable message instead of a stack trace.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from fastapi import FastAPI
from gradio.utils import get_upload_folder
from PIL import Image

from latent_studio.app import mode
from latent_studio.app.img2img.editor import mask_editor
from latent_studio.app.img2img.framing import face_choice, tell
from latent_studio.app.memory import MemoryCap
from latent_studio.app.public_answers import PublicAnswers, use_upload_folder
from latent_studio.app.request_limits import BodyLimit, ClientBudget, FolderCap, request_client, share_queue
from latent_studio.app.runs import RunEntry, scan, shipped_folder
from latent_studio.data.uploads import UploadError, UploadLimits
from latent_studio.families import IMG2IMG, kind_of, serving, translation_directions
from latent_studio.families.img2img import tools
from latent_studio.inference.pipeline import DEFAULT_VIVIDNESS, UPSCALE_MAX_SIDE, colorize, inpaint, translate, upscale
from latent_studio.runs.files import CheckpointError

log = logging.getLogger(__name__)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LIMITS = UploadLimits()
# Past this Gradio itself refuses the upload; below it our own limit gives the clearer message.
GRADIO_MAX_FILE_SIZE = LIMITS.max_bytes + 2**20
# Request bodies (latent_studio.app.request_limits): an upload's multipart body, any other request (an image
# sent inline as a data: URL is one: a pasted photo, rarely over a few MB), and all bodies in flight.
MAX_UPLOAD_BODY, MAX_BODY, MAX_INFLIGHT = GRADIO_MAX_FILE_SIZE + 2**20, 8 * 2**20, 256 * 2**20
QUEUE_SIZE = 16  # requests waiting for the worker, from all visitors (request_limits.share_queue: a few per visitor)
MAX_UPLOAD_FOLDER = int(float(os.environ.get("LATENT_STUDIO_UPLOAD_GB") or 2) * 2**30)  # Gradio's upload cache and results
CONCURRENCY = int(os.environ.get("LATENT_STUDIO_CONCURRENCY") or max(1, (os.cpu_count() or 2) // 2))


def image_to_image_runs(folders: list[Path] | None = None) -> dict[str, dict[str, RunEntry]]:
    """Every readable image-to-image run by name, under the tool (tab) its task is served by; every
    tool is a key, with no runs if none is installed."""
    runs: dict[str, dict[str, RunEntry]] = {tool: {} for tool in tools()}
    for entry in scan(folders or [shipped_folder()]):
        if entry.config is None or kind_of(entry.config.family) != IMG2IMG:
            continue
        runs[serving(entry.config).tool][entry.id] = entry
    return runs


def _pick(runs: dict[str, RunEntry], name: str | None, kind: str, folders: list[Path] | None = None) -> RunEntry:
    """Only a discovered run may be used: a request names a run, never a path."""
    if not isinstance(name, str) or name not in runs:
        shown = repr(name[:80]) if isinstance(name, str) else "(not a name)"
        broken = unreadable(folders)
        raise gr.Error(f"Unknown {kind} model {shown}; choose one of: {', '.join(runs) or 'none installed'}"
                       + (f" ({broken})" if broken else ""))
    return runs[name]


def unreadable(folders: list[Path] | None = None) -> str:
    """The runs whose files cannot be read, by name only (their problem, which names server paths,
    is in the explorer's model picker): what a tab says instead of letting them vanish."""
    names = [entry.id for entry in scan(folders or [shipped_folder()]) if entry.config is None]
    return f"not offered, their files cannot be read: {', '.join(names)}" if names else ""


def checked_vividness(value) -> float:
    """The vividness a request asks for, a number in [0, 1] (NaN, text or a huge number is refused:
    NaN would colour the whole photo black)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise gr.Error("Vividness must be a number from 0 to 1.")
    return float(value)


def photo_input(label: str) -> gr.Image:
    """A photo from a file, the webcam or the clipboard, passed on as Gradio's upload payload."""
    return gr.Image(type="filepath", sources=["upload", "webcam", "clipboard"], label=label)


PREFERRED_DATASETS = ("celeba",)  # chosen first where a tab offers it: a photo of a person is the common upload


def model_choice(runs: dict[str, RunEntry]) -> gr.Dropdown:
    """The discovered runs by name, one trained on PREFERRED_DATASETS chosen if there is one, else
    the first (the page load refreshes the list). A typed name is let through to the handler,
    which answers an unknown one with a clear message."""
    preferred = (name for name, run in runs.items() if run.config and run.config.data.dataset in PREFERRED_DATASETS)
    return gr.Dropdown(list(runs), value=next(preferred, next(iter(runs), None)), label="Model", allow_custom_value=True)


def upload_source(payload: dict | str | None, allowed: list[Path]) -> str | bytes:
    """The uploaded file behind an image payload, for latent_studio.data.uploads to check and decode.

    The events run with preprocess=False, so Gradio never decodes an upload itself (a non-image
    would only get its generic "could not preprocess" error) and our messages reach the user.
    That also skips Gradio's own check of where a payload's path points, so it is done here: only
    files in Gradio's upload cache or the example folder are read, never a path a client made up.
    """
    if not payload:
        raise gr.Error("Upload a photo first.")
    url = payload.get("url") or "" if isinstance(payload, dict) else ""
    if url.startswith("data:"):  # a pasted or webcam image sent inline
        try:
            return base64.b64decode(url.partition(",")[2], validate=True)
        except binascii.Error:
            raise gr.Error("The pasted image could not be read; upload it as a file instead.") from None
    given = payload.get("path") if isinstance(payload, dict) else payload
    if not isinstance(given, str) or "\0" in given:
        raise gr.Error("That is not an uploaded photo; upload the photo again.")
    path = Path(given).resolve()
    if not any(path.is_relative_to(folder.resolve()) for folder in allowed):
        raise gr.Error("That file was not uploaded to this app; upload the photo again.")
    return str(path)


class ResultFiles:
    """Where the handlers write their result images, returned to Gradio as file paths.

    Gradio copies a returned file into its cache under a temporary name and renames it into
    place, but an image returned as an object it writes in place under a hash of its bytes: two
    requests with the same result (the same example photo, say) then share one file, and one
    can be sent while the other rewrites it (a broken response under load). A file here is only
    needed until Gradio has copied it, so files older than `keep_s` go on the next write.
    """

    def __init__(self, folder: Path, keep_s: float = 600.0):
        self.folder, self.keep_s = folder, keep_s

    def save(self, images: dict[str, Image.Image | None]) -> list[str | None]:
        """Each image as NAME.png in a fresh folder, as paths in the same order (None stays None)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        now = time.time()
        for old in self.folder.iterdir():
            if now - old.stat().st_mtime > self.keep_s:
                shutil.rmtree(old, ignore_errors=True)
        folder = Path(tempfile.mkdtemp(dir=self.folder))
        paths: list[str | None] = []
        for name, image in images.items():
            if image is not None:
                image.save(folder / f"{name}.png", compress_level=1)  # fast: a 24 MP result in half the time
            paths.append(str(folder / f"{name}.png") if image is not None else None)
        return paths


def examples(subfolder: str, pattern: str, label: str) -> Callable[[gr.components.Component], None]:
    """The example photos of a tab, filling its image input."""
    def add(target: gr.components.Component) -> None:
        gr.Examples(sorted(str(p) for p in (EXAMPLES / subfolder).glob(pattern)), inputs=target, label=label)
    return add


def editor_examples(target: gr.components.Component) -> None:
    """Examples cannot fill an ImageEditor in a tab that starts hidden (the page breaks), so an
    example goes to a hidden image that hands it on."""
    example = gr.Image(type="filepath", visible=False)
    gr.Examples(sorted(str(p) for p in (EXAMPLES / "inpaint").glob("*.png")), inputs=example, label="Held-out faces")
    example.change(lambda path: path, example, target, api_name=False, show_progress="hidden")


def compare_and_download(compare: str, download: str) -> Callable[[], list]:
    """Outputs of a tool that changes one photo: a before/after slider and the result to download."""
    return lambda: [gr.ImageSlider(label=compare, type="pil"), gr.File(label=download)]


def vividness_slider() -> gr.Slider:
    return gr.Slider(0, 1, value=DEFAULT_VIVIDNESS, step=0.05, label="Vividness",
                     info="Low: a hint of the plausible colours (muted). High: the most likely colour, "
                          "strengthened (bold). For models that predict colour bins.")


def direction_radio() -> gr.Radio:
    directions = translation_directions()
    return gr.Radio(directions, value=directions[0],
                    label="Direction, for a model that translates both ways (summer2winter: A = summer, B = winter; "
                          "discogan-gender: A = women, B = men); a one-way model ignores it")


def translation_outputs() -> list:
    translated = gr.Image(label="Translation", type="pil")
    with gr.Row():
        return [translated, gr.Image(label="Round trip A -> B -> A'", type="pil"), gr.Image(label="|A - A'| error", type="pil")]


@dataclass(frozen=True)
class Tab:
    """A tool's tab: its inputs are [the image, the model choice, its controls...], in the order its
    handler (and so its API endpoint, /<tool>) takes them."""

    title: str
    intro: str
    button: str
    inputs: Callable[[dict[str, RunEntry]], list]
    outputs: Callable[[], list]
    examples: Callable[[gr.components.Component], None]


TABS = {
    "colorize": Tab(
        "Colorize",
        "Upload a black-and-white photo (or use the webcam or paste one); the model adds color and keeps every detail of "
        "your photo's lightness.",
        "Colorize",
        lambda runs: [photo_input("Black-and-white photo"), model_choice(runs), vividness_slider()],
        compare_and_download("Before / after", "Download the colorized photo"),
        examples("colorize", "*.jpg", "Held-out photos")),
    "translate": Tab(
        "Translate",
        "Translate a photo to another style: summer to winter and back, a face between CelebA's women and men, a face into an "
        "anime drawing (one way), or a facade label map to a photo. A model that translates both ways also shows the round "
        "trip and its error. Face models find the face in the photo and frame it as their training faces were (eyes level, "
        "at the same place and size).",
        "Translate",
        lambda runs: [photo_input("Photo"), model_choice(runs), direction_radio(), face_choice()],
        translation_outputs,
        examples("translate", "*.jpg", "Examples")),
    "upscale": Tab(
        "Upscale x4",
        f"Make a small photo four times larger. The model adds the edges and texture that plain (bicubic) enlarging smears; "
        f"what it adds is a plausible guess, not recovered detail. Photos larger than {UPSCALE_MAX_SIDE} pixels on their "
        f"longer side are first brought down to it.",
        "Upscale",
        lambda runs: [photo_input("Small photo"), model_choice(runs)],
        compare_and_download("Bicubic / upscaled", "Download the upscaled photo"),
        examples("colorize", "*.jpg", "Held-out photos")),
    "inpaint": Tab(
        "Inpaint",
        "Paint over part of a face (the brush, in magenta) and the model fills it in from what surrounds it. It paints at "
        "64 pixels in the face it finds, framed as its training faces were, so the filled region is soft on a large photo; "
        "everything you did not paint stays as it was.",
        "Fill",
        lambda runs: [mask_editor("Photo: paint the region to fill", elem_id="inpaint-editor"), model_choice(runs), face_choice()],
        compare_and_download("Erased / filled", "Download the filled photo"),
        editor_examples),
}


def build(folders: list[Path] | None = None) -> gr.Blocks:
    """The Blocks app. Runs are discovered again on every page load and request, so a model that
    finishes training appears without a restart."""

    @contextmanager
    def budgeted(request: gr.Request | None):
        """A handler's work: in public mode each client gets a share of the worker
        (latent_studio.app.request_limits), and a bad upload's message (UploadError) reaches the user."""
        client = request_client(request) if request else "local"
        if budget is not None and (wait := budget.wait_needed(client)) > 0:
            raise gr.Error(f"You have used this server a lot in the last minute; try again in {wait:.0f} s.")
        started = time.monotonic()
        try:
            yield
        except UploadError as e:
            raise gr.Error(str(e)) from e
        except CheckpointError as e:  # a damaged run on the server: the visitor is told so, never shown its path
            raise gr.Error("This model's files are damaged, so it cannot be used now; choose another model.") from e
        except gr.Error:
            raise
        except Exception as e:  # a failure of ours: logged here, and told without its details (a traceback names server paths)
            log.exception("a Colorize & translate request failed")
            raise gr.Error("Something went wrong on the server with this request; try again, or try another photo.") from e
        finally:
            if budget is not None:
                budget.charge(client, time.monotonic() - started)

    def do_colorize(photo: dict | None, model: str, vividness: float = DEFAULT_VIVIDNESS,
                    request: gr.Request = None) -> tuple[tuple[str, str], str]:
        """Color a photo: returns (before, after) for the slider and a PNG file to download."""
        with budgeted(request):
            source = upload_source(photo, allowed)
            # a colorizer without colour bins ignores vividness (Pix2Pix.chroma)
            result = colorize(source, _pick(image_to_image_runs(folders)["colorize"], model, "colorizer", folders).path, LIMITS,
                              checked_vividness(vividness))
            before = result.convert("L").convert("RGB")  # the photo's own lightness, upright, at its size
            before_path, after_path = results.save({"lightness": before, "colorized": result})
            return (before_path, after_path), after_path

    def do_translate(photo: dict | None, model: str, direction: str, find_face: bool = True,
                     request: gr.Request = None) -> tuple[str | None, ...]:
        """Translate a photo: the translation, and for a run that translates back the round trip and its |A - A'| map."""
        with budgeted(request):
            source = upload_source(photo, allowed)
            run = _pick(image_to_image_runs(folders)["translate"], model, "translation", folders)
            try:
                one_way = len(serving(run.config).routes) == 1  # the radio means nothing to it
                t = translate(source, run.path, None if one_way else direction, LIMITS, find_face)
            except ValueError as e:  # a direction the model was not trained for
                raise gr.Error(str(e)) from e
            tell(t.framing)
            return tuple(results.save({"translated": t.output, "round-trip": t.reconstruction, "error": t.error_map}))

    def do_upscale(photo: dict | None, model: str, request: gr.Request = None) -> tuple[tuple[str, str], str]:
        """Upscale a photo x4: returns (bicubic, upscaled) for the slider and a PNG file to download."""
        with budgeted(request):
            source = upload_source(photo, allowed)
            result = upscale(source, _pick(image_to_image_runs(folders)["upscale"], model, "upscaler", folders).path, LIMITS)
            before_path, after_path = results.save({"bicubic": result.bicubic(), "upscaled": result.output})
            return (before_path, after_path), after_path

    def do_inpaint(edit: dict | None, model: str, find_face: bool = True, request: gr.Request = None) -> tuple[tuple[str, str], str]:
        """Fill the painted region of a photo: returns (erased, filled) for the slider and a PNG file to download."""
        with budgeted(request):
            photo, mask = inputs_of["inpaint"][0].take(edit)  # the editor keeps what the page posted
            if photo is None:
                raise gr.Error("Upload a photo first.")
            if mask is None:
                raise gr.Error("Paint over the part of the photo you want filled first.")
            photo, mask = (x if isinstance(x, bytes) else upload_source(x, allowed) for x in (photo, mask))
            run = _pick(image_to_image_runs(folders)["inpaint"], model, "inpainting", folders)
            result = inpaint(photo, mask, run.path, LIMITS, find_face)
            tell(result.framing)
            erased_path, filled_path = results.save({"erased": result.erased, "filled": result.output})
            return (erased_path, filled_path), filled_path

    handlers = {"colorize": do_colorize, "translate": do_translate, "upscale": do_upscale, "inpaint": do_inpaint}
    budget = ClientBudget() if mode.public() else None
    cache = Path(get_upload_folder())  # where Gradio keeps uploads (GRADIO_TEMP_DIR)
    allowed = [cache, EXAMPLES]
    cache.mkdir(parents=True, exist_ok=True)
    results = ResultFiles(cache / "latent-studio-results")
    runs = image_to_image_runs(folders)
    missing = [tool for tool in runs if tool not in TABS or tool not in handlers]
    if missing:
        raise ValueError(f"image-to-image tools with no tab or handler: {', '.join(missing)}")

    # Gradio's copies of uploads and results are deleted an hour after they were made.
    with gr.Blocks(title="Latent Studio: colorize and translate", delete_cache=(600, 3600)) as blocks:
        broken = gr.Markdown(visible=False)  # the runs that cannot be read, named when the page loads
        models, inputs_of = [], {}
        for tool, offered in runs.items():
            tab = TABS[tool]
            with gr.Tab(tab.title):
                gr.Markdown(tab.intro)
                with gr.Row():
                    with gr.Column():
                        inputs = inputs_of[tool] = tab.inputs(offered)
                        go = gr.Button(tab.button, variant="primary")
                    with gr.Column():
                        outputs = tab.outputs()
                tab.examples(inputs[0])
                go.click(handlers[tool], inputs, outputs, api_name=tool, preprocess=False)
            models.append(inputs[1])

        def refresh() -> tuple:
            note = unreadable(folders)
            shown = gr.Markdown(f"Some models are {note}.", visible=bool(note))
            return (*(model_choice(offered) for offered in image_to_image_runs(folders).values()), shown)

        blocks.load(refresh, None, [*models, broken], api_name=False)
    blocks.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    if mode.public():  # a laptop's one user may queue as much as they like
        share_queue(blocks._queue)
    return blocks


def mount(blocks: gr.Blocks, path: str = "/gradio", memory: MemoryCap | None = None):
    """(ASGI app to mount at `path`, lifespan to run) for serving `blocks` inside another app.

    Gradio's queue and startup events live in its lifespan, which mount_gradio_app wires into a
    parent FastAPI app's; we hand that lifespan to st.App instead. A mounted Blocks is never
    "launched", and Gradio skips its check that request files were uploaded by a user until it is,
    so the lifespan marks it launched: without that a request could make Gradio copy any server
    file into its cache and serve it.
    """
    shell = FastAPI()
    public = mode.public()
    # in public mode Gradio's errors go out without their text (it quotes payloads and server paths):
    # PublicAnswers gives them a message
    gr.mount_gradio_app(shell, blocks, path=path, root_path=path, max_file_size=GRADIO_MAX_FILE_SIZE, allowed_paths=[str(EXAMPLES)],
                        footer_links=["api"], show_error=not public)
    asgi = BodyLimit(next(route.app for route in shell.routes if getattr(route, "path", None) == path),
                     max_body=MAX_BODY, max_upload=MAX_UPLOAD_BODY, max_inflight=MAX_INFLIGHT,
                     disk=FolderCap(Path(get_upload_folder()), MAX_UPLOAD_FOLDER), memory=memory)
    if public:  # no server path in an answer (the upload folder is inside the working directory: public_answers)
        use_upload_folder()
        asgi = PublicAnswers(asgi)

    @asynccontextmanager
    async def lifespan(_app):
        async with shell.router.lifespan_context(shell):
            blocks.has_launched = True
            yield

    return asgi, lifespan

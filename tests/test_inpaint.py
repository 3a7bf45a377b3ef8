"""The context encoder (Inpaint): masks like a user's, a blur fill to beat, training that learns
faces' holes on real CelebA, a pipeline that only ever replaces the painted pixels, and an editor
whose memory a visitor cannot grow."""

import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from latent_studio.data.datasets import DatasetMissing, load_dataset
from latent_studio.data.uploads import UploadError, load_mask
from latent_studio.families import StepContext, get_family
from latent_studio.families.inpaint import blur_fill, composite, generator_input, hole_psnr, random_masks, square_masks, stroke_masks
from latent_studio.families.run_models import save_run
from latent_studio.inference.pipeline import inpaint
from latent_studio.training.trainer import new_config
from tests.img2img_helpers import photo, tiny_config

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_masks_are_binary_seeded_and_of_both_kinds():
    masks = random_masks(6, 64, torch.Generator().manual_seed(3))
    again = random_masks(6, 64, torch.Generator().manual_seed(3))
    assert masks.shape == (6, 1, 64, 64) and torch.equal(masks, again) and set(masks.unique().tolist()) == {0.0, 1.0}
    squares, strokes = masks[0::2], masks[1::2]
    for square in squares:  # one filled axis-aligned box, a quarter to a half of the side
        rows, cols = square[0].any(1).nonzero(), square[0].any(0).nonzero()
        side = len(rows)
        assert len(cols) == side and 16 <= side <= 32 and square.sum() == side * side
    covered = strokes.flatten(1).mean(1)
    assert ((covered > 0.02) & (covered < 0.6)).all()
    assert not torch.equal(square_masks(2, 64, torch.Generator().manual_seed(0)), stroke_masks(2, 64, torch.Generator().manual_seed(0)))


def test_blur_fill_keeps_every_known_pixel_and_stays_within_the_border_colours():
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    masks = square_masks(2, 32, torch.Generator().manual_seed(1))
    filled = blur_fill(images, masks)
    assert torch.equal(filled * (1 - masks), images * (1 - masks))
    assert filled.min() >= images.min() and filled.max() <= images.max()
    smooth = torch.linspace(-1, 1, 32).view(1, 1, 1, 32).expand(2, 3, 32, 32)  # a gradient is filled back almost exactly
    assert (hole_psnr((blur_fill(smooth, masks) + 1) / 2, (smooth + 1) / 2, masks) > 35).all()


def test_the_generator_sees_the_hole_as_a_mask_not_as_black():
    images = -torch.ones(1, 3, 8, 8)  # black everywhere: only the mask channel tells where the hole is
    masks = torch.zeros(1, 1, 8, 8)
    masks[..., 2:4, 2:4] = 1
    x = generator_input(images, masks)
    assert x.shape == (1, 4, 8, 8) and torch.equal(x[:, 3:], masks) and (x[:, :3][masks.expand(1, 3, 8, 8) > 0] == 0).all()
    assert torch.equal(composite(images, torch.ones_like(images), masks)[:, :, 2:4, 2:4], torch.ones(1, 3, 2, 2))


def _faces(n: int) -> torch.Tensor:
    try:
        test = load_dataset(new_config("context_encoder", "celeba", 1).data, DATA, "test")
    except DatasetMissing as e:
        pytest.skip(f"CelebA is not in {DATA}: {e}")
    return torch.stack([test[i][0] for i in range(n)])


def test_a_short_training_on_real_faces_learns_to_fill_their_holes():
    """120 steps on 16 held-out faces: far closer in the hole than at the start, and evaluate
    reports the model beside the blur fill."""
    faces = _faces(16)
    cfg = new_config("context_encoder", "celeba", 120, overrides=[{"arch": {"generator": {"width": 16, "max_width": 64}},
                                                                   "train": {"lr_g": 1e-3, "batch_size": 16}}])
    fam = get_family("context_encoder")(cfg)
    torch.manual_seed(0)
    m = fam.build()

    def measured() -> dict:
        m.eval()
        with torch.no_grad():
            out = fam.evaluate(m, iter([(faces, torch.zeros(16))]))
        m.train()
        return out

    before = measured()
    ctx = StepContext(torch.device("cpu"), fam.make_optimizers(m), lambda: (faces, torch.zeros(16)))
    for step in range(120):
        ctx.step = step
        fam.train_step(m, ctx)
    after = measured()
    assert set(after) == {"test_hole_psnr", "blur_hole_psnr", "test_images"} and after["test_images"] == 16
    assert after["blur_hole_psnr"] == before["blur_hole_psnr"]  # the same seeded holes each time
    assert after["test_hole_psnr"] > before["test_hole_psnr"] + 5


def test_the_model_must_read_the_mask_and_write_the_image():
    with pytest.raises(ValueError, match="4 channels"):
        cfg = new_config("context_encoder", "celeba", 1, overrides=[{"arch": {"generator": {"in_channels": 3}}}])
        get_family("context_encoder")(cfg).build()


# --- the pipeline and the editor ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cfg = tiny_config("context_encoder", "celeba")
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("runs") / "inpaint"
    save_run(path, cfg, get_family(cfg.family)(cfg).build())
    return path


def painted(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    """An editor layer: transparent, with an opaque magenta box painted on it."""
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), box)
    return layer


def test_inpaint_replaces_only_the_painted_pixels_at_the_uploads_size(run):
    source = photo(4, (80, 60))
    result = inpaint(png(source), png(painted((80, 60), (20, 10, 50, 40))), run)
    out, before = np.asarray(result.output, dtype=int), np.asarray(source, dtype=int)
    assert result.output.size == result.erased.size == (80, 60)
    hole = np.zeros((60, 80), bool)
    hole[10:40, 20:50] = True
    assert (out[~hole] == before[~hole]).all()  # every unpainted pixel is the photo's own
    assert np.abs(out[hole] - before[hole]).mean() > 1  # the painted ones are the model's
    assert (np.asarray(result.erased)[hole] == 128).all()  # shown grayed out


def test_a_black_and_white_mask_and_a_mask_of_another_size_work_too(run):
    mask = Image.new("L", (40, 30))
    mask.paste(255, (10, 5, 25, 20))  # half the photo's size: stretched onto it
    result = inpaint(photo(5, (80, 60)), mask, run)
    changed = (np.asarray(result.output, dtype=int) != np.asarray(photo(5, (80, 60)), dtype=int)).any(2)
    assert changed[10:40, 20:50].mean() > 0.9 and not changed[:8].any() and not changed[:, 54:].any()


def test_an_empty_mask_a_bad_mask_and_the_wrong_model_get_clear_messages(run, tmp_path):
    with pytest.raises(UploadError, match="The mask is empty: paint over the part"):
        inpaint(photo(1, (40, 40)), png(Image.new("RGBA", (40, 40), (255, 0, 255, 0))), run)
    with pytest.raises(UploadError, match="not an image that can be read"):
        inpaint(photo(1, (40, 40)), b"not a mask", run)
    colorizer = tmp_path / "colorizer"
    cfg = tiny_config("pix2pix", "colorize")
    save_run(colorizer, cfg, get_family(cfg.family)(cfg).build())
    with pytest.raises(ValueError, match="this needs an inpainter, not a colorizer"):
        inpaint(photo(1, (40, 40)), png(painted((40, 40), (5, 5, 20, 20))), colorizer)


def test_load_mask_reads_alpha_when_there_is_one_and_lightness_otherwise():
    assert load_mask(png(painted((10, 10), (0, 0, 5, 10))), (10, 10))[:, :5].all()
    white_box = Image.new("RGB", (10, 10))
    white_box.paste((255, 255, 255), (5, 0, 10, 10))
    mask = load_mask(png(white_box), (20, 20))
    assert mask.shape == (20, 20) and mask[:, 12:].all() and not mask[:, :8].any()


def test_the_editor_keeps_a_bounded_number_of_pending_edits_and_one_layer():
    from latent_studio.app.img2img.editor import MAX_PENDING, mask_editor

    editor = mask_editor("photo")

    def post(id_: str, kind: str, index: str = "null", body: bytes = b"x"):
        editor.accept_blobs(SimpleNamespace(data={"id": id_, "type": kind, "index": index}, files=[("f.png", body)]))

    with pytest.raises(ValueError, match="one layer"):
        post("a", "layer", "100000000")  # would grow a list of a hundred million entries
    for i in range(MAX_PENDING + 5):
        post(f"edit{i}", "background")
        post(f"edit{i}", "layer", "0", b"mask")
    assert len(editor.blob_storage) == MAX_PENDING and "edit0" not in editor.blob_storage
    last = f"edit{MAX_PENDING + 4}"
    assert editor.take({"id": last}) == (b"x", b"mask") and last not in editor.blob_storage
    with pytest.raises(Exception, match="no longer on the server"):
        editor.take({"id": "edit0"})
    api = {"background": {"path": "/p.png"}, "layers": [{"path": "/m.png"}], "composite": None}
    assert editor.take(api) == ({"path": "/p.png"}, {"path": "/m.png"})


def test_the_editors_posts_may_carry_a_full_size_photo_where_other_requests_may_not():
    """BodyLimit lets an image editor's post reach the upload limit (a photo's canvas PNG); any
    other non-upload request keeps the small limit."""
    import asyncio

    from latent_studio.app.request_limits import BodyLimit

    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limit = BodyLimit(app, max_body=2**20, max_upload=8 * 2**20, max_inflight=64 * 2**20)
    body = b"x" * (3 * 2**20)

    def post(path: str) -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"content-length", str(len(body)).encode())]}
        asyncio.run(limit(scope, receive, send))
        return sent[0]["status"]

    assert post("/gradio/gradio_api/component_server/") == 200
    assert post("/gradio/gradio_api/queue/join") == 413
    assert reached == ["/gradio/gradio_api/component_server/"]


SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "inpaint-celeba"


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="the shipped face inpainter is not in checkpoints/")
def test_the_shipped_face_inpainter_fills_held_out_faces_better_than_a_blur():
    from latent_studio.families.run_models import load_run

    faces = _faces(32)
    run = load_run(SHIPPED)
    masks = random_masks(32, 64, torch.Generator().manual_seed(11))
    with torch.no_grad():
        ours = hole_psnr((run.family.fill(run.modules, faces, masks) + 1) / 2, (faces + 1) / 2, masks).mean()
    blur = hole_psnr((blur_fill(faces, masks) + 1) / 2, (faces + 1) / 2, masks).mean()
    assert ours > blur + 1.0
    metrics = run.config.metrics
    assert metrics["test_hole_psnr"] > metrics["blur_hole_psnr"] and metrics["fool_rate"] > metrics["blur_fool_rate"]

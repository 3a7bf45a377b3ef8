"""Your own image in a latent run's space: find the latent whose image looks like a given photo
or drawing, so every explorer view (sliders, codes, attributes, the bank) can steer it.

Two stages, because each alone falls short:

1. An inverter E, an encoder trained on the run's own samples, E(G(latent)) -> latent. One
   forward pass gives a good guess of z and the codes, and it is the only sensible way to get
   the discrete parts (InfoGAN's categorical code, a conditional model's class): gradient descent
   cannot move through a one-hot choice. It never sees a real image in training; G's samples are
   the only images whose latent is known.
2. A short optimisation of z (and the continuous codes) from that guess, minimising the pixel
   error through the frozen G. It closes most of the gap the encoder leaves, above all on real
   images, which lie near but not on G's manifold. A prior term keeps z typical: left alone, the
   optimiser fits pixels with a z no draw would give, and such a z steers badly (the attribute
   directions and interpolations are learned where the prior puts its mass).

    <run>/inverter.safetensors   E's weights (float16) with its architecture in the metadata
    config.json metrics.inverter what it was trained with and how it measures (measure())
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save as save_safetensors

from latent_studio.data.datasets import frames_faces
from latent_studio.data.faces import Framing, frame_face
from latent_studio.data.image_quality import psnr as psnr_unit
from latent_studio.data.uploads import centre_square, load_upload
from latent_studio.families.networks.gan import Encoder, make_encoder
from latent_studio.families.run_models import LoadedRun
from latent_studio.runs.config import LatentSample, LatentSpec
from latent_studio.runs.files import CheckpointError, atomic_write, read_weights

INVERTER = "inverter.safetensors"
Z_LIMIT = 3.0  # a normal prior's z is kept within 3 standard deviations: what the explorer's sliders reach
CODE_LIMIT = 2.0  # continuous codes within twice their training range: what the explorer's code sliders reach
# The inverter: a DCGAN discriminator trunk (stride-2 convs) with a fully connected layer before the heads;
# 1.7M parameters at 28 px, 2.8M at 64 px (3.2 and 5.4 MB in float16).
ARCH = {"kind": "conv", "width": 32, "norm": "batch", "hidden": 512}
# Steps of the pixel search in invert(), by image size: about 0.3 s a digit and 0.6 s a face on one CPU thread
# (G's forward and backward pass is nearly all of it). Measured on the test digits, 30 steps came out 1.8 dB
# further than 60; on the faces, 100 steps 0.2 dB closer than 60 (a face GAN this small cannot get much closer).
STEPS = {28: 50, 64: 80}
PRIOR_WEIGHT = 0.05  # weight of (|z|^2 / dim - 1)^2 beside the pixel MSE
INK_FLOOR = 0.15  # a digit upload's pixels below this share of the darkest-to-lightest range count as background


class InversionError(ValueError):
    """An image or run that cannot be inverted; the message says what is wrong."""


# --- the inverter --------------------------------------------------------------------------------


def heads(spec: LatentSpec) -> dict[str, int]:
    """The inverter's outputs: z, logits per categorical code, the continuous codes, class logits."""
    out = {"z": spec.dim}
    out.update({f"cat{i}": size for i, size in enumerate(spec.categorical)})
    if spec.continuous:
        out["cont"] = spec.continuous
    if spec.num_classes:
        out["label"] = spec.num_classes
    return out


def build_inverter(run: LoadedRun, arch: dict | None = None) -> Encoder:
    d = run.config.data
    arch = arch or ARCH
    return make_encoder(arch, d.channels, d.image_size, heads(run.config.latent))


def predict(inverter: Encoder, images: torch.Tensor, spec: LatentSpec) -> LatentSample:
    """The inverter's reading of images [N, C, H, W]: z and continuous codes as regressed, discrete
    parts as their most likely value."""
    out = inverter(images)
    z = out["z"].clamp(-1, 1) if spec.prior == "uniform" else out["z"]
    r = spec.continuous_range
    cont = out["cont"].clamp(-CODE_LIMIT * r, CODE_LIMIT * r) if spec.continuous else images.new_zeros(len(images), 0)
    cats = [out[f"cat{i}"].argmax(1) for i in range(len(spec.categorical))]
    labels = out["label"].argmax(1) if spec.num_classes else None
    return LatentSample(spec, z, cats, cont, labels)


def save_inverter(run_dir: str | os.PathLike, inverter: Encoder, arch: dict) -> Path:
    """<run>/inverter.safetensors in float16 (half the bytes; inversion refines its guess anyway),
    with the architecture in the file's metadata so it rebuilds from the file alone."""
    path = Path(run_dir) / INVERTER
    tensors = {k: (v.half() if v.is_floating_point() else v).detach().cpu().contiguous() for k, v in inverter.state_dict().items()}
    blob = save_safetensors(tensors, metadata={"format": "pt", "arch": json.dumps(arch)})
    atomic_write(path, lambda tmp: tmp.write_bytes(blob))
    return path


def load_inverter(run: LoadedRun) -> Encoder | None:
    """The run's inverter in eval mode on the run's device, or None when it has none; a file that
    does not fit the run is refused with a CheckpointError."""
    path = run.path / INVERTER
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), "pt") as f:
            arch = json.loads((f.metadata() or {})["arch"])
    except Exception as e:  # not safetensors, or no architecture in it
        raise CheckpointError(f"{path} is not an inverter file (no architecture in its metadata): {e}") from e
    try:
        inverter = build_inverter(run, arch)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path} describes an inverter that cannot be built: {e}") from e
    expected = inverter.state_dict()
    tensors = read_weights(path)
    if set(tensors) != set(expected) or any(tensors[k].shape != expected[k].shape for k in expected):
        raise CheckpointError(f"{path} does not fit this run's latent and image size; train it again with "
                              f"python -m latent_studio inverter {run.path}")
    inverter.load_state_dict(tensors)
    return inverter.to(run.device).eval()


# --- inversion -----------------------------------------------------------------------------------


@dataclass
class Inversion:
    sample: LatentSample  # the latent found, one row per image
    reconstruction: torch.Tensor  # G(sample) [N, C, H, W] in [-1, 1], on the CPU
    psnr: list[float]  # dB per image, against the image on the [0, 1] scale
    seconds: float  # wall time of the whole inversion


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per image of two [-1, 1] batches, measured on the [0, 1] scale."""
    return psnr_unit((a.float() + 1) / 2, (b.float() + 1) / 2)


def _check_image(run: LoadedRun, image: torch.Tensor) -> torch.Tensor:
    d = run.config.data
    images = image[None] if image.dim() == 3 else image
    if images.dim() != 4 or tuple(images.shape[1:]) != (d.channels, d.image_size, d.image_size):
        raise InversionError(f"this model inverts images of shape [{d.channels}, {d.image_size}, {d.image_size}]; "
                             f"got {list(image.shape)} (prepare_upload makes one from a photo)")
    return images.float().clamp(-1, 1)


def invert(run: LoadedRun, image: torch.Tensor, steps: int | None = None, inverter: Encoder | None = None,
           lr: float = 0.1, prior_weight: float = PRIOR_WEIGHT) -> Inversion:
    """The latent whose image is closest to `image` ([C, H, W] or a batch [N, C, H, W] in the run's
    [-1, 1] normalization, at the model's size).

    Starts from the inverter's prediction (the run's inverter.safetensors unless one is given;
    without any, z starts at the prior's mean), then takes `steps` Adam steps on z and the
    continuous codes against the pixel MSE plus prior_weight * (|z|^2 / dim - 1)^2 for a normal
    prior: a z drawn from N(0, I) has |z|^2 close to dim, so the term holds z on the shell where
    the generator was trained. z stays within Z_LIMIT (a uniform prior: within [-1, 1]) and
    continuous codes within CODE_LIMIT times their range, so the explorer's sliders reach every
    value found. Categorical codes and classes are the inverter's choice. Each image is optimised
    on its own (the loss is a sum of per-image means), so a batch gives what single calls would.
    """
    start = time.perf_counter()
    spec, G = run.config.latent, run.modules["generator"]
    images = _check_image(run, image).to(run.device)
    n = len(images)
    inverter = inverter if inverter is not None else load_inverter(run)
    with torch.inference_mode(False), torch.enable_grad():
        if inverter is not None:
            with torch.no_grad():
                guess = predict(inverter, images, spec)
        else:
            guess = LatentSample(spec, images.new_zeros(n, spec.dim), [images.new_zeros(n, dtype=torch.long) for _ in spec.categorical],
                                 images.new_zeros(n, spec.continuous), images.new_zeros(n, dtype=torch.long) if spec.num_classes else None)
        z = guess.z.detach().clone()
        if spec.prior == "normal" and inverter is not None:
            # The inverter regresses to the mean, so its z is shorter than any draw (|z|^2 / dim about
            # 0.4 on MNIST): the search starts on the prior's shell instead (measured at 60 steps: 0.5 dB
            # closer on the DCGAN's test digits, 0.5 dB further on the InfoGAN's, the same on faces).
            z = z * z.pow(2).mean(1, keepdim=True).clamp_min(1e-6).rsqrt()
        z.requires_grad_(True)
        cont = guess.continuous.detach().clone().requires_grad_(bool(spec.continuous))
        fixed = [c.detach() for c in guess.categorical], guess.labels
        variables = [z, cont] if spec.continuous else [z]
        opt = torch.optim.Adam(variables, lr=lr)
        steps = STEPS.get(run.config.data.image_size, 60) if steps is None else steps
        for _ in range(steps):
            sample = LatentSample(spec, z, fixed[0], cont, fixed[1])
            pixels = (G(sample.generator_input()) - images).pow(2).flatten(1).mean(1)
            loss = pixels.sum()
            if spec.prior == "normal" and prior_weight:
                loss = loss + prior_weight * ((z.pow(2).mean(1) - 1) ** 2).sum()
            grads = torch.autograd.grad(loss, variables)  # only these: G's weights get no gradient
            for v, g in zip(variables, grads):
                v.grad = g
            opt.step()
            with torch.no_grad():
                limit = 1.0 if spec.prior == "uniform" else Z_LIMIT
                z.clamp_(-limit, limit)
                cont.clamp_(-CODE_LIMIT * spec.continuous_range, CODE_LIMIT * spec.continuous_range)
    found = LatentSample(spec, z.detach().cpu(), [c.cpu() for c in fixed[0]], cont.detach().cpu(),
                         None if fixed[1] is None else fixed[1].cpu())
    with torch.no_grad():
        recon = G(found.to(run.device).generator_input()).float().cpu()
    scores = psnr(recon, images.cpu())
    return Inversion(found, recon, [round(float(s), 2) for s in scores], time.perf_counter() - start)


# --- uploads -------------------------------------------------------------------------------------


def prepare_upload(image, run: LoadedRun, find_face: bool = True) -> torch.Tensor:
    """An uploaded photo or drawing as the model sees its training images: [C, H, W] in [-1, 1].
    See framed_upload, which also says how a face model's upload was framed."""
    return framed_upload(image, run, find_face)[0]


def framed_upload(image, run: LoadedRun, find_face: bool = True) -> tuple[torch.Tensor, Framing | None]:
    """An uploaded photo or drawing as the model sees its training images ([C, H, W] in [-1, 1]), and,
    for a model of CelebA's faces asked to find the face, how it was framed (else None).

    `image` is anything latent_studio.data.uploads.load_upload takes (a PIL image, bytes, a path, a
    file object), checked by it like every upload: size caps before parsing, decompression bombs,
    damaged files, with the same messages (UploadError). Models of CelebA's faces: the face found and
    framed as CelebA's aligned faces are (latent_studio.data.faces; when none is found, or find_face is
    False, the centre square, and the Framing's message says which). Other colour datasets: the centre
    square, resized. One-channel digit datasets: see _as_digit."""
    rgb = load_upload(image)
    d = run.config.data
    if d.channels == 1:
        return _as_digit(rgb.convert("L"), d.image_size), None
    if d.channels != 3:
        raise InversionError(f"this model's images have {d.channels} channels; uploads are inverted for 1 or 3")
    if find_face and frames_faces(d.dataset):
        framing = frame_face(rgb, d.image_size)
        return as_model_input(framing.image, run), framing
    return as_model_input(centre_square(rgb).resize((d.image_size, d.image_size), Image.LANCZOS), run), None


def as_model_input(image: Image.Image, run: LoadedRun) -> torch.Tensor:
    """An RGB image as the run's input: [3, H, W] in [-1, 1] at its image size."""
    size, rgb = run.config.data.image_size, image.convert("RGB")
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.LANCZOS)
    pixels = np.asarray(rgb, dtype=np.float32)
    return torch.from_numpy(pixels).permute(2, 0, 1).div(127.5).sub(1)


def _as_digit(gray: Image.Image, size: int = 28) -> torch.Tensor:
    """MNIST's own recipe for a gray image: a light digit on black (inverted when the background,
    read from the border, is light), cropped to the ink, scaled to fit 20 x 20 with its aspect
    kept, and placed so its centre of mass is the centre of a 28 x 28 frame (scaled for other
    sizes). Returns [1, size, size] in [-1, 1]."""
    a = np.asarray(gray, dtype=np.float32) / 255
    background = float(np.median(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])))
    if background > 0.5:
        a, background = 1 - a, 1 - background
    a = np.clip((a - background) / max(float(a.max()) - background, 1e-6), 0, 1)
    a[a < INK_FLOOR] = 0  # paper grain and uneven light, not ink
    ink = np.argwhere(a > 0)
    if len(ink) == 0:
        raise InversionError("No digit found in this image: it is one even colour. Upload a photo or drawing of a single digit.")
    (top, left), (bottom, right) = ink.min(0), ink.max(0) + 1
    a = a[top:bottom, left:right]
    box = round(size * 20 / 28)
    scale = box / max(a.shape)
    h, w = max(1, round(a.shape[0] * scale)), max(1, round(a.shape[1] * scale))
    digit = np.asarray(Image.fromarray((a * 255).astype(np.uint8)).resize((w, h), Image.LANCZOS), dtype=np.float32) / 255
    mass = digit.sum()
    cy, cx = (np.indices(digit.shape) * digit).reshape(2, -1).sum(1) / mass
    top, left = round(size / 2 - cy - 0.5), round(size / 2 - cx - 0.5)
    top, left = min(max(top, 0), size - h), min(max(left, 0), size - w)
    frame = np.zeros((size, size), dtype=np.float32)
    frame[top:top + h, left:left + w] = digit
    return torch.from_numpy(frame)[None].mul(2).sub(1)

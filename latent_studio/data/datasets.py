"""Datasets by name, read from a data root on disk into memory as uint8 tensors.

Every dataset here fits in memory at its training size (the largest, flowers at 128 px, is
212 MB), so all of them share one fast in-memory path. Images are scaled to [-1, 1] per batch;
that normalization is what DataSpec records in config.json.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from latent_studio.data import color
from latent_studio.runs.config import DataSpec

DATA_ENV = "LATENT_STUDIO_DATA"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
MEMORY_LIMIT = 8 * 2**30  # decoded bytes; past this a folder is too big for the in-memory path


class DatasetMissing(FileNotFoundError):
    """The dataset is not on disk; the message says where we looked and how to get it."""


def data_root(flag: str | os.PathLike | None = None) -> Path:
    """The data root: the --data-root flag, else $LATENT_STUDIO_DATA, else ./data."""
    return Path(flag or os.environ.get(DATA_ENV) or "data").expanduser()


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1] (mean 0.5, std 0.5 normalization)."""
    return images.float().div(127.5).sub(1)


class TensorImages(Dataset):
    """uint8 images [N, C, H, W] with integer targets (-1 when unlabelled) or attribute rows."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor | None = None):
        self.images = images
        self.targets = targets if targets is not None else torch.full((len(images),), -1, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return to_unit(self.images[i]), self.targets[i]


class PairedImages(Dataset):
    """Aligned pairs (pix2pix): item i is (A_i, B_i)."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor):
        self.a, self.b = a, b

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int):
        return to_unit(self.a[i]), to_unit(self.b[i])


class UnpairedImages(Dataset):
    """Two unaligned domains (CycleGAN): item i is (A_i, a B image drawn at random)."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor):
        self.a, self.b = a, b

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, i: int):
        j = int(torch.randint(len(self.b), ()))
        return to_unit(self.a[i % len(self.a)]), to_unit(self.b[j])


class ColorPairs(Dataset):
    """Colorization pairs made on the fly from colour photos: item i is (gray input, target chroma)
    in the model units of `color_space` (latent_studio/data/color.py). Only the uint8 photos are held, so
    the same data serves either colour space. `targets` says what each photo shows (an index into
    the corpus's colorize_classes, -1 when unknown): the colorizer's global branch learns from it."""

    def __init__(self, images: torch.Tensor, color_space: str, targets: torch.Tensor | None = None):
        color.io_channels(color_space)  # refuses an unknown colour space before training starts
        self.images, self.color_space = images, color_space
        self.targets = targets if targets is not None else torch.full((len(images),), -1, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return color.split(to_unit(self.images[i]), self.color_space)


class FakeImages(Dataset):
    """Random images of the right shape, the same for the same index: tests and dry runs."""

    def __init__(self, spec: DataSpec, length: int = 512, seed: int = 0):
        self.spec, self.length, self.seed = spec, length, seed

    def __len__(self) -> int:
        return self.length

    @property
    def targets(self) -> torch.Tensor:
        k = self.spec.num_classes
        return torch.arange(self.length) % k if k else torch.full((self.length,), -1)

    def __getitem__(self, i: int):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        s = self.spec
        image = torch.rand(s.channels, s.image_size, s.image_size, generator=g) * 2 - 1
        return image, torch.tensor(i % s.num_classes if s.num_classes else -1)


def random_crop_flip(x: torch.Tensor, side: int) -> torch.Tensor:
    """A random window of a batch [B, C, H, W] (one window for the batch), each image mirrored
    left-right with probability 1/2: more distinct views of a small dataset.

    A side smaller than the images crops a side x side window: a cheaper step, while the fully
    convolutional networks still run on whole images at test time (CycleGAN, the judges in
    latent_studio/families/classifier.py). A larger side first enlarges the images to side x side and crops
    their own size back out: pix2pix's jitter (286 -> 256), which keeps the size a U-Net of fixed
    depth needs. Stack source and target on channels to give a pair the same window."""
    h, w = x.shape[-2:]
    if side > min(h, w):
        x = F.interpolate(x, size=(side * h // min(h, w), side * w // min(h, w)), mode="bilinear", align_corners=False)
        ch, cw = h, w
    else:
        ch, cw = side, side
    top, left = int(torch.randint(x.size(-2) - ch + 1, ())), int(torch.randint(x.size(-1) - cw + 1, ()))
    return random_flip(x[..., top : top + ch, left : left + cw])


def random_flip(x: torch.Tensor) -> torch.Tensor:
    """Each image of a batch [B, C, H, W] mirrored left-right with probability 1/2 (one coin per
    image: a coin per batch would show D whole batches of one orientation)."""
    keep = torch.rand(len(x), 1, 1, 1, device=x.device) < 0.5
    return torch.where(keep, x, x.flip(-1))


# --- decoding ------------------------------------------------------------------------------------


def _decode(path: Path, size: int, channels: int, box: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """Decode one file, keep the horizontal fraction `box` of it (pix2pix AB halves), centre-crop
    to a square and resize to `size`: uint8 [C, size, size]."""
    with Image.open(path) as img:
        img = img.convert("L" if channels == 1 else "RGB")
        w, h = img.size
        img = img.crop((round(box[0] * w), 0, round(box[1] * w), h))
        w, h = img.size
        s = min(w, h)
        img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        if s != size:
            img = img.resize((size, size), Image.BICUBIC)
        arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def decode_files(paths: list[Path], size: int, channels: int, box: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Decode many files on a thread pool (Pillow releases the GIL while decoding)."""
    if len(paths) * channels * size * size > MEMORY_LIMIT:
        raise MemoryError(f"{len(paths)} images at {size} px do not fit the in-memory loader; use a smaller --image-size or fewer files")
    if not paths:
        return torch.empty(0, channels, size, size, dtype=torch.uint8)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        arrays = list(pool.map(lambda p: _decode(p, size, channels, box), paths))
    return torch.from_numpy(np.stack(arrays))


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def split_files(files: list[Path], split: str) -> list[Path]:
    """A fixed split for folders that ship none: every tenth file (sorted by name) is test."""
    return [f for i, f in enumerate(files) if (i % 10 == 9) == (split == "test")]


# --- the named datasets --------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    path: str | None  # default folder under the data root
    image_size: int
    channels: int
    load: Callable[[DataSpec, Path, str, bool], Dataset]
    class_names: list[str] = field(default_factory=list)
    how_to_get: str = "copy the images there"
    color_space: str | None = None  # default: gray for one channel, rgb for three
    square: bool = False  # aligned square crops (faces): an upload is cut to its centre square before a model sees it
    faces: bool = False  # CelebA's aligned photos of people: an upload's face is found and framed as theirs (data/faces.py)


def _folder(spec: DataSpec, root: Path) -> Path:
    if not spec.path:
        raise ValueError(f"dataset {spec.dataset!r} needs a folder: pass --dataset-path DIR")
    folder = Path(spec.path) if Path(spec.path).is_absolute() else root / spec.path
    if not folder.is_dir():
        info = DATASETS.get(spec.dataset)
        hint = info.how_to_get if info else "copy the images there"
        raise DatasetMissing(
            f"dataset {spec.dataset!r} not found: looked for the folder {folder}. Point --data-root "
            f"(or ${DATA_ENV}) at the folder that holds {spec.path!r}, or {hint}."
        )
    return folder


def _torchvision(cls_name: str, folder: str):
    def load(spec: DataSpec, root: Path, split: str, download: bool) -> Dataset:
        import torchvision

        cls = getattr(torchvision.datasets, cls_name)
        try:
            ds = cls(root=str(root), train=split == "train", download=download)
        except RuntimeError as e:
            raise DatasetMissing(
                f"dataset {spec.dataset!r} not found: looked in {root / folder / 'raw'}. Point --data-root "
                f"(or ${DATA_ENV}) at the folder that holds {folder}/, or add --download to fetch it."
            ) from e
        images = ds.data[:, None]  # [N, 1, 28, 28] uint8
        if spec.image_size != images.shape[-1]:
            resized = F.interpolate(images.float(), size=spec.image_size, mode="bilinear", antialias=True, align_corners=False)
            images = resized.round().clamp(0, 255).to(torch.uint8)
        return TensorImages(images, ds.targets.long())

    return load


def _celeba(spec: DataSpec, root: Path, split: str, download: bool) -> Dataset:
    """CelebA aligned faces with their 40 binary attributes as targets ({0, 1} per attribute)."""
    folder = _folder(spec, root)
    attr_file = folder / "list_attr_celeba.txt"
    if not attr_file.exists():
        raise DatasetMissing(f"CelebA attributes not found: looked for {attr_file}")
    lines = attr_file.read_text().splitlines()
    rows = [line.split() for line in lines[2:] if line.strip()]
    images_dir = folder / "img_align_celeba_64"
    files = split_files([images_dir / r[0] for r in rows], split)
    attrs = {r[0]: [int(v) > 0 for v in r[1:]] for r in rows}
    targets = torch.tensor([attrs[f.name] for f in files], dtype=torch.long)
    return TensorImages(decode_files(files, spec.image_size, spec.channels), targets)


def _celeba_gender(spec: DataSpec, root: Path, split: str, download: bool) -> Dataset:
    """CelebA split by its Male attribute into two unpaired domains: A women, B men (the same
    train/test split as `celeba`)."""
    faces = _celeba(spec, root, split, download)
    male = faces.targets[:, celeba_attributes(root, spec.path).index("Male")].bool()
    return UnpairedImages(faces.images[~male], faces.images[male])


def _celeba_anime(spec: DataSpec, root: Path, split: str, download: bool) -> Dataset:
    """CelebA's faces (A) and anime faces (B), unpaired, each on its own train/test split: the
    photos and cartoons of face -> anime."""
    faces = _celeba(spec, root, split, download)
    anime = _images(replace(spec, dataset="anime", path=DATASETS["anime"].path), root, split, download)
    return UnpairedImages(faces.images, anime.images)


def frames_faces(dataset: str) -> bool:
    """Whether a model of `dataset` reads faces framed as CelebA's aligned faces (data/faces.py frames them)."""
    return dataset in DATASETS and DATASETS[dataset].faces


def celeba_attributes(root: Path, path: str = "celeba_64") -> list[str]:
    return (data_root(root) / path / "list_attr_celeba.txt").read_text().splitlines()[1].split()


def _images(spec: DataSpec, root: Path, split: str, download: bool) -> Dataset:
    """A folder of images; with class subfolders, the subfolder is the label."""
    folder = _folder(spec, root)
    files = split_files(image_files(folder), split)
    classes = sorted({f.parent.name for f in files}) if all(f.parent != folder for f in files) else []
    targets = torch.tensor([classes.index(f.parent.name) for f in files]) if classes else None
    return TensorImages(decode_files(files, spec.image_size, spec.channels), targets)


def _paired(spec: DataSpec, root: Path, split: str, download: bool) -> Dataset:
    """pix2pix AB layout: each file holds A (left half) and B (right half) side by side."""
    folder = _folder(spec, root)
    files = image_files(folder / split)
    if not files:
        raise DatasetMissing(f"no paired images in {folder / split} (expected {split}/*.jpg with A|B halves)")
    a = decode_files(files, spec.image_size, spec.channels, (0.0, 0.5))
    b = decode_files(files, spec.image_size, spec.channels, (0.5, 1.0))
    return PairedImages(a, b)


def _unpaired(spec: DataSpec, root: Path, split: str, download: bool) -> Dataset:
    """CycleGAN layout: trainA/, trainB/, testA/, testB/."""
    folder = _folder(spec, root)
    a, b = image_files(folder / f"{split}A"), image_files(folder / f"{split}B")
    if not a or not b:
        raise DatasetMissing(f"no unpaired images in {folder} (expected {split}A/ and {split}B/ with images)")
    return UnpairedImages(decode_files(a, spec.image_size, spec.channels), decode_files(b, spec.image_size, spec.channels))


# The colorization corpus, source by source: its folder and how its files split into train and test.
COLORIZE_SOURCES: dict[str, Callable[[Path, str], list[Path]]] = {
    "photos_128": lambda folder, split: image_files(folder / split),  # everyday photos: people, animals, streets, food
    "celeba_64": lambda folder, split: split_files(image_files(folder / "img_align_celeba_64"), split),  # faces: old portraits
    "flowers_128": lambda folder, split: split_files(image_files(folder), split),
    "summer2winter_yosemite_128": lambda folder, split: image_files(folder / f"{split}A") + image_files(folder / f"{split}B"),
}


# What each source's photo shows, from its path: the labels a colorizer's global branch learns.
COLORIZE_LABELS: dict[str, Callable[[Path], str]] = {
    "photos_128": lambda f: f.parent.name,  # its 115 classes (ImageNette and Tiny ImageNet)
    "celeba_64": lambda f: "face",
    "flowers_128": lambda f: f"flower_{f.parent.name}",  # the five species
    "summer2winter_yosemite_128": lambda f: "landscape_winter" if f.parent.name.endswith("B") else "landscape_summer",
}


def colorize_classes(root: Path) -> list[str]:
    """Every label of the colorization corpus, sorted: the training photos' classes, a face class
    for CelebA, the flower species and summer and winter landscapes (123 with the shared data)."""
    return sorted({COLORIZE_LABELS[source](f) for source, files in colorize_files(root, "train").items() for f in files})


def colorize_files(root: Path, split: str, sources: tuple[str, ...] = tuple(COLORIZE_SOURCES)) -> dict[str, list[Path]]:
    """The colour photos of the colorization corpus by source, each with its own split held out
    (photos_128's and summer2winter's own test folders; every tenth file of the others)."""
    files = {}
    for name in sources:
        folder = root / name
        if not folder.is_dir():
            raise DatasetMissing(
                f"dataset 'colorize' not found: looked for the folder {folder}. Point --data-root (or ${DATA_ENV}) at the "
                f"folder that holds {', '.join(sources)}, or pass --dataset-path DIR for any folder of colour photos."
            )
        files[name] = COLORIZE_SOURCES[name](folder, split)
    return files


def _colorize(spec: DataSpec, root: Path, split: str, download: bool) -> Dataset:
    """Colour photos as (gray, chroma) pairs: the default corpus, or any folder via --dataset-path."""
    if spec.path:  # a folder of the user's own photos: no labels
        files, labels = split_files(image_files(_folder(spec, root)), split), None
    else:
        by_source = colorize_files(root, split)
        files = sum(by_source.values(), [])
        names = {name: i for i, name in enumerate(colorize_classes(root))}
        labels = torch.tensor([names.get(COLORIZE_LABELS[source](f), -1) for source, fs in by_source.items() for f in fs])
    if not files:
        raise DatasetMissing(f"no colour photos found for the {split} split of dataset 'colorize'")
    return ColorPairs(decode_files(files, spec.image_size, 3), spec.color_space, labels)


def _photos(spec: DataSpec, root: Path, split: str, download: bool) -> Dataset:
    """photos_128's everyday photos with its own train/test split (classes as targets)."""
    folder = _folder(spec, root)
    files = image_files(folder / split)
    if not files:
        raise DatasetMissing(f"no photos in {folder / split} (expected {split}/<class>/*.jpg)")
    classes = sorted({f.parent.name for f in files})
    return TensorImages(decode_files(files, spec.image_size, spec.channels), torch.tensor([classes.index(f.parent.name) for f in files]))


def _fake(spec: DataSpec, root: Path, split: str, download: bool) -> Dataset:
    return FakeImages(spec, seed=0 if split == "train" else 1)


DIGITS = [str(i) for i in range(10)]
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FLOWERS = ["daisy", "dandelion", "rose", "sunflower", "tulip"]
DATASETS = {
    d.name: d
    for d in [
        DatasetInfo("mnist", None, 28, 1, _torchvision("MNIST", "MNIST"), DIGITS),
        DatasetInfo("fashion-mnist", None, 28, 1, _torchvision("FashionMNIST", "FashionMNIST"), FASHION),
        DatasetInfo("celeba", "celeba_64", 64, 3, _celeba, how_to_get="download CelebA's aligned images and list_attr_celeba.txt there",
                    square=True, faces=True),
        DatasetInfo("celeba-gender", "celeba_64", 64, 3, _celeba_gender,  # A: women, B: men
                    how_to_get="CelebA's aligned images and list_attr_celeba.txt, as for celeba", square=True, faces=True),
        DatasetInfo("celeba-anime", "celeba_64", 64, 3, _celeba_anime,  # A: CelebA faces, B: anime faces
                    how_to_get="CelebA as for celeba, and anime_faces_64/images beside it", square=True, faces=True),
        DatasetInfo("anime", "anime_faces_64/images", 64, 3, _images, square=True),
        DatasetInfo("flowers", "flowers_128", 64, 3, _images, FLOWERS),
        DatasetInfo("folder", None, 64, 3, _images),
        DatasetInfo("paired", "facades", 128, 3, _paired, how_to_get="use pix2pix's datasets (e.g. facades) in the A|B layout"),
        DatasetInfo("unpaired", "summer2winter_yosemite_128", 128, 3, _unpaired,
                    how_to_get="use CycleGAN's datasets (trainA/trainB/testA/testB)"),
        DatasetInfo("colorize", None, 128, 3, _colorize, color_space="lab"),
        DatasetInfo("photos", "photos_128", 128, 3, _photos),
        DatasetInfo("fake", None, 28, 1, _fake, DIGITS),
    ]
}


def dataset_spec(name: str, image_size: int | None = None, channels: int | None = None, path: str | None = None) -> DataSpec:
    """The DataSpec for a named dataset, with its defaults unless overridden."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    info = DATASETS[name]
    channels = channels or info.channels
    return DataSpec(
        dataset=name, path=path or info.path, image_size=image_size or info.image_size, channels=channels,
        color_space=info.color_space or ("gray" if channels == 1 else "rgb"),
        num_classes=len(info.class_names), class_names=list(info.class_names),
    )


def load_dataset(spec: DataSpec, root: str | os.PathLike | None = None, split: str = "train", download: bool = False) -> Dataset:
    """The dataset `spec` names, read from `root` (see data_root); never downloads unless asked."""
    if spec.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {spec.dataset!r}; known datasets: {', '.join(DATASETS)}")
    return DATASETS[spec.dataset].load(spec, data_root(root), split, download)

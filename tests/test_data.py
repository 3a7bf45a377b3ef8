"""Datasets by name: the data root, the fake set, the clear message when data is missing, and the
real datasets in the shared data folder."""

from pathlib import Path

import pytest
import torch

from latent_studio.data.datasets import DATA_ENV, DatasetMissing, data_root, dataset_spec, load_dataset


def test_data_root_prefers_the_flag_then_the_environment(monkeypatch):
    monkeypatch.setenv(DATA_ENV, "/from/env")
    assert data_root("/from/flag") == Path("/from/flag")
    assert data_root() == Path("/from/env")
    monkeypatch.delenv(DATA_ENV)
    assert data_root() == Path("data")


def test_fake_dataset_has_the_spec_shape_and_range():
    spec = dataset_spec("fake", image_size=64, channels=3)
    ds = load_dataset(spec)
    x, y = ds[5]
    assert x.shape == (3, 64, 64) and -1 <= x.min() and x.max() <= 1 and y == 5
    torch.testing.assert_close(ds[5][0], x)  # the same index gives the same image


def test_missing_dataset_says_where_it_looked_and_how_to_get_it(tmp_path):
    with pytest.raises(DatasetMissing, match=f"looked in {tmp_path}/MNIST/raw.*--download"):
        load_dataset(dataset_spec("mnist"), tmp_path)
    with pytest.raises(DatasetMissing, match=f"looked for the folder {tmp_path}/celeba_64"):
        load_dataset(dataset_spec("celeba"), tmp_path)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="known datasets: mnist, fashion-mnist"):
        dataset_spec("imagenet")


def test_image_folder_with_class_subfolders(tmp_path):
    from PIL import Image

    for cls in ("cats", "dogs"):
        (tmp_path / "pets" / cls).mkdir(parents=True)
        for i in range(10):
            Image.new("RGB", (40, 30), (i * 20, 0, 0)).save(tmp_path / "pets" / cls / f"{i}.png")
    spec = dataset_spec("folder", image_size=32, path="pets")
    train, test = load_dataset(spec, tmp_path, "train"), load_dataset(spec, tmp_path, "test")
    assert (len(train), len(test)) == (18, 2)  # every tenth file is held out
    assert train[0][0].shape == (3, 32, 32) and sorted(set(train.targets.tolist())) == [0, 1]


def test_paired_layout_splits_each_file_into_its_halves(tmp_path):
    from PIL import Image

    (tmp_path / "pairs" / "train").mkdir(parents=True)
    img = Image.new("RGB", (64, 32), (255, 255, 255))
    img.paste((0, 0, 0), (32, 0, 64, 32))  # right half black
    img.save(tmp_path / "pairs" / "train" / "1.png")
    a, b = load_dataset(dataset_spec("paired", image_size=32, path="pairs"), tmp_path)[0]
    assert a.min() == 1 and b.max() == -1


def test_mnist_loads_all_60000_in_range(real_data):
    ds = load_dataset(dataset_spec("mnist"), real_data)
    x, y = ds[0]
    assert len(ds) == 60000 and y == 5 and x.shape == (1, 28, 28)
    assert x.min() == -1 and x.max() == 1
    assert len(load_dataset(dataset_spec("fashion-mnist"), real_data, "test")) == 10000


def test_mnist_resized_to_64(real_data):
    assert load_dataset(dataset_spec("mnist", image_size=64), real_data)[0][0].shape == (1, 64, 64)


def test_celeba_images_come_with_40_attributes(real_data):
    ds = load_dataset(dataset_spec("celeba"), real_data, "test")
    x, attrs = ds[0]
    assert len(ds) == 1000 and x.shape == (3, 64, 64) and attrs.shape == (40,)
    assert set(attrs.unique().tolist()) <= {0, 1}


def test_unpaired_summer_winter(real_data):
    ds = load_dataset(dataset_spec("unpaired"), real_data, "test")
    a, b = ds[0]
    assert len(ds) == 309 and a.shape == b.shape == (3, 128, 128)

import io

import numpy as np
import pytest
import torch
from PIL import Image

from latent_studio.app.imaging import enlarge, gif, picture, png, scale_for, tile, to_uint8


def test_to_uint8_maps_minus_one_to_0_and_one_to_255_and_clips():
    images = torch.tensor([-1.0, 0.0, 1.0, -3.0, 2.0]).view(1, 1, 1, 5)
    assert to_uint8(images).tolist() == [[[[0], [128], [255], [0], [255]]]]


def test_to_uint8_puts_channels_last():
    images = torch.stack([torch.full((2, 2), -1.0), torch.zeros(2, 2), torch.ones(2, 2)])[None]
    out = to_uint8(images)
    assert out.shape == (1, 2, 2, 3)
    assert out[0, 0, 0].tolist() == [0, 128, 255]


def test_to_uint8_rejects_a_single_image_without_batch():
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        to_uint8(torch.zeros(1, 28, 28))


@pytest.mark.parametrize("size, factor", [(28, 8), (64, 4), (128, 2), (256, 1), (512, 1)])
def test_scale_for_brings_cells_near_display_size(size, factor):
    assert scale_for(size) == factor


@pytest.mark.parametrize("size, cell, factor", [(28, 112, 4), (64, 112, 2), (28, 10, 1)])
def test_scale_for_a_chosen_cell_size(size, cell, factor):
    assert scale_for(size, cell) == factor


def test_enlarge_repeats_each_pixel():
    image = np.array([[[[1], [2]], [[3], [4]]]], dtype=np.uint8)  # [1, 2, 2, 1]
    assert enlarge(image, 2)[0, :, :, 0].tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]


def test_tile_places_cells_in_rows_with_white_padding():
    cells = np.stack([np.full((2, 2, 1), v, dtype=np.uint8) for v in (10, 20, 30)])
    grid = tile(cells, columns=2, pad=1)
    assert grid.shape == (7, 7, 1)  # 2 rows, 2 columns: 1 + 2 * (2 + 1)
    assert grid[1:3, 1:3].flatten().tolist() == [10] * 4
    assert grid[1:3, 4:6].flatten().tolist() == [20] * 4
    assert grid[4:6, 1:3].flatten().tolist() == [30] * 4
    assert grid[4:6, 4:6].flatten().tolist() == [255] * 4  # the unused cell stays white
    assert grid[0].flatten().tolist() == [255] * 7


def test_tile_never_makes_more_columns_than_cells():
    cells = np.zeros((2, 3, 3, 3), dtype=np.uint8)
    assert tile(cells, columns=8, pad=0).shape == (3, 6, 3)


def test_tile_labels_mark_only_their_cells():
    cells = np.full((2, 40, 40, 1), 128, dtype=np.uint8)
    grid = tile(cells, columns=2, labels=["7", ""], pad=0)
    assert (grid[:, :40] != 128).any()
    assert (grid[:, 40:] == 128).all()


def test_tile_rejects_wrong_label_count():
    with pytest.raises(ValueError, match="2 labels for 3 images"):
        tile(np.zeros((3, 4, 4, 1), dtype=np.uint8), 3, labels=["a", "b"])


@pytest.mark.parametrize("channels", [1, 3])
def test_png_round_trips_exactly(channels):
    image = np.random.default_rng(0).integers(0, 256, (5, 7, channels), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(png(image))))
    assert np.array_equal(decoded.reshape(5, 7, channels), image)


def test_gif_keeps_every_frame_and_gray_values_and_loops():
    frames = [np.full((4, 6, 1), v, dtype=np.uint8) for v in (0, 77, 200)]
    animation = Image.open(io.BytesIO(gif(frames, duration_ms=90)))
    assert animation.n_frames == 3
    assert animation.size == (6, 4)
    assert animation.info["loop"] == 0
    for i, value in enumerate((0, 77, 200)):
        animation.seek(i)
        assert animation.info["duration"] == 90
        assert np.asarray(animation.convert("L")).flatten().tolist() == [value] * 24


def test_gif_of_color_frames_keeps_size_and_count():
    frames = [np.random.default_rng(i).integers(0, 256, (8, 8, 3), dtype=np.uint8) for i in range(4)]
    animation = Image.open(io.BytesIO(gif(frames)))
    assert (animation.n_frames, animation.size) == (4, (8, 8))


def test_gif_needs_a_frame():
    with pytest.raises(ValueError, match="at least one frame"):
        gif([])


def test_picture_is_deterministic_and_sized_for_display():
    images = torch.linspace(-1, 1, 2 * 28 * 28).view(2, 1, 28, 28)
    data = picture(images, columns=2)
    assert data == picture(images.clone(), columns=2)
    assert Image.open(io.BytesIO(data)).size == (2 + 2 * (28 * 8 + 2), 2 + 28 * 8 + 2)
    assert Image.open(io.BytesIO(picture(images, columns=1, cell=56))).size == (2 + 28 * 2 + 2, 2 + 2 * (28 * 2 + 2))

"""The grid composite: layout, tile order and size."""
import io

import pytest
from PIL import Image

from core.errors import ImageError
from core.grid import GAP, compose, layout


def picture(colour: tuple[int, int, int], size=(64, 96)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("count, shape", [(1, (1, 1)), (2, (2, 1)), (3, (2, 2)), (4, (2, 2))])
def test_layout(count, shape):
    assert layout(count) == shape


def test_tiles_keep_their_order_left_to_right_then_top_to_bottom():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    grid = Image.open(io.BytesIO(compose([picture(c) for c in colours])))
    assert grid.size == (64 * 2 + GAP, 96 * 2 + GAP)
    centres = [(32, 48), (64 + GAP + 32, 48), (32, 96 + GAP + 48), (64 + GAP + 32, 96 + GAP + 48)]
    for point, colour in zip(centres, colours):          # JPEG: close, not exact
        assert all(abs(a - b) <= 8 for a, b in zip(grid.getpixel(point), colour)), (point, colour)


def test_two_images_side_by_side_and_big_ones_scaled_down():
    grid = Image.open(io.BytesIO(compose([picture((1, 2, 3), (1600, 1200))] * 2, max_tile_side=1024)))
    assert grid.size == (1024 * 2 + GAP, 768)


@pytest.mark.parametrize("size, max_tile_side, tile", [((2048, 1024), 1024, (1024, 512)),   # halved exactly
                                                      ((3000, 1500), 1000, (1000, 500)),    # a third
                                                      ((1500, 900), 1000, (1000, 600)),     # resampled
                                                      ((512, 768), 1024, (512, 768))])      # as it is
def test_a_tile_is_the_image_within_the_tile_side_keeping_its_shape(size, max_tile_side, tile):
    grid = Image.open(io.BytesIO(compose([picture((200, 40, 40), size)] * 4, max_tile_side=max_tile_side)))
    assert grid.size == (tile[0] * 2 + GAP, tile[1] * 2 + GAP)
    assert all(abs(a - b) <= 8 for a, b in zip(grid.getpixel((tile[0] // 2, tile[1] // 2)), (200, 40, 40)))


def test_images_of_another_shape_are_fitted_to_the_first_ones_tile():
    grid = Image.open(io.BytesIO(compose([picture((0, 0, 255), (512, 512)), picture((255, 0, 0), (640, 480))])))
    assert grid.size == (512 * 2 + GAP, 512)
    assert all(abs(a - b) <= 8 for a, b in zip(grid.getpixel((512 + GAP + 256, 256)), (255, 0, 0)))


def test_an_unreadable_image_is_an_image_error():
    with pytest.raises(ImageError):
        compose([picture((1, 2, 3)), b"not a png"])

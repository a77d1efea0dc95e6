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
    grid = Image.open(io.BytesIO(compose([picture((1, 2, 3), (1600, 1600))] * 2, max_side=2048)))
    assert grid.width <= 2048 and grid.height == (2048 - GAP) // 2 - 1    # each tile ~(2048 - GAP) / 2


def test_an_unreadable_image_is_an_image_error():
    with pytest.raises(ImageError):
        compose([b"not a png"])

"""core/images.py: inputs judged by content, outputs re-encoded without metadata and fitted."""
from __future__ import annotations

import io
import json
import os
import struct
import zlib

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from core.errors import ImageError, ImageTooLarge
from core.images import check_input_image, sanitize_output


def _png(width=32, height=24, mode="RGB", colour=(200, 10, 10), text: dict | None = None) -> bytes:
    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.new(mode, (width, height), colour).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _encoded(fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buf, fmt, **options)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims a huge size, with a tiny IDAT: a decompression bomb's shape."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
async def test_real_images_pass_and_become_png(fmt):
    clean = await check_input_image(_encoded(fmt))
    assert clean.format == "PNG" and (clean.width, clean.height) == (40, 30)
    assert Image.open(io.BytesIO(clean.data)).format == "PNG"


async def test_text_claiming_to_be_png_is_refused():
    with pytest.raises(ImageError) as caught:
        await check_input_image(b"\x89PNG\r\n\x1a\n this is not really a png")
    assert not isinstance(caught.value, ImageTooLarge)


async def test_non_image_is_refused():
    with pytest.raises(ImageError, match="not an image"):
        await check_input_image(b"hello, I am a text file")


async def test_empty_is_refused():
    with pytest.raises(ImageError, match="empty"):
        await check_input_image(b"")


async def test_truncated_png_is_refused():
    noisy = io.BytesIO()
    Image.frombytes("RGB", (256, 256), os.urandom(256 * 256 * 3)).save(noisy, "PNG")
    data = noisy.getvalue()
    with pytest.raises(ImageError, match="damaged or truncated"):
        await check_input_image(data[: len(data) // 2])


async def test_other_formats_are_refused_even_if_pillow_reads_them():
    with pytest.raises(ImageError, match="GIF"):
        await check_input_image(_encoded("GIF"))


async def test_bytes_limit():
    with pytest.raises(ImageTooLarge, match="MB"):
        await check_input_image(_png(), max_bytes=10)


async def test_pixel_limit_is_checked_before_decoding():
    with pytest.raises(ImageTooLarge, match="megapixels"):
        await check_input_image(_png_header_only(9000, 9000))


async def test_decompression_bomb_is_refused():
    # far past Pillow's own bomb threshold: Image.open raises DecompressionBombError
    with pytest.raises(ImageTooLarge):
        await check_input_image(_png_header_only(100_000, 100_000), max_pixels=10**12)


async def test_input_metadata_is_dropped():
    clean = await check_input_image(_png(text={"prompt": "secret"}))
    assert "prompt" not in Image.open(io.BytesIO(clean.data)).info


async def test_output_metadata_is_stripped():
    workflow = json.dumps({"3": {"class_type": "KSampler", "inputs": {"seed": 1}}})
    data = _png(64, 64, text={"prompt": workflow, "workflow": workflow})
    assert b"KSampler" in data
    clean = await sanitize_output(data, limit_bytes=10 * 1024 * 1024)
    assert clean.format == "PNG"
    assert b"KSampler" not in clean.data and b"tEXt" not in clean.data and b"iTXt" not in clean.data
    assert Image.open(io.BytesIO(clean.data)).getpixel((5, 5)) == (200, 10, 10)


async def test_output_keeps_alpha():
    clean = await sanitize_output(_png(16, 16, mode="RGBA", colour=(1, 2, 3, 100)), limit_bytes=10**7)
    assert Image.open(io.BytesIO(clean.data)).mode == "RGBA"


async def test_output_over_the_limit_goes_lossy_then_smaller():
    noisy = io.BytesIO()
    Image.frombytes("RGB", (512, 512), os.urandom(512 * 512 * 3)).save(noisy, "PNG")
    data = noisy.getvalue()
    limit = 60_000
    clean = await sanitize_output(data, limit_bytes=limit)
    assert len(clean.data) <= limit
    assert clean.format == "JPEG"
    assert clean.width < 512        # noise does not compress: it had to shrink


async def test_output_transparent_over_the_limit_is_webp():
    noisy = io.BytesIO()
    Image.frombytes("RGBA", (256, 256), os.urandom(256 * 256 * 4)).save(noisy, "PNG")
    clean = await sanitize_output(noisy.getvalue(), limit_bytes=150_000)
    assert clean.format == "WEBP" and len(clean.data) <= 150_000


async def test_unreadable_output_is_an_image_error():
    with pytest.raises(ImageError, match="ComfyUI returned"):
        await sanitize_output(b"garbage", limit_bytes=1000)

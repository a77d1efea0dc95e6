"""core/images.py: inputs judged by content; outputs lose their metadata (a PNG's pixels untouched) and fit."""
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


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, in file order."""
    chunks, at = [], 8
    while at < len(png):
        length, kind = struct.unpack_from(">I4s", png, at)
        chunks.append((kind, png[at + 8:at + 8 + length]))
        at += 12 + length
    return chunks


def _with_chunks(png: bytes, extra: list[tuple[bytes, bytes]]) -> bytes:
    """`png` with `extra` chunks inserted after IHDR (CRCs correct)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr_end = 8 + 12 + 13
    return png[:ihdr_end] + b"".join(chunk(k, d) for k, d in extra) + png[ihdr_end:]


def _comfy_output(width=256, height=256) -> bytes:
    """What ComfyUI's SaveImage writes: noisy pixels, compress level 4, the prompt and workflow in tEXt."""
    from tests.fake_comfyui.images import output_png
    workflow = {"3": {"class_type": "KSampler", "inputs": {"seed": 1, "text": "my secret prompt"}}}
    return output_png(width, height, "key", workflow, {"workflow": workflow})


async def test_a_png_output_loses_every_metadata_chunk_and_keeps_its_pixels_byte_for_byte():
    original = _with_chunks(_comfy_output(), [
        (b"zTXt", b"parameters\0\0" + zlib.compress(b"my secret prompt")),
        (b"iTXt", b"workflow\0\0\0\0\0my secret prompt"),
        (b"eXIf", b"MM\0*\0\0\0\x08\0\0"), (b"tIME", b"\x07\xea\x0c\x01\x0c\x00\x00"),
        (b"iCCP", b"icc\0\0" + zlib.compress(b"profile")), (b"prVt", b"private data")])
    clean = await sanitize_output(original, limit_bytes=10 * 1024 * 1024)
    assert clean.format == "PNG" and (clean.width, clean.height) == (256, 256)
    kinds = [kind for kind, _ in _chunks(clean.data)]
    assert kinds[0] == b"IHDR" and set(kinds[1:-1]) == {b"IDAT"} and kinds[-1] == b"IEND"
    assert b"secret" not in clean.data and b"KSampler" not in clean.data
    assert [d for k, d in _chunks(clean.data) if k == b"IDAT"] == [d for k, d in _chunks(original) if k == b"IDAT"]
    assert Image.open(io.BytesIO(clean.data)).tobytes() == Image.open(io.BytesIO(original)).tobytes()
    assert Image.open(io.BytesIO(clean.data)).info == {}


async def test_transparency_and_palette_chunks_stay():
    buf = io.BytesIO()
    Image.new("P", (8, 8), 3).save(buf, "PNG", transparency=3)
    clean = await sanitize_output(_with_chunks(buf.getvalue(), [(b"tEXt", b"prompt\0x")]), limit_bytes=10**6)
    assert [kind for kind, _ in _chunks(clean.data)] == [b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"]


async def test_a_png_still_over_the_limit_without_metadata_is_re_encoded():
    original = _comfy_output()
    stripped_size = len(original) - sum(12 + len(d) for k, d in _chunks(original) if k == b"tEXt")
    clean = await sanitize_output(original, limit_bytes=stripped_size - 1)
    assert len(clean.data) < stripped_size and b"KSampler" not in clean.data


async def test_a_jpeg_output_is_re_encoded_without_its_exif():
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "my secret prompt"                       # ImageDescription
    Image.new("RGB", (32, 32), (9, 9, 9)).save(buf, "JPEG", exif=exif.tobytes())
    assert b"secret" in buf.getvalue()
    clean = await sanitize_output(buf.getvalue(), limit_bytes=10**6)
    assert b"secret" not in clean.data


@pytest.mark.parametrize("damage, message", [
    (lambda png: png[: len(png) - 20], "truncated"),
    (lambda png: png[:40] + bytes([png[40] ^ 0xFF]) + png[41:], "bad checksum"),
    (lambda png: png[:8] + png[33:], "IHDR"),
])
async def test_a_damaged_png_output_is_an_image_error(damage, message):
    with pytest.raises(ImageError, match=message):
        await sanitize_output(damage(_comfy_output(64, 64)), limit_bytes=10**6)


async def test_an_output_claiming_too_many_pixels_is_refused_without_decoding():
    with pytest.raises(ImageError, match="megapixels"):
        await sanitize_output(_png_header_only(20_000, 20_000), limit_bytes=10**9)

"""Real image bytes for the fake: PNG outputs as SaveImage writes them, JPEG previews.

An output has the size the prompt asks for and pixels that compress like a real generation (a
1024x1024 one is about 1.7 MB at SaveImage's compress level 4), not a flat colour that shrinks to
a few kilobytes, so whatever handles results downstream pays what it would pay for real ones.
"""
from __future__ import annotations

import hashlib
import io
import json
import random

from PIL import Image
from PIL.PngImagePlugin import PngInfo

MAX_SIDE = 8192
SAVE_IMAGE_COMPRESS_LEVEL = 4     # ComfyUI's SaveImage default


def colour_for(key: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(key.encode()).digest()
    return digest[0], digest[1], digest[2]


def picture(width: int, height: int, key: str) -> Image.Image:
    """Smooth noise (random at a quarter of the size, scaled up) tinted with the key's colour."""
    small = (max(1, width // 4), max(1, height // 4))
    noise = Image.frombytes("L", small, random.Random(key).randbytes(small[0] * small[1]))
    grey = noise.resize((width, height), Image.Resampling.BICUBIC)
    return Image.merge("RGB", [grey.point(lambda v, c=c: (v + c) // 2) for c in colour_for(key)])


def output_png(width: int, height: int, key: str, prompt: dict, extra_pnginfo: dict | None,
               compress_level: int = SAVE_IMAGE_COMPRESS_LEVEL, flat: bool = False) -> bytes:
    """A PNG with a "prompt" tEXt chunk and one per extra_pnginfo key, as SaveImage writes
    (`flat`: one colour, which costs nothing to make, for benches that measure the queue)."""
    width, height = max(1, min(int(width), MAX_SIDE)), max(1, min(int(height), MAX_SIDE))
    info = PngInfo()
    info.add_text("prompt", json.dumps(prompt))
    for name, value in (extra_pnginfo or {}).items():
        info.add_text(name, json.dumps(value))
    buf = io.BytesIO()
    image = Image.new("RGB", (width, height), colour_for(key)) if flat else picture(width, height, key)
    image.save(buf, "PNG", pnginfo=info, compress_level=compress_level)
    return buf.getvalue()


def preview_png(key: str, size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour_for(key)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def preview_jpeg(key: str, size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour_for(key)).save(buf, "JPEG", quality=60)
    return buf.getvalue()

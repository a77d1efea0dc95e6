"""Real image bytes for the fake: PNG outputs with ComfyUI's tEXt metadata, JPEG previews."""
from __future__ import annotations

import hashlib
import io
import json

from PIL import Image
from PIL.PngImagePlugin import PngInfo

MAX_SIDE = 2048


def colour_for(key: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(key.encode()).digest()
    return digest[0], digest[1], digest[2]


def output_png(width: int, height: int, key: str, prompt: dict, extra_pnginfo: dict | None) -> bytes:
    """A solid PNG with a "prompt" tEXt chunk and one per extra_pnginfo key, as SaveImage writes."""
    width, height = max(1, min(int(width), MAX_SIDE)), max(1, min(int(height), MAX_SIDE))
    image = Image.new("RGB", (width, height), colour_for(key))
    info = PngInfo()
    info.add_text("prompt", json.dumps(prompt))
    for name, value in (extra_pnginfo or {}).items():
        info.add_text(name, json.dumps(value))
    buf = io.BytesIO()
    image.save(buf, "PNG", pnginfo=info, compress_level=1)
    return buf.getvalue()


def preview_png(key: str, size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour_for(key)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def preview_jpeg(key: str, size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour_for(key)).save(buf, "JPEG", quality=60)
    return buf.getvalue()

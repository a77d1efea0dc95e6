"""Image sanitising: what goes into ComfyUI and what comes out of it.

Inputs (edit attachments) are judged by content, never by name: only a real PNG, JPEG or WebP
within the byte and pixel limits passes, and it is re-encoded as a plain PNG before upload.
Outputs leave without anything ComfyUI embeds (the whole workflow and the prompt ride in PNG text
chunks). A PNG is cleaned without touching its pixels: only the chunks that draw the image are
kept (IDAT byte for byte), which costs a few milliseconds where re-encoding a 1024x1024 image
costs a third of a second. Only what is over the upload limit, or not a PNG, is re-encoded from
its pixels (smaller PNG, then JPEG/WebP, then smaller sizes).

Pillow blocks, so the public functions run it in `asyncio.to_thread`.
"""
from __future__ import annotations

import asyncio
import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from core.errors import ImageError, ImageTooLarge

ALLOWED_INPUT_FORMATS = ("PNG", "JPEG", "WEBP")
MAX_INPUT_BYTES = 32 * 1024 * 1024
MAX_INPUT_PIXELS = 40_000_000           # about 6300 x 6300
MAX_OUTPUT_PIXELS = 64_000_000
_PNG_FAST_LEVEL = 6
_JPEG_QUALITIES = (92, 85, 75)
_SCALE_STEP = 0.75
_MIN_SIDE = 64
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The chunks that say how to draw the pixels. Everything else goes: tEXt/zTXt/iTXt (ComfyUI's
# prompt and workflow), eXIf, iCCP, tIME, pHYs and any private chunk.
_PNG_DRAWING_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"IDAT", b"IEND"})


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    format: str          # "PNG" | "JPEG" | "WEBP"
    width: int
    height: int

    @property
    def extension(self) -> str:
        return {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}[self.format]


async def check_input_image(data: bytes, *, max_bytes: int = MAX_INPUT_BYTES,
                            max_pixels: int = MAX_INPUT_PIXELS) -> CleanImage:
    """A real PNG/JPEG/WebP re-encoded as a metadata-free PNG; ImageError / ImageTooLarge otherwise."""
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise ImageError("The attachment is empty: attach a PNG, JPEG or WebP image.")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"The image is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.")
    return await asyncio.to_thread(_check_input, bytes(data), max_pixels)


async def sanitize_output(data: bytes, *, limit_bytes: int) -> CleanImage:
    """ComfyUI output without metadata, fitted under `limit_bytes` (a PNG within it keeps its pixels
    byte for byte; anything else is re-encoded from pixels only)."""
    return await asyncio.to_thread(_sanitize, data, limit_bytes)


def _open_checked(data: bytes, max_pixels: int, allowed: tuple[str, ...] | None) -> Image.Image:
    """Open, verify and load an image, refusing bombs before any pixel is decoded."""
    try:
        probe = Image.open(io.BytesIO(data))
        if allowed is not None and probe.format not in allowed:
            raise ImageError(f"The attachment is a {probe.format} image; only PNG, JPEG and WebP are accepted.")
        width, height = probe.size
        if width * height > max_pixels:
            raise ImageTooLarge(f"The image is {width}x{height} pixels; the limit is {max_pixels / 1e6:.0f} megapixels.")
        probe.verify()                      # checks structure and CRCs; the object is unusable after
        image = Image.open(io.BytesIO(data))
        image.load()                        # decodes every pixel: catches truncated data
        return image
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge("The image has too many pixels to open safely.") from exc
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError("The attachment is not an image Pillow can read: attach a PNG, JPEG or WebP.") from exc
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"The image is damaged or truncated ({type(exc).__name__}): attach it again.") from exc


def _pixels_only(image: Image.Image) -> Image.Image:
    """A fresh image holding only the pixels: no text chunks, ICC profile, EXIF or XMP."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if has_alpha else "RGB"
    converted = image.convert(mode)
    return Image.frombytes(mode, converted.size, converted.tobytes())


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def _check_input(data: bytes, max_pixels: int) -> CleanImage:
    clean = _pixels_only(_open_checked(data, max_pixels, ALLOWED_INPUT_FORMATS))
    return CleanImage(_encode(clean, "PNG", compress_level=_PNG_FAST_LEVEL), "PNG", *clean.size)


class _NotAPng(ValueError):
    pass


def strip_png_metadata(data: bytes, max_pixels: int = MAX_OUTPUT_PIXELS) -> CleanImage:
    """The same PNG with only its drawing chunks (pixels untouched). Every chunk's CRC is checked
    and the pixel count read from IHDR, so a damaged or truncated file or a bomb is refused
    without decoding. _NotAPng when `data` is no PNG at all."""
    if not data.startswith(_PNG_SIGNATURE):
        raise _NotAPng("not a PNG")
    kept = [_PNG_SIGNATURE]
    size: tuple[int, int] | None = None
    at, end = len(_PNG_SIGNATURE), len(data)
    while True:
        if at + 12 > end:
            raise ImageError("The PNG is truncated (it ends before its IEND chunk).")
        length, kind = struct.unpack_from(">I4s", data, at)
        name = kind.decode("latin-1")
        chunk_end = at + 12 + length
        if chunk_end > end:
            raise ImageError(f"The PNG is truncated (inside its {name} chunk).")
        (crc,) = struct.unpack_from(">I", data, chunk_end - 4)
        body = memoryview(data)[at + 4:chunk_end - 4]
        if zlib.crc32(body) != crc:
            raise ImageError(f"The PNG is damaged (bad checksum in its {name} chunk).")
        if size is None:
            if kind != b"IHDR" or length != 13:
                raise ImageError("The PNG is damaged (it does not start with its IHDR chunk).")
            size = struct.unpack_from(">II", data, at + 8)
            if size[0] * size[1] > max_pixels:
                raise ImageTooLarge(f"The image is {size[0]}x{size[1]} pixels; the limit is "
                                    f"{max_pixels / 1e6:.0f} megapixels.")
        if kind in _PNG_DRAWING_CHUNKS:
            kept.append(data[at:chunk_end])
        at = chunk_end
        if kind == b"IEND":
            break
    if b"IDAT" not in {chunk[4:8] for chunk in kept[1:]}:
        raise ImageError("The PNG has no image data.")
    return CleanImage(b"".join(kept), "PNG", *size)


def _sanitize(data: bytes, limit_bytes: int) -> CleanImage:
    try:
        stripped = strip_png_metadata(data)
        if len(stripped.data) <= limit_bytes:
            return stripped
    except _NotAPng:
        pass
    except ImageError as exc:
        raise ImageError(f"ComfyUI returned an unreadable image: {exc}") from exc
    try:
        clean = _pixels_only(_open_checked(data, MAX_OUTPUT_PIXELS, None))
    except ImageError as exc:
        raise ImageError(f"ComfyUI returned an unreadable image: {exc}") from exc
    png = _encode(clean, "PNG", compress_level=_PNG_FAST_LEVEL)
    if len(png) <= limit_bytes:
        return CleanImage(png, "PNG", *clean.size)
    png = _encode(clean, "PNG", optimize=True)
    if len(png) <= limit_bytes:
        return CleanImage(png, "PNG", *clean.size)
    # Lossy from here: JPEG keeps no alpha, so transparent images go to WebP.
    fmt = "WEBP" if clean.mode == "RGBA" else "JPEG"
    image = clean
    while True:
        for quality in _JPEG_QUALITIES:
            encoded = _encode(image, fmt, quality=quality)
            if len(encoded) <= limit_bytes:
                return CleanImage(encoded, fmt, *image.size)
        width, height = int(image.width * _SCALE_STEP), int(image.height * _SCALE_STEP)
        if min(width, height) < _MIN_SIDE:
            raise ImageTooLarge(f"The result cannot be made smaller than {limit_bytes / 1e6:.1f} MB.")
        image = image.resize((width, height), Image.Resampling.LANCZOS)

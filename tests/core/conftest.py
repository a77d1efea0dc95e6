"""Helpers for the job queue tests (the fixtures themselves are in tests/fixtures_core.py)."""
from __future__ import annotations

import asyncio
import io
import json
from collections import Counter

import pytest
from PIL import Image


async def eventually(predicate, timeout: float = 10.0, interval: float = 0.005) -> None:
    """For state inside the fake ComfyUI, which publishes no events: check on a short interval."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def prompt_text(graph: dict) -> str | None:
    """The positive prompt of a filled shipped workflow (the first CLIPTextEncode with text)."""
    for node_id in sorted(graph, key=lambda n: int(n) if n.isdigit() else 0):
        node = graph[node_id]
        if node.get("class_type") == "CLIPTextEncode" and node["inputs"].get("text"):
            return node["inputs"]["text"]
    return None


def executed_prompts(fake) -> Counter:
    """How many times each prompt text really ran to success in the fake."""
    by_id = {body.get("prompt_id"): body["prompt"] for body in fake.received_prompts if "prompt" in body}
    return Counter(prompt_text(by_id[pid]) for pid in fake.finished_at if pid in by_id)


def received_texts(fake) -> list[str | None]:
    return [prompt_text(body["prompt"]) for body in fake.received_prompts if "prompt" in body]


def image_bytes(fmt: str = "PNG", size=(64, 48), **options) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buf, fmt, **options)
    return buf.getvalue()


@pytest.fixture
def png_bytes():
    return image_bytes()


__all__ = ["eventually", "executed_prompts", "received_texts", "image_bytes", "json"]

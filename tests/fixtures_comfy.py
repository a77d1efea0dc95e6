"""Shared pytest fixtures for anything that talks to ComfyUI (registered from tests/conftest.py).

- ``fake_comfy``: a FakeComfyUI running in-process on an ephemeral 127.0.0.1 port (exec 20 ms,
  3 progress steps); ``fake_comfy.url`` is its base URL. Change ``exec_ms``, inject faults
  (``fail_http``, ``slow_route``, ``fail_next_prompt``, ``drop_websockets``, ``crash``) as needed.
- ``comfy_client``: a connected ComfyClient on it (fast reconnects), closed afterwards.
- ``comfy_workflow``: the small "imagine" workflow the fake can run (EmptyImage -> noise -> SaveImage).
"""
from __future__ import annotations

import copy

import pytest

from comfy.client import ComfyClient
from tests.fake_comfyui import FakeComfyUI

IMAGINE_WORKFLOW = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 2, "color": 16746496}},
    "2": {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": 42, "strength": 0.35}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "discordbot/imagine"}},
}


@pytest.fixture
async def fake_comfy():
    fake = FakeComfyUI(exec_ms=20, progress_steps=3)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def comfy_client(fake_comfy):
    client = ComfyClient(fake_comfy.url, request_timeout=5.0, reconnect_min_s=0.02, reconnect_max_s=0.2)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def comfy_workflow() -> dict:
    return copy.deepcopy(IMAGINE_WORKFLOW)

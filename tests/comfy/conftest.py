"""Helpers for the comfy tests: the shared fixtures, plus access to the copied recordings."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures_comfy import comfy_client, comfy_workflow, fake_comfy  # noqa: F401 (until tests/conftest.py registers the plugin)

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "comfyui"


def load_recording(name: str) -> dict:
    return json.loads((RECORDINGS / name).read_text())


@pytest.fixture
def recording():
    return load_recording

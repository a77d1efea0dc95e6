"""Helpers for the comfy tests: access to the copied recordings (fixtures come from tests/fixtures_comfy.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "comfyui"


def load_recording(name: str) -> dict:
    return json.loads((RECORDINGS / name).read_text(encoding="utf-8"))


@pytest.fixture
def recording():
    return load_recording

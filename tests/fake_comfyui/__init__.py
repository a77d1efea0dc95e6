"""Fake ComfyUI 0.3.64 for tests: in-process (`FakeComfyUI`) or `python -m tests.fake_comfyui`."""
from .server import FakeComfyUI, QueueItem

__all__ = ["FakeComfyUI", "QueueItem"]

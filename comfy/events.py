"""Typed events decoded from ComfyUI's /ws, handed to ComfyClient listeners."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ExecutionFailed


@dataclass(frozen=True)
class ImageRef:
    """An image on the server, as /view wants it: filename, subfolder and type apart."""
    filename: str
    subfolder: str = ""
    type: str = "output"
    # The output node that made it (orders the images of a result made of copies); not part of
    # what the image is.
    node: str = field(default="", compare=False)

    @classmethod
    def from_json(cls, data: dict, node: str = "") -> "ImageRef":
        return cls(data["filename"], data.get("subfolder", ""), data.get("type", "output"), node)


@dataclass(frozen=True)
class ImageBytes:
    """An image a SaveImageWebsocket node sent as a binary websocket frame (never saved on the
    server, so there is nothing to /view), with that node (orders a result made of copies)."""
    data: bytes = field(repr=False)
    node: str = ""


@dataclass(frozen=True)
class QueueStatus:
    remaining: int


@dataclass(frozen=True)
class PromptStarted:
    prompt_id: str


@dataclass(frozen=True)
class PromptCached:
    prompt_id: str
    nodes: list[str]


@dataclass(frozen=True)
class NodeExecuting:
    prompt_id: str | None  # None for the frame a socket gets when it connects mid-run
    node: str


@dataclass(frozen=True)
class PromptProgress:
    prompt_id: str | None
    node: str | None
    value: int
    max: int


@dataclass(frozen=True)
class PreviewImage:
    prompt_id: str | None
    node: str | None
    image: bytes = field(repr=False)
    mime: str = "image/jpeg"


@dataclass(frozen=True)
class NodeOutput:
    prompt_id: str
    node: str
    images: list[ImageRef]


@dataclass(frozen=True)
class PromptSucceeded:
    prompt_id: str
    outputs: list[ImageRef]


@dataclass(frozen=True)
class PromptFailed:
    prompt_id: str
    error: ExecutionFailed


@dataclass(frozen=True)
class PromptInterrupted:
    prompt_id: str


@dataclass(frozen=True)
class SocketConnected:
    pass


@dataclass(frozen=True)
class SocketDisconnected:
    reason: str


ComfyEvent = (QueueStatus | PromptStarted | PromptCached | NodeExecuting | PromptProgress | PreviewImage
              | NodeOutput | PromptSucceeded | PromptFailed | PromptInterrupted | SocketConnected
              | SocketDisconnected)

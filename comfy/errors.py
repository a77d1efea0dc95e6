"""Every error the ComfyUI client raises. All derive from ComfyError and are raised `from` the cause.

Texts are meant to be shown to an admin: they say what happened and what to do, and never hold
the API key.
"""
from __future__ import annotations

import re
from typing import Any

from .node_packs import missing_class_message, missing_classes_in

# Absolute paths on the server (POSIX, Windows, or the <COMFYUI_ROOT>-style placeholders of the
# recordings) reduced to their last component: users see the file name, not the server's layout.
_ABS_PATH = re.compile(r"""(?<![\w/:.])(?:[A-Za-z]:[\\/]|/|<[A-Z_]+>[\\/])[^\s'"]*[\\/]([^\\/\s'"]+)""")


def strip_server_paths(text: str) -> str:
    return _ABS_PATH.sub(r"\1", text)


class ComfyError(Exception):
    """Base of every ComfyUI client error."""


class ComfyConnectionError(ComfyError):
    """ComfyUI could not be reached (refused, DNS, reset)."""


class ComfyTimeoutError(ComfyError):
    """ComfyUI did not answer in time."""


class ComfyHTTPError(ComfyError):
    """An unexpected HTTP status. `body` is the (truncated) response text."""

    def __init__(self, message: str, status: int, body: str = ""):
        super().__init__(message)
        self.status = status
        self.body = body


class ComfyAuthError(ComfyHTTPError):
    """401/403: a proxy in front of ComfyUI refused us (ComfyUI itself has no auth)."""


class NotComfyUIError(ComfyError):
    """The URL answers, but not like ComfyUI does."""


class WorkflowRejected(ComfyError):
    """ComfyUI refused (400) or partly dropped (200 with node_errors) a workflow.

    `lines` holds one readable line per node error; `accepted` is True for the 200 case, where
    the valid outputs still run.
    """

    def __init__(self, error: dict | None, node_errors: dict | None, *, accepted: bool = False):
        self.error = error or {}
        self.node_errors = node_errors or {}
        self.accepted = accepted
        self.error_type = self.error.get("type", "")
        self.lines = describe_node_errors(self.node_errors)
        head = self.error.get("message") or ("Some outputs of the workflow were dropped" if accepted
                                               else "Workflow rejected")
        details = self.error.get("details")
        if details and not self.lines:
            head = f"{head} ({details})"
        # "Cannot execute because node X does not exist.": name the custom node pack to install
        self.missing_classes = missing_classes_in(str(self.error.get("message", "")))
        self.hints = [missing_class_message(class_type) for class_type in self.missing_classes]
        super().__init__("\n".join([head, *self.lines, *self.hints]))


def describe_node_errors(node_errors: dict[str, Any]) -> list[str]:
    lines = []
    for node_id, entry in node_errors.items():
        class_type = entry.get("class_type", "?")
        for err in entry.get("errors", []):
            extra = err.get("extra_info") or {}
            name = extra.get("input_name")
            message = err.get("message", "error")
            details = err.get("details") or ""
            if details and details != name:
                message = f"{message}: {details}"
            where = f"node {node_id} ({class_type})" + (f" input '{name}'" if name else "")
            lines.append(f"{where}: {strip_server_paths(message)}")
    return lines


class ExecutionFailed(ComfyError):
    """A node failed while the prompt ran (ws execution_error, or history status 'error')."""

    def __init__(self, prompt_id: str, node_id: str | None, node_type: str | None,
                 exception_type: str, message: str):
        self.prompt_id = prompt_id
        self.node_id = node_id
        self.node_type = node_type
        self.exception_type = exception_type
        self.message = strip_server_paths(message).strip()
        super().__init__(f"node {node_id} ({node_type}) failed: {exception_type}: {self.message}")

    @classmethod
    def from_event(cls, data: dict) -> "ExecutionFailed":
        return cls(data.get("prompt_id", ""), data.get("node_id"), data.get("node_type"),
                   data.get("exception_type", "Exception"), data.get("exception_message", ""))


class PromptInterrupted(ComfyError):
    """The prompt was interrupted (by us, an admin, or another client)."""

    def __init__(self, prompt_id: str, node_id: str | None = None):
        self.prompt_id = prompt_id
        self.node_id = node_id
        super().__init__(f"prompt {prompt_id} was interrupted" + (f" at node {node_id}" if node_id else ""))


class PromptLost(ComfyError):
    """ComfyUI no longer knows the prompt: not queued, not running, no history (deleted, restarted)."""

    def __init__(self, prompt_id: str):
        self.prompt_id = prompt_id
        super().__init__(f"ComfyUI no longer knows prompt {prompt_id} (not queued and no history; "
                         "it was deleted or ComfyUI restarted)")

"""Run a coroutine from a Qt slot on the shared qasync loop, and report its failure instead of
losing it. Windows keep working when a call fails: the error goes to `on_error` (a message in the
window) and to the log."""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QCoreApplication

from core.tasks import TaskManager

log = logging.getLogger("gui")
translate = QCoreApplication.translate

_owner = TaskManager("gui")   # what the windows' slots started; the tray app closes it on quit


def spawn(coro: Coroutine[Any, Any, Any], *, on_error: Callable[[BaseException], None] | None = None,
          on_done: Callable[[Any], None] | None = None, name: str | None = None) -> asyncio.Task:
    what = name or "GUI action"

    def failed(exc: BaseException) -> None:
        log.warning("%s failed: %s", what, exc)
        on_error(exc)
    return _owner.spawn(coro, name=what, on_done=on_done, on_error=None if on_error is None else failed)


async def cancel_all() -> None:
    """Cancel what the GUI still runs (on quit); a tray app started again gets a fresh owner."""
    global _owner
    closing, _owner = _owner, TaskManager("gui")
    await closing.close()


# "(ClientConnectorError: Cannot connect to host ...)" and the like: a library's words, for the details
_LIBRARY_DETAIL = re.compile(r"\s*\((?:[A-Za-z_.]*[A-Z]\w*(?:Error|Exception|Failure))\b[^()]*(?:\([^()]*\)[^()]*)*\)")


def error_text(exc: BaseException) -> str:
    """One line for a user: the message of our typed errors without the library names and details
    they may quote (those are in error_details), or a plain sentence for anything else."""
    text = _LIBRARY_DETAIL.sub("", str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    return text.strip() or translate("Errors", "something went wrong (details in the log)")


def error_details(exc: BaseException) -> str:
    """Everything the error says, for a tooltip or a folded details section."""
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    while cause is not None and len(parts) < 4:
        parts.append(f"{type(cause).__name__}: {cause}")
        cause = cause.__cause__
    return "\n".join(parts)

"""Refuse a PySide6 that corrupts reference counts, instead of crashing minutes later.

PySide6 6.12.0 on Python 3.11 gives back `True` and `None` without owning a reference: every
`Signal.emit()` takes one reference from True (qasync emits one per `call_soon_threadsafe`, i.e.
per `asyncio.to_thread`, keyring call or aiosqlite query), and every Python override of a C++
virtual that returns None (a model's `data()`, qasync's `timerEvent`) takes one from None. Python
3.11 does not make them immortal, so the process soon aborts with "Fatal Python error:
bool_dealloc" or "none_dealloc". 6.11.3 (pinned in requirements.txt) is clean.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal


class _Probe(QObject):
    fired = Signal()

    def event(self, event) -> bool:      # a Python override of a C++ virtual
        if event.type() == QEvent.Type.User:
            self._return_none()
            return True
        return super().event(event)

    def customEvent(self, event) -> None:
        return None

    def _return_none(self) -> None:
        return None


def refcount_problem() -> str | None:
    """None when this PySide6 keeps reference counts right; else what is wrong and the fix."""
    if sys.version_info >= (3, 12):
        return None                     # True and None are immortal there: the bug is harmless
    probe = _Probe()
    before_true = sys.getrefcount(True)
    for _ in range(8):
        probe.fired.emit()
    lost_true = before_true - sys.getrefcount(True)
    before_none = sys.getrefcount(None)
    for _ in range(8):
        QCoreApplication.sendEvent(probe, QEvent(QEvent.Type(QEvent.Type.User + 1)))  # -> customEvent
    lost_none = before_none - sys.getrefcount(None)
    if lost_true >= 8 or lost_none >= 8:
        import PySide6

        return (f"PySide6 {PySide6.__version__} loses references to True/None on Python "
                f"{sys.version_info.major}.{sys.version_info.minor} and would crash the app: install "
                "the version pinned in requirements.txt (pip install -r requirements.txt)")
    return None

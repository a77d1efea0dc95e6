"""The qasync loop the Qt tests run on (tests/conftest.py's loop factory).

qasync runs the loop's callbacks from Qt timers, so they also run whenever Qt processes events
while the loop is stopped: in qasync's own processEvents at the end of run_until_complete, and in
pytest-qt's after each test phase. pytest-asyncio runs each async fixture and the test body in a
run of their own, so between two runs a task could take a step with no running loop and die at its
next `asyncio.sleep` ("RuntimeError: no running event loop"; the scheduler's publish task, under
the Windows Python, whose proactor loop hands I/O completions over through Qt signals, so more
callbacks are pending when a run ends). asyncio's contract is that callbacks run only while the loop
runs; this loop keeps it: while it is stopped, a callback's timer stays armed and the callback runs
in the next run. The app is unaffected: it runs in one qasync.run for its whole life, so every Qt
event it processes is processed inside the running loop.
"""
from __future__ import annotations

import qasync
from PySide6.QtWidgets import QApplication


class _RunningOnlyTimer(qasync._SimpleTimer):
    def __init__(self, loop: qasync.QEventLoop) -> None:
        super().__init__()
        self._loop = loop

    def timerEvent(self, event):  # noqa: N802 (Qt's name)
        if self._loop.is_running() or self._stopped:   # stopped = the loop closed: qasync drops the timer
            super().timerEvent(event)


def qasync_loop() -> qasync.QEventLoop:
    loop = qasync.QEventLoop(QApplication.instance() or QApplication([]))
    loop._timer = _RunningOnlyTimer(loop)    # before anything is scheduled
    return loop

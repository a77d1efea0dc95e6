"""A Windows job object holding the ComfyUI we launched and everything it starts.

Windows has no process groups to signal. A windowed app (the double-click build) has no console,
so Ctrl-Break cannot be sent either: `os.kill(pid, CTRL_BREAK_EVENT)` then falls back to
TerminateProcess on the child alone and, on CPython 3.11, raises SystemError. A job object ends the
whole tree at once (TerminateJobObject), tells when the last process of it is gone, and, because it
is created with KILL_ON_JOB_CLOSE, takes ComfyUI down with the app if the app itself dies.

Processes started by a process in the job are in the job too (unless they break away explicitly),
so ComfyUI's own helpers go with it.

Only stdlib (ctypes): no Qt, no discord. Importable everywhere; usable only on Windows.
"""
from __future__ import annotations

import ctypes
import os
from ctypes import wintypes

_JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
_JobObjectBasicAccountingInformation = 1
_JobObjectExtendedLimitInformation = 9
_PROCESS_TERMINATE = 0x0001
_PROCESS_SET_QUOTA = 0x0100


class _IoCounters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_ulonglong) for name in (
        "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
        "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]


class _BasicLimits(ctypes.Structure):
    _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                ("SchedulingClass", wintypes.DWORD)]


class _ExtendedLimits(ctypes.Structure):
    _fields_ = [("BasicLimitInformation", _BasicLimits), ("IoInfo", _IoCounters),
                ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]


class _BasicAccounting(ctypes.Structure):
    _fields_ = [("TotalUserTime", ctypes.c_int64), ("TotalKernelTime", ctypes.c_int64),
                ("ThisPeriodTotalUserTime", ctypes.c_int64), ("ThisPeriodTotalKernelTime", ctypes.c_int64),
                ("TotalPageFaultCount", wintypes.DWORD), ("TotalProcesses", wintypes.DWORD),
                ("ActiveProcesses", wintypes.DWORD), ("TotalTerminatedProcesses", wintypes.DWORD)]


def _kernel32():
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    kernel32.CreateJobObjectW.argtypes = (wintypes.LPVOID, wintypes.LPCWSTR)
    kernel32.SetInformationJobObject.argtypes = (wintypes.HANDLE, ctypes.c_int, wintypes.LPVOID, wintypes.DWORD)
    kernel32.QueryInformationJobObject.argtypes = (wintypes.HANDLE, ctypes.c_int, wintypes.LPVOID, wintypes.DWORD,
                                                   wintypes.LPDWORD)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.AssignProcessToJobObject.argtypes = (wintypes.HANDLE, wintypes.HANDLE)
    kernel32.TerminateJobObject.argtypes = (wintypes.HANDLE, wintypes.UINT)
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    return kernel32


class ProcessTreeJob:
    """One job object per launched ComfyUI. Raises OSError when Windows refuses (the caller then
    falls back to `taskkill /T`)."""

    def __init__(self) -> None:
        if os.name != "nt":
            raise OSError("job objects exist only on Windows")
        self._k = _kernel32()
        handle = self._k.CreateJobObjectW(None, None)
        if not handle:
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
        self._handle = handle
        limits = _ExtendedLimits()
        limits.BasicLimitInformation.LimitFlags = _JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        if not self._k.SetInformationJobObject(handle, _JobObjectExtendedLimitInformation,
                                               ctypes.byref(limits), ctypes.sizeof(limits)):
            error = ctypes.get_last_error()
            self.close()
            raise ctypes.WinError(error)  # type: ignore[attr-defined]

    def add(self, pid: int) -> None:
        process = self._k.OpenProcess(_PROCESS_SET_QUOTA | _PROCESS_TERMINATE, False, pid)
        if not process:
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
        try:
            if not self._k.AssignProcessToJobObject(self._handle, process):
                raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
        finally:
            self._k.CloseHandle(process)

    def terminate(self, exit_code: int = 1) -> None:
        """End every process in the job now."""
        if self._handle and not self._k.TerminateJobObject(self._handle, exit_code):
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]

    def active_processes(self) -> int:
        info = _BasicAccounting()
        if not self._handle or not self._k.QueryInformationJobObject(
                self._handle, _JobObjectBasicAccountingInformation, ctypes.byref(info), ctypes.sizeof(info), None):
            return 0
        return int(info.ActiveProcesses)

    def close(self) -> None:
        """Close the handle; with KILL_ON_JOB_CLOSE whatever is left in the job ends."""
        handle, self._handle = self._handle, None
        if handle:
            self._k.CloseHandle(handle)

"""`python main.py` as a user starts it: the tray app in a subprocess (offscreen, a fresh IMAGEBOT_HOME,
ComfyUI = the in-process fake), a second launch, SIGTERM; and the self-test's GUI and bot checks."""
from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IS_WINDOWS = sys.platform == "win32"
READY = "Tray app ready"
BROUGHT_FORWARD = "Another launch asked for the window"


def main_env(home: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DISCORD_TOKEN", "COMFY_URL", "COMFY_URLS", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(IMAGEBOT_HOME=str(home), QT_QPA_PLATFORM="offscreen",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", **extra)
    return env


async def launch(home: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    """main.py with its output in files beside `home` (a pipe nobody reads could fill up and block it)."""
    home.parent.mkdir(parents=True, exist_ok=True)
    n = len(list(home.parent.glob(f"{home.name}-*.out")))
    out = open(home.parent / f"{home.name}-{n}.out", "w+b")
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "main.py"), *args, cwd=str(home.parent), env=main_env(home, **env),
        stdout=out, stderr=subprocess.STDOUT)
    process.output_file = out
    return process


async def finish(process: asyncio.subprocess.Process, timeout: float = 30) -> str:
    """Wait for the exit; the process's stdout and stderr together."""
    await asyncio.wait_for(process.wait(), timeout)
    process.output_file.seek(0)
    text = process.output_file.read().decode(errors="replace")
    process.output_file.close()
    return text


async def wait_for_log(log_file: Path, text: str, process: asyncio.subprocess.Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_file.is_file() and text in log_file.read_text(encoding="utf-8", errors="replace"):
            return
        if process.returncode is not None:
            raise AssertionError(f"main.py exited ({process.returncode}) before logging {text!r}")
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {text!r} in {log_file} after {timeout}s")


async def test_tray_mode_second_launch_and_sigterm(tmp_path, fake_comfy):
    home = tmp_path / "home"
    log_file = home / "data" / "logs" / "imagebot.log"
    first = await launch(home, COMFY_URL=fake_comfy.url)
    try:
        await wait_for_log(log_file, READY, first)

        # (a) a second launch hands over to the first and exits at once
        started = time.monotonic()
        second = await launch(home, COMFY_URL=fake_comfy.url)
        output = await finish(second)
        assert second.returncode == 0, output
        assert time.monotonic() - started < 10
        assert log_file.read_text().count(READY) == 1
        await wait_for_log(log_file, BROUGHT_FORWARD, first)

        # (b) SIGTERM: an orderly exit
        if IS_WINDOWS:
            first.kill()
            await finish(first)
            pytest.skip("the hand-over passed; Windows has no SIGTERM (send_signal is TerminateProcess)")
        first.send_signal(signal.SIGTERM)
        output = await finish(first)
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    log_text = log_file.read_text()
    assert first.returncode == 0, output
    assert "Traceback" not in output and "Traceback" not in log_text, output + log_text
    lines = log_text.splitlines()
    order = [next(i for i, line in enumerate(lines) if text in line)
             for text in ("Shutting down", "bot stopped", "job queue stopped", "database closed", "Stopped cleanly")]
    assert order == sorted(order), log_text
    with sqlite3.connect(home / "data" / "imagebot.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


async def test_another_home_is_another_instance(tmp_path, fake_comfy):
    """The single-instance lock is per config folder: a test or a second profile does not hand over to
    the user's running app."""
    first = await launch(tmp_path / "one", COMFY_URL=fake_comfy.url)
    second = await launch(tmp_path / "two", COMFY_URL=fake_comfy.url)
    try:
        for home, process in ((tmp_path / "one", first), (tmp_path / "two", second)):
            await wait_for_log(home / "data" / "logs" / "imagebot.log", READY, process)
    finally:
        for process in (first, second):
            if process.returncode is None:
                process.kill() if IS_WINDOWS else process.send_signal(signal.SIGTERM)
        outputs = [await finish(p) for p in (first, second)]
    if not IS_WINDOWS:  # Windows has no SIGTERM: kill() is TerminateProcess, no orderly exit code
        assert [first.returncode, second.returncode] == [0, 0], outputs


async def run_self_test(home: Path, **env: str) -> tuple[int, str, float]:
    started = time.monotonic()
    process = await launch(home, "--self-test", **env)
    output = await finish(process, 60)
    return process.returncode, output, time.monotonic() - started


async def test_self_test_starts_the_gui_and_bot_stacks(tmp_path):
    import discord
    from PySide6.QtCore import qVersion

    await run_self_test(tmp_path / "home")                          # first run: the home is set up
    code, output, _ = await run_self_test(tmp_path / "home")
    assert code == 0, output
    assert f"[ok] gui: Qt {qVersion()}" in output
    assert f"[ok] bot: discord.py {discord.__version__}" in output


async def test_self_test_reports_a_missing_gui_or_bot_module(tmp_path):
    """What a packaged build missing a hidden import looks like: one FAIL line, not a crash."""
    shadow = tmp_path / "shadow"
    for package in ("discord", "PySide6"):
        (shadow / package).mkdir(parents=True)
        (shadow / package / "__init__.py").write_text(f"raise ImportError('{package} is missing (test)')\n")
    code, output, _ = await run_self_test(tmp_path / "home", PYTHONPATH=str(shadow))
    assert code == 1, output
    assert "[FAIL] gui: " in output and "PySide6" in output
    assert "[FAIL] bot: " in output and "discord" in output
    assert "self-test failed: 2 problem(s)" in output

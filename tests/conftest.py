"""Shared test set-up: the loop per test, the app's folders, and the fixture plugins."""
from __future__ import annotations

import asyncio
import importlib.util
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = [
    name
    for name in ("tests.plugins.databases", "tests.plugins.secret_service", "tests.fixtures_comfy",
                 "tests.fixtures_core")
    if importlib.util.find_spec(name) is not None
]


def pytest_asyncio_loop_factories(config, item):
    # simcord and the core run on plain asyncio; the GUI tests on qasync's loop, as the app does.
    if item.get_closest_marker("qt") or "tests/gui/" in str(item.path).replace(os.sep, "/"):
        from tests.qt_loop import qasync_loop   # Qt is imported only where a test runs on it

        return {"qasync": qasync_loop}
    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture
def app_paths(tmp_path, monkeypatch):
    """A private config and data folder, as IMAGEBOT_HOME gives them."""
    from core.paths import AppPaths

    monkeypatch.setenv("IMAGEBOT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return AppPaths.default()


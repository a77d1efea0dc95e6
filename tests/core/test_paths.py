"""Where the app keeps its files: IMAGEBOT_HOME, or the OS's usual per-user folders."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from core.paths import AppPaths


def test_imagebot_home_puts_config_and_data_under_one_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGEBOT_HOME", str(tmp_path))
    paths = AppPaths.default()
    assert paths.config_dir == tmp_path / "config" and paths.data_dir == tmp_path / "data"


@pytest.mark.skipif(sys.platform != "win32", reason="Windows' per-user folders")
def test_on_windows_everything_is_under_localappdata(monkeypatch):
    """Settings, database, images and logs in %LOCALAPPDATA%\\FuLLetLabsImageBot: the folder the
    installer's uninstaller keeps (or deletes when asked), never the roaming profile."""
    monkeypatch.delenv("IMAGEBOT_HOME", raising=False)
    local = Path(os.environ["LOCALAPPDATA"]).resolve()
    paths = AppPaths.default()
    assert paths.config_dir.resolve() == local / "FuLLetLabsImageBot"
    assert paths.data_dir.resolve() == local / "FuLLetLabsImageBot"
    assert paths.logs_dir.resolve() == local / "FuLLetLabsImageBot" / "logs"
    assert not paths.data_dir.resolve().is_relative_to(Path(os.environ["APPDATA"]).resolve())

"""Where the app keeps its files: one config folder and one data folder per user.

`IMAGEBOT_HOME` puts both under one folder (tests, portable installs); otherwise platformdirs
gives the OS's usual places.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "FuLLetLabsImageBot"


def resource_root() -> Path:
    """The folder holding `flujos/`, `resources/` and `core/store/migrations`, from source or a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle else Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path

    @classmethod
    def default(cls) -> "AppPaths":
        home = os.environ.get("IMAGEBOT_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(config_dir=root / "config", data_dir=root / "data")
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        )

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def default_database(self) -> Path:
        return self.data_dir / "imagebot.db"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def inputs_dir(self) -> Path:
        return self.data_dir / "inputs"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def workflows_dir(self) -> Path:
        return self.data_dir / "flujos"


def write_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` (creating its folder) through a temporary file, so nobody ever reads
    half a file. Blocking: call it through asyncio.to_thread."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)

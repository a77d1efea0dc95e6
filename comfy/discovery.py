"""Find the ComfyUI installs on this machine, so the setup can offer them instead of asking for paths.

What is looked for:
- ComfyUI's Windows portable package: a `ComfyUI_windows_portable*` folder holding `ComfyUI/main.py`
  and `python_embeded/python.exe` (ComfyUI's spelling), where people unzip it: Desktop, Downloads,
  Documents, the home folder, and the roots of the fixed drives.
- ComfyUI Desktop (the Windows installer): the ComfyUI it ships under
  `%LOCALAPPDATA%\\Programs\\@comfyorgcomfyui-electron\\resources\\ComfyUI`, run by the Python of the
  base folder the user chose at setup (`basePath` in `%APPDATA%\\ComfyUI\\config.json`, its `.venv`).
  Desktop serves on port 8000 unless told otherwise.
- A git checkout with a venv (`~/ComfyUI`), on any system.

Each install becomes the settings that launch or attach to it (`folder`, `python`, `url`,
`extra_args`). Only stdlib: no Qt, no discord.
"""
from __future__ import annotations

import json
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from comfy.supervisor import SupervisorConfig

PORTABLE_PATTERN = "ComfyUI_windows_portable*"
DESKTOP_APP_FOLDERS = ("@comfyorgcomfyui-electron", "comfyui-electron")
DESKTOP_URL = "http://127.0.0.1:8000"
DEFAULT_URL = SupervisorConfig.url       # ComfyUI's own default, 127.0.0.1:8188


@dataclass(frozen=True)
class ComfyInstall:
    kind: str                      # "portable", "desktop" or "checkout"
    folder: Path                   # the folder with main.py (comfy_folder)
    python: Path                   # the Python that runs it (comfy_python)
    url: str                       # where it serves (comfy_urls)
    extra_args: tuple[str, ...] = ()   # what it needs on top (comfy_extra_args)

    @property
    def label(self) -> str:
        names = {"portable": "ComfyUI portable", "desktop": "ComfyUI Desktop", "checkout": "ComfyUI"}
        return f"{names[self.kind]} in {self.folder}"


def find_comfyui(*, home: Path | None = None, environ: Mapping[str, str] | None = None,
                 drives: list[Path] | None = None) -> list[ComfyInstall]:
    """Every install found, Desktop first, then portable packages, then checkouts; no duplicates."""
    environ = os.environ if environ is None else environ
    home = home or Path.home()
    found: list[ComfyInstall] = []
    desktop = _desktop_install(environ)
    if desktop is not None:
        found.append(desktop)
    places = [home / "Desktop", home / "Downloads", home / "Documents", home,
              *(drives if drives is not None else _fixed_drives())]
    for place in places:
        for candidate in _children(place, PORTABLE_PATTERN):
            install = _portable_install(candidate)
            if install is not None:
                found.append(install)
    for candidate in (home / "ComfyUI", home / "Documents" / "ComfyUI"):
        install = _checkout_install(candidate)
        if install is not None:
            found.append(install)
    unique: dict[Path, ComfyInstall] = {}
    for install in found:
        unique.setdefault(install.folder.resolve(), install)
    return list(unique.values())


def _portable_install(outer: Path) -> ComfyInstall | None:
    folder, python = outer / "ComfyUI", outer / "python_embeded" / "python.exe"
    if (folder / "main.py").is_file() and python.is_file():
        return ComfyInstall("portable", folder, python, DEFAULT_URL)
    return None


def _checkout_install(folder: Path) -> ComfyInstall | None:
    if not (folder / "main.py").is_file():
        return None
    for venv in ("venv", ".venv"):
        for layout in ("Scripts/python.exe", "bin/python"):
            if (folder / venv / layout).is_file():
                return ComfyInstall("checkout", folder, folder / venv / layout, DEFAULT_URL)
    return None


def _desktop_install(environ: Mapping[str, str]) -> ComfyInstall | None:
    local, roaming = environ.get("LOCALAPPDATA"), environ.get("APPDATA")
    if not local or not roaming:
        return None
    try:
        config = json.loads((Path(roaming) / "ComfyUI" / "config.json").read_text(encoding="utf-8"))
        base = Path(config["basePath"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    python = base / ".venv" / "Scripts" / "python.exe"
    for app in DESKTOP_APP_FOLDERS:
        folder = Path(local) / "Programs" / app / "resources" / "ComfyUI"
        if (folder / "main.py").is_file() and python.is_file():
            # Its models, inputs, outputs and custom nodes live in the base folder, not beside main.py.
            return ComfyInstall("desktop", folder, python, DESKTOP_URL, ("--base-directory", str(base)))
    return None


def _children(place: Path, pattern: str) -> list[Path]:
    try:
        return sorted(p for p in place.glob(pattern) if p.is_dir())
    except OSError:  # a drive that is not ready, a folder we may not read
        return []


def _fixed_drives() -> list[Path]:
    if os.name != "nt":
        return []
    import ctypes

    mask = ctypes.windll.kernel32.GetLogicalDrives()  # type: ignore[attr-defined]
    drives = [Path(f"{letter}:\\") for i, letter in enumerate(string.ascii_uppercase) if mask >> i & 1]
    drive_fixed = 3
    return [d for d in drives if ctypes.windll.kernel32.GetDriveTypeW(str(d)) == drive_fixed]  # type: ignore[attr-defined]

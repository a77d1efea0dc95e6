"""Finding ComfyUI installs: the Windows portable package, ComfyUI Desktop, a checkout with a venv.
Each case builds the install's real layout in a temp folder."""
from __future__ import annotations

import json
from pathlib import Path

from comfy.discovery import ComfyInstall, find_comfyui


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def portable(outer: Path) -> Path:
    touch(outer / "ComfyUI" / "main.py")
    touch(outer / "python_embeded" / "python.exe")
    touch(outer / "run_nvidia_gpu.bat")
    return outer


def desktop(tmp_path: Path, base: Path) -> dict[str, str]:
    local, roaming = tmp_path / "AppData" / "Local", tmp_path / "AppData" / "Roaming"
    touch(local / "Programs" / "@comfyorgcomfyui-electron" / "resources" / "ComfyUI" / "main.py")
    touch(base / ".venv" / "Scripts" / "python.exe")
    (roaming / "ComfyUI").mkdir(parents=True)
    (roaming / "ComfyUI" / "config.json").write_text(json.dumps({"basePath": str(base)}), encoding="utf-8")
    return {"LOCALAPPDATA": str(local), "APPDATA": str(roaming)}


def test_nothing_installed_finds_nothing(tmp_path):
    assert find_comfyui(home=tmp_path, environ={}, drives=[]) == []


def test_portable_packages_on_the_desktop_and_a_drive_root(tmp_path):
    home, drive = tmp_path / "home", tmp_path / "D"
    on_desktop = portable(home / "Desktop" / "ComfyUI_windows_portable")
    on_drive = portable(drive / "ComfyUI_windows_portable_nvidia")
    (drive / "ComfyUI_windows_portable_broken" / "ComfyUI").mkdir(parents=True)  # no python_embeded

    found = find_comfyui(home=home, environ={}, drives=[drive])

    assert found == [
        ComfyInstall("portable", on_desktop / "ComfyUI", on_desktop / "python_embeded" / "python.exe",
                     "http://127.0.0.1:8188"),
        ComfyInstall("portable", on_drive / "ComfyUI", on_drive / "python_embeded" / "python.exe",
                     "http://127.0.0.1:8188"),
    ]
    assert found[0].label == f"ComfyUI portable in {on_desktop / 'ComfyUI'}"


def test_comfyui_desktop_runs_from_its_app_folder_with_its_base_folders_python(tmp_path):
    base = tmp_path / "Documents" / "ComfyUI"
    environ = desktop(tmp_path, base)

    [found] = find_comfyui(home=tmp_path / "home", environ=environ, drives=[])

    assert found.kind == "desktop" and found.url == "http://127.0.0.1:8000"
    assert found.folder == Path(environ["LOCALAPPDATA"]) / "Programs" / "@comfyorgcomfyui-electron" / "resources" / "ComfyUI"
    assert found.python == base / ".venv" / "Scripts" / "python.exe"
    assert found.extra_args == ("--base-directory", str(base))


def test_a_broken_desktop_config_is_ignored(tmp_path):
    environ = desktop(tmp_path, tmp_path / "base")
    (Path(environ["APPDATA"]) / "ComfyUI" / "config.json").write_text("{not json", encoding="utf-8")
    assert find_comfyui(home=tmp_path / "home", environ=environ, drives=[]) == []


def test_a_checkout_with_a_venv_in_the_home_folder(tmp_path):
    touch(tmp_path / "ComfyUI" / "main.py")
    python = touch(tmp_path / "ComfyUI" / "venv" / "bin" / "python")
    (tmp_path / "ComfyUI_windows_portable").mkdir()  # empty: not an install

    assert find_comfyui(home=tmp_path, environ={}, drives=[]) == [
        ComfyInstall("checkout", tmp_path / "ComfyUI", python, "http://127.0.0.1:8188")]

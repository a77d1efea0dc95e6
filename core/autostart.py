"""Start the app when the user logs in: the HKCU `Run` value on Windows, an XDG autostart file on Linux.

The OS's own entry is the one place this setting lives: the Windows installer's "Start with Windows"
writes the same `Run` value, and the app reads it back instead of keeping a copy in its settings file,
so the two can never disagree. Blocking (registry and file access is quick): call from a thread if
the loop must not wait at all.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.errors import CoreError
from core.paths import APP_NAME, resource_root

APP_TITLE = "FuLLetLabs Image Bot"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


class AutostartError(CoreError):
    """The login entry could not be read or written; the message says where."""


def launch_command() -> list[str]:
    """How this app is started again: the built executable itself, or this Python with main.py."""
    if getattr(sys, "frozen", False):
        # Windows: the bundle's console twin (FuLLetLabsImageBot.com, run from a terminal) would open
        # a console window at every login; the windowed .exe beside it is the app.
        executable = Path(sys.executable)
        if executable.suffix.lower() == ".com":
            executable = executable.with_suffix(".exe")
        return [str(executable)]
    executable = sys.executable
    if sys.platform == "win32":  # no console window at every login
        windowed = Path(executable).with_name("pythonw.exe")
        executable = str(windowed) if windowed.is_file() else executable
    return [executable, str(resource_root() / "main.py")]


class Autostart:
    """`enabled`, `enable()`, `disable()` for this user's login. `supported` is False on other systems
    (macOS: not done yet), where enable() raises AutostartError."""

    def __init__(self, command: list[str] | None = None, *, platform: str = sys.platform,
                 xdg_config_home: Path | None = None, run_key: str = RUN_KEY) -> None:
        self._command = command or launch_command()
        self._platform = platform
        self._run_key = run_key
        config_home = xdg_config_home or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        self.desktop_file = config_home / "autostart" / f"{APP_NAME}.desktop"

    @property
    def supported(self) -> bool:
        return self._platform == "win32" or self._platform.startswith("linux")

    @property
    def enabled(self) -> bool:
        if self._platform == "win32":
            return self._run_value() is not None
        if self._platform.startswith("linux"):
            return self.desktop_file.is_file()
        return False

    def enable(self) -> None:
        if self._platform == "win32":
            self._set_run_value(subprocess.list2cmdline(self._command))
        elif self._platform.startswith("linux"):
            self._write_desktop_file()
        else:
            raise AutostartError(f"Starting with the system is not available on {self._platform} yet.")

    def disable(self) -> None:
        if self._platform == "win32":
            self._delete_run_value()
        elif self._platform.startswith("linux"):
            try:
                self.desktop_file.unlink(missing_ok=True)
            except OSError as exc:
                raise AutostartError(f"Could not remove {self.desktop_file}: {exc.strerror or exc}") from exc

    def set(self, enabled: bool) -> None:
        self.enable() if enabled else self.disable()

    # ---- Linux: ~/.config/autostart/FuLLetLabsImageBot.desktop (XDG Autostart spec) ----------------

    def _write_desktop_file(self) -> None:
        icon = resource_root() / "resources" / "icons" / "app.png"
        text = (
            "[Desktop Entry]\n"
            "Type=Application\n"
            f"Name={APP_TITLE}\n"
            "Comment=Discord image bot beside your ComfyUI\n"
            f"Exec={' '.join(_desktop_exec_quote(arg) for arg in self._command)}\n"
            f"Icon={icon}\n"
            "Terminal=false\n"
            "X-GNOME-Autostart-enabled=true\n"
        )
        try:
            self.desktop_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.desktop_file.with_name(self.desktop_file.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(self.desktop_file)
        except OSError as exc:
            raise AutostartError(f"Could not write {self.desktop_file}: {exc.strerror or exc}") from exc

    # ---- Windows: HKCU\Software\Microsoft\Windows\CurrentVersion\Run ------------------------------

    def _run_value(self) -> str | None:
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, self._run_key) as key:
                value, _ = winreg.QueryValueEx(key, APP_NAME)
                return str(value)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AutostartError(f"Could not read HKCU\\{self._run_key}: {exc.strerror or exc}") from exc

    def _set_run_value(self, command: str) -> None:
        import winreg

        try:
            with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, self._run_key, 0, winreg.KEY_SET_VALUE) as key:
                winreg.SetValueEx(key, APP_NAME, 0, winreg.REG_SZ, command)
        except OSError as exc:
            raise AutostartError(f"Could not write HKCU\\{self._run_key}: {exc.strerror or exc}") from exc

    def _delete_run_value(self) -> None:
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, self._run_key, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, APP_NAME)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise AutostartError(f"Could not write HKCU\\{self._run_key}: {exc.strerror or exc}") from exc


def _desktop_exec_quote(arg: str) -> str:
    """One Exec= argument as the Desktop Entry spec wants it: quoted when it has reserved characters
    (inside quotes ", `, $ and backslash take a backslash), % doubled, and then every backslash doubled
    again, because the file's string escaping is undone before the quoting."""
    if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`="):
        return arg.replace("%", "%%")
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg).replace("%", "%%")
    return '"' + escaped.replace("\\", "\\\\") + '"'

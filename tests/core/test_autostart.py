"""Start with the OS: the XDG autostart file on Linux, the HKCU Run value on Windows."""
from __future__ import annotations

import subprocess
import sys

import pytest

from core.autostart import RUN_KEY, Autostart, AutostartError, launch_command

COMMAND = ["/opt/Image Bot/FuLLetLabsImageBot", "--env-file", "/home/ana/my $bot/.env"]


def test_linux_autostart_file_is_written_read_back_and_removed(tmp_path):
    autostart = Autostart(COMMAND, platform="linux", xdg_config_home=tmp_path)
    assert autostart.supported and not autostart.enabled

    autostart.enable()

    assert autostart.enabled
    text = (tmp_path / "autostart" / "FuLLetLabsImageBot.desktop").read_text(encoding="utf-8")
    assert "Type=Application\n" in text and "Name=FuLLetLabs Image Bot\n" in text
    # Quoted where needed, `$` escaped, and that backslash doubled for the file's string escaping.
    assert 'Exec="/opt/Image Bot/FuLLetLabsImageBot" --env-file "/home/ana/my \\\\$bot/.env"\n' in text

    autostart.disable()
    assert not autostart.enabled and not autostart.desktop_file.exists()
    autostart.disable()  # already off: nothing to do


def test_linux_autostart_folder_that_cannot_be_written_says_where(tmp_path):
    (tmp_path / "autostart").write_text("a file where the folder should be", encoding="utf-8")
    autostart = Autostart(COMMAND, platform="linux", xdg_config_home=tmp_path)
    with pytest.raises(AutostartError, match="Could not write .*FuLLetLabsImageBot.desktop"):
        autostart.enable()


def test_other_systems_say_it_is_not_available(tmp_path):
    autostart = Autostart(COMMAND, platform="darwin", xdg_config_home=tmp_path)
    assert not autostart.supported and not autostart.enabled
    with pytest.raises(AutostartError, match="not available on darwin"):
        autostart.enable()


def test_from_source_it_starts_this_python_with_main_py():
    command = launch_command()
    assert command[-1].endswith("main.py") and len(command) == 2


@pytest.mark.parametrize("executable", ["FuLLetLabsImageBot.exe", "FuLLetLabsImageBot.com", "FuLLetLabsImageBot"])
def test_built_app_starts_the_windowed_executable_never_the_console_twin(monkeypatch, tmp_path, executable):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / executable))
    windowed = "FuLLetLabsImageBot" if executable == "FuLLetLabsImageBot" else "FuLLetLabsImageBot.exe"
    assert launch_command() == [str(tmp_path / windowed)]


@pytest.mark.skipif(sys.platform != "win32", reason="the Windows registry")
def test_windows_run_value_is_written_read_back_and_removed():
    import winreg

    test_key = RUN_KEY + r"\FuLLetLabsImageBotTest"  # never the user's real Run key
    autostart = Autostart([r"C:\Users\Ana María\Programs\FuLLetLabsImageBot\FuLLetLabsImageBot.exe"], run_key=test_key)
    try:
        assert autostart.supported and not autostart.enabled
        autostart.enable()
        assert autostart.enabled
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, test_key) as key:
            value, kind = winreg.QueryValueEx(key, "FuLLetLabsImageBot")
        assert kind == winreg.REG_SZ
        assert value == subprocess.list2cmdline(autostart._command)
        assert value.startswith('"C:\\Users\\Ana María\\')
        autostart.disable()
        assert not autostart.enabled
        autostart.disable()
    finally:
        winreg.DeleteKey(winreg.HKEY_CURRENT_USER, test_key)

"""The entry point as a user runs it: a subprocess with a fresh home folder."""
import os
import socket
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


def run_main(home: Path, *args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DISCORD_TOKEN", "COMFY_URL", "COMFY_URLS")}
    environment.update(IMAGEBOT_HOME=str(home), QT_QPA_PLATFORM="offscreen", **(env or {}))
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=cwd or home.parent, env=environment,
                          capture_output=True, text=True, timeout=60)


def test_self_test_passes_on_a_fresh_home_and_sets_it_up(tmp_path):
    home = tmp_path / "home"
    result = run_main(home, "--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout
    assert "[ok] storage: SQLite file" in result.stdout
    assert (home / "data" / "imagebot.db").exists()
    # the workflows folder is made for the user's own files; the shipped ones load from the app
    assert list((home / "data" / "flujos").iterdir()) == []
    assert "[ok] workflows: 6 in" in result.stdout


def test_self_test_prints_names_its_output_encoding_cannot_show(tmp_path):
    """A Windows code page (cp1252 here) cannot show every user's folder name: the self-test still
    reports, with '?' in place of what it cannot show."""
    home = tmp_path / "Ő家 home"
    result = run_main(home, "--self-test", env={"PYTHONIOENCODING": "cp1252"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout and "?? home" in result.stdout


def test_a_corrupt_settings_file_is_one_clear_line_and_kept(tmp_path):
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text("{broken")
    result = run_main(home, "--self-test")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Settings file") and "move it away" in last
    assert (home / "config" / "settings.json").read_text() == "{broken"


def test_a_malformed_database_url_names_the_setting(tmp_path):
    result = run_main(tmp_path / "home", "--self-test", env={"DATABASE_URL": "postgres//oops"})
    assert result.returncode == 1
    assert "[FAIL] storage: DATABASE_URL" in result.stdout


def test_the_original_bots_dotenv_is_read_from_the_working_folder(tmp_path):
    (tmp_path / ".env").write_text("ALLOWED_GUILD_ID=not-a-number\n")
    result = run_main(tmp_path / "home", "--self-test")
    assert result.returncode == 1
    assert "ALLOWED_GUILD_ID" in result.stderr and ".env" in result.stderr


async def test_check_workflows_against_the_fake_comfyui(tmp_path, fake_comfy):
    import asyncio

    result = await asyncio.to_thread(run_main, tmp_path / "home", "--check-workflows", "--comfy-url", fake_comfy.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("OK") >= 3


def test_check_workflows_with_comfyui_unreachable(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_main(tmp_path / "home", "--check-workflows", "--comfy-url", f"http://127.0.0.1:{port}")
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stdout + result.stderr


def test_the_tray_app_with_an_unreachable_database_says_so_and_exits(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_main(tmp_path / "home", env={"DATABASE_URL": f"postgresql://bot@127.0.0.1:{port}/bot"})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Cannot open the database") and "Check DATABASE_URL" in last


def test_the_console_twin_hands_the_tray_app_to_the_windowed_exe(tmp_path, monkeypatch):
    """Windows: `FuLLetLabsImageBot` typed in a terminal runs the .com; the tray app then starts as
    the windowed .exe on its own (the terminal gets its prompt back), the command-line uses stay."""
    import main

    started = []
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "FuLLetLabsImageBot.com"))
    monkeypatch.setattr(subprocess, "Popen", lambda command, **options: started.append(command))
    assert main.main(["--env-file", "my.env"]) == 0
    assert started == [[str(tmp_path / "FuLLetLabsImageBot.exe"), "--env-file", "my.env"]]
    monkeypatch.setattr(sys, "executable", str(tmp_path / "FuLLetLabsImageBot.exe"))
    assert not main.hand_tray_to_windowed_app([])              # the windowed app itself: nothing to hand over
    assert len(started) == 1

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from comfy.discovery import find_comfyui
from core.logs import LibraryNoise
from core.secrets import SecretStore, comfy_password_name
from core.settings import load_settings
from core.status import DiscordUnreachable, TokenRejected
from gui.invite import PERMISSIONS_VALUE
from gui.services import BotIdentity, read_system_stats
from gui.wizard import SetupWizard
from tests.gui.conftest import until

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"   # id 123456789012345678
GUILD = "987654321098765432"


class FakeTokenChecker:
    """bot.runner.check_token's contract: an identity, TokenRejected (401) or DiscordUnreachable."""

    def __init__(self, accept: bool = True, raises: Exception | None = None) -> None:
        self.raises = raises or (None if accept else TokenRejected("Discord rejected the bot token"))
        self.calls: list[str] = []

    async def __call__(self, token: str):
        self.calls.append(token)
        if self.raises is not None:
            raise self.raises
        return BotIdentity("FuLLetLabs Bot", 123456789012345678)


@pytest.fixture
def fresh_services(gui_services):
    """A first run: no token, no server."""
    gui_services.settings = replace(gui_services.settings, discord_token=None, allowed_guild_ids=())
    gui_services.token_checker = FakeTokenChecker()
    return gui_services


def make_wizard(qtbot, services) -> SetupWizard:
    wizard = SetupWizard(services)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


async def test_rejected_token_is_explained_and_the_page_stays(qtbot, fresh_services):
    fresh_services.token_checker = FakeTokenChecker(accept=False)
    wizard = make_wizard(qtbot, fresh_services)
    page = wizard.discord_page
    page.token.setText("not-a-token")
    page.guilds.setText(GUILD)
    wizard.next()
    await until(lambda: "rejected" in page.token_status.text())
    assert "Copy it again" in page.token_status.text()
    assert "cannot be reached" not in page.token_status.text()
    assert page.save_later_button.isHidden()          # a wrong token cannot be saved "for later"
    assert wizard.currentPage() is page


async def test_unreachable_discord_is_not_called_a_rejected_token_and_can_be_saved_for_later(qtbot, fresh_services,
                                                                                              memory_keyring):
    fresh_services.token_checker = FakeTokenChecker(raises=DiscordUnreachable(
        "Cannot reach Discord to check the token: check the internet connection"))
    finished = []
    wizard = make_wizard(qtbot, fresh_services)
    wizard.finished.connect(finished.append)
    page = wizard.discord_page
    page.token.setText(TOKEN)
    page.guilds.setText(GUILD)
    wizard.next()
    await until(lambda: not page.save_later_button.isHidden())
    text = page.token_status.text()
    assert "Discord cannot be reached" in text and "internet connection" in text
    assert "rejected" not in text and "Copy it again" not in text
    page.save_later_button.click()                    # the wizard finishes: saved as it is
    await until(lambda: finished)
    saved = load_settings(fresh_services.paths, env={})
    assert saved.allowed_guild_ids == (int(GUILD),)
    assert fresh_services.settings.discord_token == TOKEN     # this run uses it; the bot keeps trying
    assert memory_keyring.passwords[("FuLLetLabsImageBot", "discord_token")] == TOKEN


async def test_reopened_settings_show_what_was_saved(qtbot, fresh_services, memory_keyring):
    wizard = make_wizard(qtbot, fresh_services)
    wizard.discord_page.token.setText(TOKEN)
    wizard.discord_page.guilds.setText(GUILD)
    wizard.comfy_page.url.setText("http://127.0.0.1:8188, http://127.0.0.1:8189")
    await wizard.discord_page.check_token()
    await wizard.save()
    wizard.close()
    reopened = SetupWizard(fresh_services, first_run=False)
    qtbot.addWidget(reopened)
    assert reopened.discord_page.guilds.text() == GUILD
    assert reopened.comfy_page.url.text() == "http://127.0.0.1:8188, http://127.0.0.1:8189"
    assert reopened.discord_page.token.text() == ""                  # never shown again...
    assert "leave empty to keep it" in reopened.discord_page.token.placeholderText()   # ...but known
    assert reopened.discord_page.validatePage() is True


async def test_accepted_token_moves_on_by_itself(qtbot, fresh_services):
    wizard = make_wizard(qtbot, fresh_services)
    page = wizard.discord_page
    page.token.setText(TOKEN)
    page.guilds.setText(GUILD)
    wizard.next()                       # starts the check; goes on when Discord accepted the token
    await until(lambda: wizard.currentPage() is wizard.comfy_page)
    assert "Logged in as FuLLetLabs Bot" in page.token_status.text()
    assert fresh_services.token_checker.calls == [TOKEN]


@pytest.mark.parametrize("text, expected", [("", "Enter your server ID"), ("my server", "not a server ID"),
                                            ("123", "15 to 21 digits"), (f"{GUILD}, x1", "“x1” is not")])
async def test_server_id_must_be_digits(qtbot, fresh_services, text, expected):
    wizard = make_wizard(qtbot, fresh_services)
    page = wizard.discord_page
    page.guilds.setText(text)
    page.token.setText(TOKEN)
    assert page.validatePage() is False
    assert expected in page.guild_status.text()


async def test_comfy_page_checks_url_and_folder(qtbot, fresh_services, tmp_path):
    wizard = make_wizard(qtbot, fresh_services)
    page = wizard.comfy_page
    page.url.setText("localhost:8188")
    assert page.validatePage() is False
    assert "not a ComfyUI address" in page.status.text()
    page.url.setText("http://127.0.0.1:8188")
    page.launch.setChecked(True)
    page.folder.setText(str(tmp_path))
    assert page.validatePage() is False
    assert "has no main.py" in page.status.text()
    (tmp_path / "main.py").write_text("# ComfyUI\n")
    assert page.validatePage() is True


async def test_unreachable_comfy_is_explained(qtbot, fresh_services):
    async def probe(url, api_key):
        raise ConnectionRefusedError("connection refused")
    fresh_services.comfy_probe = probe
    wizard = make_wizard(qtbot, fresh_services)
    page = wizard.comfy_page
    page.url.setText("http://127.0.0.1:9")
    page.test_connection()
    await until(lambda: "No ComfyUI answers" in page.status.text())
    assert "connection refused" in page.status.toolTip()          # the details, folded away


async def test_database_url_is_validated(qtbot, fresh_services):
    wizard = make_wizard(qtbot, fresh_services)
    page = wizard.database_page
    assert page.validatePage() is True           # the SQLite default
    page.url.setText("oracle://db/imagebot")
    assert page.server.isChecked()
    assert page.validatePage() is False
    assert "not supported" in page.status.text()
    page.url.setText("postgresql://bot:pw@db.example:5432/imagebot")
    assert page.validatePage() is True


async def test_invite_link_has_exactly_the_bot_permissions(qtbot, fresh_services):
    wizard = make_wizard(qtbot, fresh_services)
    wizard.discord_page.token.setText(TOKEN)
    wizard.discord_page.guilds.setText(GUILD)
    wizard.invite_page.initializePage()
    link = wizard.invite_page.link.text()
    assert "client_id=123456789012345678" in link
    assert f"permissions={PERMISSIONS_VALUE}" in link and PERMISSIONS_VALUE == 117776
    assert "scope=bot+applications.commands" in link
    assert f"guild_id={GUILD}" in link


async def test_import_env_fills_the_pages(qtbot, fresh_services, tmp_path):
    env = tmp_path / ".env"
    env.write_text(f"DISCORD_TOKEN={TOKEN}\nALLOWED_GUILD_ID={GUILD}\nCOMFY_URL=http://127.0.0.1:8190\n"
                   "DATABASE_URL=postgresql://bot@db:5432/imagebot\n")
    wizard = make_wizard(qtbot, fresh_services)
    used = wizard.import_env(env)
    assert used == ["discord_token", "allowed_guild_ids", "comfy_urls", "database_url"]
    assert wizard.discord_page.token.text() == TOKEN
    assert wizard.comfy_page.url.text() == "http://127.0.0.1:8190"
    assert wizard.database_page.server.isChecked()
    bad = tmp_path / "bad.env"
    bad.write_text("this is not a dotenv line\n")
    assert wizard.import_env(bad) == []
    assert "Could not import bad.env" in wizard.discord_page.token_status.text()


@pytest.mark.keyring
async def test_secrets_go_to_the_keyring_and_the_rest_to_the_settings_file(qtbot, fresh_services, secret_service):
    fresh_services.secrets = SecretStore(service="FuLLetLabsImageBot-test")
    applied = []
    fresh_services.on_settings_saved = applied.append
    wizard = make_wizard(qtbot, fresh_services)
    wizard.discord_page.token.setText(TOKEN)
    wizard.discord_page.guilds.setText(GUILD)
    wizard.comfy_page.api_key.setText("comfy-secret-key")
    problems = await wizard.save()
    assert problems == []
    store = fresh_services.secrets
    assert store.get("discord_token") == TOKEN
    assert store.get("comfy_api_key") == "comfy-secret-key"
    text = fresh_services.paths.settings_file.read_text()
    assert TOKEN not in text and "comfy-secret-key" not in text
    assert json.loads(text)["allowed_guild_ids"] == [int(GUILD)]
    assert applied[0]["discord_token"] == TOKEN   # main.py restarts the bot with the new token at once
    store.delete("discord_token")
    store.delete("comfy_api_key")


async def test_without_a_keyring_the_page_says_so_and_the_rest_is_saved(qtbot, fresh_services, no_keyring):
    applied = []
    fresh_services.on_settings_saved = applied.append
    wizard = make_wizard(qtbot, fresh_services)
    assert "No OS keyring" in wizard.discord_page.keyring_status.text()
    wizard.discord_page.token.setText(TOKEN)
    wizard.discord_page.guilds.setText(GUILD)
    await wizard.discord_page.check_token()
    wizard.accept()                         # Finish
    await until(lambda: "not stored" in wizard.invite_page.status.text())
    assert "discord token" in wizard.invite_page.status.text()
    assert wizard.isVisible()               # stays open so the admin reads it; the app runs on
    saved = json.loads(fresh_services.paths.settings_file.read_text())
    assert saved["allowed_guild_ids"] == [int(GUILD)]
    assert TOKEN not in fresh_services.paths.settings_file.read_text()
    assert "discord_token" not in applied[0]  # not stored, so not applied
    wizard.accept()                         # "Close"
    assert not wizard.isVisible()


ORIGINAL_ENV = (f"DISCORD_TOKEN={TOKEN}\nALLOWED_GUILD_ID={GUILD}\n"
                "COMFY_URLS=http://127.0.0.1:8188,http://127.0.0.1:8189,http://127.0.0.1:8190\n"
                "GPU_VRAM_GB=8.0,16.0,24.0\nMAX_BATCH_SIZE=2\nUSER_JOB_LIMIT=3\nSOMETHING_ELSE=1\n")


async def test_the_original_env_imports_whole(qtbot, fresh_services, tmp_path):
    env = tmp_path / "original.env"
    env.write_text(ORIGINAL_ENV)
    wizard = make_wizard(qtbot, fresh_services)
    wizard.import_env(env)
    assert wizard.comfy_page.url.text() == "http://127.0.0.1:8188,http://127.0.0.1:8189,http://127.0.0.1:8190"
    assert "Not used by this app: SOMETHING_ELSE" in wizard.discord_page.token_status.text()
    await wizard.discord_page.check_token()
    await wizard.save()
    saved = load_settings(fresh_services.paths, env={})
    assert saved.comfy_urls == ("http://127.0.0.1:8188", "http://127.0.0.1:8189", "http://127.0.0.1:8190")
    assert saved.gpu_vram_gb == (8.0, 16.0, 24.0) and saved.vram_gb_for("http://127.0.0.1:8190") == 24.0
    assert saved.max_batch_size == 2 and saved.user_job_limit == 3


async def test_without_a_keyring_a_database_password_from_the_env_stays_there(qtbot, fresh_services, no_keyring,
                                                                                tmp_path):
    env = tmp_path / ".env"
    env.write_text(ORIGINAL_ENV + "DATABASE_URL=postgresql://bot:s3cret@db:5432/imagebot\n")
    fresh_services.settings = load_settings(fresh_services.paths, env={}, dotenv=env)
    wizard = make_wizard(qtbot, fresh_services)
    assert wizard.database_page.url.text() == "postgresql://bot@db:5432/imagebot"    # the password never shown
    assert wizard.database_page.validatePage()
    wizard.accept()
    await until(lambda: "stays in" in wizard.invite_page.status.text())
    status = wizard.invite_page.status.text()
    assert f"database address stays in {env}" in status and "no keyring" in status
    assert "s3cret" not in fresh_services.paths.settings_file.read_text()
    reloaded = load_settings(fresh_services.paths, env={}, dotenv=env)
    assert reloaded.database_url == "postgresql://bot:s3cret@db:5432/imagebot"      # nothing dropped





async def test_first_start_finds_comfyui_on_its_usual_ports(qtbot, fresh_services, fake_comfy, not_comfy):
    fresh_services.comfy_stats = read_system_stats
    wizard = make_wizard(qtbot, fresh_services)
    page = wizard.comfy_page
    page.candidates = (not_comfy, fake_comfy.url)      # as :8188 taken by another program, ComfyUI Desktop on :8000
    await page.find_local_comfy()
    await until(lambda: "Found ComfyUI" in page.status.text())
    assert page.url.text() == fake_comfy.url and page.attach.isChecked()
    assert f"✓ Found ComfyUI 0.3.64 at {fake_comfy.url}" in page.status.text()
    assert f"⚠ {not_comfy} answers, but it is not ComfyUI" in page.status.text()


async def test_first_start_says_when_no_comfyui_answers(qtbot, fresh_services):
    fresh_services.comfy_stats = read_system_stats
    wizard = make_wizard(qtbot, fresh_services)
    page = wizard.comfy_page
    page.candidates = ("http://127.0.0.1:9",)
    await page.find_local_comfy()
    await until(lambda: "No ComfyUI answers" in page.status.text())
    assert page.url.text() == "http://127.0.0.1:8188"


async def test_first_start_offers_an_installed_comfyui_when_none_answers(qtbot, fresh_services, tmp_path):
    """ComfyUI's Windows portable package on the desktop, and ComfyUI Desktop installed but closed."""
    home, appdata = tmp_path / "home", tmp_path / "AppData"
    portable = home / "Desktop" / "ComfyUI_windows_portable"
    for path in (portable / "ComfyUI" / "main.py", portable / "python_embeded" / "python.exe",
                 appdata / "Local" / "Programs" / "@comfyorgcomfyui-electron" / "resources" / "ComfyUI" / "main.py",
                 home / "Documents" / "ComfyUI" / ".venv" / "Scripts" / "python.exe"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    (appdata / "Roaming" / "ComfyUI").mkdir(parents=True)
    (appdata / "Roaming" / "ComfyUI" / "config.json").write_text(
        json.dumps({"basePath": str(home / "Documents" / "ComfyUI")}), encoding="utf-8")
    environ = {"LOCALAPPDATA": str(appdata / "Local"), "APPDATA": str(appdata / "Roaming")}
    fresh_services.comfy_stats = read_system_stats
    wizard = make_wizard(qtbot, fresh_services)
    page = wizard.comfy_page
    page.candidates = ("http://127.0.0.1:9",)
    page.find_installs = lambda: find_comfyui(home=home, environ=environ, drives=[])

    await page.find_local_comfy()
    await until(lambda: "Found ComfyUI in" in page.status.text())

    assert page.folder.text() == str(portable / "ComfyUI") and page.launch.isChecked()
    assert "No ComfyUI answers" in page.status.text()
    assert "ComfyUI Desktop is installed: open it, then press Test connection." in page.status.text()


async def test_settings_apply_live_and_say_what_needs_a_restart(qtbot, gui_services, memory_keyring):
    """Settings mode adds the queue/session/app page; what main.py cannot take over while running is
    named, with "Restart now"."""
    applied, restarts = [], []

    async def on_saved(changes):
        applied.append(changes)
        return ["database_url"]

    gui_services.on_settings_saved = on_saved
    gui_services.restart = lambda: restarts.append(True)
    wizard = SetupWizard(gui_services, first_run=False)
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.app_page
    assert page is not None and page.user_job_limit.value() == 2
    page.user_job_limit.setValue(3)
    page.session_idle_minutes.setValue(10)
    page.role_priorities.setText("111:5, 222:60")
    page.log_level.setCurrentIndex(page.log_level.findData("DEBUG"))
    page.theme.setCurrentIndex(page.theme.findData("dark"))
    wizard.accept()
    await until(lambda: "after a restart" in wizard.invite_page.status.text())
    assert applied[0]["user_job_limit"] == 3 and applied[0]["role_priorities"] == {111: 5, 222: 60}
    saved = load_settings(gui_services.paths, env={})
    assert (saved.user_job_limit, saved.session_idle_minutes, saved.log_level, saved.theme) == (3, 10, "DEBUG", "dark")
    assert "database_url" in wizard.invite_page.status.text()
    assert wizard.restart_button.isVisible()
    wizard.restart_button.click()
    assert restarts == [True] and not wizard.isVisible()


async def test_a_bad_role_list_is_explained(qtbot, gui_services):
    wizard = SetupWizard(gui_services, first_run=False)
    qtbot.addWidget(wizard)
    wizard.app_page.role_priorities.setText("admins:first")
    assert wizard.app_page.validatePage() is False
    assert "not a whole number" in wizard.app_page.status.text()
    first_run = SetupWizard(gui_services, first_run=True)
    qtbot.addWidget(first_run)
    assert first_run.app_page is None                # the first run stays short


async def test_unsaved_changes_are_marked_and_cancel_asks_first(qtbot, gui_services, confirmations):
    wizard = SetupWizard(gui_services, first_run=False)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.reject()                                   # nothing changed: closes without a question
    assert not wizard.isVisible() and confirmations == []
    wizard = SetupWizard(gui_services, first_run=False)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.keyClicks(wizard.discord_page.guilds, "1")
    assert wizard.isWindowModified() and wizard.windowTitle().endswith("[*]")
    confirmations.answer = False
    wizard.reject()
    assert wizard.isVisible() and confirmations[-1][0] == "Discard your changes?"
    confirmations.answer = True
    wizard.reject()
    assert not wizard.isVisible()


# ---- a password written into a URL ----------------------------------------------------------------

PASSWORD = "pa55-w0rd"
LOGIN_ENV = (f"DISCORD_TOKEN={TOKEN}\nALLOWED_GUILD_ID={GUILD}\n"
             f"COMFY_URLS=http://127.0.0.1:8188,http://bot:{PASSWORD}@127.0.0.1:8190\n"
             f"DATABASE_URL=postgresql://imagebot:{PASSWORD}@db:5432/imagebot\n")


def every_text(wizard) -> str:
    from PySide6.QtWidgets import QLabel, QLineEdit
    return "\n".join([w.text() for w in wizard.findChildren(QLineEdit) if w.echoMode() == QLineEdit.EchoMode.Normal]
                     + [w.text() + w.toolTip() for w in wizard.findChildren(QLabel)])


@pytest.mark.keyring
async def test_a_password_in_an_imported_comfy_url_is_masked_saved_and_never_logged(
        qtbot, fresh_services, secret_service, tmp_path, caplog):
    import logging
    caplog.set_level(logging.DEBUG)
    fresh_services.secrets = SecretStore(service="FuLLetLabsImageBot-test")
    asked = []

    async def probe(url, api_key):
        asked.append(url)
        return "ComfyUI 0.3.60"
    fresh_services.comfy_probe = probe
    env = tmp_path / ".env"
    env.write_text(LOGIN_ENV)
    wizard = make_wizard(qtbot, fresh_services)
    wizard.import_env(env)
    assert wizard.comfy_page.url.text() == "http://127.0.0.1:8188,http://bot:••••••@127.0.0.1:8190"
    assert wizard.database_page.url.text() == "postgresql://imagebot:••••••@db:5432/imagebot"
    await wizard.comfy_page.test_connection()
    assert asked[1] == f"http://bot:{PASSWORD}@127.0.0.1:8190"          # the client gets the login...
    assert "✓ ComfyUI answers at http://127.0.0.1:8190" in wizard.comfy_page.status.text()   # ...the page not
    assert PASSWORD not in every_text(wizard)
    await wizard.discord_page.check_token()
    settings, _secrets = wizard.changes()
    assert settings["comfy_urls"][1] == f"http://bot:{PASSWORD}@127.0.0.1:8190"          # the real value to save
    await wizard.save()
    assert PASSWORD not in fresh_services.paths.settings_file.read_text()
    saved = load_settings(fresh_services.paths, env={}, secrets=fresh_services.secrets)
    assert saved.comfy_logins["http://127.0.0.1:8190"].password == PASSWORD
    assert PASSWORD not in every_text(wizard)
    shown = LibraryNoise()           # what the app's log handlers let through (libraries' DEBUG lines stay out)
    assert not [r.getMessage() for r in caplog.records if shown.filter(r) and PASSWORD in r.getMessage()]
    for name in (comfy_password_name("http://bot@127.0.0.1:8190"), "database_password", "discord_token"):
        fresh_services.secrets.delete(name)


async def test_a_masked_url_edited_into_another_address_asks_for_the_password_again(qtbot, fresh_services):
    wizard = make_wizard(qtbot, fresh_services)
    page = wizard.comfy_page
    page.url.set_urls(f"http://bot:{PASSWORD}@127.0.0.1:8190")
    assert page.url.text() == "http://bot:••••••@127.0.0.1:8190"
    page.url.setText("http://bot:••••••@127.0.0.1:8191")
    assert page.validatePage() is False and "Type the password in" in page.status.text()
    page.url.setText(f"http://bot:{PASSWORD}@127.0.0.1:8191")                  # typed: shown until the field is left
    page.url.editingFinished.emit()
    assert page.url.text() == "http://bot:••••••@127.0.0.1:8191" and page.validatePage()
    assert page.url.real_text() == f"http://bot:{PASSWORD}@127.0.0.1:8191"

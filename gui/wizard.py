"""First-run setup, re-openable as Settings: Discord token and server, ComfyUI, database, invite link.

Every field is checked where it is typed and a rejected value is explained on its page; nothing is
written until Finish. Secrets (token, ComfyUI API key, database password) go to the OS keyring via
SecretStore, the rest to the settings file via core.settings.save_settings. Without a keyring the
page says so, the other settings are still saved, and the app keeps running on environment secrets.
"""
from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QButtonGroup, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QRadioButton, QVBoxLayout, QWidget, QWizard, QWizardPage)

from core.errors import CoreError, SettingsError
from core.secrets import NO_KEYRING_MESSAGE
from core.settings import SECRET_FIELDS, read_dotenv, save_settings, split_url_password
from core.status import BotIdentity
from core.store import database_url
from gui.icons import app_icon
from gui.invite import PERMISSIONS, application_id_from_token, invite_url
from gui.services import GuiServices
from gui.tasks import error_text, spawn

GUILD_ID = re.compile(r"^\d{15,21}$")
ERROR_STYLE = "color:#C53030;"
OK_STYLE = "color:#047857;"


def parse_guild_ids(text: str) -> tuple[int, ...]:
    """Comma/space separated server IDs; raises ValueError with the sentence to show."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise ValueError("Enter your server ID: in Discord, turn on Developer Mode, right-click the server, "
                         "Copy Server ID.")
    bad = [p for p in parts if not GUILD_ID.match(p)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a server ID: it must be 15 to 21 digits (right-click the server, "
                         "Copy Server ID).")
    return tuple(int(p) for p in parts)


def check_comfy_url(text: str) -> str:
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text.strip() or 'An empty address'} is not a ComfyUI address like http://127.0.0.1:8188.")
    return url


def check_comfy_folder(text: str) -> str:
    folder = Path(text.strip()).expanduser()
    if not text.strip():
        raise ValueError("Choose the ComfyUI folder (the one holding main.py).")
    if not folder.is_dir():
        raise ValueError(f"{folder} does not exist.")
    if not (folder / "main.py").is_file():
        raise ValueError(f"{folder} has no main.py: choose the ComfyUI folder itself (e.g. ComfyUI/, not its parent).")
    return str(folder)


def _message(label: QLabel, text: str, ok: bool = False) -> None:
    label.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
    label.setText(text)


def _password_field(placeholder: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(placeholder)
    return field


class DiscordPage(QWizardPage):
    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__()
        self.setup = wizard
        self.setTitle("Discord bot")
        self.setSubTitle("Paste the bot token from the Discord developer portal (Bot → Reset Token) and the "
                         "ID of the server the bot may work in.")
        self.token = _password_field("saved in the keyring: leave empty to keep it" if wizard.has_saved_token
                                     else "bot token")
        self.check_button = QPushButton("Check token")
        self.token_status = QLabel()
        self.token_status.setWordWrap(True)
        self.guilds = QLineEdit(", ".join(str(g) for g in wizard.services.settings.allowed_guild_ids))
        self.guilds.setPlaceholderText("e.g. 123456789012345678")
        self.guild_status = QLabel()
        self.guild_status.setWordWrap(True)
        self.keyring_status = QLabel()
        self.keyring_status.setWordWrap(True)
        token_row = QHBoxLayout()
        token_row.addWidget(self.token, 1)
        token_row.addWidget(self.check_button)
        form = QFormLayout(self)
        form.addRow("Bot token", token_row)
        form.addRow("", self.token_status)
        form.addRow("Server ID", self.guilds)
        form.addRow("", self.guild_status)
        form.addRow(self.keyring_status)
        self.identity: BotIdentity | None = None
        self._checked_token: str | None = None
        self._next_after_check = False
        self._check_task: asyncio.Task | None = None
        self.check_button.clicked.connect(self.check_token)
        self.token.textChanged.connect(self._token_edited)
        self.guilds.textChanged.connect(lambda _: self.guild_status.clear())
        if not wizard.keyring_available:
            _message(self.keyring_status, NO_KEYRING_MESSAGE + " Set DISCORD_TOKEN in the environment or in .env; "
                     "the other settings are saved as usual.")

    def _token_edited(self) -> None:
        self.token_status.clear()
        self.identity = None

    def check_token(self) -> asyncio.Task | None:
        token = self.token.text().strip()
        if not token:
            _message(self.token_status, "Paste the bot token first.")
            return None
        checker = self.setup.services.token_checker
        if checker is None:
            self._checked_token = token
            _message(self.token_status, "Token not checked (no Discord connection in this app).", ok=True)
            return None
        self.check_button.setEnabled(False)
        self.token_status.setStyleSheet("")
        self.token_status.setText("Logging in to Discord…")
        self._check_task = spawn(checker(token), on_done=lambda identity: self._checked(token, identity),
                                 on_error=self._rejected, name="check token")
        return self._check_task

    def _checked(self, token: str, identity: BotIdentity) -> None:
        self.check_button.setEnabled(True)
        if identity.id is None:
            identity = BotIdentity(identity.name, application_id_from_token(token))
        self.identity = identity
        self._checked_token = token
        _message(self.token_status, f"✓ Logged in as {identity.name}.", ok=True)
        if self._next_after_check and self.token.text().strip() == token:
            self._next_after_check = False
            self.wizard().next()

    def _rejected(self, exc: BaseException) -> None:
        self.check_button.setEnabled(True)
        self._next_after_check = False
        _message(self.token_status, f"Discord rejected this token: {error_text(exc)}. Copy it again from the developer "
                 "portal (Bot → Reset Token).")

    def token_ok(self) -> bool:
        token = self.token.text().strip()
        return (not token and self.setup.has_saved_token) or (bool(token) and token == self._checked_token)

    def validatePage(self) -> bool:
        ok = True
        try:
            parse_guild_ids(self.guilds.text())
        except ValueError as exc:
            _message(self.guild_status, str(exc))
            ok = False
        token = self.token.text().strip()
        if not token and not self.setup.has_saved_token:
            _message(self.token_status, "The bot needs its token: paste it from the developer portal.")
            return False
        if not self.token_ok():
            if ok:
                self._next_after_check = True    # go on by itself once Discord accepted it
            self.check_token()
            return False
        return ok


class ComfyPage(QWizardPage):
    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__()
        self.setup = wizard
        settings = wizard.services.settings
        self.setTitle("ComfyUI")
        self.setSubTitle("Use a ComfyUI that is already running, or let the app start ComfyUI from its folder.")
        self.attach = QRadioButton("Attach to a running ComfyUI")
        self.launch = QRadioButton("Launch ComfyUI from its folder")
        group = QButtonGroup(self)
        group.addButton(self.attach)
        group.addButton(self.launch)
        self.url = QLineEdit(settings.comfy_url)
        self.test_button = QPushButton("Test connection")
        self.folder = QLineEdit(settings.comfy_folder or "")
        self.folder.setPlaceholderText("the folder holding ComfyUI's main.py")
        self.browse = QPushButton("Browse…")
        self.api_key = _password_field("optional: API key or user:password of a proxy in front of ComfyUI")
        self.status = QLabel()
        self.status.setWordWrap(True)
        (self.launch if settings.comfy_folder else self.attach).setChecked(True)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.test_button)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse)
        form = QFormLayout(self)
        form.addRow(self.attach)
        form.addRow("Address", url_row)
        form.addRow(self.launch)
        form.addRow("Folder", folder_row)
        form.addRow("API key", self.api_key)
        form.addRow(self.status)
        self.browse.clicked.connect(self._browse)
        self.test_button.clicked.connect(self.test_connection)
        for widget in (self.url, self.folder):
            widget.textChanged.connect(lambda _: self.status.clear())

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "ComfyUI folder", self.folder.text() or str(Path.home()))
        if folder:
            self.folder.setText(folder)
            self.launch.setChecked(True)

    def test_connection(self) -> asyncio.Task | None:
        try:
            url = check_comfy_url(self.url.text())
        except ValueError as exc:
            _message(self.status, str(exc))
            return None
        probe = self.setup.services.comfy_probe
        if probe is None:
            _message(self.status, "Cannot test from here; the app connects when it starts.", ok=True)
            return None
        self.status.setStyleSheet("")
        self.status.setText(f"Asking {url}…")
        return spawn(probe(url, self.api_key.text().strip() or None),
                     on_done=lambda info: _message(self.status, f"✓ ComfyUI answers at {url}: {info}", ok=True),
                     on_error=lambda exc: _message(self.status, f"No ComfyUI answers at {url}: {error_text(exc)}. "
                                                   "Start it, or choose 'Launch ComfyUI from its folder'."),
                     name="test comfy")

    def validatePage(self) -> bool:
        try:
            check_comfy_url(self.url.text())
            if self.launch.isChecked():
                check_comfy_folder(self.folder.text())
        except ValueError as exc:
            _message(self.status, str(exc))
            return False
        return True


class DatabasePage(QWizardPage):
    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__()
        self.setup = wizard
        settings = wizard.services.settings
        self.setTitle("Database")
        self.setSubTitle("Jobs, results and sessions are kept in a database. The local SQLite file needs no setup.")
        self.sqlite = QRadioButton(f"Local SQLite file ({wizard.services.paths.default_database})")
        self.server = QRadioButton("A database server (PostgreSQL or MySQL/MariaDB)")
        group = QButtonGroup(self)
        group.addButton(self.sqlite)
        group.addButton(self.server)
        self.url = QLineEdit(split_url_password(settings.database_url or "")[0])
        self.url.setPlaceholderText("postgresql://user:password@host:5432/imagebot")
        self.status = QLabel()
        self.status.setWordWrap(True)
        (self.server if settings.database_url else self.sqlite).setChecked(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.sqlite)
        layout.addWidget(self.server)
        layout.addWidget(self.url)
        layout.addWidget(QLabel("The password in the address is stored in the keyring, not in the settings file."))
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.url.textChanged.connect(lambda text: (self.status.clear(), text and self.server.setChecked(True)))

    def database_value(self) -> str | None:
        return self.url.text().strip() if self.server.isChecked() else None

    def validatePage(self) -> bool:
        value = self.database_value()
        if self.server.isChecked() and not value:
            _message(self.status, "Enter the database address, or choose the local SQLite file.")
            return False
        try:
            database_url(value, self.setup.services.paths.default_database)
        except CoreError as exc:
            _message(self.status, str(exc))
            return False
        return True


class InvitePage(QWizardPage):
    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__()
        self.setup = wizard
        self.setTitle("Invite the bot")
        self.setSubTitle("Open this link to add the bot to your server with exactly the permissions it needs. "
                         "Finish saves the settings.")
        self.link = QLineEdit()
        self.link.setReadOnly(True)
        self.copy_button = QPushButton("Copy")
        self.open_button = QPushButton("Open in browser")
        row = QHBoxLayout()
        row.addWidget(self.link, 1)
        row.addWidget(self.copy_button)
        row.addWidget(self.open_button)
        self.permissions = QLabel("Permissions: " + ", ".join(PERMISSIONS) + ". Scopes: bot, applications.commands.")
        self.permissions.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.permissions)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.link.text()))
        self.open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl(self.link.text())))

    def initializePage(self) -> None:
        self.status.clear()
        app_id = self.setup.application_id()
        if app_id is None:
            self.link.setText("")
            self.link.setPlaceholderText("Check the token on the first page to get the link")
            self.copy_button.setEnabled(False)
            self.open_button.setEnabled(False)
            return
        try:
            guilds = parse_guild_ids(self.setup.discord_page.guilds.text())
        except ValueError:
            guilds = ()
        self.link.setText(invite_url(app_id, guilds[0] if len(guilds) == 1 else None))
        self.link.setCursorPosition(0)
        self.copy_button.setEnabled(True)
        self.open_button.setEnabled(True)


class SetupWizard(QWizard):
    saved = Signal(dict)          # the non-secret changes written (secrets are never passed around)

    def __init__(self, services: GuiServices, *, first_run: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.first_run = first_run
        self.setWindowTitle("FuLLetLabs Image Bot — " + ("Setup" if first_run else "Settings"))
        self.setWindowIcon(app_icon())
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveCustomButton1, True)
        self.setButtonText(QWizard.WizardButton.CustomButton1, "Import .env…")
        self.customButtonClicked.connect(lambda _which: self._choose_env_file())
        self.setButtonText(QWizard.WizardButton.FinishButton, "Save")
        self.keyring_available = services.secret_store().available
        self.has_saved_token = bool(services.settings.discord_token)
        self.discord_page = DiscordPage(self)
        self.comfy_page = ComfyPage(self)
        self.database_page = DatabasePage(self)
        self.invite_page = InvitePage(self)
        for page in (self.discord_page, self.comfy_page, self.database_page, self.invite_page):
            self.addPage(page)
        self.resize(720, 460)
        self._saving: asyncio.Task | None = None
        self._close_next = False

    def application_id(self) -> int | None:
        page = self.discord_page
        if page.identity and page.identity.id:
            return page.identity.id
        return application_id_from_token(page.token.text()) or application_id_from_token(
            self.services.settings.discord_token or "")

    # ---- .env import ----
    def _choose_env_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import settings from a .env file", str(Path.cwd()),
                                              "Environment files (.env *.env);;All files (*)")
        if path:
            self.import_env(Path(path))

    def import_env(self, path: Path) -> list[str]:
        """Fill the fields from a .env file (the original bot's). Returns the names it used."""
        try:
            values = read_dotenv(path)
        except (SettingsError, OSError) as exc:
            _message(self.discord_page.token_status, f"Could not import {path.name}: {error_text(exc)}")
            return []
        used = []
        mapping = {
            "DISCORD_TOKEN": self.discord_page.token,
            "ALLOWED_GUILD_ID": self.discord_page.guilds,
            "COMFY_URL": self.comfy_page.url,
            "COMFY_URLS": self.comfy_page.url,
            "COMFY_FOLDER": self.comfy_page.folder,
            "COMFY_API_KEY": self.comfy_page.api_key,
            "DATABASE_URL": self.database_page.url,
        }
        for key, field in mapping.items():
            value = values.get(key, "").strip()
            if value:
                field.setText(value.split(",")[0].strip() if key == "COMFY_URLS" else value)
                used.append(key)
        if values.get("COMFY_FOLDER"):
            self.comfy_page.launch.setChecked(True)
        if values.get("DATABASE_URL"):
            self.database_page.server.setChecked(True)
        _message(self.discord_page.token_status,
                 f"Imported {', '.join(used) or 'nothing'} from {path.name}"
                 + ("; check the token before going on." if "DISCORD_TOKEN" in used else "."), ok=bool(used))
        return used

    # ---- saving ----
    def changes(self) -> tuple[dict, dict]:
        """(settings, secrets) as the pages hold them."""
        comfy = self.comfy_page
        settings = {
            "allowed_guild_ids": parse_guild_ids(self.discord_page.guilds.text()),
            "comfy_urls": (check_comfy_url(comfy.url.text()),),
            "comfy_folder": check_comfy_folder(comfy.folder.text()) if comfy.launch.isChecked() else None,
            "database_url": self.database_page.database_value(),
        }
        secrets = {}
        token = self.discord_page.token.text().strip()
        if token:
            secrets["discord_token"] = token
        api_key = comfy.api_key.text().strip()
        if api_key:
            secrets["comfy_api_key"] = api_key
        return settings, secrets

    def accept(self) -> None:
        if self._close_next:          # saved already; the admin read what was not stored
            super().accept()
            return
        if self._saving is not None and not self._saving.done():
            return
        self.button(QWizard.WizardButton.FinishButton).setEnabled(False)
        self.invite_page.status.setStyleSheet("")
        self.invite_page.status.setText("Saving…")
        self._saving = spawn(self.save(), on_error=self._save_failed, on_done=self._save_done, name="save settings")

    async def save(self) -> list[str]:
        """Write everything; returns the problems (secrets that could not be stored)."""
        settings, secrets = self.changes()
        paths, store = self.services.paths, self.services.secret_store()
        problems: list[str] = []
        db_url = settings.get("database_url")
        try:
            await asyncio.to_thread(save_settings, paths, settings, store)
        except SettingsError as exc:
            if not db_url:
                raise
            # only the database password could not go to the keyring: keep the rest, say so
            settings["database_url"] = split_url_password(db_url)[0]
            await asyncio.to_thread(save_settings, paths, settings, store)
            problems.append(f"the database password ({error_text(exc)})")
        stored: dict[str, str] = {}
        for name, value in secrets.items():
            try:
                await store.set_async(SECRET_FIELDS[name], value)
                stored[name] = value
            except SettingsError as exc:
                problems.append(f"{name.replace('_', ' ')}: {error_text(exc)}")
        self.saved.emit(settings)
        callback = self.services.on_settings_saved
        if callback is not None:  # with the stored secrets too: a new token restarts the bot at once
            result = callback({**settings, **stored})
            if asyncio.iscoroutine(result):
                await result
        return problems

    def _save_done(self, problems: list[str]) -> None:
        self.button(QWizard.WizardButton.FinishButton).setEnabled(True)
        if problems:
            _message(self.invite_page.status, "Settings saved, but these secrets were not stored: "
                     + "; ".join(problems) + ". Set them as environment variables (or in .env), then restart.")
            self.setButtonText(QWizard.WizardButton.FinishButton, "Close")
            self._saving = None
            self._close_next = True
            return
        _message(self.invite_page.status, "✓ Saved.", ok=True)
        super().accept()

    def _save_failed(self, exc: BaseException) -> None:
        self.button(QWizard.WizardButton.FinishButton).setEnabled(True)
        _message(self.invite_page.status, f"Nothing was saved: {error_text(exc)}")


"""First-run setup, re-openable as Settings: Discord token and server, ComfyUI, database, invite link.

The wizard always finishes: a token Discord rejected (it said no) is told apart from a Discord that
cannot be reached (network, DNS), and for the second "Save and check later" saves as it is; the bot
keeps trying by itself. Every field is checked where it is typed and nothing is written until Save.
Secrets (token, ComfyUI API key, database password) go to the OS keyring via SecretStore, the rest
to the settings file via core.settings.save_settings. Without a keyring the page says so and nothing
the user gave is dropped silently: a secret that came from the environment or `.env` stays there.
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import QCoreApplication, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QRadioButton, QSpinBox, QVBoxLayout, QWidget, QWizard, QWizardPage)

from comfy.discovery import find_comfyui
from comfy.errors import ComfyAuthError, NotComfyUIError
from core.errors import CoreError, SettingsError
from core.settings import FIELDS, SECRET_FIELDS, import_dotenv, save_settings, split_url_password
from core.status import BotIdentity, TokenRejected
from core.store import database_url
from gui.icons import app_icon
from gui.invite import PERMISSIONS, application_id_from_token, invite_url
from gui.services import GuiServices
from gui.tasks import error_text, spawn
from gui import widgets
from gui.theme import Tone, fit_to_screen, say

GUILD_ID = re.compile(r"^\d{15,21}$")
# where a local ComfyUI listens: the portable/manual install, then ComfyUI Desktop
LOCAL_COMFY_URLS = ("http://127.0.0.1:8188", "http://127.0.0.1:8000")
translate = QCoreApplication.translate


def parse_guild_ids(text: str) -> tuple[int, ...]:
    """Comma/space separated server IDs; raises ValueError with the sentence to show."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise ValueError(translate("Wizard", "Enter your server ID: in Discord, turn on Developer Mode, right-click "
                                             "the server, Copy Server ID."))
    bad = [p for p in parts if not GUILD_ID.match(p)]
    if bad:
        raise ValueError(translate("Wizard", "“{value}” is not a server ID: it must be 15 to 21 digits (right-click "
                                             "the server, Copy Server ID).").format(value=bad[0]))
    return tuple(int(p) for p in parts)


def check_comfy_url(text: str) -> str:
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(translate("Wizard", "“{value}” is not a ComfyUI address like http://127.0.0.1:8188.")
                         .format(value=text.strip()))
    return url


def check_comfy_urls(text: str) -> tuple[str, ...]:
    """One address or several (comma-separated: several ComfyUI backends)."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise ValueError(translate("Wizard", "Enter the ComfyUI address, e.g. http://127.0.0.1:8188."))
    return tuple(check_comfy_url(p) for p in parts)


def check_comfy_folder(text: str) -> str:
    folder = Path(text.strip()).expanduser()
    if not text.strip():
        raise ValueError(translate("Wizard", "Choose the ComfyUI folder (the one holding main.py)."))
    if not folder.is_dir():
        raise ValueError(translate("Wizard", "{folder} does not exist.").format(folder=folder))
    if not (folder / "main.py").is_file():
        raise ValueError(translate("Wizard", "{folder} has no main.py: choose the ComfyUI folder itself (e.g. "
                                             "ComfyUI/, not its parent).").format(folder=folder))
    return str(folder)


def _password_field(placeholder: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(placeholder)
    return field


def _status_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class DiscordPage(QWizardPage):
    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__()
        self.setup = wizard
        self.setTitle(self.tr("Discord bot"))
        self.setSubTitle(self.tr("Paste the bot token from the Discord developer portal (Bot → Reset Token) and the "
                                 "ID of the server the bot may work in."))
        self.token = _password_field(self.tr("already set: leave empty to keep it") if wizard.has_saved_token
                                     else self.tr("bot token"))
        self.check_button = QPushButton(self.tr("Check token"))
        self.save_later_button = QPushButton(self.tr("Save and check later"))
        self.save_later_button.setToolTip(self.tr("Keep this token without checking it now; the bot connects as "
                                                  "soon as Discord can be reached."))
        self.save_later_button.hide()
        self.token_status = _status_label()
        self.guilds = QLineEdit(", ".join(str(g) for g in wizard.services.settings.allowed_guild_ids))
        self.guilds.setPlaceholderText(self.tr("e.g. 123456789012345678"))
        self.guild_status = _status_label()
        self.keyring_status = _status_label()
        token_row = QHBoxLayout()
        token_row.addWidget(self.token, 1)
        token_row.addWidget(self.check_button)
        form = QFormLayout(self)
        form.addRow(self.tr("Bot token"), token_row)
        form.addRow("", self.token_status)
        form.addRow("", self.save_later_button)
        form.addRow(self.tr("Server ID"), self.guilds)
        form.addRow("", self.guild_status)
        form.addRow(self.keyring_status)
        self.identity: BotIdentity | None = None
        self._checked_token: str | None = None      # Discord accepted it
        self._unchecked_token: str | None = None    # Discord could not be asked; the admin keeps it anyway
        self._next_after_check = False
        self.check_button.clicked.connect(self.check_token)
        self.save_later_button.clicked.connect(self.save_and_check_later)
        self.token.textChanged.connect(self._token_edited)
        self.guilds.textChanged.connect(lambda _: self.guild_status.clear())
        if not wizard.keyring_available:
            say(self.keyring_status, self.tr(
                "No OS keyring is available on this machine, so secrets (the bot token, the ComfyUI API key, the "
                "database password) cannot be saved here: set DISCORD_TOKEN in the environment or in .env; the other "
                "settings are saved as usual."), Tone.PROBLEM)

    def _token_edited(self) -> None:
        self.token_status.clear()
        self.save_later_button.hide()
        self.identity = None

    def check_token(self) -> asyncio.Task | None:
        token = self.token.text().strip()
        if not token:
            say(self.token_status, self.tr("Paste the bot token first."), Tone.PROBLEM)
            return None
        checker = self.setup.services.token_checker
        if checker is None:
            self._checked_token = token
            say(self.token_status, self.tr("Token not checked (no Discord connection in this app)."))
            return None
        self.check_button.setEnabled(False)
        say(self.token_status, self.tr("Logging in to Discord…"))
        return spawn(checker(token), on_done=lambda identity: self._checked(token, identity),
                     on_error=lambda exc: self._not_checked(token, exc), name="check token")

    def _checked(self, token: str, identity: BotIdentity) -> None:
        self.check_button.setEnabled(True)
        if identity.id is None:
            identity = BotIdentity(identity.name, application_id_from_token(token))
        self.identity = identity
        self._checked_token = token
        say(self.token_status, self.tr("Logged in as {name}.").format(name=identity.name), Tone.OK)
        if self._next_after_check and self.token.text().strip() == token:
            self._next_after_check = False
            self.wizard().next()

    def _not_checked(self, token: str, exc: BaseException) -> None:
        self.check_button.setEnabled(True)
        self._next_after_check = False
        if isinstance(exc, TokenRejected):
            say(self.token_status, self.tr("Discord rejected this token: it is not valid (any more). Copy it again "
                                           "from the developer portal (Bot → Reset Token)."), Tone.PROBLEM)
            return
        # Discord could not be asked: the token may well be right, so the admin can keep it
        say(self.token_status, self.tr("Discord cannot be reached, so the token could not be checked ({reason}). "
                                       "Check the internet connection and try again, or save it now: the bot "
                                       "connects as soon as Discord answers.").format(reason=error_text(exc)),
            Tone.PROBLEM)
        self.save_later_button.show()
        self.save_later_button.setFocus()

    def save_and_check_later(self) -> None:
        self._unchecked_token = self.token.text().strip()
        say(self.token_status, self.tr("Kept without a check: the bot connects when Discord can be reached."))
        self.save_later_button.hide()
        self.setup.save_now()

    def token_ok(self) -> bool:
        token = self.token.text().strip()
        if not token:
            return self.setup.has_saved_token
        return token in (self._checked_token, self._unchecked_token)

    def guilds_ok(self) -> bool:
        try:
            parse_guild_ids(self.guilds.text())
        except ValueError as exc:
            say(self.guild_status, str(exc), Tone.PROBLEM)
            return False
        return True

    def validatePage(self) -> bool:
        ok = self.guilds_ok()
        token = self.token.text().strip()
        if not token and not self.setup.has_saved_token:
            if not self.setup.keyring_available:     # it can only come from the environment: go on without
                return ok
            say(self.token_status, self.tr("The bot needs its token: paste it from the developer portal."),
                Tone.PROBLEM)
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
        self.setTitle(self.tr("ComfyUI"))
        self.setSubTitle(self.tr("Use a ComfyUI that is already running, or let the app start ComfyUI from its "
                                 "folder. Several addresses, comma-separated, spread the jobs over several GPUs."))
        self.attach = QRadioButton(self.tr("Attach to a running ComfyUI"))
        self.launch = QRadioButton(self.tr("Launch ComfyUI from its folder"))
        group = QButtonGroup(self)
        group.addButton(self.attach)
        group.addButton(self.launch)
        self.url = QLineEdit(", ".join(settings.comfy_urls))
        self.test_button = QPushButton(self.tr("Test connection"))
        self.folder = QLineEdit(settings.comfy_folder or "")
        self.folder.setPlaceholderText(self.tr("the folder holding ComfyUI's main.py"))
        self.browse = QPushButton(self.tr("Browse…"))
        self.api_key = _password_field(self.tr("optional: API key or user:password of a proxy in front of ComfyUI"))
        self.status = _status_label()
        (self.launch if settings.comfy_folder else self.attach).setChecked(True)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.test_button)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse)
        form = QFormLayout(self)
        form.addRow(self.attach)
        form.addRow(self.tr("Address"), url_row)
        form.addRow(self.launch)
        form.addRow(self.tr("Folder"), folder_row)
        form.addRow(self.tr("API key"), self.api_key)
        form.addRow(self.status)
        self.browse.clicked.connect(self._browse)
        self.test_button.clicked.connect(self.test_connection)
        for widget in (self.url, self.folder):
            widget.textEdited.connect(lambda _: self.status.clear())
        self.candidates = LOCAL_COMFY_URLS
        self.find_installs = find_comfyui     # ComfyUI portable, Desktop, checkouts on this machine (blocking)
        self._searched = False

    def initializePage(self) -> None:
        """On the first run, look for a local ComfyUI on its usual ports before the admin types anything."""
        settings = self.setup.services.settings
        if self.setup.first_run and not self._searched and not settings.comfy_folder and \
                settings.comfy_urls == (LOCAL_COMFY_URLS[0],):
            self.find_local_comfy()

    def find_local_comfy(self) -> asyncio.Task | None:
        reader = self.setup.services.comfy_stats
        if reader is None:
            return None
        self._searched = True
        candidates = self.candidates
        say(self.status, self.tr("Looking for ComfyUI on {urls}…").format(urls=", ".join(candidates)))

        async def ask_all() -> list:
            return await asyncio.gather(*(reader(url) for url in candidates), return_exceptions=True)

        return spawn(ask_all(), on_done=lambda answers: self._found(dict(zip(candidates, answers))),
                     name="find local comfy")

    def _found(self, answers: dict) -> None:
        found = [(url, stats) for url, stats in answers.items() if not isinstance(stats, BaseException)]
        impostors = [url for url, exc in answers.items() if isinstance(exc, NotComfyUIError)]
        lines = []
        if found:
            url, stats = found[0]
            self.url.setText(url)
            self.attach.setChecked(True)
            devices = ", ".join(d.name.split(" : ")[0] for d in stats.devices) or self.tr("no GPU listed")
            lines.append(self.tr("✓ Found ComfyUI {version} at {url} ({devices}).").format(
                version=stats.comfyui_version, url=url, devices=devices))
        for url in impostors:
            lines.append(self.tr("⚠ {url} answers, but it is not ComfyUI: another program uses this port.")
                         .format(url=url))
        if not found:
            lines.append(self.tr("No ComfyUI answers on {urls}. Start ComfyUI and press Test connection, or choose "
                                 "'Launch ComfyUI from its folder'.").format(urls=", ".join(answers)))
        say(self.status, "\n".join(lines))
        if not found and not self.folder.text().strip():
            spawn(asyncio.to_thread(self.find_installs), on_done=self._installs_found, name="find comfy installs")

    def _installs_found(self, installs: list) -> None:
        """Nothing answers: offer an installed ComfyUI the app can start (the portable package's own
        Python is found from its folder); ComfyUI Desktop starts its own, on :8000."""
        lines = [self.status.text()]
        launchable = [i for i in installs if i.kind != "desktop"]
        if launchable and not self.folder.text().strip():
            self.folder.setText(str(launchable[0].folder))
            self.launch.setChecked(True)
            lines.append(self.tr("✓ Found ComfyUI in {folder}: the app can start it.").format(
                folder=launchable[0].folder))
        if any(i.kind == "desktop" for i in installs):
            lines.append(self.tr("ComfyUI Desktop is installed: open it, then press Test connection."))
        if len(lines) > 1:
            say(self.status, "\n".join(lines))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("ComfyUI folder"),
                                                  self.folder.text() or str(Path.home()))
        if folder:
            self.folder.setText(folder)
            self.launch.setChecked(True)

    def test_connection(self) -> asyncio.Task | None:
        try:
            urls = check_comfy_urls(self.url.text())
        except ValueError as exc:
            say(self.status, str(exc), Tone.PROBLEM)
            return None
        probe = self.setup.services.comfy_probe
        if probe is None:
            say(self.status, self.tr("Cannot test from here; the app connects when it starts."))
            return None
        say(self.status, self.tr("Asking {url}…").format(url=", ".join(urls)))
        api_key = self.api_key.text().strip() or None

        async def ask_all() -> list[tuple[str, str | None, BaseException | None]]:
            answers = await asyncio.gather(*(probe(url, api_key) for url in urls), return_exceptions=True)
            return [(url, None if isinstance(a, BaseException) else a, a if isinstance(a, BaseException) else None)
                    for url, a in zip(urls, answers)]

        return spawn(ask_all(), on_done=self._tested, name="test comfy")

    def _tested(self, answers) -> None:
        lines, all_ok = [], True
        for url, info, exc in answers:
            if exc is None:
                lines.append(self.tr("✓ ComfyUI answers at {url}: {info}").format(url=url, info=info))
            elif isinstance(exc, NotComfyUIError):
                all_ok = False
                lines.append(self.tr("⚠ {url} answers, but it is not ComfyUI: check the address (ComfyUI Desktop "
                                     "uses port 8000, the portable ComfyUI 8188).").format(url=url))
            elif isinstance(exc, ComfyAuthError):
                all_ok = False
                lines.append(self.tr("⚠ {url}: a proxy in front of ComfyUI refused the API key; check it.")
                             .format(url=url))
            else:                 # the library's words (ClientConnectorError...) go to the tooltip, not the text
                all_ok = False
                lines.append(self.tr("⚠ No ComfyUI answers at {url}. Start it, or choose 'Launch ComfyUI from its "
                                     "folder'.").format(url=url))
                self.status.setToolTip(error_text(exc))
        say(self.status, "\n".join(lines), Tone.PLAIN if all_ok else Tone.PROBLEM)

    def validatePage(self) -> bool:
        try:
            check_comfy_urls(self.url.text())
            if self.launch.isChecked():
                check_comfy_folder(self.folder.text())
        except ValueError as exc:
            say(self.status, str(exc), Tone.PROBLEM)
            return False
        return True


class DatabasePage(QWizardPage):
    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__()
        self.setup = wizard
        settings = wizard.services.settings
        self.setTitle(self.tr("Database"))
        self.setSubTitle(self.tr("Jobs, results and sessions are kept in a database. The local SQLite file needs "
                                 "no setup."))
        self.sqlite = QRadioButton(self.tr("Local SQLite file ({path})").format(
            path=wizard.services.paths.default_database))
        self.server = QRadioButton(self.tr("A database server (PostgreSQL or MySQL/MariaDB)"))
        group = QButtonGroup(self)
        group.addButton(self.sqlite)
        group.addButton(self.server)
        # the password is never shown: it stays where it is (keyring or environment) unless a new one is typed
        self.url = QLineEdit(split_url_password(settings.database_url or "")[0])
        self.url.setPlaceholderText("postgresql://user:password@host:5432/imagebot")
        self.status = _status_label()
        (self.server if settings.database_url else self.sqlite).setChecked(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.sqlite)
        layout.addWidget(self.server)
        layout.addWidget(self.url)
        note = QLabel(self.tr("The password in the address is stored in the keyring, not in the settings file."))
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.url.textChanged.connect(lambda text: (self.status.clear(), text and self.server.setChecked(True)))

    def database_value(self) -> str | None:
        return self.url.text().strip() if self.server.isChecked() else None

    def validatePage(self) -> bool:
        value = self.database_value()
        if self.server.isChecked() and not value:
            say(self.status, self.tr("Enter the database address, or choose the local SQLite file."), Tone.PROBLEM)
            return False
        try:
            database_url(value, self.setup.services.paths.default_database)
        except CoreError as exc:
            say(self.status, str(exc), Tone.PROBLEM)
            return False
        return True


class AppPage(QWizardPage):
    """Settings mode only: the queue's limits, priorities, sessions, logging, language and colours.
    Saved, they take effect at once (main.py puts them in force); the language at the next start."""

    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__()
        self.setup = wizard
        settings = wizard.services.settings
        self.setTitle(self.tr("Queue, sessions and the app"))
        self.setSubTitle(self.tr("These take effect as soon as you save."))
        self.user_job_limit = self._spin(settings.user_job_limit, 1, 100)
        self.queue_cap = self._spin(settings.queue_cap, 1, 100_000)
        self.max_batch_size = self._spin(settings.max_batch_size, 1, 64)
        self.max_prompt_length = self._spin(settings.max_prompt_length, 1, 10_000)
        self.session_idle_minutes = self._spin(settings.session_idle_minutes, 1, 24 * 60)
        self.session_warning_minutes = self._spin(settings.session_warning_minutes, 0, 24 * 60)
        self.admin_roles = QLineEdit(", ".join(str(r) for r in settings.admin_role_ids))
        self.admin_roles.setPlaceholderText(self.tr("role IDs, comma-separated"))
        self.role_priorities = QLineEdit(",".join(f"{r}:{p}" for r, p in settings.role_priorities.items()))
        self.role_priorities.setPlaceholderText(self.tr("role_id:priority, lower runs first, e.g. 1234:5"))
        self.log_level = QComboBox()
        for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
            self.log_level.addItem(level, level)
        self.log_level.setCurrentIndex(max(0, self.log_level.findData(settings.log_level)))
        self.language = QComboBox()
        for value, label in (("system", self.tr("As the system")), ("en", "English"), ("es", "Español")):
            self.language.addItem(label, value)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        self.theme = QComboBox()
        for value, label in (("system", self.tr("As the system")), ("light", self.tr("Light")),
                             ("dark", self.tr("Dark"))):
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.status = _status_label()
        form = QFormLayout(self)
        form.addRow(self.tr("Active jobs per user"), self.user_job_limit)
        form.addRow(self.tr("Jobs waiting, at most"), self.queue_cap)
        form.addRow(self.tr("Images per request, at most"), self.max_batch_size)
        form.addRow(self.tr("Prompt length, at most"), self.max_prompt_length)
        form.addRow(self.tr("Session channel deleted after (idle minutes)"), self.session_idle_minutes)
        form.addRow(self.tr("Warning before deletion (minutes)"), self.session_warning_minutes)
        form.addRow(self.tr("Admin roles"), self.admin_roles)
        form.addRow(self.tr("Role priorities"), self.role_priorities)
        form.addRow(self.tr("Log level"), self.log_level)
        form.addRow(self.tr("Language (after a restart)"), self.language)
        form.addRow(self.tr("Colours"), self.theme)
        form.addRow(self.status)

    @staticmethod
    def _spin(value: int, low: int, high: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setValue(value)
        return box

    def changes(self) -> dict:
        """The values as typed, parsed the way the settings file is read (ValueError says what is wrong)."""
        return {
            "user_job_limit": self.user_job_limit.value(), "queue_cap": self.queue_cap.value(),
            "max_batch_size": self.max_batch_size.value(), "max_prompt_length": self.max_prompt_length.value(),
            "session_idle_minutes": self.session_idle_minutes.value(),
            "session_warning_minutes": self.session_warning_minutes.value(),
            "admin_role_ids": FIELDS["admin_role_ids"].parse(self.admin_roles.text()),
            "role_priorities": FIELDS["role_priorities"].parse(self.role_priorities.text()),
            "log_level": self.log_level.currentData(), "language": self.language.currentData(),
            "theme": self.theme.currentData(),
        }

    def validatePage(self) -> bool:
        try:
            self.changes()
        except ValueError as exc:
            say(self.status, self.tr("Not a role list: {reason}").format(reason=exc), Tone.PROBLEM)
            return False
        return True


class InvitePage(QWizardPage):
    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__()
        self.setup = wizard
        self.setTitle(self.tr("Invite the bot"))
        self.setSubTitle(self.tr("Open this link to add the bot to your server with exactly the permissions it "
                                 "needs. Save keeps the settings."))
        self.link = QLineEdit()
        self.link.setReadOnly(True)
        self.copy_button = QPushButton(self.tr("Copy"))
        self.open_button = QPushButton(self.tr("Open in browser"))
        row = QHBoxLayout()
        row.addWidget(self.link, 1)
        row.addWidget(self.copy_button)
        row.addWidget(self.open_button)
        self.permissions = QLabel(self.tr("Permissions: {names}. Scopes: bot, applications.commands.")
                                  .format(names=", ".join(PERMISSIONS)))
        self.permissions.setWordWrap(True)
        self.status = _status_label()
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
            self.link.setPlaceholderText(self.tr("Check the token on the first page to get the link"))
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
        self.setWindowTitle((self.tr("FuLLetLabs Image Bot — Setup") if first_run
                             else self.tr("FuLLetLabs Image Bot — Settings")) + "[*]")   # [*]: unsaved changes
        self.setWindowIcon(app_icon())
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveCustomButton1, True)
        self.setButtonText(QWizard.WizardButton.CustomButton1, self.tr("Import .env…"))
        self.customButtonClicked.connect(lambda _which: self._choose_env_file())
        self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("Save"))
        self.keyring_available = services.secret_store().available
        self.has_saved_token = bool(services.settings.discord_token)
        self.imported: dict = {}               # settings from an imported .env that no page shows
        self.notes: list[str] = []             # what the admin should know after saving
        self.discord_page = DiscordPage(self)
        self.comfy_page = ComfyPage(self)
        self.database_page = DatabasePage(self)
        self.app_page = None if first_run else AppPage(self)     # the first run stays short
        self.invite_page = InvitePage(self)
        for page in (self.discord_page, self.comfy_page, self.database_page, self.app_page, self.invite_page):
            if page is not None:
                self.addPage(page)
        self.restart_button = QPushButton(self.tr("Restart now"))
        self.restart_button.hide()
        self.restart_button.clicked.connect(self._restart)
        self.invite_page.layout().insertWidget(3, self.restart_button)
        self.restart_needed: list[str] = []
        self._watch_for_changes()
        fit_to_screen(self, 720, 460)
        self._saving: asyncio.Task | None = None
        self._close_next = False
        self._saved = False

    def _watch_for_changes(self) -> None:
        """Any edit marks the window modified (a * in its title); Cancel then asks before dropping it."""
        mark = lambda *_args: self.setWindowModified(True)   # noqa: E731
        for field in self.findChildren(QLineEdit):
            if not field.isReadOnly():
                field.textEdited.connect(mark)
        for button in self.findChildren(QRadioButton):
            button.clicked.connect(mark)
        for box in self.findChildren(QSpinBox):
            box.valueChanged.connect(mark)
        for box in self.findChildren(QComboBox):
            box.activated.connect(mark)

    def reject(self) -> None:
        if self.isWindowModified() and not self._saved and not widgets.confirm(
                self, self.tr("Discard your changes?"),
                self.tr("What you changed here is not saved. Close without saving?")):
            return
        super().reject()

    def application_id(self) -> int | None:
        page = self.discord_page
        if page.identity and page.identity.id:
            return page.identity.id
        return application_id_from_token(page.token.text()) or application_id_from_token(
            self.services.settings.discord_token or "")

    # ---- .env import ----
    def _choose_env_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Import settings from a .env file"), str(Path.cwd()),
                                              self.tr("Environment files (.env *.env);;All files (*)"))
        if path:
            self.import_env(Path(path))

    def import_env(self, path: Path) -> list[str]:
        """Fill the pages from a .env file (the original bot's); the settings no page shows are kept
        and saved with the rest. Returns the setting names it took."""
        try:
            imported = import_dotenv(path)
        except (SettingsError, OSError) as exc:
            say(self.discord_page.token_status, self.tr("Could not import {file}: {reason}")
                .format(file=path.name, reason=error_text(exc)), Tone.PROBLEM)
            return []
        text = imported.text
        fields = {"discord_token": self.discord_page.token, "allowed_guild_ids": self.discord_page.guilds,
                  "comfy_urls": self.comfy_page.url, "comfy_folder": self.comfy_page.folder,
                  "comfy_api_key": self.comfy_page.api_key, "database_url": self.database_page.url}
        for name, field in fields.items():
            if name in text:
                field.setText(text[name])
        if "comfy_folder" in text:
            self.comfy_page.launch.setChecked(True)
        if "database_url" in text:
            self.database_page.server.setChecked(True)
        self.imported = {name: value for name, value in imported.values.items() if name not in fields}
        self.setWindowModified(True)
        lines = [self.tr("Imported {count} settings from {file}.").format(count=len(imported.values), file=path.name)]
        if "discord_token" in text:
            lines.append(self.tr("Check the token before going on."))
        if imported.problems:
            lines.append(self.tr("Not usable, fix them in the file or here: {list}.")
                         .format(list="; ".join(imported.problems)))
        if imported.unknown:
            lines.append(self.tr("Not used by this app: {list}.").format(list=", ".join(imported.unknown)))
        say(self.discord_page.token_status, " ".join(lines),
            Tone.PROBLEM if imported.problems else Tone.OK)
        return list(imported.values)

    # ---- saving ----
    def changes(self) -> tuple[dict, dict]:
        """(settings, secrets) as the pages hold them."""
        comfy = self.comfy_page
        settings = {
            **self.imported,
            **(self.app_page.changes() if self.app_page is not None else {}),
            "allowed_guild_ids": parse_guild_ids(self.discord_page.guilds.text()),
            "comfy_urls": check_comfy_urls(comfy.url.text()),
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

    def save_now(self) -> None:
        """Save from any page ("Save and check later"): the first page that holds a bad value is shown."""
        for page in (self.discord_page, self.comfy_page, self.database_page, self.app_page):
            if page is None:
                continue
            if page is self.discord_page:
                valid = page.guilds_ok()
            else:
                valid = page.validatePage()
            if not valid:
                while self.currentPage() is not page and self.currentId() > self.pageIds()[0]:
                    self.back()
                return
        self.accept()

    def accept(self) -> None:
        if self._close_next:          # saved already; the admin read what was not stored
            super().accept()
            return
        if self._saving is not None and not self._saving.done():
            return
        self.button(QWizard.WizardButton.FinishButton).setEnabled(False)
        say(self.invite_page.status, self.tr("Saving…"))
        self._saving = spawn(self.save(), on_error=self._save_failed, on_done=self._save_done, name="save settings")

    def _database_url_stays_in_env(self, value: str) -> bool:
        """Without a keyring a database password can only live where the admin wrote it (environment or
        .env): leave DATABASE_URL there rather than write it to the settings file without its password."""
        current = self.services.settings
        source = current.sources.get("database_url", "")
        bare, password = split_url_password(current.database_url or "")
        return (not self.keyring_available and password is not None and split_url_password(value)[0] == bare
                and source not in ("", str(self.services.paths.settings_file)))

    async def save(self) -> list[str]:
        """Write everything; returns the problems (secrets that could not be stored)."""
        settings, secrets = self.changes()
        paths, store = self.services.paths, self.services.secret_store()
        problems: list[str] = []
        self.notes = []
        in_memory = dict(settings)       # what this run uses from now on (passwords included)
        current_db = self.services.settings.database_url
        if settings["database_url"] and settings["database_url"] == split_url_password(current_db or "")[0]:
            in_memory["database_url"] = current_db       # unchanged: its password stays where it is
        if settings["database_url"] and self._database_url_stays_in_env(settings["database_url"]):
            del settings["database_url"]
            self.notes.append(self.tr("The database address stays in {source} with its password: this machine "
                                      "has no keyring to keep it in.").format(
                source=self.services.settings.sources["database_url"]))
        db_url = settings.get("database_url")
        try:
            await asyncio.to_thread(save_settings, paths, settings, store)
        except SettingsError as exc:
            if not db_url:
                raise
            # only the database password could not go to the keyring: keep the rest, say so
            settings["database_url"] = split_url_password(db_url)[0]
            await asyncio.to_thread(save_settings, paths, settings, store)
            problems.append(self.tr("the database password ({reason}): set DATABASE_URL with its password in "
                                    "the environment or .env").format(reason=error_text(exc)))
        stored: dict[str, str] = {}
        for name, value in secrets.items():
            try:
                await store.set_async(SECRET_FIELDS[name], value)
                stored[name] = value
            except SettingsError as exc:
                if getattr(self.services.settings, name) == value:   # it came from the environment: it stays
                    stored[name] = value
                    self.notes.append(self.tr("{name} stays in {source}: this machine has no keyring.").format(
                        name=name.replace("_", " "), source=self.services.settings.sources.get(name, "?")))
                    continue
                problems.append(f"{name.replace('_', ' ')}: {error_text(exc)}")
        self.services.settings = replace(self.services.settings, **in_memory, **stored)
        self.setWindowModified(False)
        self.has_saved_token = bool(self.services.settings.discord_token)
        self.saved.emit(settings)
        callback = self.services.on_settings_saved
        self.restart_needed = []
        if callback is not None:  # with the stored secrets too: a new token restarts the bot at once
            result = callback({**settings, **stored})
            if asyncio.iscoroutine(result):
                result = await result
            self.restart_needed = list(result or [])     # what the running app cannot take over
        return problems

    def _save_done(self, problems: list[str]) -> None:
        self.button(QWizard.WizardButton.FinishButton).setEnabled(True)
        if self.restart_needed:
            self.notes.append(self.tr("Saved; in force now except {names}: they take effect after a restart.")
                              .format(names=", ".join(self.restart_needed)))
            self.restart_button.setVisible(self.services.restart is not None)
        if problems or self.notes:
            self.show_last_page()
            text = " ".join(self.notes)
            if problems:
                text = self.tr("Settings saved, but these secrets were not stored: {list}. Set them as environment "
                               "variables (or in .env), then restart.").format(list="; ".join(problems)) + " " + text
            say(self.invite_page.status, text.strip(), Tone.PROBLEM if problems else Tone.OK)
            self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("Close"))
            self._saving = None
            self._close_next = True
            return
        say(self.invite_page.status, self.tr("Saved."), Tone.OK)
        super().accept()

    def show_last_page(self) -> None:
        """Go to the last page (where the outcome of saving is said) without checking the pages again:
        everything was checked and saved already."""
        self._saved = True
        try:
            for _ in self.pageIds():
                if self.currentPage() is self.invite_page:
                    break
                self.next()
        finally:
            self._saved = False

    def validateCurrentPage(self) -> bool:
        return self._saved or super().validateCurrentPage()

    def _restart(self) -> None:
        super().accept()
        self.services.restart()

    def _save_failed(self, exc: BaseException) -> None:
        self.button(QWizard.WizardButton.FinishButton).setEnabled(True)
        say(self.invite_page.status, self.tr("Nothing was saved: {reason}").format(reason=error_text(exc)),
            Tone.PROBLEM)

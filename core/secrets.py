"""Secrets live in the OS keyring, or, where there is none, only in the environment.

The Discord token, the ComfyUI API key, the database password and a password written into a
ComfyUI URL are never written to the settings file, the database or a log line. Every keyring call blocks (D-Bus on Linux), so the
async helpers run it in a thread.
"""
from __future__ import annotations

import asyncio
import logging

import keyring
from keyring.errors import KeyringError

from core.errors import SettingsError

log = logging.getLogger(__name__)

SERVICE = "FuLLetLabsImageBot"
SECRET_NAMES = ("discord_token", "comfy_api_key", "database_password")
_COMFY_PASSWORD = "comfy_password "   # + the URL without its password: one entry per ComfyUI login


def comfy_password_name(url_without_password: str) -> str:
    """The keyring entry of the password of `http://user@host:port` (one per ComfyUI URL)."""
    return _COMFY_PASSWORD + url_without_password
NO_KEYRING_MESSAGE = (
    "No OS keyring is available on this machine: secrets (DISCORD_TOKEN, COMFY_API_KEY, the database "
    "password, a password in a ComfyUI URL) are taken from the environment or .env only and cannot be saved."
)


class SecretStore:
    """Reads and writes the app's secrets in the OS keyring."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service
        self._warned = False

    @property
    def available(self) -> bool:
        backend = keyring.get_keyring()
        return getattr(backend, "priority", 0) > 0 and "fail" not in type(backend).__module__

    def _warn_once(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning(NO_KEYRING_MESSAGE)

    def get(self, name: str) -> str | None:
        if not self.available:
            self._warn_once()
            return None
        try:
            return keyring.get_password(self.service, name)
        except KeyringError as exc:
            self._warn_once()
            log.warning("The keyring could not be read (%s); using the environment only.", type(exc).__name__)
            return None

    def set(self, name: str, value: str) -> None:
        if name not in SECRET_NAMES and not name.startswith(_COMFY_PASSWORD):
            raise ValueError(f"unknown secret {name!r}")
        if not self.available:
            raise SettingsError(NO_KEYRING_MESSAGE + " Set it as an environment variable instead.")
        try:
            if value:
                keyring.set_password(self.service, name, value)
            else:
                self.delete(name)
        except KeyringError as exc:
            raise SettingsError(f"The keyring refused to store {name} ({type(exc).__name__}): unlock your keyring and try again.") from exc

    def delete(self, name: str) -> None:
        try:
            keyring.delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            pass

    async def get_async(self, name: str) -> str | None:
        return await asyncio.to_thread(self.get, name)

    async def set_async(self, name: str, value: str) -> None:
        await asyncio.to_thread(self.set, name, value)

"""Events about the app's parts that are not jobs: the Discord bot's connection, the database.

(ComfyUI's state is `comfy.supervisor.ComfyStateChanged`; main.py forwards it onto the same bus.)
"""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import CoreError


@dataclass(frozen=True)
class BotStateChanged:
    connected: bool
    message: str
    token_rejected: bool = False    # Discord refused the token: the admin must enter a new one
    unreachable: bool = False       # Discord could not be reached (network, DNS): retried by itself


@dataclass(frozen=True)
class BotIdentity:
    """What a successful token check returns."""
    name: str
    id: int | None = None


@dataclass(frozen=True)
class StoreHealthChanged:
    """The database stopped answering (ok=False, with the driver's reason, no secrets) or answers
    again (ok=True). While it is down new requests are refused and job writes are retried."""
    ok: bool
    reason: str = ""


class TokenRejected(CoreError):
    """Discord answered and said no to the token (HTTP 401): only a new token helps."""


class DiscordUnreachable(CoreError):
    """Discord could not be asked (no network, DNS failure, timeout, Discord down): the token may be fine."""

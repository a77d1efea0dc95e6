"""The bot package's errors. User-facing text is never an exception's message: errors carry a
catalog key and parameters, and the bot translates them."""
from __future__ import annotations


class BotError(Exception):
    """Base of every error raised by `bot`."""


class UserError(BotError):
    """Something the user can fix; `key` names the text in resources/i18n."""

    def __init__(self, key: str, **params) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class SessionChannelError(BotError):
    """The private session channel could not be created or reached (permissions, Discord down)."""

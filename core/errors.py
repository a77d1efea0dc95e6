"""The core package's errors. Each message is one line a user can act on: it names the setting or
file at fault and says what to do."""
from __future__ import annotations


class CoreError(Exception):
    """Base of every error raised by `core`."""


class SettingsError(CoreError):
    """A settings file, `.env` or value is unusable."""


class StoreError(CoreError):
    """The database cannot be opened, migrated or reached."""


class StoreUnavailable(StoreError):
    """The database is not answering now (server down, file locked, disk full); it may come back."""


class ImageError(CoreError):
    """An image is not a real PNG/JPEG/WebP, is too large, or cannot be re-encoded."""


class ImageTooLarge(ImageError):
    """An image is over the byte or pixel limit."""


class JobRefused(CoreError):
    """JobService refused a request. `code` (a RefusalCode) and `params` let the bot and the GUI
    translate; `message` is the English sentence."""

    def __init__(self, code, message: str, **params) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params

    def __repr__(self) -> str:
        return f"JobRefused({self.code!s}, {self.message!r})"

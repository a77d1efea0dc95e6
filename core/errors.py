"""The core package's errors. Each message is one line a user can act on: it names the setting or
file at fault and says what to do."""
from __future__ import annotations


class CoreError(Exception):
    """Base of every error raised by `core`."""


class SettingsError(CoreError):
    """A settings file, `.env` or value is unusable."""


class StoreError(CoreError):
    """The database cannot be opened, migrated or reached."""


class ImageError(CoreError):
    """An image is not a real PNG/JPEG/WebP, is too large, or cannot be re-encoded."""

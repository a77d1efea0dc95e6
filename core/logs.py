"""The app's log system: console, a rotating file in the data folder, and an in-memory ring the
Logs window reads. Every handler carries the secret redactor, so a token that reaches a log
record (in the message, its arguments or a traceback) is printed as `***`.
"""
from __future__ import annotations

import collections
import logging
import logging.handlers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

REDACTED = "***"
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class SecretRedactor(logging.Filter):
    """Replaces every known secret in a record with `***`. Secrets can be added at run time."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        # short values would redact ordinary words; real tokens and keys are long
        self._secrets.update(s for s in secrets if s and len(s) >= 4)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


@dataclass(frozen=True)
class LogLine:
    created: float
    level: int
    source: str      # logger name's first part: "bot", "core", "comfyui", ...
    text: str        # formatted, redacted


class LogRing(logging.Handler):
    """Keeps the last N formatted records and tells listeners about each new one (the Logs window)."""

    def __init__(self, capacity: int = 5000) -> None:
        super().__init__()
        self.lines: collections.deque[LogLine] = collections.deque(maxlen=capacity)
        self._listeners: list[Callable[[LogLine], None]] = []
        self.setFormatter(logging.Formatter(FORMAT))

    def add_listener(self, listener: Callable[[LogLine], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def emit(self, record: logging.LogRecord) -> None:
        line = LogLine(record.created, record.levelno, record.name.split(".")[0], self.format(record))
        self.lines.append(line)
        for listener in list(self._listeners):
            try:
                listener(line)
            except Exception:  # a broken listener must not break logging
                pass


OWN_LOGGERS = ("core", "comfy", "comfyui", "bot", "gui", "main", "__main__")
# discord.py's warnings that say nothing to this app: it never joins voice, and it reads slash commands
_IRRELEVANT = (("discord.client", "voice will NOT be supported"),        # PyNaCl's or davey's absence
               ("discord.ext.commands.bot", "Privileged message content"))


class LibraryNoise(logging.Filter):
    """Libraries' lines below WARNING (aiohttp, discord.py, SQLAlchemy...) and their warnings that do
    not apply to this app stay out of the log; the app's own lines all pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] in OWN_LOGGERS:
            return True
        if record.levelno < logging.WARNING:
            return False
        message = record.getMessage()
        return not any(record.name == name and text in message for name, text in _IRRELEVANT)


@dataclass
class LogSystem:
    redactor: SecretRedactor
    ring: LogRing
    log_file: Path | None


def setup_logging(logs_dir: Path | None, level: str = "INFO", secrets: Iterable[str] = (), console: bool = True) -> LogSystem:
    """Configure the root logger once for the whole app."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_imagebot", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    redactor = SecretRedactor(secrets)
    handlers: list[logging.Handler] = []
    ring = LogRing()
    handlers.append(ring)
    log_file = None
    if logs_dir is not None:
        logs_dir.mkdir(parents=True, exist_ok=True)
        log_file = logs_dir / "imagebot.log"
        file_handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(FORMAT))
        handlers.append(file_handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter(FORMAT))
        handlers.append(stream)
    noise = LibraryNoise()
    for handler in handlers:
        handler.addFilter(noise)
        handler.addFilter(redactor)
        handler._imagebot = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per migration plugin is noise
    return LogSystem(redactor, ring, log_file)

"""User-facing text in English and Spanish.

Message text comes from `resources/i18n/<lang>.json` by key, formatted with `{name}` parameters;
a key or parameter missing in Spanish falls back to English. Command names and descriptions are
translated by `CommandTranslator` from the catalog's "commands" section, keyed by the English text
written in the code (`locale_str("imagine")`).
"""
from __future__ import annotations

import json
import logging
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from core.paths import resource_root

log = logging.getLogger(__name__)

LANGS = ("en", "es")
DEFAULT_LANG = "en"
CATALOG_DIR = resource_root() / "resources" / "i18n"


def lang_of(locale: discord.Locale | str | None) -> str:
    """Our language for a Discord locale: Spanish for every es-* locale, English otherwise."""
    value = str(getattr(locale, "value", locale) or "").lower()
    return "es" if value.startswith("es") else DEFAULT_LANG


def interaction_lang(interaction: discord.Interaction) -> str:
    """The user's own language first (their client's locale), then the server's."""
    locale = getattr(interaction, "locale", None) or getattr(interaction, "guild_locale", None)
    return lang_of(locale)


class _Missing(Exception):
    pass


class _Strict(dict):
    def __missing__(self, key: str) -> str:
        raise _Missing(key)


class Catalog:
    def __init__(self, texts: dict[str, dict[str, Any]]) -> None:
        self._texts = texts

    @classmethod
    def load(cls, folder: Path = CATALOG_DIR) -> "Catalog":
        texts = {}
        for lang in LANGS:
            path = folder / f"{lang}.json"
            try:
                texts[lang] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                if lang == DEFAULT_LANG:
                    raise RuntimeError(f"The bot's text catalog {path} is unreadable ({exc}): reinstall the app.") from exc
                log.error("text catalog %s is unreadable (%s); using English", path, exc)
                texts[lang] = {}
        return cls(texts)

    def raw(self, key: str, lang: str) -> Any:
        found = self._texts.get(lang, {}).get(key)
        return found if found is not None else self._texts[DEFAULT_LANG].get(key)

    def has(self, key: str) -> bool:
        return key in self._texts[DEFAULT_LANG]

    def text(self, key: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
        """The text for `key` in `lang` with `params` filled in; English when Spanish lacks it."""
        for candidate in (lang, DEFAULT_LANG):
            template = self._texts.get(candidate, {}).get(key)
            if not isinstance(template, str):
                continue
            try:
                return string.Formatter().vformat(template, (), _Strict(params))
            except (_Missing, ValueError, IndexError, KeyError) as exc:
                log.warning("text %r in %s lacks a parameter (%s)", key, candidate, exc)
        log.error("no text for %r", key)
        return key

    def try_text(self, key: str, lang: str, /, **params: Any) -> str | None:
        """Like text(), but None when the key is unknown or a parameter is missing (refusals fall back)."""
        template = self.raw(key, lang)
        if not isinstance(template, str):
            return None
        try:
            return string.Formatter().vformat(template, (), _Strict(params))
        except (_Missing, ValueError, IndexError, KeyError):
            return None

    def examples(self, lang: str) -> list[str]:
        found = self.raw("examples", lang)
        return [str(x) for x in found] if isinstance(found, list) else []

    def command_text(self, english: str, lang: str) -> str | None:
        commands = self._texts.get(lang, {}).get("commands") or {}
        return commands.get(english)

    def refusal(self, code: Any, lang: str, params: dict | None, english: str) -> str:
        """A JobRefused in the user's language: by code and params, or its English message."""
        translated = self.try_text(f"refusal.{code}", lang, **(params or {}))  # a RefusalCode is a StrEnum
        return translated if translated is not None else english


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return Catalog.load()


class CommandTranslator(app_commands.Translator):
    """Command, option and choice names/descriptions for Discord's Spanish clients."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContext) -> str | None:
        lang = lang_of(locale)
        if lang == DEFAULT_LANG:
            return None
        return self.catalog.command_text(string.message, lang)


def format_duration(seconds: float | None) -> str:
    """4.2 s, 42 s, 3 min, 1 h 05 min: short and the same in English and Spanish."""
    if seconds is None:
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def format_size(size_bytes: int) -> str:
    """5 KB, 1.2 MB."""
    if size_bytes < 1024 * 1024:
        return f"{max(1, round(size_bytes / 1024))} KB"
    return f"{size_bytes / (1024 * 1024):.1f} MB"

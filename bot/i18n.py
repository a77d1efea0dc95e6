"""User-facing text in English and Spanish.

Message text comes from `resources/i18n/<lang>.json` by key, formatted with `{name}` parameters;
a key or parameter missing in Spanish falls back to English. Three things the catalog does for
every text, so no caller gets them wrong:

- Plurals: a text may be a set of CLDR plural forms, `{"one": "...", "other": "..."}`, chosen by
  the number in the `count` parameter (or the parameter named by `"by"`) with Babel's plural
  rules for the language. No "job(s)".
- Command names: `{/cancel}` or `{/admin resume}` in a text becomes the command as the user's
  Discord client shows it (`/cancelar`, `/admin reanudar`), from the same "commands" section the
  `CommandTranslator` gives Discord.
- Numbers: `format_duration`, `format_size` and `format_percent` write numbers the way the
  language does (4.0 s / 4,0 s) through Babel.
"""
from __future__ import annotations

import json
import logging
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import discord
from babel import Locale
from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_percent
from discord import app_commands

from core.paths import resource_root

log = logging.getLogger(__name__)

LANGS = ("en", "es")
DEFAULT_LANG = "en"
CATALOG_DIR = resource_root() / "resources" / "i18n"
PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")


def lang_of(locale: discord.Locale | str | None) -> str:
    """Our language for a Discord locale: Spanish for every es-* locale, English otherwise."""
    value = str(getattr(locale, "value", locale) or "").lower()
    return "es" if value.startswith("es") else DEFAULT_LANG


def interaction_lang(interaction: discord.Interaction) -> str:
    """The user's own language first (their client's locale), then the server's."""
    locale = getattr(interaction, "locale", None) or getattr(interaction, "guild_locale", None)
    return lang_of(locale)


@lru_cache(maxsize=None)
def babel_locale(lang: str) -> Locale:
    return Locale.parse(lang if lang in LANGS else DEFAULT_LANG)


class _Missing(Exception):
    pass


class _Formatter(string.Formatter):
    """`{name}` from the parameters (a missing one raises _Missing); `{/command path}` from the catalog."""

    def __init__(self, catalog: "Catalog", lang: str) -> None:
        self.catalog = catalog
        self.lang = lang

    def get_value(self, key: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if isinstance(key, str) and key.startswith("/"):
            return self.catalog.command_path(key[1:], self.lang)
        try:
            return kwargs[key]
        except KeyError:
            raise _Missing(key) from None


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

    def _template(self, entry: Any, lang: str, params: dict[str, Any]) -> str | None:
        """The string of a catalog entry: itself, or the plural form its count asks for."""
        if isinstance(entry, str):
            return entry
        if not isinstance(entry, dict):
            return None
        count = params.get(entry.get("by", "count"))
        if not isinstance(count, (int, float)):
            raise _Missing(entry.get("by", "count"))
        form = babel_locale(lang).plural_form(abs(count))
        return entry.get(form, entry.get("other"))

    def _format(self, entry: Any, lang: str, params: dict[str, Any]) -> str | None:
        template = self._template(entry, lang, params)
        if template is None:
            return None
        return _Formatter(self, lang).vformat(template, (), params)

    def text(self, key: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
        """The text for `key` in `lang` with `params` filled in; English when Spanish lacks it."""
        for candidate in dict.fromkeys((lang, DEFAULT_LANG)):
            try:
                found = self._format(self._texts.get(candidate, {}).get(key), candidate, params)
            except (_Missing, ValueError, IndexError, KeyError) as exc:
                log.warning("text %r in %s lacks a parameter (%s)", key, candidate, exc)
                continue
            if found is not None:
                return found
        log.error("no text for %r", key)
        return key

    def try_text(self, key: str, lang: str, /, **params: Any) -> str | None:
        """Like text(), but None when the key is unknown or a parameter is missing (refusals fall back)."""
        try:
            return self._format(self.raw(key, lang), lang, params)
        except (_Missing, ValueError, IndexError, KeyError):
            return None

    def examples(self, lang: str) -> list[str]:
        found = self.raw("examples", lang)
        return [str(x) for x in found] if isinstance(found, list) else []

    def command_text(self, english: str, lang: str) -> str | None:
        commands = self._texts.get(lang, {}).get("commands") or {}
        return commands.get(english)

    def command_path(self, english_path: str, lang: str) -> str:
        """`admin resume` → `/admin reanudar`: a command as the user's client lists it."""
        parts = english_path.split()
        return "/" + " ".join(self.command_text(part, lang) or part for part in parts)

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


def _decimal(value: float, pattern: str, lang: str) -> str:
    return format_decimal(value, pattern, locale=babel_locale(lang))


def format_duration(seconds: float | None, lang: str = DEFAULT_LANG) -> str:
    """4.2 s / 4,2 s, 42 s, 3 min, 1 h 05 min: short, with the language's decimal mark."""
    if seconds is None:
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{_decimal(seconds, '0.0', lang)} s"
    if seconds < 90:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def format_number(value: float, lang: str = DEFAULT_LANG) -> str:
    """1.5 / 1,5; 2 (no needless decimals)."""
    return _decimal(value, "#,##0.##", lang)


def format_size(size_bytes: int, lang: str = DEFAULT_LANG) -> str:
    """5 KB, 1.2 MB / 1,2 MB, 32 MB."""
    if size_bytes < 1024 * 1024:
        return f"{max(1, round(size_bytes / 1024))} KB"
    return f"{_decimal(size_bytes / (1024 * 1024), '0.#', lang)} MB"


def format_percent(fraction: float, lang: str = DEFAULT_LANG) -> str:
    """25% / 25 %."""
    return babel_percent(fraction, locale=babel_locale(lang))

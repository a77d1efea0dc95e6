"""Bot text: English and Spanish catalogs, the command translator, refusals by code."""
import json
import re

import discord
import pytest
from discord import app_commands

from bot.i18n import CATALOG_DIR, Catalog, CommandTranslator, default_catalog, format_duration, lang_of
from core.errors import JobRefused
from core.jobs import RefusalCode


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", text))


def test_both_catalogs_have_the_same_keys_and_placeholders():
    en = json.loads((CATALOG_DIR / "en.json").read_text(encoding="utf-8"))
    es = json.loads((CATALOG_DIR / "es.json").read_text(encoding="utf-8"))
    assert set(en) == set(es)
    for key, text in en.items():
        if isinstance(text, str):
            assert _placeholders(text) == _placeholders(es[key]), key
            assert text != es[key] or key in ("admin.getid",), f"{key} is not translated"


def test_every_refusal_code_has_a_text():
    catalog = default_catalog()
    for code in RefusalCode:
        assert catalog.has(f"refusal.{code.value}"), code


@pytest.mark.parametrize("locale, lang", [(discord.Locale.spain_spanish, "es"), (discord.Locale.latin_american_spanish, "es"),
                                          (discord.Locale.american_english, "en"), (discord.Locale.french, "en"),
                                          (None, "en"), ("es-ES", "es")])
def test_language_of_a_locale(locale, lang):
    assert lang_of(locale) == lang


def test_refusals_are_translated_by_code_and_params_with_english_fallback():
    catalog = default_catalog()
    refused = JobRefused(RefusalCode.USER_LIMIT, "You already have 2 job(s)...", active=2, limit=2)
    assert catalog.refusal(refused.code, "es", refused.params, refused.message).startswith("Ya tienes 2 trabajo(s)")
    assert "limit is 2" in catalog.refusal(refused.code, "en", refused.params, refused.message)
    # A code we do not know, or a text whose parameter the service did not send: its English message.
    assert catalog.refusal("brand_new_code", "es", {}, "Something new.") == "Something new."
    assert catalog.refusal(RefusalCode.USER_LIMIT, "es", {}, "English sentence.") == "English sentence."


def test_missing_spanish_text_falls_back_to_english():
    catalog = Catalog({"en": {"a": "Hello {name}", "commands": {}}, "es": {"commands": {}}})
    assert catalog.text("a", "es", name="Ana") == "Hello Ana"
    assert catalog.text("unknown.key", "es") == "unknown.key"


async def test_translator_localizes_every_command_string():
    from bot.cogs.admin import Admin
    from bot.cogs.images import ImageCommands

    translator = CommandTranslator(default_catalog())
    strings, names = [], []
    for cog in (ImageCommands, Admin):
        for command in cog.__cog_app_commands__:
            walk = [command] + list(getattr(command, "walk_commands", lambda: [])())
            for item in walk:
                names.append(item._locale_name)
                strings += [item._locale_name, item._locale_description]
                for param in getattr(item, "parameters", []):
                    names.append(param.locale_name)
                    strings += [param.locale_name, param.locale_description]
                    strings += [choice._locale_name for choice in param.choices]
    strings = [s for s in strings if s is not None]
    assert len(strings) > 30
    context = app_commands.TranslationContext(app_commands.TranslationContextLocation.other, None)
    for string in strings:
        assert isinstance(string, app_commands.locale_str), string
        spanish = await translator.translate(string, discord.Locale.spain_spanish, context)
        assert spanish, f"no Spanish for {string.message!r}"
        assert await translator.translate(string, discord.Locale.american_english, context) is None
    for name in names:   # Discord's rule for command and option names, in every language
        spanish = await translator.translate(name, discord.Locale.spain_spanish, context)
        assert re.fullmatch(r"[-_\w]{1,32}", spanish) and spanish == spanish.lower(), spanish


def test_durations():
    assert format_duration(4.23) == "4.2 s"
    assert format_duration(42) == "42 s"
    assert format_duration(180) == "3 min"
    assert format_duration(3900) == "1 h 05 min"
    assert format_duration(None) == "?"

"""Bot text: English and Spanish catalogs, the command translator, refusals by code."""
import json
import re

import discord
import pytest
from discord import app_commands

from bot.i18n import (CATALOG_DIR, LANGS, Catalog, CommandTranslator, default_catalog, format_duration, format_percent,
                      format_size, lang_of)
from core.errors import JobRefused
from core.jobs import RefusalCode


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"{([\w/ ]+)}", text))


def _catalog(lang: str) -> dict:
    return json.loads((CATALOG_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def _texts(entry) -> list[str]:
    """A text, or each plural form of one."""
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, dict) and "other" in entry:
        return [v for k, v in entry.items() if k != "by"]
    return []


def test_both_catalogs_have_the_same_keys_and_placeholders():
    en, es = _catalog("en"), _catalog("es")
    assert set(en) == set(es)
    for key, entry in en.items():
        english, spanish = _texts(entry), _texts(es[key])
        if not english:
            continue
        wanted = set.union(*map(_placeholders, english))
        assert set.union(*map(_placeholders, spanish)) == wanted, key
        assert english != spanish or key in ("admin.getid", "help.model_line", "info.cfg", "info.loras"), f"{key} is not translated"


def test_no_text_leaves_the_plural_to_the_reader():
    for lang in LANGS:
        for key, entry in _catalog(lang).items():
            for text in _texts(entry):
                assert "(s)" not in text and "(es)" not in text, (lang, key, text)


def test_plural_forms_follow_the_language():
    catalog = default_catalog()
    assert catalog.text("queue.summary", "en", length=1, running=0) == "Queue: 1 job waiting, 0 with the image server."
    assert catalog.text("queue.summary", "en", length=3, running=1) == "Queue: 3 jobs waiting, 1 with the image server."
    assert catalog.text("queue.summary", "es", length=1, running=0) == "Cola: 1 trabajo esperando, 0 en el servidor de imágenes."
    assert catalog.text("queue.summary", "es", length=0, running=0) == "Cola: 0 trabajos esperando, 0 en el servidor de imágenes."


def test_spanish_texts_name_the_commands_the_spanish_client_shows():
    """A command in a text is written `{/name}` and filled from the same table Discord gets, so a
    Spanish user reads /cancelar, never the English /cancel, anywhere."""
    catalog = default_catalog()
    spanish_commands = set(_catalog("es")["commands"].values())
    assert catalog.text("refusal.image_required", "es") == "Este modelo necesita una imagen: adjunta una a /editar."
    assert "{/admin resume}" in _catalog("es")["admin.paused"]
    assert catalog.text("admin.paused", "es").endswith("hasta /admin reanudar.")
    for key, entry in _catalog("es").items():
        for text in _texts(entry):
            literal = re.findall(r"(?<![{\w<])/(\w+)", text)
            assert not literal, f"{key} writes a command by hand ({literal}): use {{/name}}"
            for path in re.findall(r"{/([\w ]+)}", text):
                for part in path.split():
                    assert catalog.command_text(part, "es") in spanish_commands, (key, part)


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
    refused = JobRefused(RefusalCode.USER_LIMIT, "You already have 2 jobs...", active=2, limit=2)
    assert catalog.refusal(refused.code, "es", refused.params, refused.message).startswith("Ya tienes 2 trabajos")
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
    from bot.cogs.gallery import Gallery
    from bot.cogs.help import Help
    from bot.cogs.images import ImageCommands

    translator = CommandTranslator(default_catalog())
    strings, names = [], []
    for cog in (ImageCommands, Admin, Help, Gallery):
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


def test_numbers_are_written_the_way_the_language_writes_them():
    assert format_duration(4.23) == "4.2 s"
    assert format_duration(4.0, "es") == "4,0 s"
    assert format_duration(42, "es") == "42 s"
    assert format_duration(180) == "3 min"
    assert format_duration(3900) == "1 h 05 min"
    assert format_duration(None) == "?"
    assert format_size(1_300_000, "en") == "1.2 MB" and format_size(1_300_000, "es") == "1,2 MB"
    assert format_percent(0.25, "en") == "25%" and format_percent(0.25, "es") == "25\xa0%"


def test_every_command_a_text_names_exists():
    from bot.cogs.admin import Admin
    from bot.cogs.gallery import Gallery
    from bot.cogs.help import Help
    from bot.cogs.images import ImageCommands

    known = set()
    for cog in (ImageCommands, Admin, Help, Gallery):
        for command in cog.__cog_app_commands__:
            known.add(command.name)
            known.update(c.qualified_name for c in getattr(command, "walk_commands", lambda: [])())
    for lang in LANGS:
        for key, entry in _catalog(lang).items():
            for text in _texts(entry):
                for path in re.findall(r"{/([\w ]+)}", text):
                    assert path in known, (lang, key, path)

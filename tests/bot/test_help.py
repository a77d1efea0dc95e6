"""/help and `@Bot help`, and the commands published by themselves: no privileged intent, no !sync needed."""
import discord
from discord import app_commands

from tests.bot.conftest import HOME, SPANISH_USERS, World


def card_text(embed: discord.Embed) -> str:
    return "\n".join([embed.title or "", embed.description or ""] + [f"{f.name}\n{f.value}" for f in embed.fields])


async def test_help_lists_the_commands_the_users_limits_and_the_models(world: World):
    w = world
    r = await w.alice.slash(w.general, "help")
    assert r.ephemeral
    text = card_text(r.response.embeds[0])
    assert "**/imagine** `prompt: a red fox in the snow` makes an image" in text
    assert "**/edit**" in text and "**/queue**" in text and "**/cancel**" in text
    assert "2 jobs at a time (waiting or running)." in text and "Prompts up to 4000 characters." in text
    assert "**Z-Image Turbo** (/imagine)" in text and "**Flux Kontext edit** (/edit)" in text
    assert "For admins" not in text


async def test_help_in_spanish_names_the_spanish_commands(world: World):
    w = world
    SPANISH_USERS.add(w.bob.id)
    r = await w.bob.slash(w.general, "help")
    text = card_text(r.response.embeds[0])
    assert text.startswith("Qué hace este bot")
    assert "**/imaginar** `texto: un zorro rojo en la nieve` crea una imagen" in text
    assert "**/cola**" in text and "**/cancelar**" in text and "**/ayuda**" in text
    assert "2 trabajos a la vez" in text and "(/imaginar)" in text
    assert "/imagine " not in text and "/cancel " not in text


async def test_admins_see_their_commands_too(world: World):
    w = world
    r = await w.admin.slash(w.general, "help")
    text = card_text(r.response.embeds[0])
    assert "no limit on jobs at a time" in text
    assert "/admin defaults sets the default model" in text


async def test_help_by_mention_answers_in_the_channel(world: World):
    w = world
    await w.alice.send(w.general, f"<@{w.bot.user.id}> help")
    answer = w.general.last_message
    assert answer.author.id == w.bot.user.id
    assert answer.embeds[0].title == "What this bot does"


async def test_commands_are_published_at_start_and_again_only_when_they_change(world: World):
    w = world
    assert len(w.requests("PUT", f"/guilds/{HOME}/commands")) == 1
    assert "imagine" in w.alice.available_commands(w.general)
    await w.env.restart_bot(w.make_bot())                        # same commands: nothing to publish
    assert len(w.requests("PUT", f"/guilds/{HOME}/commands")) == 1
    changed = w.make_bot()

    @app_commands.command(name="ping", description="A new command in a new version")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    changed.tree.add_command(ping)
    await w.env.restart_bot(changed)
    assert len(w.requests("PUT", f"/guilds/{HOME}/commands")) == 2
    assert "ping" in w.alice.available_commands(w.general)

"""Security: the guild allowlist, DMs, #admin-tools, prefix and slash admin commands, the error handler."""
import discord
import pytest
import simcord

from tests.bot.conftest import FOREIGN, HOME, SPANISH_USERS, World

MODEL = "z_image_turbo"


async def test_admin_tools_is_created_private(world: World):
    w = world
    tools = w.channel_named("admin-tools")
    assert tools is not None
    channel = w.bot.get_channel(tools.id)
    assert channel.overwrites_for(channel.guild.default_role).view_channel is False
    assert tools.history(viewer=w.admin)
    with pytest.raises(Exception):
        tools.history(viewer=w.alice)


async def test_joining_a_foreign_guild_leaves_it(world: World):
    w = world
    w.env.create_guild("Evil", id=FOREIGN)
    await w.env.settle()
    assert w.bot.get_guild(FOREIGN) is None
    assert w.bot.left_guilds == [FOREIGN]
    assert [g.id for g in w.bot.guilds] == [HOME]


async def test_guild_join_event_leaves_too(world: World):
    w = world
    w.env.inject_error("DELETE", "/users/@me/guilds/*", status=500, times=1)   # the first attempt fails
    w.env.create_guild("Evil", id=FOREIGN)
    await w.env.settle()
    assert w.bot.get_guild(FOREIGN) is not None
    w.bot.dispatch("guild_join", w.bot.get_guild(FOREIGN))
    await w.env.settle()
    assert w.bot.get_guild(FOREIGN) is None and w.bot.left_guilds == [FOREIGN, FOREIGN]


async def test_foreign_guilds_present_at_startup_are_left_on_ready(env):
    env.create_guild("Home", id=HOME)
    env.create_guild("Evil", id=FOREIGN)
    await env.start()
    await env.settle()
    assert [g.id for g in env.bot.guilds] == [HOME]
    assert env.bot.left_guilds == [FOREIGN]


async def test_interactions_from_a_foreign_guild_do_nothing(world: World):
    w = world
    # Leaving failed (say Discord was down): the bot is still there, and must still refuse.
    w.env.inject_error("DELETE", "/users/@me/guilds/*", status=500, times=None)
    evil = w.env.create_guild("Evil", id=FOREIGN)
    general = evil.create_text_channel("general")
    mallory = evil.add_member(w.env.create_user("mallory"))
    await w.env.settle()
    w.bot.tree.copy_global_to(guild=discord.Object(FOREIGN))
    await w.bot.tree.sync(guild=discord.Object(FOREIGN))
    r = await mallory.slash(general, "imagine", model=MODEL, prompt="a cat")
    assert r.ephemeral and r.response.content == "This bot is not available in this server."
    choices = await mallory.autocomplete(general, "imagine", "model", "")
    assert choices == []
    assert w.job_service.queued() == [] and "sessions" not in evil.channels


async def test_buttons_in_a_dm_are_refused(world: World):
    w = world
    from bot.results import RerollButton

    user = await w.bot.fetch_user(w.alice.id)
    dm = await user.create_dm()
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(1, label="Reroll"))
    message = await dm.send("old result", view=view)
    await w.env.settle()
    r = await w.alice.user.click(message, label="Reroll")
    assert r.ephemeral and r.response.content.startswith("This bot only works inside its server")
    assert w.job_service.queued() == []
    # And slash commands are not offered in DMs at all (guild-only), even once synced globally.
    await w.bot.tree.sync()
    assert "imagine" not in w.alice.user.available_commands()


@pytest.mark.parametrize("world_options", [{"allowed_guild_ids": ()}])
async def test_no_allowlist_refuses_everything_but_stays(world: World):
    w = world
    assert not w.requests("PUT", "/commands")          # no server to publish the commands to
    w.bot.tree.copy_global_to(guild=discord.Object(HOME))
    await w.bot.tree.sync(guild=discord.Object(HOME))
    r = await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a cat")
    assert "No server is allowed yet" in r.response.content
    assert w.bot.get_guild(HOME) is not None


# ---------------------------------------------------------------- prefix commands

async def test_sync_getid_clearall_for_admins_in_admin_tools(world: World):
    w = world
    tools = w.channel_named("admin-tools")
    await w.admin.send(tools, f"<@{w.bot.user.id}> sync")
    reply = tools.last_message.content
    assert reply.startswith("Synced 7 commands to this server: /admin, /cancel, /edit, /gallery, /help, /imagine, /queue")
    # Without the privileged Message Content intent a bare `!sync` is not even readable: no answer.
    before = len(tools.history())
    await w.admin.send(tools, "!sync")
    assert len(tools.history()) == before + 1
    await w.admin.send(tools, f"<@{w.bot.user.id}> getid")
    reply = tools.last_message.content
    assert f"Server ID: {HOME}" in reply and f"Channel ID: {tools.id}" in reply and f"Your user ID: {w.admin.id}" in reply
    await w.admin.send(tools, f"<@{w.bot.user.id}> clearall")
    assert tools.last_message.content.startswith("Cleared the commands")
    assert "imagine" not in w.alice.available_commands(w.general)
    await w.admin.send(tools, f"<@{w.bot.user.id}> sync")          # the local tree survived the clear
    assert "imagine" in w.alice.available_commands(w.general)


@pytest.mark.parametrize("world_options", [{"discord_message_content": True}])
async def test_with_the_message_content_intent_bare_prefix_commands_work(world: World):
    w = world
    assert w.bot.intents.message_content
    tools = w.channel_named("admin-tools")
    await w.admin.send(tools, "!sync")
    assert tools.last_message.content.startswith("Synced 7 commands")
    await w.alice.send(w.general, "!help")
    assert w.general.last_message.embeds[0].title == "What this bot does"


async def test_prefix_admin_commands_refuse_others_and_other_channels(world: World):
    w = world
    tools = w.channel_named("admin-tools")
    # Non-admins cannot even see #admin-tools; in #general they get a one-line refusal.
    await w.alice.send(w.general, f"<@{w.bot.user.id}> sync")
    assert w.general.last_message.content == "Only bot admins can do that."
    await w.admin.send(w.general, f"<@{w.bot.user.id}> sync")
    assert w.general.last_message.content == "Admin commands work only in #admin-tools."
    await w.alice.send(w.general, f"<@{w.bot.user.id}> clearall")
    assert w.general.last_message.content == "Only bot admins can do that."
    assert "imagine" in w.alice.available_commands(w.general)
    assert tools.last_message.content.startswith("Admin tools")


# ---------------------------------------------------------------- /admin

async def test_admin_pause_resume_cancel(world: World):
    w = world
    r = await w.admin.slash(w.general, "admin pause")
    assert r.ephemeral and r.response.content.startswith("The queue is paused")
    assert w.job_service.paused
    r = await w.admin.slash(w.general, "admin pause")
    assert r.response.content == "The queue was already paused."
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a cat")
    r = await w.admin.slash(w.general, "admin cancel", job_id=1)
    assert r.response.content == "Job #1 (alice) cancelled."
    session = w.session_of(w.alice)
    await w.until(lambda: "cancelled by an admin" in session.last_message.content, advance=2)
    r = await w.admin.slash(w.general, "admin cancel", job_id=99)
    assert r.response.content == "That job no longer exists."
    r = await w.admin.slash(w.general, "admin resume")
    assert r.response.content == "The queue runs again." and not w.job_service.paused


async def test_admin_is_hidden_from_members_and_still_checked_by_the_bot(world: World):
    w = world
    assert "admin" not in w.alice.available_commands(w.general)
    assert "imagine" in w.alice.available_commands(w.general)
    # A server admin shows /admin to a role under Integrations; its members are not bot admins.
    mods = w.guild.create_role("Mods")
    mod, spanish_mod = (w.guild.add_member(w.env.create_user(name), roles=[mods]) for name in ("mod", "moderador"))
    commands = await w.bot.tree.fetch_commands(guild=discord.Object(HOME))
    admin_command = next(c for c in commands if c.name == "admin")
    w.guild.set_command_permissions(admin_command, {mods: True})
    await w.env.settle()
    SPANISH_USERS.add(spanish_mod.id)
    for command in ("admin pause", "admin resume"):
        r = await mod.slash(w.general, command)
        assert r.ephemeral and r.response.content == "Only bot admins can do that."
        r = await spanish_mod.slash(w.general, command)
        assert r.response.content == "Solo los admins del bot pueden hacer eso."
    r = await mod.slash(w.general, "admin cancel", job_id=1)
    assert r.response.content == "Only bot admins can do that."
    assert not w.job_service.paused


@pytest.mark.parametrize("world_options", [{"admin_role_ids": (424242,)}])
async def test_configured_admin_role_counts_as_admin(world: World):
    w = world
    role = w.guild.create_role("Bot admins")
    w.bot.settings = w.settings.__class__(paths=w.settings.paths, allowed_guild_ids=(HOME,), admin_role_ids=(role.id,))
    helper = w.guild.add_member(w.env.create_user("helper"), roles=[role])
    commands = await w.bot.tree.fetch_commands(guild=discord.Object(HOME))
    w.guild.set_command_permissions(next(c for c in commands if c.name == "admin"), {role: True})
    await w.env.settle()
    r = await helper.slash(w.general, "admin pause")
    assert r.response.content.startswith("The queue is paused")


# ---------------------------------------------------------------- errors never leak

async def test_unexpected_errors_become_a_reference_not_a_traceback(world: World, caplog, monkeypatch):
    w = world

    async def broken(*args, **kwargs):
        raise RuntimeError("secret token abc123 in a stack trace")

    monkeypatch.setattr(w.job_service, "submit", broken)
    r = await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a cat")
    text = r.response.content
    assert text.startswith("Something went wrong on our side (ref ")
    assert "abc123" not in text and "RuntimeError" not in text
    logged = [rec for rec in caplog.records if rec.name == "bot.bot" and rec.levelname == "ERROR"]
    assert logged and logged[0].exc_info
    caplog.clear()                                  # expected here: keep the no-error guard quiet


async def test_discord_refusing_a_channel_is_explained(world: World):
    w = world
    w.env.inject_error("POST", "/guilds/*/channels", status=403, code=50013, message="Missing Permissions", times=None)
    r = await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a cat")
    assert r.response.content.startswith("Could not create your private channel")
    assert w.job_service.queued() == []


def test_simcord_version():
    assert simcord.__version__ == "3.2.1"

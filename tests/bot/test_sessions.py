"""Private session channels: creation, privacy, reuse, idle deletion with a warning and Keep, restarts."""
import re
from datetime import timedelta

import discord
import pytest

from tests.bot.conftest import SPANISH_USERS, World, imagine, results

MODEL = "z_image_turbo"
MINUTE = 60


async def test_session_channel_is_private_and_reused(world: World):
    w = world
    session = await imagine(w, w.alice)
    assert session.name == "session-alice"
    channel = w.bot.get_channel(session.id)
    assert channel.category is not None and channel.category.name == "sessions"
    everyone = channel.overwrites_for(channel.guild.default_role)
    assert everyone.view_channel is False
    # simcord enforces Discord's permissions: bob can neither read nor post there.
    assert [m.content for m in session.history(viewer=w.alice)]
    with pytest.raises(Exception):
        session.history(viewer=w.bob)
    with pytest.raises(Exception):
        await w.bob.send(session, "hello?")
    # Admins see it (they are server administrators).
    assert session.history(viewer=w.admin)
    # The second request reuses the channel.
    again = await imagine(w, w.alice, "a dog")
    assert again.id == session.id
    assert len(results(session)) == 2
    info = await w.sessions.get(w.alice.id, w.guild.id)
    assert info.channel_id == session.id


@pytest.mark.parametrize("world_options", [{"admin_role_ids": ()}])
async def test_configured_admin_roles_see_sessions(world: World):
    w = world
    moderators = w.guild.create_role("Moderators")
    w.bot.settings = w.settings.__class__(paths=w.settings.paths, allowed_guild_ids=w.settings.allowed_guild_ids,
                                          admin_role_ids=(moderators.id,))
    mod = w.guild.add_member(w.env.create_user("mod"), roles=[moderators])
    await w.env.settle()
    session = await imagine(w, w.alice)
    assert session.history(viewer=mod)
    with pytest.raises(Exception):
        session.history(viewer=w.bob)


async def test_idle_session_is_warned_then_deleted_after_30_minutes(world: World):
    w = world
    session = await imagine(w, w.alice)
    await w.advance(24 * MINUTE)
    assert not any("will be deleted" in m.content for m in session.history())
    await w.advance(2 * MINUTE)
    warning = session.last_message
    assert re.fullmatch(rf"<@{w.alice.id}> this channel will be deleted in [45] minutes for inactivity\. "
                        r"Press \*\*Keep\*\* to keep it\.", warning.content), warning.content
    assert [c.label for row in warning.components for c in row.children] == ["Keep"]
    await w.advance(2 * MINUTE)
    assert w.session_of(w.alice) is not None
    await w.advance(3 * MINUTE)
    assert w.session_of(w.alice) is None
    assert await w.sessions.get(w.alice.id, w.guild.id) is None
    # Next use makes a new channel.
    new = await imagine(w, w.alice)
    assert new.id != session.id and new.name == "session-alice"


async def test_keep_button_extends_the_session(world: World):
    w = world
    session = await imagine(w, w.alice)
    await w.advance(26 * MINUTE)
    warning = session.last_message
    await w.alice.click(warning, label="Keep")
    updated = next(m for m in session.history() if m.id == warning.id)
    assert updated.content == "✅ Kept: this channel stays for another 30 minutes."
    assert not updated.components
    await w.advance(24 * MINUTE)
    assert not any("will be deleted" in m.content for m in session.history())
    await w.advance(2 * MINUTE)
    assert "will be deleted" in session.last_message.content
    await w.advance(5 * MINUTE)
    assert w.session_of(w.alice) is None


async def test_activity_clears_the_warning_and_moves_the_deadline(world: World):
    w = world
    session = await imagine(w, w.alice)
    await w.advance(26 * MINUTE)
    warning = session.last_message
    assert "will be deleted" in warning.content
    await imagine(w, w.alice, "another")
    assert all(m.id != warning.id for m in session.history())       # the warning is gone
    await w.advance(20 * MINUTE)
    assert w.session_of(w.alice) is not None


async def test_a_message_in_the_session_counts_as_activity(world: World):
    w = world
    session = await imagine(w, w.alice)
    await w.advance(20 * MINUTE)
    await w.alice.send(session, "still here")
    await w.advance(20 * MINUTE)
    assert w.session_of(w.alice) is not None


async def test_warning_in_spanish_for_a_spanish_user(world: World):
    w = world
    SPANISH_USERS.add(w.alice.id)
    session = await imagine(w, w.alice)
    await w.advance(26 * MINUTE)
    warning = session.last_message
    assert "este canal se borrará en" in warning.content
    assert [c.label for row in warning.components for c in row.children] == ["Mantener"]


async def test_deleted_channel_is_made_again(world: World):
    w = world
    session = await imagine(w, w.alice)
    await w.bot.get_channel(session.id).delete()
    await w.env.settle()
    assert await w.sessions.get(w.alice.id, w.guild.id) is None
    new = await imagine(w, w.alice)
    assert new.id != session.id


async def test_channel_is_kept_while_a_job_is_still_running(world: World):
    w = world
    session = await imagine(w, w.alice)
    await w.job_service.pause()
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="waits")
    info = await w.sessions.get(w.alice.id, w.guild.id)
    await w.sessions.touch(w.alice.id, w.guild.id, "alice", now=info.last_activity - timedelta(minutes=40))
    await w.advance(1 * MINUTE)
    assert w.session_of(w.alice) is not None
    await w.job_service.resume()
    await w.until(lambda: len(results(session)) == 2, advance=2)


async def test_restart_keeps_the_deadline_and_the_buttons(world: World):
    w = world
    session = await imagine(w, w.alice)
    first = results(session)[0]
    await w.advance(26 * MINUTE)
    warning = session.last_message
    assert "will be deleted" in warning.content
    # A new bot process: a fresh ImageBot (and its own SessionService) on the same database.
    from core.sessions import SessionService

    sessions = SessionService(db=w.db, bus=w.bot.bus, settings=w.settings)
    new_bot = w.make_bot(session_service=sessions)
    await w.env.restart_bot(new_bot)
    w.bot = new_bot
    await w.env.settle()
    # Persistent buttons of the old process work: Keep on the warning, Reroll on the result.
    await w.alice.click(warning, label="Keep")
    assert next(m for m in session.history() if m.id == warning.id).content.startswith("✅ Kept")
    r = await w.alice.click(first, label="Reroll")
    assert "Job #2 is queued" in r.response.content
    await w.until(lambda: len(results(session)) == 2, advance=2)
    # The deadline lives in the database: deleted 30 minutes after the last use, by the new bot.
    await w.advance(31 * MINUTE)
    assert w.session_of(w.alice) is None


async def test_restart_without_activity_still_deletes_on_time(world: World):
    w = world
    await imagine(w, w.alice)
    await w.advance(10 * MINUTE)
    new_bot = w.make_bot()
    await w.env.restart_bot(new_bot)
    w.bot = new_bot
    await w.advance(19 * MINUTE)
    assert w.session_of(w.alice) is not None
    await w.advance(2 * MINUTE)
    assert w.session_of(w.alice) is None


async def test_keep_by_someone_else_is_refused(world: World):
    w = world
    session = await imagine(w, w.alice)
    await w.advance(26 * MINUTE)
    warning = session.last_message
    await w.bot.get_channel(session.id).set_permissions(await w.bot.fetch_user(w.bob.id), view_channel=True,
                                                         read_message_history=True)
    await w.env.settle()
    r = await w.bob.click(warning, label="Keep")
    assert r.ephemeral and r.response.content == "Only the owner of this channel can keep it."
    assert isinstance(w.bot.get_channel(session.id), discord.TextChannel)

"""A server's bot choices: stored per server, served from memory, tolerant of what an older or newer app wrote."""
from core.guildprefs import GuildPrefs, GuildPrefsStore
from core.store import SettingRow


async def test_changes_are_stored_per_server_and_read_back_by_a_new_store(database):
    store = GuildPrefsStore(database)
    assert await store.get(1) == GuildPrefs()
    await store.update(1, default_model="z_image_turbo", channel_models={"42": "flux_schnell"})
    await store.update(1, banned_words=("gore",))
    await store.update(2, default_count=4)
    again = GuildPrefsStore(database)
    first = await again.get(1)
    assert first.default_model == "z_image_turbo" and first.banned_words == ("gore",)
    assert first.model_for(42) == "flux_schnell" and first.model_for(7) == "z_image_turbo"
    assert (await again.get(2)).default_count == 4 and (await again.get(2)).default_model is None


async def test_unknown_and_malformed_stored_values_are_ignored(database):
    async with database.sessions() as session:
        session.add(SettingRow(key="guild:5", value={"default_count": "four", "from_a_newer_app": 1,
                                                      "banned_words": ["a", "b"]}))
        await session.commit()
    prefs = await GuildPrefsStore(database).get(5)
    assert prefs.default_count == 1 and prefs.banned_words == ("a", "b")

"""/gallery: results outlive their channel; the note when an idle channel is deleted."""
import pytest

from tests.bot.conftest import SPANISH_USERS, World, imagine, results


def labels(response) -> list[str]:
    return [c.get("label") for row in response.components for c in row["components"]]


@pytest.mark.parametrize("spanish", [False, True])
async def test_an_empty_gallery_says_how_to_fill_it(world: World, spanish):
    w = world
    if spanish:
        SPANISH_USERS.add(w.alice.id)
    r = await w.alice.slash(w.general, "gallery")
    assert r.ephemeral
    assert r.response.content == ("Tu galería está vacía: crea una imagen con /imaginar y aparecerá aquí." if spanish
                                  else "Your gallery is empty: make an image with /imagine and it shows up here.")


async def test_the_gallery_pages_through_my_results_after_the_channel_is_gone(world: World):
    w = world
    await imagine(w, w.alice, prompt="first")
    await imagine(w, w.alice, prompt="second")
    await imagine(w, w.bob, prompt="not mine")
    session = w.session_of(w.alice)
    await w.bot.get_channel(session.id).delete()         # the channel went (idle, or by hand)
    await w.env.settle()
    r = await w.alice.slash(w.general, "gallery")
    page = r.response
    assert r.ephemeral and page.embeds[0].description == "second"
    assert page.embeds[0].footer.text == "Result 1 of 2 · Job #2"
    assert [a.filename for a in page.attachments] == ["image.png"]
    assert labels(page) == ["Upscale", "Vary", "Reroll", "Info", "Edit", "Newer", "Older"]   # no Delete: a copy
    r = await w.alice.click(page, label="Older")
    assert r.response.embeds[0].description == "first" and r.response.embeds[0].footer.text == "Result 2 of 2 · Job #1"
    # The buttons work from the gallery: a reroll opens a new channel and lands there.
    r = await w.alice.click(r.response, label="Reroll")
    assert "Job #4 is queued" in r.response.content
    await w.until(lambda: w.session_of(w.alice) is not None and len(results(w.session_of(w.alice))) == 1, advance=2)


async def test_an_idle_channel_deleted_tells_its_user_where_the_images_are(world: World):
    w = world
    await imagine(w, w.alice)
    await w.advance(31 * 60)
    assert w.session_of(w.alice) is None
    note = w.alice.user.dm_channel.last_message
    assert note.content == ("Your private image channel in **Home** was deleted after 30 minutes without activity. "
                            "Your images are still in /gallery there; a new /imagine opens a new channel.")


async def test_without_dms_the_note_goes_to_the_channel_the_admins_chose(world: World):
    w = world
    notices = w.guild.create_text_channel("bot-notices")
    await w.env.settle()
    await w.admin.slash(w.general, "admin defaults", notices=notices)
    await imagine(w, w.alice)
    w.env.inject_error("POST", f"/channels/{w.alice.user.dm_channel.id}/messages", status=403, code=50007, times=None)
    await w.advance(31 * 60)
    assert notices.last_message.content.startswith(f"<@{w.alice.id}> Your private image channel in **Home** was deleted")

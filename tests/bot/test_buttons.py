"""/edit and the result's buttons: Reroll, Edit (a modal), Delete."""
import pytest

from bot.results import MODAL_PROMPT_ID
from tests.bot.conftest import SPANISH_USERS, World, imagine, png, results

IMAGINE, EDIT = "z_image_turbo", "flux_edit"


async def make_result(w: World, member, prompt="a red fox"):
    session = await imagine(w, member, prompt, IMAGINE)
    return session, results(session)[-1]


async def test_edit_with_an_attachment(world: World):
    w = world
    r = await w.alice.slash(w.general, "edit", prompt="make it night", image=("photo.png", png(32, 32)))
    assert "Job #1 is queued" in r.response.content
    session = w.session_of(w.alice)
    await w.until(lambda: results(session), advance=2)
    job = await w.job_service.get(1)
    assert job.workflow == EDIT and job.request.input_image_name == "photo.png"
    assert "Flux Kontext edit" in results(session)[-1].content


async def test_edit_without_an_attachment_edits_the_last_result(world: World):
    w = world
    r = await w.alice.slash(w.general, "edit", prompt="make it night")
    assert r.response.content.startswith("You have no finished image to edit yet")
    await make_result(w, w.alice)
    r = await w.alice.slash(w.general, "edit", prompt="make it night")
    assert "Job #2 is queued" in r.response.content
    job = await w.job_service.get(2)
    assert job.workflow == EDIT and job.request.parent_job_id == 1


@pytest.mark.parametrize("attachment, english, spanish", [
    (("notes.txt", b"just some text"), "“notes.txt” is not an image", "«notes.txt» no es una imagen"),
    (("cat.png", b"<html>not a png</html>"), "“cat.png” is not an image", "«cat.png» no es una imagen"),
    (("anim.gif", b"GIF89a" + b"\x00" * 50), "“anim.gif” is not an image", "«anim.gif» no es una imagen"),
    (("big.png", png()[:16] + bytes(range(256)) * 24), "“big.png” is 6 KB; the limit is 2 KB", "«big.png» ocupa 6 KB; el límite es 2 KB"),
])
async def test_bad_attachments_are_refused(world: World, attachment, english, spanish):
    w = world
    w.bot.max_input_bytes = 2048
    r = await w.alice.slash(w.general, "edit", prompt="x", image=attachment)
    assert r.ephemeral and english in r.response.content
    SPANISH_USERS.add(w.bob.id)
    r = await w.bob.slash(w.general, "edit", prompt="x", image=attachment)
    assert spanish in r.response.content
    assert w.job_service.queued() == []


async def test_a_broken_image_with_a_good_header_is_refused_by_the_service(world: World):
    w = world
    broken = png()[:40]           # PNG signature, truncated body
    r = await w.alice.slash(w.general, "edit", prompt="x", image=("broken.png", broken))
    assert r.response.content.startswith("That file is not a usable image")


async def test_reroll_same_prompt_new_seed(world: World):
    w = world
    session, first = await make_result(w, w.alice, prompt="a lighthouse")
    click = await w.alice.click(first, label="Reroll")
    assert click.ephemeral and "Job #2 is queued" in click.response.content
    await w.until(lambda: len(results(session)) == 2, advance=2)
    one, two = await w.job_service.get(1), await w.job_service.get(2)
    assert two.request.prompt == "a lighthouse" and two.request.parent_job_id == 1
    assert one.seed != two.seed


async def test_edit_button_opens_a_modal_and_edits_this_image(world: World):
    w = world
    session, first = await make_result(w, w.alice)
    shown = await w.alice.click(first, label="Edit")
    assert shown.modal is not None and shown.modal["title"] == "Edit this image"
    done = await w.alice.submit_modal(shown, {MODAL_PROMPT_ID: "add a hat"})
    assert "Job #2 is queued" in done.response.content
    await w.until(lambda: len(results(session)) == 2, advance=2)
    job = await w.job_service.get(2)
    assert job.workflow == EDIT and job.request.prompt == "add a hat" and job.request.parent_job_id == 1


async def test_delete_only_by_owner_or_admin(world: World):
    w = world
    session, first = await make_result(w, w.alice)
    # bob cannot even see alice's channel; give him a look to try the button anyway.
    await w.bot.get_channel(session.id).set_permissions(await w.bot.fetch_user(w.bob.id),
                                                         view_channel=True, read_message_history=True)
    await w.env.settle()
    r = await w.bob.click(first, label="Delete")
    assert r.ephemeral and r.response.content.startswith("Only the person who asked")
    assert any(m.id == first.id for m in session.history())
    # Delete asks first; Keep leaves the image, Delete removes it and says so.
    r = await w.alice.click(first, label="Delete")
    assert r.ephemeral and r.response.content == "Delete this image? This cannot be undone."
    r = await w.alice.click(r.response, label="Keep")
    assert r.response.content == "Kept: nothing was deleted." and not r.response.components
    assert any(m.id == first.id for m in session.history())
    r = await w.alice.click(first, label="Delete")
    r = await w.alice.click(r.response, label="Delete")
    assert r.response.content == "Image deleted." and not r.response.components
    assert all(m.id != first.id for m in session.history())
    _, second = await make_result(w, w.alice, prompt="another")
    SPANISH_USERS.add(w.admin.id)
    r = await w.admin.click(second, label="Delete")
    assert r.response.content == "¿Borrar esta imagen? No se puede deshacer."
    r = await w.admin.click(r.response, label="Borrar")
    assert r.response.content == "Imagen borrada."
    assert all(m.id != second.id for m in session.history())


async def test_buttons_of_a_vanished_job(world: World):
    w = world
    session, first = await make_result(w, w.alice)
    async with w.db.sessions() as db, db.begin():
        from sqlalchemy import delete
        from core.store import JobRow
        await db.execute(delete(JobRow))
    r = await w.alice.click(first, label="Reroll")
    assert r.response.content == "That image is no longer available."


async def test_reroll_of_an_edit_edits_the_same_image_again(world: World):
    w = world
    await w.alice.slash(w.general, "edit", prompt="make it night", image=("photo.png", png(32, 32, (10, 200, 10))))
    session = w.session_of(w.alice)
    await w.until(lambda: results(session), advance=2)
    click = await w.alice.click(results(session)[-1], label="Reroll")
    assert "Job #2 is queued" in click.response.content
    await w.until(lambda: len(results(session)) == 2, advance=2)
    one, two = await w.job_service.get(1), await w.job_service.get(2)
    assert two.workflow == EDIT and two.request.prompt == "make it night" and two.request.parent_job_id == 1
    assert two.request.input_image_name == "photo.png" and one.seed != two.seed
    given = await w.job_service.input_image(2)
    assert given is not None and given == await w.job_service.input_image(1)


async def test_reroll_of_an_edit_whose_image_is_gone(world: World):
    w = world
    await w.alice.slash(w.general, "edit", prompt="make it night", image=("photo.png", png(32, 32)))
    session = w.session_of(w.alice)
    await w.until(lambda: results(session), advance=2)
    for stored in w.settings.paths.inputs_dir.iterdir():      # cleaned up meanwhile
        stored.unlink()
    r = await w.alice.click(results(session)[-1], label="Reroll")
    assert r.response.content.startswith("The image of job #1 is no longer on the server")
    assert w.job_service.queued() == []

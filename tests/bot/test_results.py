"""Grids, upscales and variations, as the user sees them: the whole sequence of messages."""
import io

import pytest
from PIL import Image

from bot.results import MODAL_IMAGE_ID, MODAL_PROMPT_ID, SETTINGS_ASPECT_ID, SETTINGS_PROMPT_ID, SETTINGS_SEED_ID
from core.grid import GAP
from tests.bot.conftest import SPANISH_USERS, World, results
from tests.fixtures_core import ONE_IMAGE, with_one_image_workflow

MODEL = "z_image_turbo"


def labels(message) -> list[list[str]]:
    return [[c.label for c in row.children] for row in message.components]


async def size_of(attachment) -> tuple[int, int]:
    return Image.open(io.BytesIO(await attachment.read())).size


TEXTS = {
    "en": dict(queued="Job #{n} is queued at position 1", grid="✅ 4 images in ", done="✅ Done in ",
               last_row=["Reroll", "Info", "Edit", "Delete"], originals="Originals", single=["Upscale", "Vary"],
               footer="Job #{n} · seed ", variation="Z-Image Turbo variation"),
    "es": dict(queued="Tu trabajo #{n} está en la cola, en la posición 1", grid="✅ 4 imágenes en ", done="✅ Hecho en ",
               last_row=["Otra vez", "Detalles", "Editar", "Borrar"], originals="Originales", single=["Ampliar", "Variar"],
               footer="Trabajo #{n} · semilla ", variation="Z-Image Turbo variation"),
}


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_a_grid_then_an_upscale_then_a_variation(world: World, lang):
    """What alice sees in her channel, message by message: the welcome, a 2x2 grid with U1-U4,
    V1-V4, Reroll, Info, Edit, Delete and Originals; U1 gives the first image twice as big, as a
    reply to the grid; V2 a variation of the second image, also a reply."""
    w = world
    t = TEXTS[lang]
    if lang == "es":
        SPANISH_USERS.add(w.alice.id)
    r = await w.alice.slash(w.general, "imagine", prompt="a **bold** fox", model=MODEL, count=4, aspect="square")
    assert r.ephemeral and r.response.content.startswith(t["queued"].format(n=1))
    session = w.session_of(w.alice)
    await w.until(lambda: len(results(session)) == 1, advance=2)

    welcome, grid = session.history()
    assert welcome.content.startswith(f"<@{w.alice.id}> ")
    assert grid.content.startswith(f"<@{w.alice.id}> {t['grid']}") and grid.content.endswith(" · Z-Image Turbo")
    assert [a.filename for a in grid.attachments] == ["grid.jpg"]
    width, height = await size_of(grid.attachments[0])
    job = await w.job_service.get(1)
    assert job.request.batch_size == 4 and len(job.outputs) == 4
    tile = Image.open(job.outputs[0]).size
    assert tile == (1024, 1024) and width == height == 2 * 1024 + GAP      # 2x2 tiles at full size
    assert grid.embeds[0].description == "a \\*\\*bold\\*\\* fox"
    assert grid.embeds[0].image.url.endswith("grid.jpg")
    assert grid.embeds[0].footer.text.startswith(t["footer"].format(n=1))
    assert labels(grid) == [["U1", "U2", "U3", "U4"], ["V1", "V2", "V3", "V4"], t["last_row"], [t["originals"]]]

    r = await w.alice.click(grid, label="U1")
    assert r.ephemeral and r.response.content.startswith(t["queued"].format(n=2))
    await w.until(lambda: len(results(session)) == 2, advance=2)
    upscaled = session.history()[-1]
    assert upscaled.reference is not None and upscaled.reference.message_id == grid.id
    assert upscaled.content.startswith(f"<@{w.alice.id}> {t['done']}") and upscaled.content.endswith(" · Upscale")
    assert await size_of(upscaled.attachments[0]) == (tile[0] * 2, tile[1] * 2)
    assert labels(upscaled) == [t["last_row"][1:]]
    child = await w.job_service.get(2)
    assert child.request.workflow == "upscale" and child.request.parent_job_id == 1

    r = await w.alice.click(grid, label="V2")
    assert r.response.content.startswith(t["queued"].format(n=3))
    await w.until(lambda: len(results(session)) == 3, advance=2)
    variation = session.history()[-1]
    assert variation.reference.message_id == grid.id
    assert variation.content.endswith(f" · {t['variation']}")
    assert variation.embeds[0].description == "a \\*\\*bold\\*\\* fox"
    assert labels(variation) == [t["single"], t["last_row"]]
    varied = await w.job_service.get(3)
    assert varied.request.workflow == "z_image_turbo_vary" and varied.request.prompt == "a **bold** fox"
    assert varied.request.parent_job_id == 1
    # Nothing else was posted: welcome, grid, upscale, variation.
    assert [m.id for m in session.history()] == [welcome.id, grid.id, upscaled.id, variation.id]


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_a_model_without_a_batch_size_makes_the_grid_from_one_prompt_per_image(world: World, lang):
    """The same grid, buttons and Info from a workflow that makes one image per run: its seeded
    part runs once per image (seed, seed + 1...), all in one job with one status message."""
    w = world
    t = TEXTS[lang]
    if lang == "es":
        SPANISH_USERS.add(w.alice.id)
    with_one_image_workflow(w.job_service)
    r = await w.alice.slash(w.general, "imagine", prompt="a fox", model=ONE_IMAGE, count=4, seed=77)
    assert r.ephemeral and r.response.content.startswith(t["queued"].format(n=1))
    session = w.session_of(w.alice)
    await w.until(lambda: len(results(session)) == 1, advance=2)
    welcome, grid = session.history()
    assert grid.content.startswith(f"<@{w.alice.id}> {t['grid']}") and grid.content.endswith(" · Z-Image One")
    assert labels(grid) == [["U1", "U2", "U3", "U4"], ["V1", "V2", "V3", "V4"], t["last_row"], [t["originals"]]]
    job = await w.job_service.get(1)
    assert len(job.outputs) == 4 and len({Image.open(path).tobytes() for path in job.outputs}) == 4
    r = await w.alice.click(grid, label=t["last_row"][1])
    model, _size, seeds, images = (f.value for f in r.response.embeds[0].fields[:4])
    assert (model, seeds, images) == ("Z-Image One", "`77`, `78`, `79`, `80`", "4")


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_edit_under_a_grid_asks_which_image(world: World, lang):
    w = world
    if lang == "es":
        SPANISH_USERS.add(w.alice.id)
    await w.alice.slash(w.general, "imagine", prompt="three foxes", model=MODEL, count=3)
    session = w.session_of(w.alice)
    await w.until(lambda: len(results(session)) == 1, advance=2)
    grid = results(session)[0]
    edit = TEXTS[lang]["last_row"][2]
    shown = await w.alice.click(grid, label=edit)
    fields = {c["custom_id"]: c for row in shown.modal["components"] for c in row["components"]}
    assert fields[MODAL_IMAGE_ID]["value"] == "1"
    assert fields[MODAL_IMAGE_ID]["label"] == ("Which image (1–3)" if lang == "en" else "Qué imagen (1–3)")
    r = await w.alice.submit_modal(shown, {MODAL_PROMPT_ID: "add a hat", MODAL_IMAGE_ID: "7"})
    assert r.ephemeral and r.response.content == (
        "Pick an image from 1 to 3 (“7” is not one). Press Edit again." if lang == "en" else
        "Elige una imagen del 1 al 3 («7» no es ninguna). Pulsa Editar otra vez.")
    assert await w.job_service.get(2) is None                 # nothing was queued
    shown = await w.alice.click(grid, label=edit)
    await w.alice.submit_modal(shown, {MODAL_PROMPT_ID: "add a hat", MODAL_IMAGE_ID: "3"})
    await w.until(lambda: len(results(session)) == 2, advance=2)
    source, edited = await w.job_service.get(1), await w.job_service.get(2)
    assert edited.request.parent_job_id == 1 and edited.request.prompt == "add a hat"
    given = Image.open(io.BytesIO(await w.job_service.input_image(2)))
    assert given.convert("RGB").tobytes() == Image.open(source.outputs[2]).convert("RGB").tobytes()   # image 3


async def test_originals_come_on_request_and_only_to_whoever_asks(world: World):
    w = world
    await w.alice.slash(w.general, "imagine", prompt="two foxes", model=MODEL, count=2)
    session = w.session_of(w.alice)
    await w.until(lambda: len(results(session)) == 1, advance=2)
    grid = results(session)[0]
    assert labels(grid)[0] == ["U1", "U2"]
    r = await w.alice.click(grid, label="Originals")
    assert r.ephemeral and r.response.content == "The 2 original images of job #1:"
    assert [a.filename for a in r.response.attachments] == ["image_1.png", "image_2.png"]


@pytest.mark.parametrize("spanish", [False, True])
async def test_a_count_the_model_cannot_batch_is_refused_before_anything(world: World, spanish, tmp_path):
    w = world
    if spanish:
        SPANISH_USERS.add(w.alice.id)
    r = await w.alice.slash(w.general, "imagine", prompt="many", model=MODEL, count=4)
    assert "is queued" in r.response.content or "está en la cola" in r.response.content
    await w.admin.slash(w.general, "admin pause")
    # The manifest allows 4 per request; with MAX_BATCH_SIZE 2 the server allows only 2.
    w.job_service._settings = w.settings.__class__(**{**w.settings.__dict__, "max_batch_size": 2})
    r = await w.alice.slash(w.general, "imagine", prompt="many", model=MODEL, count=3)
    if spanish:
        assert r.response.content == "«Z-Image Turbo» hace como mucho 2 imágenes por petición. Pide menos."
    else:
        assert r.response.content == "“Z-Image Turbo” makes at most 2 images per request. Ask for fewer."


async def test_the_info_card_shows_every_setting_and_runs_them_again(world: World):
    w = world
    await w.alice.slash(w.general, "imagine", prompt="a lighthouse", model=MODEL, seed=1234, aspect="wide")
    session = w.session_of(w.alice)
    await w.until(lambda: len(results(session)) == 1, advance=2)
    result = results(session)[0]
    r = await w.alice.click(result, label="Info")
    assert r.ephemeral
    card = r.response.embeds[0]
    fields = {f.name: f.value for f in card.fields}
    assert card.title == "Job #1" and card.description == "a lighthouse"
    assert fields["Model"] == "Z-Image Turbo" and fields["Seed"] == "`1234`" and fields["Images"] == "1"
    assert fields["Steps"] == "8"          # the workflow's own (the request set none)
    job = await w.job_service.get(1)
    assert fields["Size"] == f"{job.request.width} × {job.request.height}"
    r = await w.alice.click(r.response, label="Use these settings")
    assert r.modal is not None
    r = await w.alice.submit_modal(r, {SETTINGS_PROMPT_ID: "a lighthouse at night", SETTINGS_ASPECT_ID: "square",
                                       SETTINGS_SEED_ID: "99"})
    assert "Job #2 is queued" in r.response.content
    again = await w.job_service.get(2)
    assert again.request.prompt == "a lighthouse at night" and again.seed == 99
    assert again.request.width == again.request.height and again.request.parent_job_id == 1


@pytest.mark.parametrize("spanish", [False, True])
async def test_upscale_or_vary_of_an_image_whose_file_is_gone_says_so(world: World, spanish):
    w = world
    await w.alice.slash(w.general, "imagine", prompt="two", model=MODEL, count=2)
    session = w.session_of(w.alice)
    await w.until(lambda: len(results(session)) == 1, advance=2)
    job = await w.job_service.get(1)
    job.outputs[1].unlink()                     # retention (or a person) removed image 2
    if spanish:
        SPANISH_USERS.add(w.alice.id)
    for label in ("U2", "V2"):
        r = await w.alice.click(results(session)[0], label=label)
        assert r.ephemeral and r.response.content == ("La imagen 2 del trabajo #1 ya no está en el servidor." if spanish
                                                      else "Image 2 of job #1 is no longer on the server.")
    assert len(w.job_service.queued()) == 0
    r = await w.alice.click(results(session)[0], label="U1")            # image 1 is still there
    assert "#2" in r.response.content

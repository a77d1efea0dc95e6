"""/imagine, /queue and /cancel end to end: simcord + the real JobService + the fake ComfyUI."""
import json
import shutil

import pytest

from comfy.workflows import load_workflows
from core.jobs import JobFinished
from core.paths import resource_root
from core.store import JobRow
from tests.bot.conftest import SPANISH_USERS, World

MODEL = "z_image_turbo"


def result_message(channel):
    for message in reversed(channel.history()):
        if message.attachments and message.components:
            return message
    return None


def pings(w: World, message):
    stored = w.env.backend.get_message(message.channel.id, message.id)
    return stored.ping_user_ids, stored.ping_role_ids, stored.mention_everyone


async def test_imagine_creates_the_session_posts_feedback_and_the_result(world: World):
    w = world
    r = await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a red fox in the snow", aspect="landscape", seed=42)
    assert r.ephemeral
    session = w.session_of(w.alice)
    assert session is not None
    assert "Job #1 is queued at position" in r.response.content and session.mention in r.response.content
    await w.until(lambda: result_message(session) is not None, advance=2)
    result = result_message(session)
    # The status message itself became the result: one POST, then edits of the same message.
    posts = [q for q in w.requests("POST", f"/channels/{session.id}/messages")]
    assert len(posts) == 2          # the welcome text and the status message
    assert result.id == int(w.requests("PATCH", f"/channels/{session.id}/messages/")[-1].path.rsplit("/", 1)[1])
    assert result.content.startswith(f"<@{w.alice.id}> ✅ Done in ")
    assert "Z-Image Turbo" in result.content and "42" not in result.content   # the seed is in the footer
    assert result.embeds[0].footer.text == "Job #1 · seed 42"
    assert result.embeds[0].description == "a red fox in the snow"
    data = await result.attachments[0].read()
    assert data.startswith(b"\x89PNG")
    finished = await w.job_service.get(1)
    assert finished.request.width == 1248 and finished.request.height == 832
    labels = [c.label for row in result.components for c in row.children]
    assert labels == ["Upscale", "Vary", "Reroll", "Info", "Edit", "Delete"]
    ids = [c.custom_id for row in result.components for c in row.children]
    assert ids == ["imagebot:upscale:1:0", "imagebot:vary:1:0", "imagebot:reroll:1", "imagebot:info:1", "imagebot:edit:1",
                   f"imagebot:delete:1:{w.alice.id}"]
    assert pings(w, result) == ([w.alice.id], [], False)
    # The job remembers its status message (for a restart).
    async with w.db.sessions() as db:
        row = await db.get(JobRow, 1)
    assert row.feedback_message_id == result.id


async def test_odd_prompts_never_ping_anyone(world: World):
    w = world
    odd = f'@everyone @here <@{w.bob.id}> <@&{w.admin_role.id}> "quoted" \'single\'\nsecond line\n\n```code```'
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt=odd)
    session = w.session_of(w.alice)
    await w.until(lambda: result_message(session) is not None, advance=2)
    result = result_message(session)
    # Shown as typed: markdown escaped, mentions kept as text (an embed never pings).
    assert result.embeds[0].description == (f'@everyone @here <@{w.bob.id}> <@&{w.admin_role.id}> "quoted" \'single\'\n'
                                             'second line\n\n\\`\\`\\`code\\`\\`\\`')
    for message in session.history():
        users, roles, everyone = pings(w, message)
        assert not everyone and roles == [] and w.bob.id not in users
    assert pings(w, result) == ([w.alice.id], [], False)
    job = await w.job_service.get(1)
    assert job.request.prompt == odd


async def test_prompt_and_model_autocomplete(world: World):
    w = world
    choices = await w.alice.autocomplete(w.general, "imagine", "prompt", "fox")
    assert [c["value"] for c in choices][:2] == ["fox", "a red fox in a snowy forest, golden hour"]
    choices = await w.alice.autocomplete(w.general, "imagine", "prompt", "")
    assert len(choices) == 5
    models = await w.alice.autocomplete(w.general, "imagine", "model", "")
    assert {c["value"] for c in models} == {"flux_schnell", "z_image_turbo"}
    assert {c["name"] for c in models} == {"Flux Schnell", "Z-Image Turbo"}
    assert [c["value"] for c in await w.alice.autocomplete(w.general, "imagine", "model", "turbo")] == ["z_image_turbo"]
    assert [c["value"] for c in await w.alice.autocomplete(w.general, "edit", "model", "")] == ["flux_edit"]
    SPANISH_USERS.add(w.bob.id)
    spanish = await w.bob.autocomplete(w.general, "imagine", "prompt", "zorro")
    assert spanish[1]["value"].startswith("un zorro rojo")


@pytest.mark.parametrize("kwargs, english, spanish", [
    (dict(model=MODEL, prompt="   "), "The prompt is empty", "El texto está vacío"),
    (dict(model="dall_e", prompt="a cat"), "There is no model called “dall_e”", "No existe ningún modelo llamado «dall_e»"),
    (dict(model="flux_edit", prompt="a cat"), "needs an image", "necesita una imagen"),
    (dict(model=MODEL, prompt="x" * 5000), "5000 characters long; the limit is 4000", "5000 caracteres; el límite es 4000"),
])
async def test_bad_requests_are_refused_ephemerally_in_the_users_language(world: World, kwargs, english, spanish):
    w = world
    r = await w.alice.slash(w.general, "imagine", **kwargs)
    assert r.ephemeral and english in r.response.content, r.response.content
    SPANISH_USERS.add(w.bob.id)
    r = await w.bob.slash(w.general, "imagine", **kwargs)
    assert r.ephemeral and spanish in r.response.content, r.response.content
    assert w.job_service.queued() == []
    assert "Traceback" not in r.response.content
    assert w.session_of(w.alice) is None and w.session_of(w.bob) is None   # nothing opened for a doomed request


async def test_paused_queue_accepts_and_says_so_then_the_user_limit(world: World):
    w = world
    await w.job_service.pause()
    r = await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a cat")
    assert r.response.content.startswith("Job #1 is queued at position 1. Follow it in")     # no ETA while paused
    assert "The queue is paused by the host: your job keeps its place" in r.response.content
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a cat")
    SPANISH_USERS.add(w.alice.id)
    r = await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a cat")
    assert r.ephemeral
    assert r.response.content == ("Ya tienes 2 trabajos esperando o en curso (el límite es 2). "
                                  "Espera a que termine uno o cancela uno con /cancelar.")
    assert len(w.job_service.queued()) == 2


@pytest.mark.parametrize("world_options", [{"queue_cap": 1}])
async def test_full_queue_is_refused(world: World):
    w = world
    await w.job_service.pause()
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a cat")
    r = await w.bob.slash(w.general, "imagine", model=MODEL, prompt="a dog")
    assert r.response.content == "The queue is full (1 job). Try again in a few minutes."


async def test_queue_and_cancel(world: World):
    w = world
    r = await w.alice.slash(w.general, "queue")
    assert "The queue is empty" in r.response.content
    await w.job_service.pause()
    await w.bob.slash(w.general, "imagine", model=MODEL, prompt="first")
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="second")
    r = await w.alice.slash(w.general, "queue")
    text = r.response.content
    assert "paused by the host" in text and "Queue: 2 jobs waiting, 0 with the image server." in text
    assert "Your job #2: position 2" in text
    # Someone else's job cannot be cancelled.
    r = await w.alice.slash(w.general, "cancel", job_id=1)
    assert "not yours" in r.response.content
    r = await w.alice.slash(w.general, "cancel")
    assert r.response.content == "Cancelled: #2."
    session = w.session_of(w.alice)
    await w.until(lambda: "was cancelled" in (session.last_message.content or ""), advance=2)
    assert session.last_message.content == "🚫 Job #2 was cancelled."
    r = await w.alice.slash(w.general, "cancel")
    assert r.response.content == "You have no queued or running jobs."
    r = await w.bob.slash(w.general, "queue")
    assert "Your job #1: position 1" in r.response.content


async def test_imagine_from_inside_the_session_channel(world: World):
    w = world
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="one")
    session = w.session_of(w.alice)
    await w.until(lambda: result_message(session) is not None, advance=2)
    r = await w.alice.slash(session, "imagine", model=MODEL, prompt="two")
    assert r.response.content.startswith("Job #2 is queued at position") and "Follow it" not in r.response.content
    await w.until(lambda: len([m for m in session.history() if m.attachments]) == 2, advance=2)
    assert len([c for c in w.guild.channels if c.startswith("session-")]) == 1


async def test_finished_event_carries_what_the_result_shows(world: World, core_events):
    w = world
    await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a boat")
    session = w.session_of(w.alice)
    await w.until(lambda: result_message(session) is not None, advance=2)
    finished = core_events.of(JobFinished)[0]
    assert result_message(session).embeds[0].footer.text == f"Job #1 · seed {finished.seed}"


async def test_a_spanish_user_gets_everything_in_spanish(world: World):
    w = world
    SPANISH_USERS.add(w.alice.id)
    r = await w.alice.slash(w.general, "imagine", model=MODEL, prompt="un gato")
    assert r.response.content.startswith("Tu trabajo #1 está en la cola, en la posición 1")
    session = w.session_of(w.alice)
    welcome = session.history()[0]
    assert "este es tu canal privado" in welcome.content
    await w.until(lambda: result_message(session) is not None, advance=2)
    result = result_message(session)
    assert "✅ Hecho en" in result.content and result.embeds[0].footer.text.startswith("Trabajo #1 · semilla ")
    assert [c.label for row in result.components for c in row.children] == ["Ampliar", "Variar", "Otra vez", "Detalles", "Editar", "Borrar"]
    assert result.embeds[0].author.name == "Texto"


@pytest.mark.parametrize("aspect, size", [("wide", (1024, 576)), ("tall", (576, 1024)), ("square", (768, 768)),
                                          ("portrait", (640, 960))])
async def test_aspect_sizes_follow_the_workflows_defaults_and_limits(world: World, tmp_path, aspect, size):
    """A workflow edited to 768×768 by default, at most 1024 wide and high, in steps of 64."""
    w = world
    folder = tmp_path / "flujos"
    shutil.copytree(resource_root() / "flujos", folder)
    manifest_path = folder / f"{MODEL}.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["defaults"].update(width=768, height=768)
    for side in ("width", "height"):
        manifest["limits"][side] = {"min": 256, "max": 1024, "multiple_of": 64}
    manifest_path.write_text(json.dumps(manifest))
    w.job_service.set_workflows(load_workflows(folder))
    r = await w.alice.slash(w.general, "imagine", model=MODEL, prompt="a fox", aspect=aspect)
    assert "Job #1 is queued" in r.response.content
    job = await w.job_service.get(1)
    assert (job.request.width, job.request.height) == size
    await w.until(lambda: result_message(w.session_of(w.alice)) is not None, advance=2)

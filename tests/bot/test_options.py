"""Honest options and their order: every refusal before anything is made, the job queued before
the session channel, `model` optional with the admins' defaults per server and per channel."""
import pytest

from core.jobs import JobQueued
from tests.bot.conftest import SPANISH_USERS, World, imagine, results


async def test_the_job_is_queued_before_any_discord_call_it_does_not_need(world: World, core_bus):
    """The GPU may start one round trip after the command: only the defer comes before the job."""
    w = world
    calls_when_queued = []
    core_bus.subscribe(JobQueued, lambda event: calls_when_queued.append(list(w.env.http_requests)))
    before = len(w.env.http_requests)
    r = await w.alice.slash(w.general, "imagine", prompt="a lighthouse")
    assert "is queued at position 1" in r.response.content
    first_calls = calls_when_queued[0][before:]
    assert [(c.method, c.path.split("/")[1]) for c in first_calls] == [("POST", "interactions")]
    # The session channel, its welcome and the status message came after.
    session = w.session_of(w.alice)
    await w.until(lambda: len(results(session)) == 1, advance=2)
    assert session.history()[0].content.startswith(f"<@{w.alice.id}> this is your private channel")


@pytest.mark.parametrize("spanish", [False, True])
async def test_a_negative_prompt_on_a_model_without_one_is_refused_with_the_reason(world: World, spanish):
    w = world
    if spanish:
        SPANISH_USERS.add(w.alice.id)
    r = await w.alice.slash(w.general, "imagine", prompt="a cat", model="flux_schnell", negative="dogs")
    assert r.ephemeral
    if spanish:
        assert r.response.content == ("«Flux Schnell» no admite texto negativo: en este modelo no tiene ningún efecto. "
                                      "Deja `negativo` vacío o elige un modelo que lo admita.")
    else:
        assert r.response.content == ("“Flux Schnell” takes no negative prompt: it has no effect on this model. "
                                      "Leave `negative` empty, or pick a model that takes one.")
    assert w.session_of(w.alice) is None and w.job_service.queued() == []
    assert channels_made(w) == []          # no channel, no category


@pytest.mark.parametrize("world_options", [{"queue_cap": 1}])
async def test_a_refusal_by_the_service_also_comes_before_any_channel(world: World):
    """The queue is full: only the service knows, and still nothing is made for the refused user."""
    w = world
    await w.job_service.pause()
    await w.bob.slash(w.general, "imagine", prompt="first")
    r = await w.alice.slash(w.general, "imagine", prompt="a cat")
    assert r.response.content == "The queue is full (1 job). Try again in a few minutes."
    assert w.session_of(w.alice) is None and channels_made(w) == ["sessions", "session-bob"]


def channels_made(w: World) -> list[str]:
    """Channels the bot made for users (not the admins' channel, made at start)."""
    return [r.json["name"] for r in w.requests("POST", "/guilds/") if r.path.endswith("/channels")
            and r.json["name"] != "admin-tools"]


async def test_model_is_optional_and_follows_the_admins_defaults(world: World):
    w = world
    art = w.guild.create_text_channel("art")
    await w.env.settle()
    await imagine(w, w.alice, model=None)
    assert (await w.job_service.get(1)).request.workflow == "flux_schnell"     # the first enabled model
    r = await w.admin.slash(w.general, "admin defaults", model="z_image_turbo")
    assert r.ephemeral and r.response.content.startswith("Default model of this server: **Z-Image Turbo**.\n")
    r = await w.admin.slash(w.general, "admin defaults", model="flux_schnell", channel=art)
    assert r.response.content == ("Default model of this server: **Z-Image Turbo**.\n"
                                  "Images per request unless the user says: 1.\n"
                                  f"In <#{art.id}>: **Flux Schnell**.")
    await imagine(w, w.alice, model=None)
    assert (await w.job_service.get(2)).request.workflow == "z_image_turbo"
    await w.alice.slash(art, "imagine", prompt="in art")
    await w.until(lambda: len(results(w.session_of(w.alice))) == 3, advance=2)
    assert (await w.job_service.get(3)).request.workflow == "flux_schnell"
    # A model given by the user wins over every default.
    await imagine(w, w.alice, model="z_image_turbo")
    assert (await w.job_service.get(4)).request.workflow == "z_image_turbo"


async def test_the_defaults_survive_a_restart_and_are_shown_in_spanish(world: World):
    w = world
    await w.admin.slash(w.general, "admin defaults", model="z_image_turbo")
    new_bot = w.make_bot()
    await w.env.restart_bot(new_bot)
    SPANISH_USERS.add(w.admin.id)
    r = await w.admin.slash(w.general, "admin defaults")
    assert r.response.content == ("Modelo predeterminado de este servidor: **Z-Image Turbo**.\n"
                                  "Imágenes por petición si el usuario no indica otra cosa: 1.")


async def test_a_default_count_makes_grids_without_asking(world: World):
    w = world
    r = await w.admin.slash(w.general, "admin defaults", count=4)
    assert "Images per request unless the user says: 4 (as one grid)." in r.response.content
    await imagine(w, w.alice)
    assert (await w.job_service.get(1)).request.batch_size == 4
    await imagine(w, w.alice, model="flux_schnell")
    assert len((await w.job_service.get(2)).outputs) == 4


@pytest.mark.parametrize("spanish", [False, True])
async def test_steps_and_cfg_only_where_the_workflow_takes_them(world: World, spanish, fake_comfy):
    w = world
    if spanish:
        SPANISH_USERS.add(w.alice.id)
    r = await w.alice.slash(w.general, "imagine", prompt="a cat", model="z_image_turbo", cfg=4.5)
    assert r.response.content == (
        "«Z-Image Turbo» no admite CFG: funciona con CFG 1, donde no tiene ningún efecto. No indiques `cfg`." if spanish
        else "“Z-Image Turbo” takes no CFG: it runs at CFG 1, where it has no effect. Leave `cfg` out.")
    r = await w.alice.slash(w.general, "imagine", prompt="a cat", model="z_image_turbo", steps=99)
    assert r.response.content == ("«Z-Image Turbo» admite entre 1 y 20 pasos." if spanish
                                  else "“Z-Image Turbo” takes between 1 and 20 steps.")
    assert w.session_of(w.alice) is None and w.job_service.queued() == []
    await w.alice.slash(w.general, "imagine", prompt="a cat", model="z_image_turbo", steps=6)
    await w.until(lambda: len(results(w.session_of(w.alice))) == 1, advance=2)
    job = await w.job_service.get(1)
    assert job.request.steps == 6
    sent = fake_comfy.received_prompts[-1]["prompt"]
    assert sent["8"]["inputs"]["steps"] == 6          # the sampler ran with it

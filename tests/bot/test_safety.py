"""Safety for admins: banned words, a negative-prompt prefix, spoiler results per channel."""
import json
import shutil

import pytest

from comfy.workflows import load_workflows
from core.paths import resource_root
from tests.bot.conftest import SPANISH_USERS, World, results


@pytest.mark.parametrize("spanish", [False, True])
async def test_banned_words_are_refused_before_anything_is_made(world: World, spanish):
    w = world
    r = await w.admin.slash(w.general, "admin safety", banned_words="gore, Blood bath")
    assert r.response.content.startswith("Banned words: `gore`, `Blood bath`.")
    if spanish:
        SPANISH_USERS.add(w.alice.id)
    r = await w.alice.slash(w.general, "imagine", prompt="a GORE scene", model="z_image_turbo")
    assert r.ephemeral and r.response.content == (
        "Este servidor no permite «gore» en los textos. Cambia el texto e inténtalo de nuevo." if spanish
        else "This server does not allow “gore” in prompts. Change your prompt and try again.")
    r = await w.alice.slash(w.general, "imagine", prompt="a blood bath", model="z_image_turbo")
    assert "Blood bath" in r.response.content
    assert w.session_of(w.alice) is None and w.job_service.queued() == []
    # Whole words only: "gorgeous" and "goreless" are fine.
    r = await w.alice.slash(w.general, "imagine", prompt="a gorgeous goreless garden", model="z_image_turbo")
    assert "#1" in r.response.content


async def test_the_negative_prefix_goes_first_on_models_that_take_one(world: World, tmp_path):
    w = world
    folder = tmp_path / "flujos"
    shutil.copytree(resource_root() / "flujos", folder)
    manifest_path = folder / "z_image_turbo.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["inputs"]["negative_prompt"] = {"node": "6", "input": "text"}      # as if run at cfg > 1
    manifest_path.write_text(json.dumps(manifest))
    w.job_service.set_workflows(load_workflows(folder))
    await w.admin.slash(w.general, "admin safety", negative_prefix="blurry, watermark")
    await w.job_service.pause()
    await w.alice.slash(w.general, "imagine", prompt="a cat", model="z_image_turbo", negative="dogs")
    await w.alice.slash(w.general, "imagine", prompt="a cat", model="z_image_turbo")
    await w.bob.slash(w.general, "imagine", prompt="a cat", model="flux_schnell")     # takes none: nothing added
    assert (await w.job_service.get(1)).request.negative_prompt == "blurry, watermark, dogs"
    assert (await w.job_service.get(2)).request.negative_prompt == "blurry, watermark"
    assert (await w.job_service.get(3)).request.negative_prompt == ""


async def test_results_asked_for_in_a_spoiler_channel_are_spoilers(world: World):
    w = world
    art = w.guild.create_text_channel("art")
    await w.env.settle()
    r = await w.admin.slash(w.general, "admin safety", spoiler_channel=art)
    assert f"Results are spoilers for requests made in: <#{art.id}>." in r.response.content
    await w.alice.slash(art, "imagine", prompt="a surprise", model="z_image_turbo")
    session = w.session_of(w.alice)
    await w.until(lambda: len(results(session)) == 1, advance=2)
    assert [a.filename for a in results(session)[0].attachments] == ["SPOILER_image_1.png"]
    await w.alice.click(results(session)[0], label="Upscale")       # made from a spoiler: a spoiler too
    await w.until(lambda: len(results(session)) == 2, advance=2)
    assert results(session)[1].attachments[0].filename.startswith("SPOILER_")
    await w.alice.slash(w.general, "imagine", prompt="no surprise", model="z_image_turbo")
    await w.until(lambda: len(results(session)) == 3, advance=2)
    assert [a.filename for a in results(session)[2].attachments] == ["image_1.png"]

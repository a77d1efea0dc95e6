"""LoRA in /imagine: offered from ComfyUI's list filtered by the admins, checked, written into the graph."""
import json
import shutil

import pytest

from comfy.workflows import load_workflows
from core import jobservice
from core.paths import resource_root
from tests.bot.conftest import SPANISH_USERS, World, results

FILES = ["style.safetensors", "ink_wash.safetensors", "pixel_art.safetensors", "secret.safetensors"]


def lora_loader(files: list[str]) -> dict:
    """ComfyUI's LoraLoaderModelOnly as /object_info describes it, with `files` in its LoRA folder."""
    return {"LoraLoaderModelOnly": {
        "input": {"required": {"model": ["MODEL"], "lora_name": [files],
                               "strength_model": ["FLOAT", {"default": 1.0, "min": -100.0, "max": 100.0, "step": 0.01}]}},
        "input_order": {"required": ["model", "lora_name", "strength_model"]}, "output": ["MODEL"],
        "output_is_list": [False], "output_name": ["MODEL"], "name": "LoraLoaderModelOnly",
        "display_name": "LoraLoaderModelOnly", "description": "", "python_module": "nodes", "category": "loaders",
        "output_node": False}}


@pytest.fixture
async def lora_world(world: World, fake_comfy, tmp_path):
    """Z-Image Turbo with a LoRA loader between the model and the sampler; ComfyUI has four LoRAs."""
    fake_comfy.add_object_info(lora_loader(FILES))
    folder = tmp_path / "flujos"
    shutil.copytree(resource_root() / "flujos", folder)
    graph = json.loads((folder / "z_image_turbo.json").read_text())
    graph["11"] = {"class_type": "LoraLoaderModelOnly",
                   "inputs": {"model": ["1", 0], "lora_name": "style.safetensors", "strength_model": 0.8}}
    graph["4"]["inputs"]["model"] = ["11", 0]
    (folder / "z_image_turbo.json").write_text(json.dumps(graph))
    manifest_path = folder / "z_image_turbo.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["loras"] = [{"label": "Style", "node": "11", "value": "style.safetensors", "strength": 0.8,
                          "strength_limits": {"min": 0.0, "max": 1.5}}]
    manifest_path.write_text(json.dumps(manifest))
    world.job_service.set_workflows(load_workflows(folder))
    await world.admin.slash(world.general, "admin loras", allow="style.safetensors, ink_wash.safetensors, pixel_art.safetensors")
    return world


async def test_lora_is_offered_from_comfyuis_list_filtered_by_the_admins(lora_world: World):
    w = lora_world
    r = await w.admin.slash(w.general, "admin loras")
    assert r.response.content.startswith("Members may pick: `style.safetensors`, `ink_wash.safetensors`")
    choices = await w.alice.autocomplete(w.general, "imagine", "lora", "", model="z_image_turbo")
    assert [c["value"] for c in choices] == ["style.safetensors", "ink_wash.safetensors", "pixel_art.safetensors"]
    choices = await w.alice.autocomplete(w.general, "imagine", "lora", "ink", model="z_image_turbo")
    assert [c["value"] for c in choices] == ["ink_wash.safetensors"]
    # A new bot (a restart) reads the allow-list from the database.
    await w.env.restart_bot(w.make_bot())
    choices = await w.alice.autocomplete(w.general, "imagine", "lora", "", model="z_image_turbo")
    assert len(choices) == 3


async def test_a_lora_copied_into_comfyui_is_offered_without_a_restart(lora_world: World, fake_comfy, monkeypatch):
    w = lora_world
    await w.admin.slash(w.general, "admin loras", allow="style.safetensors, watercolor.safetensors")
    offered = lambda choices: [c["value"] for c in choices]   # noqa: E731
    assert offered(await w.alice.autocomplete(w.general, "imagine", "lora", "", model="z_image_turbo")) == \
        ["style.safetensors"]
    fake_comfy.add_object_info(lora_loader(FILES + ["watercolor.safetensors"]))   # the host adds a LoRA
    # ComfyUI's list is reused for a minute (autocomplete asks on every key)...
    assert offered(await w.alice.autocomplete(w.general, "imagine", "lora", "", model="z_image_turbo")) == \
        ["style.safetensors"]
    monkeypatch.setattr(jobservice, "LORA_LIST_KEEP_S", 0.0)   # ...then asked again
    assert offered(await w.alice.autocomplete(w.general, "imagine", "lora", "", model="z_image_turbo")) == \
        ["style.safetensors", "watercolor.safetensors"]


async def test_the_chosen_lora_and_strength_reach_the_graph(lora_world: World, fake_comfy):
    w = lora_world
    await w.alice.slash(w.general, "imagine", prompt="a harbour", model="z_image_turbo", lora="ink_wash.safetensors",
                        lora_strength=1.2)
    session = w.session_of(w.alice)
    await w.until(lambda: len(results(session)) == 1, advance=2)
    job = await w.job_service.get(1)
    assert job.request.loras == (("ink_wash.safetensors", 1.2),)
    sent = next(b["prompt"] for b in fake_comfy.received_prompts if "11" in b["prompt"])   # the graph ComfyUI got
    assert sent["11"]["inputs"]["lora_name"] == "ink_wash.safetensors"
    assert sent["11"]["inputs"]["strength_model"] == 1.2


@pytest.mark.parametrize("spanish", [False, True])
async def test_bad_loras_are_refused_with_the_closest_names(lora_world: World, spanish):
    w = lora_world
    if spanish:
        SPANISH_USERS.add(w.alice.id)
    r = await w.alice.slash(w.general, "imagine", prompt="x", model="z_image_turbo", lora="inkwash")
    assert r.response.content == ("Aquí no hay ningún LoRA llamado «inkwash». Los más parecidos: `ink_wash.safetensors`."
                                  if spanish else
                                  "There is no LoRA called “inkwash” here. The closest: `ink_wash.safetensors`.")
    r = await w.alice.slash(w.general, "imagine", prompt="x", model="z_image_turbo", lora="secret.safetensors")
    assert "secret.safetensors" in r.response.content and "`style.safetensors`" in r.response.content   # not allowed
    r = await w.alice.slash(w.general, "imagine", prompt="x", model="z_image_turbo", lora="style.safetensors",
                            lora_strength=3.5)
    assert r.response.content == ("La intensidad del LoRA debe estar entre 0 y 1,5." if spanish
                                  else "The LoRA strength must be between 0 and 1.5.")
    r = await w.alice.slash(w.general, "imagine", prompt="x", model="flux_schnell", lora="style.safetensors")
    assert "Flux Schnell" in r.response.content and ("no admite LoRA" if spanish else "takes no LoRA") in r.response.content
    assert w.job_service.queued() == [] and w.session_of(w.alice) is None

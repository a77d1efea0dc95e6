"""The fake ComfyUI loads models like the real one: loads cost time, VRAM holds a few, /free empties
it; its outputs have the size the prompt asks for, saved as SaveImage saves them."""
from __future__ import annotations

import asyncio
import io
import struct
import zlib

import pytest
from PIL import Image

from comfy.client import ComfyClient
from comfy.events import PromptStarted
from comfy.workflows import FillParams, load_workflows
from core.paths import resource_root
from tests.fake_comfyui import FakeComfyUI
from tests.fake_comfyui.models import GiB, ModelMemory, model_files
from tests.fixtures_core import shipped_object_info

WORKFLOWS = load_workflows(resource_root() / "flujos")
FLUX = frozenset({"flux1-schnell-Q4_K_S.gguf", "clip_l.safetensors", "t5xxl_fp8_e4m3fn.safetensors", "ae.safetensors"})
ZIMAGE = frozenset({"z_image_turbo_bf16.safetensors", "qwen_3_4b.safetensors", "ae.safetensors"})


def graph(workflow: str, prompt: str = "a fox", **params) -> dict:
    params.setdefault("width", 256)
    params.setdefault("height", 256)
    return WORKFLOWS.get(workflow).fill(FillParams(prompt=prompt, seed=1, **params)).graph


@pytest.fixture
async def fake_and_client():
    async def make(**options):
        options = {"exec_ms": 5, "progress_steps": 1, "output_compress_level": 1, **options}
        fake = FakeComfyUI(extra_object_info=shipped_object_info(), **options)
        await fake.start()
        client = ComfyClient(fake.url, request_timeout=5.0, reconnect_min_s=0.02)
        await client.connect()
        made.append((fake, client))
        return fake, client
    made: list = []
    yield make
    for fake, client in made:
        await client.close()
        await fake.stop()


async def run(client: ComfyClient, workflow: dict):
    submitted = await client.submit(workflow)
    return await client.wait(submitted.prompt_id, timeout=10)


def test_a_prompts_model_is_the_files_its_loaders_name():
    assert model_files(graph("flux_schnell")) == FLUX
    assert model_files(graph("z_image_turbo")) == ZIMAGE
    assert model_files({"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8}}}) == frozenset()


def test_a_load_costs_a_fixed_time_or_a_time_per_gib_of_what_is_missing():
    fixed = ModelMemory(load_ms=1500)
    assert fixed.load_seconds(FLUX) == 1.5
    fixed.use("p1", FLUX)
    assert fixed.load_seconds(FLUX) == 0.0
    by_size = ModelMemory(load_ms_per_gib=1000, file_sizes={"z_image_turbo_bf16.safetensors": 12 * GiB,
                                                            "qwen_3_4b.safetensors": 8 * GiB,
                                                            "ae.safetensors": GiB // 2})
    by_size.use("p1", FLUX)          # ae.safetensors is on the GPU already: only the rest loads
    assert by_size.load_seconds(ZIMAGE) == pytest.approx(20.0)


async def test_one_model_fits_by_default_so_alternating_models_reload_each_time(fake_and_client):
    fake, client = await fake_and_client()
    for workflow in ("flux_schnell", "flux_schnell", "z_image_turbo", "flux_schnell"):
        await run(client, graph(workflow, prompt=f"{workflow} {len(fake.models.loads)}"))
    assert [model for _, model in fake.models.loads] == [FLUX, ZIMAGE, FLUX]
    assert fake.models.resident == [FLUX]


async def test_with_room_for_two_models_both_stay_loaded(fake_and_client):
    fake, client = await fake_and_client(model_slots=2)
    for n, workflow in enumerate(("flux_schnell", "z_image_turbo", "flux_schnell", "z_image_turbo")):
        await run(client, graph(workflow, prompt=f"job {n}"))
    assert [model for _, model in fake.models.loads] == [FLUX, ZIMAGE]


async def test_a_load_takes_its_time_inside_the_first_node_that_runs(fake_and_client):
    fake, client = await fake_and_client(model_load_ms=300)
    loop_time = asyncio.get_running_loop().time
    started = loop_time()
    await run(client, graph("flux_schnell"))
    assert loop_time() - started >= 0.3       # a lower bound: the fake did wait for the load
    assert fake.models.loads[0][1] == FLUX


async def test_system_stats_vram_free_follows_the_loaded_models_and_free_empties_it(fake_and_client):
    fake, client = await fake_and_client()
    empty = (await client.system_stats()).devices[0].vram_free
    await run(client, graph("z_image_turbo"))
    loaded = (await client.system_stats()).devices[0].vram_free
    assert empty - loaded == fake.models.size_of(ZIMAGE)
    await client.free(unload_models=True, free_memory=True)
    await fake.until_idle()
    assert (await client.system_stats()).devices[0].vram_free == empty
    assert fake.models.resident == []


async def test_free_memory_alone_also_unloads_and_drops_the_cache(fake_and_client):
    fake, client = await fake_and_client()
    workflow = graph("flux_schnell")
    await run(client, workflow)
    await client.free(unload_models=False, free_memory=True)
    await fake.until_idle()
    assert fake.models.resident == []
    again = await run(client, workflow)
    assert not again.cached and len(fake.models.loads) == 2


async def test_free_while_a_prompt_runs_acts_after_it_ends(fake_and_client):
    fake, client = await fake_and_client(exec_ms=200)
    started = asyncio.get_running_loop().create_future()
    client.add_listener(lambda event: isinstance(event, PromptStarted) and not started.done()
                        and started.set_result(None))
    submitted = await client.submit(graph("flux_schnell"))
    await started
    await client.free()
    assert fake._free_flags == {"unload_models": True, "free_memory": True}
    await client.wait(submitted.prompt_id, timeout=10)
    await fake.until_idle()
    assert fake.models.resident == [] and len(fake.models.loads) == 1


async def test_outputs_have_the_latent_size_and_are_saved_like_save_image(fake_and_client):
    fake, client = await fake_and_client()
    fake.output_compress_level = 4
    result = await run(client, graph("z_image_turbo", width=1024, height=1024, batch_size=2))
    assert len(result.images) == 2
    data = await client.view(result.images[0])
    image = Image.open(io.BytesIO(data))
    assert image.size == (1024, 1024) and image.format == "PNG"
    assert "prompt" in image.text
    assert len(data) > 500_000                    # pixels that compress like a real picture
    assert _zlib_level_class(data) == 1           # levels 2-5 (SaveImage uses 4)


async def test_an_edit_output_is_its_input_scaled_to_one_megapixel(fake_and_client):
    fake, client = await fake_and_client()
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 20, 30)).save(buf, "PNG")
    uploaded = await client.upload_image(buf.getvalue(), "input.png")
    result = await run(client, WORKFLOWS.get("flux_edit").fill(
        FillParams(prompt="make it red", seed=1, image=uploaded.load_image_value)).graph)
    image = Image.open(io.BytesIO(await client.view(result.images[0])))
    assert image.size == (1248, 832)              # round(300 * s), round(200 * s) with s² = 2**20 / 60000, in 8s


def _zlib_level_class(png: bytes) -> int:
    """FLEVEL of the first IDAT's zlib header: 0 (levels 0-1), 1 (2-5), 2 (6), 3 (7-9)."""
    at = 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        if kind == b"IDAT":
            zlib.decompressobj().decompress(png[at + 8:at + 8 + length])   # it is a zlib stream
            return png[at + 9] >> 6
        at += 12 + length
    raise AssertionError("no IDAT")

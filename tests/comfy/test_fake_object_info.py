"""The fake ComfyUI's object_info: built once, reused per POST /prompt, rebuilt when it changes."""
from __future__ import annotations

import copy
import io

from PIL import Image

from comfy.client import ComfyClient
from tests.fake_comfyui import FakeComfyUI
from tests.fake_comfyui import server as fake_server

EXTRA_NODE = {"MyNode": {"input": {"required": {}}, "input_order": {"required": []}, "output": ["IMAGE"],
                         "output_is_list": [False], "output_name": ["IMAGE"], "name": "MyNode",
                         "display_name": "MyNode", "description": "", "python_module": "custom",
                         "category": "x", "output_node": False}}


def image_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def count_deepcopies(monkeypatch) -> list[int]:
    calls = [0]
    real = copy.deepcopy

    def counting(value, *args, **kwargs):
        calls[0] += 1
        return real(value, *args, **kwargs)
    monkeypatch.setattr(fake_server.copy, "deepcopy", counting)
    return calls


async def test_prompts_reuse_one_copy_of_object_info(fake_comfy, comfy_client, comfy_workflow, monkeypatch):
    fake_comfy.object_info()                       # built once
    calls = count_deepcopies(monkeypatch)
    for seed in range(5):
        comfy_workflow["2"]["inputs"]["seed"] = seed
        await comfy_client.wait((await comfy_client.submit(comfy_workflow)).prompt_id, timeout=5)
    assert calls[0] == 0


async def test_new_definitions_and_uploads_rebuild_it(fake_comfy, comfy_client):
    before = fake_comfy.object_info()
    assert "MyNode" not in before
    fake_comfy.add_object_info(EXTRA_NODE)
    assert "MyNode" in fake_comfy.object_info()
    fake_comfy._object_info.pop("MyNode")          # direct changes to the definitions count too
    assert "MyNode" not in fake_comfy.object_info()
    fake_comfy._object_info.update(EXTRA_NODE)
    assert "MyNode" in await comfy_client.object_info(refresh=True)

    uploaded = await comfy_client.upload_image(image_bytes(), "fresh.png")
    listed = fake_comfy.object_info()["LoadImage"]["input"]["required"]["image"][0]
    assert uploaded.name in listed
    served = await comfy_client.object_info(refresh=True)
    assert uploaded.name in served["LoadImage"]["input"]["required"]["image"][0]


async def test_callers_may_drop_classes_without_touching_the_cache(fake_comfy):
    mine = fake_comfy.object_info()
    mine.pop("KSampler")
    assert "KSampler" in fake_comfy.object_info()


async def test_extra_object_info_is_copied():
    extra = copy.deepcopy(EXTRA_NODE)
    async with FakeComfyUI(extra_object_info=extra) as fake:
        extra["MyNode"]["display_name"] = "changed by the caller"
        async with ComfyClient(fake.url) as client:
            assert (await client.object_info())["MyNode"]["display_name"] == "MyNode"

"""ComfyClient against the in-process fake ComfyUI: submit/wait, events, errors, previews, uploads."""
from __future__ import annotations

import asyncio
import copy
import gc
import io

import pytest
from PIL import Image

from comfy import events as ev
from comfy.client import ComfyClient, ImageRef, PromptResult, QueueSnapshot
from comfy.errors import (ComfyHTTPError, ExecutionFailed, PromptInterrupted, PromptLost, WorkflowRejected)

FLUX_LIKE = {
    "1": {"class_type": "UnetLoaderGGUF", "inputs": {"unet_name": "flux1-dev-Q4_K_S.gguf"}},
    "2": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "clip_l.safetensors",
                                                     "clip_name2": "t5xxl_fp8_e4m3fn.safetensors", "type": "flux"}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["2", 0]}},
    "4": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["3", 0]}},
    "5": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 96, "height": 64, "batch_size": 1}},
    "6": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "seed": 7, "steps": 4, "cfg": 1.0,
                                               "sampler_name": "euler", "scheduler": "simple",
                                               "positive": ["3", 0], "negative": ["4", 0],
                                               "latent_image": ["5", 0], "denoise": 1.0}},
    "7": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["7", 0]}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "discordbot/flux"}},
}


async def test_submit_wait_and_view_real_png(comfy_client, comfy_workflow):
    submitted = await comfy_client.submit(comfy_workflow)
    assert submitted.node_errors_text is None
    result = await comfy_client.wait(submitted.prompt_id, timeout=5)
    assert result == PromptResult(submitted.prompt_id, [
        ImageRef("imagine_00001_.png", "discordbot", "output"),
        ImageRef("imagine_00002_.png", "discordbot", "output")], cached=False)
    data = await comfy_client.view(result.images[0])
    image = Image.open(io.BytesIO(data))
    assert image.size == (64, 48)
    assert '"ImageAddNoise"' in image.text["prompt"]  # ComfyUI's metadata chunk, for downstream stripping


async def test_events_reach_listener_in_order(comfy_client, comfy_workflow):
    seen = []
    comfy_client.add_listener(seen.append)
    submitted = await comfy_client.submit(comfy_workflow)
    await comfy_client.wait(submitted.prompt_id, timeout=5)
    pid = submitted.prompt_id
    kinds = [type(e).__name__ for e in seen if not isinstance(e, ev.QueueStatus)]
    assert kinds == ["PromptStarted", "PromptCached", "NodeExecuting", "NodeExecuting", "NodeExecuting",
                     "NodeOutput", "PromptSucceeded"]
    succeeded = [e for e in seen if isinstance(e, ev.PromptSucceeded)][0]
    assert succeeded.prompt_id == pid and len(succeeded.outputs) == 2
    assert any(isinstance(e, ev.QueueStatus) and e.remaining == 1 for e in seen)


async def test_cached_resubmit_returns_old_files(comfy_client, comfy_workflow):
    first = await comfy_client.wait((await comfy_client.submit(comfy_workflow)).prompt_id, timeout=5)
    second = await comfy_client.wait((await comfy_client.submit(comfy_workflow)).prompt_id, timeout=5)
    assert second.cached and not first.cached
    assert second.images == first.images
    comfy_workflow["2"]["inputs"]["seed"] = 43
    third = await comfy_client.wait((await comfy_client.submit(comfy_workflow)).prompt_id, timeout=5)
    assert not third.cached and third.images[0].filename == "imagine_00003_.png"


async def test_client_chosen_prompt_id(comfy_client, comfy_workflow):
    submitted = await comfy_client.submit(comfy_workflow, prompt_id="job-42")
    assert submitted.prompt_id == "job-42"
    assert (await comfy_client.wait("job-42", timeout=5)).prompt_id == "job-42"


async def test_rejected_workflow_lines_name_node_class_input(comfy_client, comfy_workflow):
    comfy_workflow["1"]["inputs"]["height"] = 99999
    del comfy_workflow["3"]["inputs"]["images"]
    comfy_workflow["4"] = {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}}
    comfy_workflow["3"]["inputs"]["images"] = ["2", 0]
    with pytest.raises(WorkflowRejected) as info:
        await comfy_client.submit(comfy_workflow)
    err = info.value
    assert err.error_type == "prompt_outputs_failed_validation"
    assert err.lines == ["node 1 (EmptyImage) input 'height': Value 99999 bigger than max of 16384"]
    assert not comfy_client._tracked


async def test_unknown_class_rejected_readably(comfy_client, comfy_workflow):
    comfy_workflow["2"]["class_type"] = "NoSuchNode"
    with pytest.raises(WorkflowRejected, match="NoSuchNode does not exist.*Node ID '#2'"):
        await comfy_client.submit(comfy_workflow)


async def test_200_with_node_errors_is_surfaced_and_still_runs(comfy_client, comfy_workflow):
    comfy_workflow["4"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "x"}}
    submitted = await comfy_client.submit(comfy_workflow)
    assert submitted.node_errors_text == "node 4 (SaveImage) input 'images': Required input is missing"
    assert submitted.rejection is not None and submitted.rejection.accepted
    result = await comfy_client.wait(submitted.prompt_id, timeout=5)
    assert len(result.images) == 2


async def test_execution_error_strips_server_paths(fake_comfy, comfy_client, comfy_workflow):
    fake_comfy.fail_next_prompt(exception_type="torch.OutOfMemoryError",
                                message="Allocation failed in /home/gpu/ComfyUI/comfy/model_management.py")
    seen = []
    comfy_client.add_listener(seen.append)
    submitted = await comfy_client.submit(comfy_workflow)
    with pytest.raises(ExecutionFailed) as info:
        await comfy_client.wait(submitted.prompt_id, timeout=5)
    err = info.value
    assert (err.node_id, err.node_type, err.exception_type) == ("1", "EmptyImage", "torch.OutOfMemoryError")
    assert "/home/gpu" not in str(err) and "model_management.py" in str(err)
    assert any(isinstance(e, ev.PromptFailed) and e.error.node_id == "1" for e in seen)


async def test_runtime_error_from_non_image_upload(fake_comfy, comfy_client):
    uploaded = await comfy_client.upload_image(b"this is not an image at all", "not_an_image.txt")
    workflow = {"1": {"class_type": "LoadImage", "inputs": {"image": uploaded.load_image_value}},
                "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
                "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "discordbot/err"}}}
    submitted = await comfy_client.submit(workflow)
    with pytest.raises(ExecutionFailed) as info:
        await comfy_client.wait(submitted.prompt_id, timeout=5)
    assert info.value.exception_type == "PIL.UnidentifiedImageError"
    assert str(fake_comfy.root) not in str(info.value)
    assert "cannot identify image file 'not_an_image.txt'" in str(info.value)
    entry = await comfy_client.history(submitted.prompt_id)
    assert entry.status == "error" and entry.error.node_type == "LoadImage"


async def test_interrupt_running_prompt(fake_comfy, comfy_client, comfy_workflow):
    fake_comfy.exec_ms = 2000
    started = asyncio.Event()
    comfy_client.add_listener(lambda e: started.set() if isinstance(e, ev.NodeExecuting) else None)
    submitted = await comfy_client.submit(comfy_workflow)
    await asyncio.wait_for(started.wait(), 5)
    await comfy_client.interrupt(submitted.prompt_id)
    with pytest.raises(PromptInterrupted):
        await comfy_client.wait(submitted.prompt_id, timeout=5)
    entry = await comfy_client.history(submitted.prompt_id)
    assert entry.interrupted and entry.status == "error"


async def test_queue_snapshot_and_delete_pending_gives_prompt_lost(fake_comfy, comfy_client, comfy_workflow):
    fake_comfy.exec_ms = 3000
    ids = []
    for seed in range(3):
        comfy_workflow["2"]["inputs"]["seed"] = seed
        ids.append((await comfy_client.submit(comfy_workflow)).prompt_id)
    snapshot = await comfy_client.queue()
    assert snapshot == QueueSnapshot(running=[ids[0]], pending=ids[1:])
    await comfy_client.delete_pending([ids[2]])
    with pytest.raises(PromptLost):
        await comfy_client.wait(ids[2], timeout=5)
    assert (await comfy_client.queue()).pending == [ids[1]]
    await comfy_client.interrupt()
    with pytest.raises(PromptInterrupted):
        await comfy_client.wait(ids[0], timeout=5)


async def test_a_deleted_prompt_nobody_waits_for_logs_no_never_retrieved(fake_comfy, comfy_client, comfy_workflow,
                                                                         caplog):
    fake_comfy.exec_ms = 3000
    ids = []
    for seed in range(2):
        comfy_workflow["2"]["inputs"]["seed"] = seed
        ids.append((await comfy_client.submit(comfy_workflow)).prompt_id)
    await comfy_client.delete_pending([ids[1]])        # nobody ever calls wait(ids[1])
    for _ in range(500):
        if ids[1] not in comfy_client._tracked:
            break
        await asyncio.sleep(0.01)
    future = comfy_client._finished[ids[1]]
    assert future.done() and isinstance(future._exception, PromptLost)   # _exception: reading it retrieves nothing
    del future
    comfy_client._finished.clear()                     # what eviction or closing the client does
    gc.collect()
    await asyncio.sleep(0)
    assert "never retrieved" not in caplog.text
    await comfy_client.interrupt()
    with pytest.raises(PromptInterrupted):
        await comfy_client.wait(ids[0], timeout=5)


async def test_wait_for_prompt_submitted_elsewhere_uses_history(fake_comfy, comfy_client, comfy_workflow):
    other = ComfyClient(fake_comfy.url)
    try:
        submitted = await other.submit(comfy_workflow)  # never connected: runs silently
        while submitted.prompt_id not in fake_comfy.history:
            await asyncio.sleep(0.01)
    finally:
        await other.close()
    result = await comfy_client.wait(submitted.prompt_id, timeout=5)
    assert [r.filename for r in result.images] == ["imagine_00001_.png", "imagine_00002_.png"]
    with pytest.raises(PromptLost):
        await comfy_client.wait("never-existed", timeout=5)


async def test_progress_and_previews_with_metadata(comfy_client):
    seen = []
    comfy_client.add_listener(seen.append)
    submitted = await comfy_client.submit(copy.deepcopy(FLUX_LIKE))
    result = await comfy_client.wait(submitted.prompt_id, timeout=5)
    assert result.images == [ImageRef("flux_00001_.png", "discordbot", "output")]
    progress = [e for e in seen if isinstance(e, ev.PromptProgress)]
    assert [(p.value, p.max, p.node) for p in progress] == [(1, 3, "6"), (2, 3, "6"), (3, 3, "6")]
    previews = [e for e in seen if isinstance(e, ev.PreviewImage)]
    assert len(previews) == 3
    assert all(p.prompt_id == submitted.prompt_id and p.node == "6" and p.mime == "image/jpeg" for p in previews)
    assert previews[0].image[:2] == b"\xff\xd8"


def test_legacy_binary_preview_is_attributed_to_last_progress():
    client = ComfyClient("http://127.0.0.1:1")
    seen = []
    client.add_listener(seen.append)
    client._on_text('{"type": "progress", "data": {"value": 0, "max": 2, "prompt_id": "p1", "node": "3"}}')
    client._on_binary(b"\x00\x00\x00\x01\x00\x00\x00\x02\x89PNG....")
    client._on_text('{"type": "progress_state", "data": {"prompt_id": "p1", "nodes": {}}}')
    assert seen[-1] == ev.PreviewImage("p1", "3", b"\x89PNG....", "image/png")
    assert len(seen) == 2


async def test_prompt_text_arrives_byte_exact(fake_comfy, comfy_client):
    text = 'He said "hi" \\ and left.\nLine two\t🐱🚀 ünïcödé ' + "x" * 4000
    workflow = copy.deepcopy(FLUX_LIKE)
    workflow["3"]["inputs"]["text"] = text
    submitted = await comfy_client.submit(workflow)
    await comfy_client.wait(submitted.prompt_id, timeout=5)
    received = fake_comfy.received_prompts[-1]["prompt"]["3"]["inputs"]["text"]
    assert received == text and received.encode("utf-8") == text.encode("utf-8")
    entry = await comfy_client.history(submitted.prompt_id)
    assert entry.raw["prompt"][2]["3"]["inputs"]["text"] == text


async def test_upload_rename_subfolder_and_odd_names(comfy_client):
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, "PNG")
    first = await comfy_client.upload_image(png.getvalue(), "bot_input.png")
    assert (first.name, first.subfolder, first.type) == ("bot_input.png", "", "input")
    same = await comfy_client.upload_image(png.getvalue(), "bot_input.png")
    assert same.name == "bot_input.png"
    other = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(other, "PNG")
    renamed = await comfy_client.upload_image(other.getvalue(), "bot_input.png")
    assert renamed.name == "bot_input (1).png" and renamed.load_image_value == "bot_input (1).png"
    sub = await comfy_client.upload_image(png.getvalue(), "edit_src.png", subfolder="discord", overwrite=True)
    assert sub.load_image_value == "discord/edit_src.png"
    odd = await comfy_client.upload_image(png.getvalue(), "../my pic é.png")
    assert odd.name == "my_pic__.png"
    assert await comfy_client.view(ImageRef(sub.name, sub.subfolder, "input")) == png.getvalue()
    info = await comfy_client.object_info(refresh=True)
    assert "bot_input (1).png" in info["LoadImage"]["input"]["required"]["image"][0]


async def test_view_missing_file_is_http_404(comfy_client):
    with pytest.raises(ComfyHTTPError) as info:
        await comfy_client.view(ImageRef("nope_00001_.png", "", "output"))
    assert info.value.status == 404


async def test_system_stats_and_cached_object_info(fake_comfy, comfy_client):
    stats = await comfy_client.system_stats()
    assert stats.comfyui_version == "0.3.64"
    assert stats.devices[0].type == "cuda" and stats.devices[0].vram_total > stats.devices[0].vram_free > 0
    info = await comfy_client.object_info()
    assert {"KSampler", "UnetLoaderGGUF", "SaveImage"} <= set(info)
    before = sum(1 for _, path, _ in fake_comfy.request_log if path == "/object_info")
    assert await comfy_client.object_info() is info
    assert sum(1 for _, path, _ in fake_comfy.request_log if path == "/object_info") == before


async def test_listener_errors_do_not_break_the_socket(comfy_client, comfy_workflow, caplog):
    def broken(event):
        raise RuntimeError("listener bug")

    comfy_client.add_listener(broken)
    result = await comfy_client.wait((await comfy_client.submit(comfy_workflow)).prompt_id, timeout=5)
    assert result.images
    comfy_client.remove_listener(broken)
    assert "listener" in caplog.text


async def test_extra_object_info_is_injectable():
    from tests.fake_comfyui import FakeComfyUI
    extra = {"MyNode": {"input": {"required": {}}, "input_order": {"required": []}, "output": ["IMAGE"],
                        "output_is_list": [False], "output_name": ["IMAGE"], "name": "MyNode",
                        "display_name": "MyNode", "description": "", "python_module": "custom",
                        "category": "x", "output_node": False}}
    async with FakeComfyUI(extra_object_info=extra) as fake:
        async with ComfyClient(fake.url) as client:
            assert "MyNode" in await client.object_info()

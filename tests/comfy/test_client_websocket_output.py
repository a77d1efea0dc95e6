"""Images from every kind of output node: SaveImageWebsocket's binary frames come back with the
result (there is nothing to /view for them), PreviewImage's temp files are listed like SaveImage's."""
from __future__ import annotations

import copy
import io
import json
from pathlib import Path

from PIL import Image

from comfy import events as ev
from tests.comfy.test_client import FLUX_LIKE

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "comfyui" / "progress_websocket_output.json"


async def test_save_image_websocket_frames_are_the_results_images(comfy_client):
    workflow = json.loads(RECORDED.read_text(encoding="utf-8"))     # SaveImageWebsocket + PreviewImage, batch 3
    previews = []
    comfy_client.add_listener(lambda event: previews.append(event) if isinstance(event, ev.PreviewImage) else None)
    submitted = await comfy_client.submit(workflow)
    result = await comfy_client.wait(submitted.prompt_id, timeout=10)
    assert len(result.image_data) == 3 and {image.node for image in result.image_data} == {"3"}
    for image_bytes in result.image_data:
        with Image.open(io.BytesIO(image_bytes.data)) as image:
            assert image.format == "PNG"
    assert [ref.type for ref in result.images] == ["temp"] * 3          # PreviewImage's, for /view
    assert len([p for p in previews if p.node == "3"]) == 3              # still shown as previews too


async def test_sampler_previews_are_not_mistaken_for_outputs(comfy_client):
    workflow = copy.deepcopy(FLUX_LIKE)
    workflow["9"] = {"class_type": "SaveImageWebsocket", "inputs": {"images": ["8", 0]}}
    previews = []
    comfy_client.add_listener(lambda event: previews.append(event) if isinstance(event, ev.PreviewImage) else None)
    submitted = await comfy_client.submit(workflow)
    result = await comfy_client.wait(submitted.prompt_id, timeout=10)
    assert {p.node for p in previews} == {"6", "9"}                      # the sampler's and the output's
    assert len(result.image_data) == 1 and result.images == []
    with Image.open(io.BytesIO(result.image_data[0].data)) as image:
        assert image.format == "PNG"

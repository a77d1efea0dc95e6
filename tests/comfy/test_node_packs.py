"""Missing custom nodes are named with the pack that provides them (ComfyUI-Manager's map, shipped),
in --check-workflows, in validation and when ComfyUI refuses a job at run time."""
from __future__ import annotations

import io
import json
from pathlib import Path

from comfy.check_workflows import check_workflows
from comfy.client import ComfyClient
from comfy.errors import WorkflowRejected
from comfy.node_packs import build_index, missing_class_message, missing_classes_in, shipped_index
from tests.fake_comfyui.server import FakeComfyUI

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = ROOT / "tests" / "fixtures" / "workflows" / "original"
CORE_NODES = ROOT / "tests" / "fixtures" / "object_info" / "comfyui_0.3.64_fixture_nodes.json"
REJECTED = ROOT / "tests" / "fixtures" / "comfyui" / "http" / "prompt_error_unknown_class_type.json"


def test_the_shipped_map_says_where_it_came_from():
    index = shipped_index()
    assert index.source["repository"] == "https://github.com/Comfy-Org/ComfyUI-Manager"
    assert index.source["commit"] and index.source["commit_date"] and index.source["packs"] > 5000


def test_a_class_goes_to_the_pack_the_map_marks_as_its_home():
    # UnetLoaderGGUF is listed by four packs; ComfyUI-GGUF claims it
    [first, *_] = shipped_index().packs_for("UnetLoaderGGUF")
    assert (first.title, first.short) == ("ComfyUI-GGUF", "city96/ComfyUI-GGUF")
    message = missing_class_message("UnetLoaderGGUF")
    assert message.startswith("UnetLoaderGGUF is not installed in ComfyUI: install the ComfyUI-GGUF custom nodes "
                              "(city96/ComfyUI-GGUF, https://github.com/city96/ComfyUI-GGUF)")


def test_other_packs_than_gguf_are_named_too():
    assert "laksjdjf/Batch-Condition-ComfyUI" in missing_class_message("CLIP Text Encode (Batch)")
    assert "Kosinkadink/ComfyUI-VideoHelperSuite" in missing_class_message("VHS_VideoCombine")
    assert "rgthree/rgthree-comfy" in missing_class_message("Power Lora Loader (rgthree)")


def test_a_core_node_newer_than_comfyui_says_update_comfyui():
    assert missing_class_message("EmptyFlux2LatentImage").startswith(
        "EmptyFlux2LatentImage is a ComfyUI core node that this ComfyUI does not have: update ComfyUI")


def test_an_unknown_class_gets_the_generic_advice():
    assert "no known custom node pack provides it" in missing_class_message("NoSuchNode")


def test_the_index_ranks_home_then_comfyui_and_reads_patterns():
    index = build_index({
        "https://github.com/a/one": [["Shared", "OnlyOne"], {"title_aux": "One"}],
        "https://github.com/b/two": [["Shared"], {"title_aux": "Two", "preemptions": ["Shared"]}],
        "https://github.com/c/three": [[], {"title_aux": "Three", "nodename_pattern": "^Three\\."}],
        "https://example.com/broken": "not a list",
    })
    assert [p.title for p in index.packs_for("Shared")] == ["Two"]
    assert [p.title for p in index.packs_for("OnlyOne")] == ["One"]
    assert [p.title for p in index.packs_for("Three.Loader")] == ["Three"]
    assert index.packs_for("Nothing") == ()


def test_comfyuis_cannot_execute_text_names_the_missing_classes():
    recorded = json.loads(REJECTED.read_text(encoding="utf-8"))["response"]["body"]["json"]
    assert recorded["error"]["message"] == "Cannot execute because node NoSuchNode does not exist."
    assert missing_classes_in(recorded["error"]["message"]) == ["NoSuchNode"]
    rejected = WorkflowRejected({**recorded["error"], "message": "Cannot execute because node UnetLoaderGGUF "
                                 "does not exist."}, {})
    assert rejected.missing_classes == ["UnetLoaderGGUF"]
    assert "install the ComfyUI-GGUF custom nodes (city96/ComfyUI-GGUF" in str(rejected)


async def test_a_job_refused_at_run_time_names_the_pack():
    graph = json.loads((ORIGINAL / "z-image_imagine.json").read_text(encoding="utf-8"))
    core_nodes = json.loads(CORE_NODES.read_text(encoding="utf-8"))
    # the fake knows the core nodes of this workflow but has no ComfyUI-GGUF: CLIPLoaderGGUF is unknown
    async with FakeComfyUI(extra_object_info={"KSamplerAdvanced": core_nodes["KSamplerAdvanced"]}) as fake:
        async with ComfyClient(fake.url) as client:
            try:
                await client.submit(graph)
            except WorkflowRejected as exc:
                text = str(exc)
            else:
                raise AssertionError("the fake accepted a workflow with an unknown node")
    assert "does not exist" in text and "city96/ComfyUI-GGUF" in text


async def test_check_workflows_against_the_fake_names_the_pack_for_each_missing_node(tmp_path):
    folder = tmp_path / "flujos"
    folder.mkdir()
    for path in ORIGINAL.glob("*.json"):
        (folder / path.name).write_bytes(path.read_bytes())
    out = io.StringIO()
    async with FakeComfyUI() as fake:
        code = await check_workflows(folder, fake.url, out=out)
    text = out.getvalue()
    assert code == 1
    assert "CLIPLoaderGGUF is not installed in ComfyUI: install the ComfyUI-GGUF custom nodes" in text
    assert "CLIP Text Encode (Batch) is not installed in ComfyUI: install the Batch-Condition-ComfyUI" in text
    assert "EmptyFlux2LatentImage is a ComfyUI core node that this ComfyUI does not have: update ComfyUI" in text

"""Workflow templates: loading flujos/, bad files, fill(), model settings, manifest proposal."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from comfy.errors import ComfyError
from comfy.workflows import (
    SEED_MAX_64,
    FillError,
    FillParams,
    InputRef,
    WorkflowError,
    load_workflow,
    load_workflows,
    propose_manifest,
    save_manifest,
)

FLUJOS = Path(__file__).resolve().parents[2] / "flujos"
SHIPPED = ("flux_schnell", "z_image_turbo", "flux_edit", "z_image_turbo_vary", "upscale", "upscale_model")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped workflows the test may change."""
    target = tmp_path / "flujos"
    target.mkdir()
    for path in FLUJOS.glob("*.json"):
        shutil.copy(path, target / path.name)
    return target


def _write(path: Path, data) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def _manifest(folder: Path, name: str) -> dict:
    return json.loads((folder / f"{name}.manifest.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ loading

def test_shipped_workflows_load_without_errors():
    workflows = load_workflows(FLUJOS)
    assert workflows.errors == []
    assert set(workflows.templates) == set(SHIPPED)
    for template in workflows.templates.values():
        assert not template.manifest_proposed
        assert "image" in template.manifest.inputs or "prompt" in template.manifest.inputs
    kinds = {name: t.kind for name, t in workflows.templates.items()}
    assert kinds == {"flux_schnell": "imagine", "z_image_turbo": "imagine", "flux_edit": "edit",
                     "z_image_turbo_vary": "vary", "upscale": "upscale", "upscale_model": "upscale"}
    assert {t.name for t in workflows.enabled("imagine")} == {"flux_schnell", "z_image_turbo"}
    # the model-based upscale waits until the admin has the model
    assert not workflows.get("upscale_model").enabled


def test_shipped_workflows_use_the_expected_nodes():
    workflows = load_workflows(FLUJOS)
    classes = {name: {n["class_type"] for n in t.graph.values()} for name, t in workflows.templates.items()}
    assert {"UnetLoaderGGUF", "DualCLIPLoader", "VAELoader", "KSampler", "SaveImage"} <= classes["flux_schnell"]
    assert {"UNETLoader", "CLIPLoader", "ModelSamplingAuraFlow", "EmptySD3LatentImage"} <= classes["z_image_turbo"]
    assert {"LoadImage", "ImageScaleToTotalPixels", "VAEEncode", "ReferenceLatent", "FluxGuidance"} <= classes["flux_edit"]
    schnell = workflows.get("flux_schnell").graph
    sampler = next(n for n in schnell.values() if n["class_type"] == "KSampler")["inputs"]
    assert (sampler["steps"], sampler["cfg"], sampler["sampler_name"], sampler["scheduler"]) == (4, 1.0, "euler", "simple")
    save = next(n for n in schnell.values() if n["class_type"] == "SaveImage")["inputs"]
    assert save["filename_prefix"] == "discordbot/flux_schnell"


def test_non_json_file_is_reported_and_others_still_load(folder):
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    workflows = load_workflows(folder)
    assert set(workflows.templates) == set(SHIPPED)
    [error] = workflows.errors
    assert error.path.name == "broken.json"
    assert "broken.json" in error.message and "not valid JSON" in error.message


def test_ui_format_export_is_rejected_with_the_fix(folder):
    _write(folder / "ui_export.json", {"last_node_id": 9, "nodes": [{"id": 1, "type": "KSampler"}],
                                       "links": [[1, 1, 0, 2, 0, "MODEL"]], "version": 0.4})
    workflows = load_workflows(folder)
    [error] = workflows.errors
    assert "ui_export.json" in error.message
    assert "UI format" in error.message and "Save (API Format)" in error.message
    assert set(workflows.templates) == set(SHIPPED)


def test_node_without_class_type_is_rejected(folder):
    _write(folder / "odd.json", {"1": {"inputs": {}}})
    [error] = load_workflows(folder).errors
    assert "odd.json" in error.message and "class_type" in error.message


@pytest.mark.parametrize(("change", "expected"), [
    (lambda m: m["inputs"].update(prompt={"node": "99", "input": "text"}), "node 99"),
    (lambda m: m["inputs"].update(prompt={"node": "4", "input": "txt"}), "'txt'"),
    (lambda m: m["inputs"].pop("prompt"), "no 'prompt'"),
    (lambda m: m["inputs"].update(prompt={"node": "4", "input": "clip"}), "is a link"),
    (lambda m: m["inputs"].update(colour={"node": "4", "input": "text"}), "unknown role"),
    (lambda m: m.update(kind="video"), "'kind'"),
    (lambda m: m.update(enabled="yes"), "'enabled'"),
    (lambda m: m.pop("display_name"), "display_name"),
    (lambda m: m["models"][0].update(node="42"), "models[0] points at node 42"),
    (lambda m: m["models"][0].pop("value"), "models[0].value"),
    (lambda m: m["limits"].update(width={"min": 512, "max": 256}), "limits.width"),
    (lambda m: m["defaults"].update(width=4096), "defaults.width"),
    (lambda m: m["limits"].update(colour=1), "limits.colour"),
    (lambda m: m["inputs"].update(height={"node": "6", "input": "width"}), "both point at node 6"),
])
def test_malformed_manifest_names_file_and_fix(folder, change, expected):
    manifest = _manifest(folder, "flux_schnell")
    change(manifest)
    _write(folder / "flux_schnell.manifest.json", manifest)
    workflows = load_workflows(folder)
    assert "flux_schnell" not in workflows.templates
    assert set(workflows.templates) == set(SHIPPED) - {"flux_schnell"}
    [error] = workflows.errors
    assert error.path.name == "flux_schnell.manifest.json"
    assert error.message.startswith("flux_schnell.manifest.json: ")
    assert expected in error.message


def test_manifest_that_is_not_json_or_not_an_object(folder):
    (folder / "flux_schnell.manifest.json").write_text("[1, 2", encoding="utf-8")
    (folder / "flux_edit.manifest.json").write_text("[]", encoding="utf-8")
    errors = {e.path.name: e.message for e in load_workflows(folder).errors}
    assert "not valid JSON" in errors["flux_schnell.manifest.json"]
    assert "must be a JSON object" in errors["flux_edit.manifest.json"]


def test_edit_manifest_needs_an_image_input(folder):
    manifest = _manifest(folder, "flux_edit")
    del manifest["inputs"]["image"]
    _write(folder / "flux_edit.manifest.json", manifest)
    [error] = load_workflows(folder).errors
    assert "inputs.image" in error.message


def test_orphan_manifest_is_reported(folder):
    shutil.copy(folder / "flux_schnell.manifest.json", folder / "gone.manifest.json")
    [error] = load_workflows(folder).errors
    assert "gone.manifest.json" in error.message and "gone.json" in error.message


def test_missing_folder_is_an_error_not_a_crash(tmp_path):
    workflows = load_workflows(tmp_path / "nowhere")
    assert workflows.templates == {} and len(workflows.errors) == 1


def test_workflow_error_is_a_comfy_error():
    assert issubclass(WorkflowError, ComfyError) and issubclass(FillError, WorkflowError)


# ------------------------------------------------------------------ fill

def _text_at(filled, template, role):
    graph = filled if isinstance(filled, dict) else filled.graph
    ref = template.manifest.ref(role)
    return graph[ref.node]["inputs"][ref.input]


TRICKY_PROMPT = ('a "quoted" \\backslash\\ cat 🐈‍⬛ on\nnew lines\r\n\ttabs, {"json": [1]}, '
                 "ünïcödé, 中文, RTL \u202e, zero\u200bwidth, </script> ' ")


def test_fill_prompt_is_byte_exact_through_json():
    template = load_workflows(FLUJOS).get("z_image_turbo")
    prompt = (TRICKY_PROMPT * 40)[:4000]
    assert len(prompt) == 4000
    filled = template.fill(FillParams(prompt=prompt))
    wire = json.loads(json.dumps(filled.graph))
    assert _text_at(wire, template, "prompt") == prompt
    assert json.dumps(_text_at(wire, template, "prompt")) == json.dumps(prompt)
    # ensure_ascii=False too, as some clients send it
    assert json.loads(json.dumps(filled.graph, ensure_ascii=False)) == filled.graph


def test_fill_does_not_touch_the_template():
    template = load_workflows(FLUJOS).get("flux_schnell")
    before = json.dumps(template.graph, sort_keys=True)
    filled = template.fill(FillParams(prompt="a cat", width=512, height=768, batch_size=2))
    assert json.dumps(template.graph, sort_keys=True) == before
    assert filled.graph is not template.graph
    latent = filled.graph[template.manifest.ref("width").node]["inputs"]
    assert (latent["width"], latent["height"], latent["batch_size"]) == (512, 768, 2)


def test_fill_uses_defaults_when_not_given():
    template = load_workflows(FLUJOS).get("flux_schnell")
    filled = template.fill(FillParams(prompt="x"))
    latent = filled.graph[template.manifest.ref("width").node]["inputs"]
    assert (latent["width"], latent["height"], latent["batch_size"]) == (1024, 1024, 1)
    assert _text_at(filled, template, "steps") == 4


def test_seed_given_is_used_and_returned():
    template = load_workflows(FLUJOS).get("flux_schnell")
    filled = template.fill(FillParams(prompt="x", seed=SEED_MAX_64))
    assert filled.seed == SEED_MAX_64 == _text_at(filled, template, "seed")
    assert template.fill(FillParams(prompt="x", seed=0)).seed == 0


def test_seed_is_random_within_the_node_range():
    template = load_workflows(FLUJOS).get("flux_schnell")
    seeds = {template.fill(FillParams(prompt="x")).seed for _ in range(50)}
    assert len(seeds) == 50
    assert all(0 <= s <= SEED_MAX_64 for s in seeds)
    assert max(seeds) > 2**32       # the full 64-bit range of KSampler is used
    filled = template.fill(FillParams(prompt="x"))
    assert _text_at(filled, template, "seed") == filled.seed


def test_models_from_the_manifest_are_written_in(folder):
    template = load_workflow(folder / "flux_schnell.json")
    template = template.with_manifest(template.manifest.with_model_value("1", "unet_name", "flux1-schnell-Q8_0.gguf"))
    filled = template.fill(FillParams(prompt="x"))
    assert filled.graph["1"]["inputs"]["unet_name"] == "flux1-schnell-Q8_0.gguf"
    assert filled.graph["3"]["inputs"]["vae_name"] == "ae.safetensors"
    assert template.graph["1"]["inputs"]["unet_name"] == "flux1-schnell-Q4_K_S.gguf"
    with pytest.raises(WorkflowError):
        template.manifest.with_model_value("1", "nope", "x")


def test_model_values_win_over_the_graph_json(folder):
    manifest = _manifest(folder, "z_image_turbo")
    manifest["models"][0]["value"] = "z_image_turbo_fp8.safetensors"
    _write(folder / "z_image_turbo.manifest.json", manifest)
    template = load_workflow(folder / "z_image_turbo.json")
    assert template.fill(FillParams(prompt="x")).graph["1"]["inputs"]["unet_name"] == "z_image_turbo_fp8.safetensors"


@pytest.mark.parametrize(("params", "expected"), [
    (FillParams(prompt=""), "prompt is empty"),
    (FillParams(prompt="   \n"), "prompt is empty"),
    (FillParams(prompt="x" * 4001), "limit is 4000"),
    (FillParams(prompt="x", width=4096), "width must be between 256 and 2048"),
    (FillParams(prompt="x", height=100), "height must be between"),
    (FillParams(prompt="x", width=1000), "multiple of 16 (got 1000; try 992 or 1008)"),
    (FillParams(prompt="x", batch_size=9), "batch size must be between 1 and 4"),
    (FillParams(prompt="x", steps=0), "step count must be between"),
    (FillParams(prompt="x", width="512"), "whole number"),
    (FillParams(prompt="x", seed=-1), "seed must be between 0"),
    (FillParams(prompt="x", seed=2**64), "seed must be between 0"),
    (FillParams(prompt="x", negative_prompt="blurry"), "takes no negative prompt"),
    (FillParams(prompt="x", image="cat.png"), "does not take an input image"),
])
def test_fill_rejects_params_outside_the_limits(params, expected):
    template = load_workflows(FLUJOS).get("flux_schnell")
    with pytest.raises(FillError) as info:
        template.fill(params)
    assert expected in str(info.value)
    assert "flux_schnell" in str(info.value)


def test_fill_reports_every_problem_at_once():
    template = load_workflows(FLUJOS).get("flux_schnell")
    with pytest.raises(FillError) as info:
        template.fill(FillParams(prompt="", width=5000, batch_size=0))
    assert len(info.value.problems) == 3


def test_fill_edit_needs_and_uses_the_image():
    template = load_workflows(FLUJOS).get("flux_edit")
    with pytest.raises(FillError, match="attach one"):
        template.fill(FillParams(prompt="make it blue"))
    with pytest.raises(FillError, match="does not take a width"):
        template.fill(FillParams(prompt="x", image="a.png", width=512))
    filled = template.fill(FillParams(prompt="make it blue", image="discord/src (1).png", batch_size=1))
    assert _text_at(filled, template, "image") == "discord/src (1).png"
    assert _text_at(filled, template, "prompt") == "make it blue"


def test_empty_negative_prompt_is_fine_without_a_negative_input():
    template = load_workflows(FLUJOS).get("flux_edit")
    template.fill(FillParams(prompt="x", negative_prompt="", image="a.png"))


# ------------------------------------------------------------------ save_manifest

def test_save_manifest_round_trips_and_is_atomic(folder):
    template = load_workflow(folder / "flux_edit.json")
    changed = template.with_manifest(template.manifest.with_model_value("1", "unet_name", "flux1-kontext-dev-Q8_0.gguf"))
    saved = save_manifest(changed)
    assert not saved.manifest_proposed
    reloaded = load_workflow(folder / "flux_edit.json")
    assert reloaded.manifest == changed.manifest
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_proposed_manifest_is_disabled_until_saved(folder):
    (folder / "z_image_turbo.manifest.json").unlink()
    template = load_workflows(folder).get("z_image_turbo")
    assert template.manifest_proposed and not template.enabled
    assert any("prompt: node 5" in note for note in template.proposal_notes)
    from dataclasses import replace
    confirmed = save_manifest(template.with_manifest(replace(template.manifest, enabled=True)))
    assert confirmed.enabled
    reloaded = load_workflows(folder).get("z_image_turbo")
    assert reloaded.enabled and not reloaded.manifest_proposed


# ------------------------------------------------------------------ propose_manifest

@pytest.mark.parametrize("name", SHIPPED)
def test_propose_manifest_matches_the_shipped_manifest(folder, name):
    shipped = load_workflow(folder / f"{name}.json").manifest
    (folder / f"{name}.manifest.json").unlink()
    template = load_workflows(folder).get(name)
    assert template.manifest_proposed
    proposed = template.manifest
    assert dict(proposed.inputs) == dict(shipped.inputs)
    assert proposed.kind == shipped.kind
    assert [(m.node, m.input, m.value) for m in proposed.models] == \
           [(m.node, m.input, m.value) for m in shipped.models]
    assert [m.label for m in proposed.models] == [m.label for m in shipped.models]
    assert proposed.enabled is False
    # filling a proposed manifest works the same way
    template.fill(FillParams(prompt="x" if "prompt" in shipped.inputs else "",
                             image="a.png" if template.takes_image else None))


def test_propose_display_name_and_notes():
    graph = json.loads((FLUJOS / "flux_edit.json").read_text(encoding="utf-8"))
    manifest, notes = propose_manifest(graph, name="my_cool-workflow")
    assert manifest.display_name == "My Cool Workflow"
    text = "\n".join(notes)
    assert "prompt: node 7" in text and "LoadImage" in text and "no negative prompt" in text
    assert "flux1-kontext-dev-Q4_K_S.gguf" in text


def test_propose_traces_through_a_custom_sampler_and_primitive_text():
    graph = {
        "1": {"class_type": "UnetLoaderGGUF", "inputs": {"unet_name": "m.gguf"}},
        "2": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "hello"}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": ["2", 0], "clip": ["9", 0]}},
        "4": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["3", 0], "guidance": 3.5}},
        "5": {"class_type": "BasicGuider", "inputs": {"model": ["1", 0], "conditioning": ["4", 0]}},
        "6": {"class_type": "RandomNoise", "inputs": {"noise_seed": 7}},
        "7": {"class_type": "EmptyLatentImage", "inputs": {"width": 832, "height": 1216, "batch_size": 1}},
        "8": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["6", 0], "guider": ["5", 0],
              "sampler": ["10", 0], "sigmas": ["11", 0], "latent_image": ["7", 0]}},
        "9": {"class_type": "CLIPLoader", "inputs": {"clip_name": "t5.safetensors", "type": "flux"}},
        "12": {"class_type": "VAEDecode", "inputs": {"samples": ["8", 0], "vae": ["13", 0]}},
        "13": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
        "14": {"class_type": "SaveImage", "inputs": {"images": ["12", 0], "filename_prefix": "x"}},
    }
    manifest, _ = propose_manifest(graph, name="x")
    assert manifest.inputs["prompt"] == (InputRef("2", "value"),)
    assert manifest.inputs["seed"] == (InputRef("6", "noise_seed"),)
    assert manifest.inputs["width"] == (InputRef("7", "width"),)
    assert manifest.defaults["height"] == 1216
    assert "negative_prompt" not in manifest.inputs
    assert [m.label for m in manifest.models] == ["Diffusion model (GGUF)", "Text encoder", "VAE"]


def test_workflow_without_manifest_and_without_prompt_is_a_load_error(folder):
    _write(folder / "noprompt.json", {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8,
                                     "batch_size": 1, "color": 0}},
                                      "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0],
                                     "filename_prefix": "x"}}})
    workflows = load_workflows(folder)
    [error] = workflows.errors
    assert "noprompt.json" in error.message and "noprompt.manifest.json" in error.message
    assert "sampler" in error.message


def test_manifest_saved_with_a_bom_still_loads(folder):
    path = folder / "flux_schnell.manifest.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_workflows(folder).errors == []


def test_workflow_without_seed_input_fills_with_seed_none(folder):
    manifest = _manifest(folder, "flux_schnell")
    del manifest["inputs"]["seed"]
    _write(folder / "flux_schnell.manifest.json", manifest)
    template = load_workflow(folder / "flux_schnell.json")
    assert template.fill(FillParams(prompt="x")).seed is None
    with pytest.raises(FillError, match="no seed input"):
        template.fill(FillParams(prompt="x", seed=5))

"""Validation of workflow templates against a recorded-shape /object_info."""
from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest

from comfy.validation import ProblemKind, validate, validate_graph
from comfy.workflows import load_workflows

FLUJOS = Path(__file__).resolve().parents[2] / "flujos"
# Node definitions copied from a real ComfyUI 0.3.64 /object_info, plus UnetLoaderGGUF,
# with the model lists filled in with the files the shipped workflows use.
OBJECT_INFO = Path(__file__).resolve().parents[1] / "fixtures" / "object_info" / "shipped_models.json"


@pytest.fixture
def object_info() -> dict:
    return json.loads(OBJECT_INFO.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def workflows():
    return load_workflows(FLUJOS)


@pytest.mark.parametrize("name", ["flux_schnell", "z_image_turbo", "flux_edit"])
def test_shipped_workflows_are_valid_when_models_are_present(workflows, object_info, name):
    assert validate(workflows.get(name), object_info) == []


def test_missing_gguf_class_names_the_custom_node_pack(workflows, object_info):
    del object_info["UnetLoaderGGUF"]
    problems = validate(workflows.get("flux_schnell"), object_info)
    [problem] = problems
    assert problem.kind is ProblemKind.MISSING_CLASS
    assert (problem.node_id, problem.class_type, problem.input_name) == ("1", "UnetLoaderGGUF", None)
    assert ("UnetLoaderGGUF is not installed in ComfyUI: install the ComfyUI-GGUF custom nodes "
            "(city96/ComfyUI-GGUF, https://github.com/city96/ComfyUI-GGUF)") in problem.message


def test_every_missing_class_is_reported(workflows, object_info):
    for cls in ("ReferenceLatent", "FluxGuidance", "SomethingElse"):
        object_info.pop(cls, None)
    problems = validate(workflows.get("flux_edit"), object_info)
    missing = {p.class_type for p in problems if p.kind is ProblemKind.MISSING_CLASS}
    assert missing == {"ReferenceLatent", "FluxGuidance"}
    # core nodes this ComfyUI lacks: the fix is to update ComfyUI
    assert all("is a ComfyUI core node that this ComfyUI does not have: update ComfyUI" in p.message
               for p in problems)


def test_missing_model_suggests_the_closest_files(workflows, object_info):
    object_info["UnetLoaderGGUF"]["input"]["required"]["unet_name"][0] = [
        "flux1-schnell-Q8_0.gguf", "flux1-schnell-Q5_K_S.gguf", "wan2.1-t2v-14b-Q4_K_M.gguf"]
    [problem] = validate(workflows.get("flux_schnell"), object_info)
    assert problem.kind is ProblemKind.MISSING_MODEL
    assert (problem.node_id, problem.input_name) == ("1", "unet_name")
    assert "'flux1-schnell-Q4_K_S.gguf' is not in ComfyUI" in problem.message
    assert problem.suggestions[0] == "flux1-schnell-Q5_K_S.gguf"
    assert "flux1-schnell-Q5_K_S.gguf" in problem.message
    assert "wan2.1" not in " ".join(problem.suggestions)


def test_missing_model_checks_the_manifest_value_not_the_graph(workflows, object_info):
    template = workflows.get("z_image_turbo")
    template = template.with_manifest(template.manifest.with_model_value("2", "clip_name", "qwen_3_4b_fp8.safetensors"))
    [problem] = validate(template, object_info)
    assert problem.kind is ProblemKind.MISSING_MODEL and problem.input_name == "clip_name"
    assert "qwen_3_4b.safetensors" in problem.suggestions


def test_missing_model_with_no_files_at_all(workflows, object_info):
    object_info["VAELoader"]["input"]["required"]["vae_name"][0] = []
    problems = validate(workflows.get("flux_schnell"), object_info)
    [problem] = problems
    assert "no files for this loader" in problem.message and "models/vae" in problem.message


def test_new_style_combo_is_understood(workflows, object_info):
    # ImageScaleToTotalPixels uses ["COMBO", {"options": [...]}] in 0.3.64
    template = workflows.get("flux_edit")
    graph = template.graph_with_models()
    graph["5"]["inputs"]["upscale_method"] = "sinc"
    [problem] = validate_graph(graph, object_info, skip_inputs={("4", "image"), ("7", "text")})
    assert problem.kind is ProblemKind.INVALID_VALUE and "lanczos" in problem.message


def test_dangling_links_to_missing_node_and_bad_output_index(workflows, object_info):
    graph = workflows.get("flux_schnell").graph_with_models()
    graph["8"]["inputs"]["samples"] = ["77", 0]
    graph["9"]["inputs"]["images"] = ["8", 3]
    problems = validate_graph(graph, object_info)
    dangling = {(p.node_id, p.input_name): p.message for p in problems if p.kind is ProblemKind.DANGLING_LINK}
    assert set(dangling) == {("8", "samples"), ("9", "images")}
    assert "node 77, which is not in the workflow" in dangling[("8", "samples")]
    assert "output 3 of node 8 (VAEDecode), which has 1 output(s)" in dangling[("9", "images")]


def test_wrong_link_type(workflows, object_info):
    graph = workflows.get("flux_schnell").graph_with_models()
    graph["8"]["inputs"]["vae"] = ["2", 0]        # CLIP into a VAE input
    [problem] = validate_graph(graph, object_info)
    assert problem.kind is ProblemKind.WRONG_LINK_TYPE and "expects VAE" in problem.message


def test_required_input_missing_and_bad_values(workflows, object_info):
    graph = workflows.get("flux_schnell").graph_with_models()
    del graph["7"]["inputs"]["cfg"]
    graph["7"]["inputs"]["steps"] = "four"
    graph["7"]["inputs"]["denoise"] = 2.0
    graph["7"]["inputs"]["sampler_name"] = "eulr"
    problems = {(p.kind, p.input_name) for p in validate_graph(graph, object_info)}
    assert problems == {(ProblemKind.MISSING_INPUT, "cfg"), (ProblemKind.INVALID_VALUE, "steps"),
                        (ProblemKind.INVALID_VALUE, "denoise"), (ProblemKind.INVALID_VALUE, "sampler_name")}


def test_filled_roles_are_not_checked_against_combos(workflows, object_info):
    # LoadImage's placeholder is replaced by the user's upload, so it is not a problem
    object_info["LoadImage"]["input"]["required"]["image"][0] = []
    assert validate(workflows.get("flux_edit"), object_info) == []


def test_no_output_node(workflows, object_info):
    graph = copy.deepcopy(workflows.get("flux_schnell").graph_with_models())
    del graph["9"]
    [problem] = validate_graph(graph, object_info)
    assert problem.kind is ProblemKind.NO_OUTPUT


def test_problems_carry_typed_fields(workflows, object_info):
    del object_info["UnetLoaderGGUF"]
    template = workflows.get("flux_edit")
    template = template.with_manifest(replace(template.manifest))
    problem = validate(template, object_info)[0]
    assert str(problem) == problem.message
    assert isinstance(problem.kind, ProblemKind) and problem.kind == "missing_class"


def test_a_node_connected_to_nothing_is_not_checked_as_comfyui_ignores_it(workflows, object_info):
    template = workflows.get("flux_edit")
    graph = copy.deepcopy(dict(template.graph))
    graph["81"] = {"class_type": "LoadImage", "inputs": {"image": "pink_tone_chair.png"}}     # the original bot's leftover
    graph["82"] = {"class_type": "NoSuchNode", "inputs": {"image": ["81", 0]}}
    assert validate(replace(template, graph=graph), object_info) == []

"""Auto-mapping: each fixture workflow (the original bot's four and one per common shape) gets the
roles a person would map by hand, following the graph as ComfyUI executes it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from comfy.validation import ProblemKind, validate_graph
from comfy.workflows import FillParams, WorkflowError, WorkflowTemplate, propose_manifest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows"
# Node definitions of the classes the fixtures use, copied from a real ComfyUI 0.3.64 /object_info.
OBJECT_INFO = Path(__file__).resolve().parents[1] / "fixtures" / "object_info" / "comfyui_0.3.64_fixture_nodes.json"
# Classes newer than that ComfyUI, or from custom node packs and modules it did not load.
NOT_IN_RECORDING = {"CLIP Text Encode (Batch)", "CLIPLoaderGGUF", "EmptyFlux2LatentImage", "Flux2Scheduler",
                    "ImageUpscaleWithModel", "UnetLoaderGGUF", "UpscaleModelLoader"}


def graph_of(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def roles(manifest) -> dict[str, list[str]]:
    return {role: [f"{ref.node}.{ref.input}" for ref in refs] for role, refs in manifest.inputs.items()}


EXPECTED = {
    # The original bot's workflows, imported as a user migrating from it would.
    "original/anima": ("imagine", {
        "prompt": ["4.text"], "negative_prompt": ["5.text"], "seed": ["3.seed"], "steps": ["3.steps"],
        "cfg": ["3.cfg"], "width": ["7.width"], "height": ["7.height"], "batch_size": ["7.batch_size"]}),
    "original/flux_edit": ("edit", {   # node 81 is a LoadImage connected to nothing: never the image
        "prompt": ["75:74.text"], "seed": ["75:73.noise_seed"], "steps": ["75:62.steps"], "image": ["103.image"]}),
    "original/flux_image": ("imagine", {   # a batch encoder: the prompt goes to every text_N
        "prompt": ["75:74.text_1", "75:74.text_2", "75:74.text_3", "75:74.text_4"], "seed": ["75:73.noise_seed"],
        "steps": ["75:62.steps"], "width": ["75:66.width", "75:62.width"], "height": ["75:66.height", "75:62.height"],
        "batch_size": ["75:66.batch_size"]}),
    "original/z-image_imagine": ("imagine", {   # two stages: both seeds; the 'Empty Positive Prompt' stays empty
        "prompt": ["6.text"], "seed": ["32.noise_seed", "33.noise_seed"], "steps": ["32.steps", "33.steps"],
        "width": ["13.width"], "height": ["13.height"], "batch_size": ["13.batch_size"]}),
    # One fixture per shape, written from ComfyUI's node definitions.
    "sd15_checkpoint": ("imagine", {
        "prompt": ["6.text"], "negative_prompt": ["7.text"], "seed": ["3.seed"], "steps": ["3.steps"], "cfg": ["3.cfg"],
        "width": ["5.width"], "height": ["5.height"], "batch_size": ["5.batch_size"]}),
    "sdxl_checkpoint": ("imagine", {
        "prompt": ["2.text_g", "2.text_l"], "negative_prompt": ["3.text_g", "3.text_l"], "seed": ["5.seed"],
        "steps": ["5.steps"], "cfg": ["5.cfg"], "width": ["4.width", "2.width", "3.width"],
        "height": ["4.height", "2.height", "3.height"], "batch_size": ["4.batch_size"]}),
    "sdxl_primitive_prompt": ("imagine", {   # the prompt is a string node's, the seed a primitive's
        "prompt": ["2.value"], "negative_prompt": ["5.text"], "seed": ["6.value"], "steps": ["8.steps"],
        "cfg": ["8.cfg"], "width": ["7.width"], "height": ["7.height"], "batch_size": ["7.batch_size"]}),
    "sdxl_base_refiner": ("imagine", {   # the refiner adds no noise with a deterministic sampler
        "prompt": ["5.text", "3.text"], "negative_prompt": ["6.text", "4.text"], "seed": ["10.noise_seed"],
        "steps": ["11.steps", "10.steps"], "cfg": ["11.cfg", "10.cfg"], "width": ["7.width"], "height": ["7.height"],
        "batch_size": ["7.batch_size"]}),
    "sd15_hires_fix": ("imagine", {
        "prompt": ["2.text"], "negative_prompt": ["3.text"], "seed": ["5.seed", "7.seed"], "steps": ["7.steps"],
        "cfg": ["7.cfg", "5.cfg"], "width": ["4.width"], "height": ["4.height"], "batch_size": ["4.batch_size"]}),
    "sd15_lora_chain": ("imagine", {
        "prompt": ["4.text"], "negative_prompt": ["5.text"], "seed": ["7.seed"], "steps": ["7.steps"], "cfg": ["7.cfg"],
        "width": ["6.width"], "height": ["6.height"], "batch_size": ["6.batch_size"]}),
    "flux_gguf_custom_sampler": ("imagine", {   # BasicGuider takes no negative; size also on ModelSamplingFlux
        "prompt": ["5.text"], "seed": ["8.noise_seed"], "steps": ["10.steps"], "width": ["11.width", "4.width"],
        "height": ["11.height", "4.height"], "batch_size": ["11.batch_size"]}),
    "flux_kontext": ("edit", {
        "prompt": ["7.text"], "seed": ["11.seed"], "steps": ["11.steps"], "image": ["4.image"]}),
    "hidream": ("imagine", {   # four text encoders in one node, cfg 1: no negative
        "prompt": ["5.clip_l", "5.clip_g", "5.t5xxl", "5.llama"], "seed": ["8.seed"], "steps": ["8.steps"],
        "width": ["7.width"], "height": ["7.height"], "batch_size": ["7.batch_size"]}),
    "qwen_image_edit": ("edit", {
        "prompt": ["76.prompt"], "negative_prompt": ["77.prompt"], "seed": ["3.seed"], "steps": ["3.steps"],
        "cfg": ["3.cfg"], "image": ["78.image"]}),
    "sd15_img2img": ("vary", {
        "prompt": ["4.text"], "negative_prompt": ["5.text"], "seed": ["6.seed"], "steps": ["6.steps"], "cfg": ["6.cfg"],
        "image": ["2.image"], "denoise": ["6.denoise"]}),
    "save_image_websocket": ("imagine", {
        "prompt": ["6.text"], "negative_prompt": ["7.text"], "seed": ["3.seed"], "steps": ["3.steps"], "cfg": ["3.cfg"],
        "width": ["5.width"], "height": ["5.height"], "batch_size": ["5.batch_size"]}),
    "preview_only_with_dead_loadimage": ("imagine", {   # the LoadImage reaches no output: still imagine
        "prompt": ["4.text"], "seed": ["7.seed"], "steps": ["7.steps"], "width": ["6.width"], "height": ["6.height"],
        "batch_size": ["6.batch_size"]}),
    "upscale_image_scale_by": ("upscale", {"image": ["1.image"], "scale": ["2.scale_by"]}),
    "upscale_with_model": ("upscale", {"image": ["1.image"]}),
}


def test_there_are_at_least_twelve_shapes_besides_the_originals():
    assert len([name for name in EXPECTED if not name.startswith("original/")]) >= 12
    assert sorted(p.relative_to(FIXTURES).with_suffix("").as_posix() for p in FIXTURES.rglob("*.json")) == \
        sorted([*EXPECTED, "video_refused"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_proposed_roles_match_what_a_person_would_map(name):
    kind, expected = EXPECTED[name]
    manifest, notes = propose_manifest(graph_of(name), name=Path(name).name)
    assert manifest.kind == kind, notes
    assert roles(manifest) == expected, "\n".join(notes)
    assert manifest.enabled is False


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_proposal_fills_and_the_fixture_uses_real_node_inputs(name):
    graph = graph_of(name)
    manifest, _ = propose_manifest(graph, name=Path(name).name)
    template = WorkflowTemplate(Path(name).name, FIXTURES / f"{name}.json", graph, manifest)
    filled = template.fill(FillParams(prompt="a fox" if template.takes_prompt else "",
                                      image="in.png" if template.takes_image else None))
    for ref in manifest.inputs.get("seed", ()):
        assert filled.graph[ref.node]["inputs"][ref.input] == filled.seed
    # every node and input is one ComfyUI knows (model files and classes it did not load aside)
    object_info = json.loads(OBJECT_INFO.read_text(encoding="utf-8"))
    problems = [p for p in validate_graph(filled.graph, object_info)
                if p.kind is not ProblemKind.MISSING_MODEL and not (p.input_name == "image" and p.class_type == "LoadImage")
                and not (p.kind is ProblemKind.MISSING_CLASS and p.class_type in NOT_IN_RECORDING)]
    assert problems == []


def test_notes_say_why_a_negative_prompt_or_a_stage_was_left_out():
    _, notes = propose_manifest(graph_of("original/z-image_imagine"))
    text = "\n".join(notes)
    assert "no negative prompt: at cfg 1" in text
    assert "node 31 (CLIPTextEncode, 'Empty Positive Prompt') conditions an earlier stage" in text
    _, notes = propose_manifest(graph_of("flux_gguf_custom_sampler"))
    assert "no negative prompt: node 7 (BasicGuider) takes none" in notes
    _, notes = propose_manifest(graph_of("original/flux_edit"))
    assert any("never run: nodes 81" in note for note in notes)
    assert "no batch size: several images (/imagine count) run the seeded part once per image, in the same prompt" \
        in notes


def test_the_original_flux_edit_makes_several_images_as_copies():
    graph = graph_of("original/flux_edit")
    manifest, _ = propose_manifest(graph)
    template = WorkflowTemplate("e", Path("e.json"), graph, manifest)
    filled = template.fill(FillParams(prompt="add a hat", image="in.png", seed=7, batch_size=2)).graph
    copies = {node: index for node, (_, index) in template.copy_plan(2).items() if index == 1}
    assert "75:73" in template.copy_plan(2) and all(node.isdigit() and node not in graph for node in copies)
    [noise] = [node for node in copies if filled[node]["class_type"] == filled["75:73"]["class_type"]]
    assert (filled["75:73"]["inputs"]["noise_seed"], filled[noise]["inputs"]["noise_seed"]) == (7, 8)


def test_two_stage_z_image_moves_both_seeds():
    graph = graph_of("original/z-image_imagine")
    manifest, _ = propose_manifest(graph)
    template = WorkflowTemplate("z", Path("z.json"), graph, manifest)
    first = template.fill(FillParams(prompt="a fox"))
    second = template.fill(FillParams(prompt="a fox"))
    for filled in (first, second):
        assert filled.graph["32"]["inputs"]["noise_seed"] == filled.graph["33"]["inputs"]["noise_seed"] == filled.seed
    assert first.seed != second.seed
    assert first.graph["31"]["inputs"]["text"] == ""          # the deliberately empty stage stays empty
    assert first.graph["6"]["inputs"]["text"] == "a fox"


def test_lora_loaders_become_slots_not_model_settings():
    manifest, _ = propose_manifest(graph_of("sd15_lora_chain"))
    assert [(s.node, s.value, s.strength, s.strength_inputs) for s in manifest.loras] == [
        ("2", "watercolor.safetensors", 0.8, ("strength_model", "strength_clip")),
        ("3", "add_detail.safetensors", 0.5, ("strength_model", "strength_clip"))]
    assert [m.input for m in manifest.models] == ["ckpt_name"]
    manifest, _ = propose_manifest(graph_of("original/anima"))
    assert [(s.node, s.value, s.strength_inputs) for s in manifest.loras] == [
        ("101", "fdi_anima_v1-e20.safetensors", ("strength_model",))]


def test_vary_keeps_the_workflows_denoise_as_its_default():
    manifest, _ = propose_manifest(graph_of("sd15_img2img"))
    assert manifest.defaults["denoise"] == 0.55


def test_a_video_workflow_is_refused_with_that_reason():
    with pytest.raises(WorkflowError, match=r"its output is a video or animation \(node 10 \(SaveVideo\)\)"):
        propose_manifest(graph_of("video_refused"))


def test_a_workflow_without_a_connected_output_is_refused():
    graph = graph_of("sd15_checkpoint")
    del graph["9"]
    with pytest.raises(WorkflowError, match="no output node is connected"):
        propose_manifest(graph)


def test_the_same_graph_proposes_the_same_manifest_whatever_its_node_order():
    graph = graph_of("original/flux_edit")
    reversed_graph = dict(reversed(list(graph.items())))
    assert propose_manifest(reversed_graph)[0] == propose_manifest(graph)[0]

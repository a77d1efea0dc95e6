"""fill() for every kind and role: vary's denoise, upscale's scale, LoRA slots, roles naming several inputs."""
from __future__ import annotations

from pathlib import Path

import pytest

from comfy.workflows import (
    FillError,
    FillParams,
    InputRef,
    LoraChoice,
    WorkflowError,
    WorkflowTemplate,
    load_workflows,
    parse_manifest,
)

from tests.fixtures_core import one_image_template

FLUJOS = Path(__file__).resolve().parents[2] / "flujos"

LORA_GRAPH = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
    "2": {"class_type": "LoraLoader", "inputs": {"model": ["1", 0], "clip": ["1", 1], "lora_name": "a.safetensors",
                                                 "strength_model": 1.0, "strength_clip": 1.0}},
    "3": {"class_type": "LoraLoaderModelOnly", "inputs": {"model": ["2", 0], "lora_name": "b.safetensors",
                                                          "strength_model": 0.5}},
    "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["2", 1]}},
    "5": {"class_type": "KSamplerAdvanced", "inputs": {"noise_seed": 1, "steps": 9}},
    "6": {"class_type": "KSamplerAdvanced", "inputs": {"noise_seed": 2, "steps": 9}},
}


def _template(manifest: dict, graph: dict = LORA_GRAPH) -> WorkflowTemplate:
    return WorkflowTemplate("t", Path("t.json"), graph, parse_manifest(manifest, graph))


@pytest.fixture(scope="module")
def shipped():
    return load_workflows(FLUJOS)


def test_upscale_takes_an_image_and_a_scale_and_no_prompt(shipped):
    upscale = shipped.get("upscale")
    assert upscale.takes_image and not upscale.takes_prompt and not upscale.prompt_required
    graph = upscale.fill(FillParams(image="in/a.png", scale=3)).graph
    assert graph["1"]["inputs"]["image"] == "in/a.png"
    assert graph["2"]["inputs"]["scale_by"] == 3.0 and isinstance(graph["2"]["inputs"]["scale_by"], float)
    assert upscale.fill(FillParams(image="a.png")).graph["2"]["inputs"]["scale_by"] == 2.0
    with pytest.raises(FillError) as info:
        upscale.fill(FillParams(prompt="sharper", scale=5))
    assert info.value.problems == ["Upscale takes no prompt", "the scale factor must be between 1 and 4 (got 5)",
                                   "Upscale enlarges an attached image: attach one"]


def test_vary_writes_the_manifests_denoise_and_the_prompt_is_optional(shipped):
    vary = shipped.get("z_image_turbo_vary")
    assert vary.kind == "vary" and vary.takes_image and not vary.prompt_required
    filled = vary.fill(FillParams(image="a.png"))
    sampler = filled.graph["8"]["inputs"]
    assert sampler["denoise"] == 0.6 and sampler["latent_image"] == ["13", 0]
    assert filled.graph["5"]["inputs"]["text"] == ""            # no prompt: the graph's text stays
    assert vary.fill(FillParams(prompt="at night", image="a.png", denoise=0.3)).graph["8"]["inputs"]["denoise"] == 0.3
    with pytest.raises(FillError, match="denoise.*between 0.2 and 0.9"):
        vary.fill(FillParams(image="a.png", denoise=1.0))


def test_a_role_naming_several_inputs_fills_them_all():
    template = _template({"display_name": "Two stages", "inputs": {
        "prompt": {"node": "4", "input": "text"},
        "seed": [{"node": "5", "input": "noise_seed"}, {"node": "6", "input": "noise_seed"}],
        "steps": [{"node": "5", "input": "steps"}, {"node": "6", "input": "steps"}]}})
    filled = template.fill(FillParams(prompt="x", steps=12))
    assert filled.graph["5"]["inputs"]["noise_seed"] == filled.graph["6"]["inputs"]["noise_seed"] == filled.seed
    assert filled.graph["5"]["inputs"]["steps"] == filled.graph["6"]["inputs"]["steps"] == 12
    assert template.manifest.ref("seed") == InputRef("5", "noise_seed")
    # written back as a list, a single input as an object (files stay as people write them)
    data = template.manifest.to_dict()
    assert data["inputs"]["seed"] == [{"node": "5", "input": "noise_seed"}, {"node": "6", "input": "noise_seed"}]
    assert data["inputs"]["prompt"] == {"node": "4", "input": "text"}
    assert parse_manifest(data, LORA_GRAPH) == template.manifest


def test_one_input_cannot_serve_two_roles():
    with pytest.raises(WorkflowError, match="both point at node 5"):
        _template({"display_name": "x", "inputs": {"prompt": {"node": "4", "input": "text"},
                   "seed": [{"node": "5", "input": "noise_seed"}],
                   "steps": [{"node": "6", "input": "steps"}, {"node": "5", "input": "noise_seed"}]}})


LORA_MANIFEST = {"display_name": "SD with LoRAs", "inputs": {"prompt": {"node": "4", "input": "text"}}, "loras": [
    {"label": "Style", "node": "2", "value": "a.safetensors", "strength_inputs": ["strength_model", "strength_clip"],
     "strength": 0.8, "strength_limits": {"min": 0, "max": 1.5}},
    {"label": "Detail", "node": "3", "value": "b.safetensors", "strength": 0.5,
     "choices": ["b.safetensors", "c.safetensors"]}]}


def test_lora_slots_take_a_name_and_a_strength_each():
    template = _template(LORA_MANIFEST)
    graph = template.fill(FillParams(prompt="x")).graph                  # defaults
    assert (graph["2"]["inputs"]["lora_name"], graph["2"]["inputs"]["strength_model"],
            graph["2"]["inputs"]["strength_clip"]) == ("a.safetensors", 0.8, 0.8)
    assert (graph["3"]["inputs"]["lora_name"], graph["3"]["inputs"]["strength_model"]) == ("b.safetensors", 0.5)
    graph = template.fill(FillParams(prompt="x", loras=[LoraChoice(strength=1.2),
                                                        LoraChoice("c.safetensors", 0)])).graph
    assert graph["2"]["inputs"]["strength_clip"] == 1.2 and graph["2"]["inputs"]["lora_name"] == "a.safetensors"
    assert (graph["3"]["inputs"]["lora_name"], graph["3"]["inputs"]["strength_model"]) == ("c.safetensors", 0.0)


def test_lora_requests_outside_the_manifest_are_refused():
    template = _template(LORA_MANIFEST)
    with pytest.raises(FillError) as info:
        template.fill(FillParams(prompt="x", loras=[LoraChoice(strength=2), LoraChoice("evil.safetensors")]))
    assert info.value.problems == ["the Style strength must be between 0 and 1.5 (got 2)",
                                   "LoRA 'evil.safetensors' is not offered for Detail; choose one of "
                                   "b.safetensors, c.safetensors"]
    with pytest.raises(FillError, match="at most 2 LoRA"):
        template.fill(FillParams(prompt="x", loras=[LoraChoice()] * 3))
    with pytest.raises(FillError, match="takes at most 0 LoRA"):
        _template({"display_name": "x", "inputs": {"prompt": {"node": "4", "input": "text"}}}).fill(
            FillParams(prompt="x", loras=[LoraChoice("a.safetensors")]))


def test_cfg_role_takes_numbers_within_its_limits():
    template = _template({"display_name": "x", "inputs": {"prompt": {"node": "4", "input": "text"},
                          "cfg": {"node": "5", "input": "steps"}}, "limits": {"cfg": {"min": 1, "max": 10}},
                          "defaults": {"cfg": 4.5}})
    assert template.fill(FillParams(prompt="x")).graph["5"]["inputs"]["steps"] == 4.5
    with pytest.raises(FillError, match="CFG scale must be a number"):
        template.fill(FillParams(prompt="x", cfg="high"))
    with pytest.raises(FillError, match="CFG scale must be between 1 and 10"):
        template.fill(FillParams(prompt="x", cfg=11))


@pytest.mark.parametrize(("manifest", "expected"), [
    ({"kind": "vary", "inputs": {"prompt": {"node": "4", "input": "text"}}}, "'vary' workflow needs inputs.image"),
    ({"kind": "upscale", "inputs": {}}, "'upscale' workflow needs inputs.image"),
    ({"loras": [{"node": "2"}]}, "loras[0].value"),
    ({"loras": [{"node": "2", "value": "a", "strength_inputs": ["nope"]}]}, "'nope'"),
    ({"loras": [{"node": "2", "value": "a", "strength": 5}]}, "strength must be between"),
    ({"limits": {"denoise": {"min": 0.9, "max": 0.1}}}, "min <= max"),
    ({"defaults": {"denoise": 2}}, "defaults.denoise"),
])
def test_malformed_new_keys_say_what_to_fix(manifest, expected):
    data = {"display_name": "x", "inputs": {"prompt": {"node": "4", "input": "text"}}, **manifest}
    with pytest.raises(WorkflowError, match=None) as info:
        parse_manifest(data, LORA_GRAPH)
    assert expected in str(info.value)


# ---- several images from a workflow that has no batch size ------------------------------------

def test_a_workflow_without_batch_size_makes_several_images_as_copies_of_its_seeded_part(shipped):
    one = one_image_template(shipped.get("z_image_turbo"))
    filled = one.fill(FillParams(prompt="a fox", seed=100, batch_size=3))
    graph = filled.graph
    assert filled.seed == 100
    # sampler 8 -> decode 9 -> save 10, twice more as 11-13 and 14-16; loaders and encoders are shared
    assert sorted(graph, key=int) == [str(n) for n in range(1, 17)]
    assert [graph[n]["class_type"] for n in ("11", "12", "13", "14", "15", "16")] == \
        ["KSampler", "VAEDecode", "SaveImage"] * 2
    assert [graph[n]["inputs"]["seed"] for n in ("8", "11", "14")] == [100, 101, 102]
    assert graph["11"]["inputs"]["positive"] == ["5", 0] and graph["11"]["inputs"]["model"] == ["4", 0]
    assert graph["12"]["inputs"]["samples"] == ["11", 0] and graph["12"]["inputs"]["vae"] == ["3", 0]
    assert graph["16"]["inputs"]["images"] == ["15", 0]
    assert graph["5"]["inputs"]["text"] == "a fox" and "batch_size" not in one.manifest.inputs
    assert one.copy_plan(3) == {"8": ("8", 0), "9": ("9", 0), "10": ("10", 0), "11": ("8", 1), "12": ("9", 1),
                                "13": ("10", 1), "14": ("8", 2), "15": ("9", 2), "16": ("10", 2)}
    assert one.copies_for(3) == 3 and one.copies_for(1) == 1 and one.copy_plan(1) == {}


def test_copies_seeds_wrap_inside_the_seed_range_and_one_image_is_the_plain_graph(shipped):
    one = one_image_template(shipped.get("z_image_turbo"))
    top = one.seed_range().max
    graph = one.fill(FillParams(prompt="a fox", seed=top, batch_size=2)).graph
    assert (graph["8"]["inputs"]["seed"], graph["11"]["inputs"]["seed"]) == (top, 0)
    assert one.image_seeds(3, top - 1) == [top - 1, top, 0]             # what the Info card lists
    assert shipped.get("z_image_turbo").image_seeds(3, top) == [top]    # a batch: one seed
    assert sorted(one.fill(FillParams(prompt="a fox", batch_size=1)).graph, key=int) == [str(n) for n in range(1, 11)]


def test_a_workflow_with_a_batch_size_makes_them_in_one_batch(shipped):
    turbo = shipped.get("z_image_turbo")
    graph = turbo.fill(FillParams(prompt="a fox", batch_size=3)).graph
    assert len(graph) == 10 and graph["7"]["inputs"]["batch_size"] == 3
    assert turbo.copies_for(3) == 1 and turbo.copy_plan(3) == {}


def test_copies_are_refused_beyond_the_limit_without_a_seed_or_where_the_seed_reaches_no_output(shipped):
    one = one_image_template(shipped.get("z_image_turbo"))
    with pytest.raises(FillError) as info:
        one.fill(FillParams(prompt="a fox", batch_size=5))
    assert info.value.problems == ["the batch size must be between 1 and 4 (got 5)"]
    graph = {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "color": 0}},
             "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
             "3": {"class_type": "KSampler", "inputs": {"seed": 1}},
             "4": {"class_type": "CLIPTextEncode", "inputs": {"text": ""}}}
    prompt = {"node": "4", "input": "text"}
    no_seed = _template({"display_name": "Plain", "kind": "imagine", "inputs": {"prompt": prompt}}, graph)
    with pytest.raises(FillError) as info:
        no_seed.fill(FillParams(prompt="x", batch_size=2))
    assert info.value.problems == ["Plain has no seed input, so it makes one image per request"]
    dead_seed = _template({"display_name": "Dead", "kind": "imagine",
                           "inputs": {"prompt": prompt, "seed": {"node": "3", "input": "seed"}}}, graph)
    with pytest.raises(FillError) as info:
        dead_seed.fill(FillParams(prompt="x", batch_size=2))
    assert info.value.problems == ["Dead's seed does not reach its output, so it makes one image per request"]

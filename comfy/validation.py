"""Check a workflow template against a live ComfyUI's /object_info before anyone queues it.

Finds what ComfyUI would reject, worded so an admin knows the fix: node classes that are not
installed (naming the custom-node pack), model files ComfyUI does not have (naming the closest it
does have), dangling links, missing required inputs, values outside a node's range or list.
"""
from __future__ import annotations

import difflib
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from comfy.graph import is_link, live_nodes
from comfy.node_packs import missing_class_message
from comfy.manifest import MODEL_INPUT_LABELS, WorkflowTemplate


class ProblemKind(enum.StrEnum):
    MISSING_CLASS = "missing_class"
    MISSING_MODEL = "missing_model"
    DANGLING_LINK = "dangling_link"
    WRONG_LINK_TYPE = "wrong_link_type"
    MISSING_INPUT = "missing_input"
    INVALID_VALUE = "invalid_value"
    NO_OUTPUT = "no_output"


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    node_id: str | None
    class_type: str | None
    input_name: str | None
    message: str
    suggestions: tuple[str, ...] = ()     # closest model files, for a missing model

    def __str__(self) -> str:
        return self.message


# Where ComfyUI looks for each kind of model file, for the "put the file in" hint.
MODEL_FOLDERS = {
    "unet_name": "models/diffusion_models",
    "ckpt_name": "models/checkpoints",
    "clip_name": "models/text_encoders",
    "clip_name1": "models/text_encoders",
    "clip_name2": "models/text_encoders",
    "clip_name3": "models/text_encoders",
    "clip_name4": "models/text_encoders",
    "vae_name": "models/vae",
    "lora_name": "models/loras",
    "control_net_name": "models/controlnet",
    "style_model_name": "models/style_models",
    "model_name": "models/upscale_models",
}


def validate(template: WorkflowTemplate, object_info: Mapping[str, Any]) -> list[Problem]:
    """Every problem ComfyUI would have with this template as fill() would send it."""
    graph = template.graph_with_models()
    skip = {(ref.node, ref.input) for refs in template.manifest.inputs.values() for ref in refs}
    models = {(m.node, m.input) for m in template.manifest.models}
    models |= {(slot.node, slot.input) for slot in template.manifest.loras}
    return validate_graph(graph, object_info, skip_inputs=skip, model_inputs=models)


def validate_graph(graph: Mapping[str, Any], object_info: Mapping[str, Any], *,
                   skip_inputs: set[tuple[str, str]] = frozenset(),
                   model_inputs: set[tuple[str, str]] = frozenset()) -> list[Problem]:
    problems: list[Problem] = []
    has_output = False
    # ComfyUI checks and runs only what its output nodes need; a node connected to nothing is ignored.
    live = live_nodes(graph, object_info) or set(graph)
    for node_id, node in graph.items():
        if node_id not in live:
            continue
        class_type = node["class_type"]
        info = object_info.get(class_type)
        if info is None:
            problems.append(Problem(ProblemKind.MISSING_CLASS, node_id, class_type, None,
                                    f"node {node_id}: {missing_class_message(class_type)}"))
            _check_links_only(graph, object_info, node_id, node, problems)
            continue
        has_output = has_output or bool(info.get("output_node"))
        specs = _input_specs(info)
        node_inputs = node.get("inputs", {})
        for name, (spec, required) in specs.items():
            if required and name not in node_inputs:
                problems.append(Problem(ProblemKind.MISSING_INPUT, node_id, class_type, name,
                                        f"node {node_id} ({class_type}): required input {name!r} "
                                        "is missing; re-export the workflow from ComfyUI"))
        for name, value in node_inputs.items():
            if is_link(value):
                _check_link(graph, object_info, node_id, class_type, name, value,
                            specs.get(name, (None, False))[0], problems)
            elif name in specs and (node_id, name) not in skip_inputs:
                is_model = (node_id, name) in model_inputs or name in MODEL_INPUT_LABELS
                _check_value(node_id, class_type, name, value, specs[name][0], is_model, problems)
    if not has_output and not any(p.kind is ProblemKind.MISSING_CLASS for p in problems):
        problems.append(Problem(ProblemKind.NO_OUTPUT, None, None, None,
                                "the workflow has no output node (e.g. SaveImage), so ComfyUI "
                                "would run nothing"))
    return problems


def _input_specs(info: Mapping[str, Any]) -> dict[str, tuple[list[Any], bool]]:
    specs: dict[str, tuple[list[Any], bool]] = {}
    inputs = info.get("input", {})
    for section, required in (("required", True), ("optional", False)):
        for name, spec in (inputs.get(section) or {}).items():
            specs[name] = (spec if isinstance(spec, list) else [spec], required)
    return specs


def _combo_options(spec: list[Any]) -> list[Any] | None:
    """The allowed values of a combo input, in either /object_info shape; None if not a combo."""
    if not spec:
        return None
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO":
        config = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        return list(config.get("options", []))
    return None


def _check_links_only(graph: Mapping[str, Any], object_info: Mapping[str, Any], node_id: str,
                      node: Mapping[str, Any], problems: list[Problem]) -> None:
    for name, value in node.get("inputs", {}).items():
        if is_link(value):
            _check_link(graph, object_info, node_id, node["class_type"], name, value, None, problems)


def _check_link(graph: Mapping[str, Any], object_info: Mapping[str, Any], node_id: str,
                class_type: str, name: str, link: list[Any], spec: list[Any] | None,
                problems: list[Problem]) -> None:
    source_id, index = str(link[0]), link[1]
    source = graph.get(source_id)
    where = f"node {node_id} ({class_type}) input {name!r}"
    if source is None:
        problems.append(Problem(ProblemKind.DANGLING_LINK, node_id, class_type, name,
                                f"{where} links to node {source_id}, which is not in the workflow"))
        return
    source_info = object_info.get(source["class_type"])
    if source_info is None:
        return                      # reported as a missing class already
    outputs = source_info.get("output", [])
    if not 0 <= index < len(outputs):
        problems.append(Problem(ProblemKind.DANGLING_LINK, node_id, class_type, name,
                                f"{where} links to output {index} of node {source_id} "
                                f"({source['class_type']}), which has {len(outputs)} output(s)"))
        return
    expected = spec[0] if spec else None
    if isinstance(expected, str) and expected != "COMBO":
        produced = outputs[index]
        if not _types_match(str(produced), expected):
            problems.append(Problem(ProblemKind.WRONG_LINK_TYPE, node_id, class_type, name,
                                    f"{where} expects {expected} but node {source_id} "
                                    f"({source['class_type']}) output {index} gives {produced}"))


def _types_match(produced: str, expected: str) -> bool:
    if "*" in (produced, expected):
        return True
    produced_set = {t.strip() for t in produced.split(",")}
    expected_set = {t.strip() for t in expected.split(",")}
    return bool(produced_set & expected_set)


def _check_value(node_id: str, class_type: str, name: str, value: Any, spec: list[Any],
                 is_model: bool, problems: list[Problem]) -> None:
    where = f"node {node_id} ({class_type}) input {name!r}"
    options = _combo_options(spec)
    if options is not None:
        if value in options:
            return
        if is_model:
            problems.append(_missing_model(node_id, class_type, name, value, options))
        else:
            shown = ", ".join(map(str, options[:12])) + (", ..." if len(options) > 12 else "")
            problems.append(Problem(ProblemKind.INVALID_VALUE, node_id, class_type, name,
                                    f"{where}: {value!r} is not one of ComfyUI's choices ({shown})"))
        return
    kind = spec[0] if spec else None
    config = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if kind == "INT" or kind == "FLOAT":
        number_ok = isinstance(value, int) if kind == "INT" else isinstance(value, (int, float))
        if isinstance(value, bool) or not number_ok:
            problems.append(Problem(ProblemKind.INVALID_VALUE, node_id, class_type, name,
                                    f"{where} must be {kind} (got {value!r})"))
            return
        low, high = config.get("min"), config.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            problems.append(Problem(ProblemKind.INVALID_VALUE, node_id, class_type, name,
                                    f"{where}: {value} is outside ComfyUI's range {low}..{high}"))
    elif kind == "STRING" and not isinstance(value, str):
        problems.append(Problem(ProblemKind.INVALID_VALUE, node_id, class_type, name,
                                f"{where} must be text (got {value!r})"))
    elif kind == "BOOLEAN" and not isinstance(value, bool):
        problems.append(Problem(ProblemKind.INVALID_VALUE, node_id, class_type, name,
                                f"{where} must be true or false (got {value!r})"))


def _missing_model(node_id: str, class_type: str, name: str, value: Any,
                   options: list[Any]) -> Problem:
    available = [str(o) for o in options]
    # Compare stems: a shared ".safetensors" would make unrelated files look alike.
    by_stem: dict[str, str] = {}
    for option in available:
        by_stem.setdefault(_stem(option), option)
    closest = tuple(by_stem[s] for s in difflib.get_close_matches(_stem(str(value)), list(by_stem),
                                                                    n=3, cutoff=0.6))
    folder = MODEL_FOLDERS.get(name, "the matching models/ folder")
    if name == "unet_name":
        folder = "models/unet" if "GGUF" in class_type else "models/diffusion_models"
    message = f"node {node_id} ({class_type}) {name}: model file {value!r} is not in ComfyUI."
    if closest:
        message += " Closest available: " + ", ".join(repr(c) for c in closest) + "."
    elif available:
        message += f" Available: {', '.join(repr(a) for a in available[:5])}" + \
                   (", ..." if len(available) > 5 else "") + "."
    else:
        message += " ComfyUI has no files for this loader at all."
    message += (f" Put the file in ComfyUI/{folder} and refresh, or pick an available file "
                "in the workflow's model settings.")
    return Problem(ProblemKind.MISSING_MODEL, node_id, class_type, name, message, closest)


def _stem(file_name: str) -> str:
    base = file_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return (base.rsplit(".", 1)[0] if "." in base else base).lower()

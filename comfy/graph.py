"""Reading a ComfyUI API-format graph the way ComfyUI executes it.

ComfyUI runs only what an output node needs: it starts from every output node (SaveImage,
PreviewImage, SaveImageWebsocket...) and follows links backwards. A node that reaches no output is
never executed, so nothing a user sets there changes the result. `live_nodes` gives that set.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from comfy.errors import ComfyError

# Output nodes that give still images (what the bot delivers) and those that give video or
# animations (refused: the bot delivers still images).
IMAGE_OUTPUT_CLASSES = frozenset({
    "SaveImage", "PreviewImage", "SaveImageWebsocket", "Image Save", "SaveImageExtended",
    "Save Image (JPG)", "easy imageSave", "JWImageSaveToPath"})
VIDEO_OUTPUT_CLASSES = frozenset({
    "SaveVideo", "SaveWEBM", "SaveAnimatedWEBP", "SaveAnimatedPNG", "VHS_VideoCombine",
    "SaveAudio", "SaveAudioMP3", "SaveAudioOpus", "SaveGLB", "Save3D"})


class WorkflowError(ComfyError):
    """A workflow or its manifest is unusable, or fill() got parameters it cannot accept."""


def is_link(value: Any) -> bool:
    """ComfyUI API format: a link is ["<node id>", <output index>]."""
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int))
            and not isinstance(value[0], bool)
            and isinstance(value[1], int) and not isinstance(value[1], bool))


def is_ui_format(data: Any) -> bool:
    return isinstance(data, dict) and "nodes" in data and "links" in data


def check_graph_shape(data: Any) -> Mapping[str, Any]:
    """The graph if it looks like API format; WorkflowError with the fix otherwise."""
    if is_ui_format(data):
        raise WorkflowError(
            "this is the ComfyUI UI format (it has 'nodes' and 'links'); in ComfyUI open the "
            "workflow and export it with 'Save (API Format)' / 'Export (API)', then replace this file")
    if not isinstance(data, dict) or not data:
        raise WorkflowError("expected an API-format workflow: a JSON object of "
                         "{\"<node id>\": {\"class_type\": ..., \"inputs\": {...}}}")
    for node_id, node in data.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            raise WorkflowError(f"node {node_id} has no class_type: export the workflow with "
                             "'Save (API Format)' / 'Export (API)'")
        if not isinstance(node.get("inputs", {}), dict):
            raise WorkflowError(f"node {node_id} ({node['class_type']}): 'inputs' must be an object")
    return data


def node_sort_key(node_id: str) -> tuple[tuple[int, int | str], ...]:
    """Numeric order for ids like "9", "75:74" and "75:79:78" (subgraph ids), text after numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in str(node_id).split(":"))


def sorted_ids(ids) -> list[str]:
    return sorted(ids, key=node_sort_key)


def inputs_of(graph: Mapping[str, Any], node_id: str) -> Mapping[str, Any]:
    return graph.get(node_id, {}).get("inputs", {}) or {}


def class_of(graph: Mapping[str, Any], node_id: str) -> str:
    return graph.get(node_id, {}).get("class_type", "")


def title_of(graph: Mapping[str, Any], node_id: str) -> str:
    meta = graph.get(node_id, {}).get("_meta")
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) else ""


def links(graph: Mapping[str, Any], node_id: str) -> Iterator[tuple[str, str]]:
    """(input name, source node id) for each linked input that points at a node in the graph."""
    for name, value in inputs_of(graph, node_id).items():
        if is_link(value) and str(value[0]) in graph:
            yield name, str(value[0])


def linked(graph: Mapping[str, Any], node_id: str, input_name: str) -> str | None:
    value = inputs_of(graph, node_id).get(input_name)
    if is_link(value) and str(value[0]) in graph:
        return str(value[0])
    return None


def int_value(graph: Mapping[str, Any], node_id: str, input_name: str) -> int | None:
    value = inputs_of(graph, node_id).get(input_name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number_value(graph: Mapping[str, Any], node_id: str, input_name: str) -> float | None:
    value = inputs_of(graph, node_id).get(input_name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def is_output_class(class_type: str, object_info: Mapping[str, Any] | None = None) -> bool:
    if object_info is not None and class_type in object_info:
        return bool(object_info[class_type].get("output_node"))
    return (class_type in IMAGE_OUTPUT_CLASSES or class_type in VIDEO_OUTPUT_CLASSES
            or bool(re.search(r"save|preview", class_type, re.IGNORECASE)))


def output_nodes(graph: Mapping[str, Any], object_info: Mapping[str, Any] | None = None) -> list[str]:
    """Nodes ComfyUI starts executing from: output nodes whose inputs are connected."""
    found = []
    for node_id in sorted_ids(graph):
        class_type = class_of(graph, node_id)
        if is_output_class(class_type, object_info) and any(True for _ in links(graph, node_id)):
            found.append(node_id)
    return found


def ancestors(graph: Mapping[str, Any], starts) -> set[str]:
    """Every node the `starts` depend on, the starts included (iterative: any depth)."""
    return _reachable(graph, starts, lambda node_id: (source for _, source in links(graph, node_id)))


def live_nodes(graph: Mapping[str, Any], object_info: Mapping[str, Any] | None = None) -> set[str]:
    """The nodes ComfyUI would execute: the output nodes and everything they depend on."""
    return ancestors(graph, output_nodes(graph, object_info))


def depends_on(graph: Mapping[str, Any], node_id: str, target: str) -> bool:
    return target in ancestors(graph, [node_id])


def descendants(graph: Mapping[str, Any], starts) -> set[str]:
    """Every node that depends on the `starts`, the starts included."""
    users: dict[str, list[str]] = {}
    for node_id in graph:
        for _, source in links(graph, node_id):
            users.setdefault(source, []).append(node_id)
    return _reachable(graph, starts, lambda node_id: users.get(node_id, ()))


def _reachable(graph: Mapping[str, Any], starts, neighbours: Callable[[str], Iterable[str]]) -> set[str]:
    """The `starts` (those in the graph) and every node reached from them through `neighbours`."""
    seen: set[str] = set()
    stack = [s for s in starts if s in graph]
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        stack.extend(other for other in neighbours(node_id) if other not in seen)
    return seen


def copy_plan(graph: Mapping[str, Any], starts, copies: int) -> dict[str, tuple[str, int]]:
    """How to make `copies` images with one prompt where a workflow makes one: the part of the
    graph that depends on `starts` (the seed's nodes) and reaches an output is repeated, the rest
    (model loaders, text encoders) is shared, so ComfyUI loads and encodes once.

    {node id: (original node id, copy index)} for every node of the repeated part, the originals
    as copy 0. New ids are numbers after the graph's largest, so the plan is the same every time.
    Empty when nothing the starts feed reaches an output."""
    outputs = output_nodes(graph)
    part = descendants(graph, starts) & ancestors(graph, outputs)
    if not any(node_id in part for node_id in outputs):
        return {}
    numbers = [int(node_id) for node_id in graph if str(node_id).isdigit()]
    next_id = max(numbers, default=len(graph)) + 1
    plan = {node_id: (node_id, 0) for node_id in part}
    for index in range(1, copies):
        for node_id in sorted_ids(part):
            while str(next_id) in graph:
                next_id += 1
            plan[str(next_id)] = (node_id, index)
            next_id += 1
    return plan


def repeat(graph: Mapping[str, Any], plan: Mapping[str, tuple[str, int]]) -> dict[str, Any]:
    """`graph` with the copies of `copy_plan` added, their links pointing into their own copy."""
    in_copy = {(original, index): node_id for node_id, (original, index) in plan.items()}
    result = dict(graph)
    for node_id, (original, index) in plan.items():
        if index == 0:
            continue
        node = copy.deepcopy(graph[original])
        for name, value in node.get("inputs", {}).items():
            if is_link(value) and (str(value[0]), index) in in_copy:
                node["inputs"][name] = [in_copy[(str(value[0]), index)], value[1]]
        result[node_id] = node
    return result

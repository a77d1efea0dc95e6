"""Workflow templates: ComfyUI API-format graphs from `flujos/` plus a manifest each.

A workflow is data. `<name>.json` is the graph exactly as ComfyUI's "Save (API Format)" writes it;
`<name>.manifest.json` says which node input receives the prompt, seed, size, input image, and which
model files the loaders use (see flujos/README.md). `fill()` deep-copies the graph and sets values
as Python objects, so any prompt text survives `json.dumps` byte for byte.

A workflow without a manifest gets one proposed by tracing the graph (`propose_manifest`); it stays
disabled until an admin confirms and saves it.
"""
from __future__ import annotations

import copy
import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from comfy.errors import ComfyError

MANIFEST_SUFFIX = ".manifest.json"
KINDS = ("imagine", "edit")
# Roles a manifest may map to a node input. Only "prompt" is required.
ROLES = ("prompt", "negative_prompt", "seed", "width", "height", "batch_size", "steps", "image")
INT_ROLES = ("width", "height", "batch_size", "steps")

SEED_MAX_64 = 2**64 - 1
# Seed range of the sampler nodes we know; an unknown node gets the conservative 32-bit range
# unless the manifest's limits say otherwise.
KNOWN_SEED_MAX = {
    "KSampler": SEED_MAX_64,
    "KSamplerAdvanced": SEED_MAX_64,
    "SamplerCustom": SEED_MAX_64,
    "RandomNoise": SEED_MAX_64,
}
DEFAULT_SEED_MAX = 2**32 - 1

# Loader inputs that name a model file, and how the GUI labels them.
MODEL_INPUT_LABELS = {
    "unet_name": "Diffusion model",
    "ckpt_name": "Checkpoint",
    "clip_name": "Text encoder",
    "clip_name1": "Text encoder 1",
    "clip_name2": "Text encoder 2",
    "clip_name3": "Text encoder 3",
    "clip_name4": "Text encoder 4",
    "vae_name": "VAE",
    "lora_name": "LoRA",
    "control_net_name": "ControlNet",
    "style_model_name": "Style model",
    "model_name": "Upscale model",
}
GGUF_CLASSES = ("UnetLoaderGGUF", "UnetLoaderGGUFAdvanced", "CLIPLoaderGGUF",
                "DualCLIPLoaderGGUF", "TripleCLIPLoaderGGUF", "QuadrupleCLIPLoaderGGUF")


class WorkflowError(ComfyError):
    """A workflow or its manifest is unusable, or fill() got parameters it cannot accept."""


class WorkflowLoadError(WorkflowError):
    """A file in the workflows folder could not be loaded. The message names the file and the fix."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path.name}: {message}")
        self.path = path
        self.reason = message


class FillError(WorkflowError):
    """fill() parameters break the manifest's limits. `problems` holds one sentence per problem."""

    def __init__(self, workflow: str, problems: list[str]) -> None:
        super().__init__(f"workflow {workflow!r}: " + "; ".join(problems))
        self.workflow = workflow
        self.problems = problems


# ---------------------------------------------------------------- manifest model

@dataclass(frozen=True)
class InputRef:
    node: str
    input: str

    def to_dict(self) -> dict[str, str]:
        return {"node": self.node, "input": self.input}


@dataclass(frozen=True)
class ModelSetting:
    """A loader input naming a model file; fill() writes `value` into the graph."""
    label: str
    node: str
    input: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "node": self.node, "input": self.input, "value": self.value}


@dataclass(frozen=True)
class Range:
    min: int
    max: int
    multiple_of: int = 1

    def to_dict(self) -> dict[str, int]:
        return {"min": self.min, "max": self.max, "multiple_of": self.multiple_of}


@dataclass(frozen=True)
class Limits:
    width: Range = Range(256, 2048, 16)
    height: Range = Range(256, 2048, 16)
    batch_size: Range = Range(1, 4)
    steps: Range = Range(1, 100)
    seed: Range | None = None          # None: the seed node's own range
    prompt_max_length: int = 4000

    def for_role(self, role: str) -> Range:
        return getattr(self, role)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {role: self.for_role(role).to_dict() for role in INT_ROLES}
        if self.seed is not None:
            out["seed"] = self.seed.to_dict()
        out["prompt_max_length"] = self.prompt_max_length
        return out


@dataclass(frozen=True)
class Manifest:
    display_name: str
    kind: str                                   # "imagine" | "edit"
    inputs: Mapping[str, InputRef]              # role -> node input; "prompt" always present
    enabled: bool = True
    description: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    limits: Limits = Limits()
    models: tuple[ModelSetting, ...] = ()

    def with_model_value(self, node: str, input_name: str, value: str) -> Manifest:
        """The same manifest with one model file changed (what the GUI's model picker does)."""
        found = False
        models = []
        for model in self.models:
            if model.node == node and model.input == input_name:
                model, found = replace(model, value=value), True
            models.append(model)
        if not found:
            raise WorkflowError(f"no model setting for node {node} input {input_name!r}")
        return replace(self, models=tuple(models))

    def to_dict(self) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "kind": self.kind,
            "enabled": self.enabled,
            "description": self.description,
            "inputs": {role: ref.to_dict() for role, ref in self.inputs.items()},
            "defaults": dict(self.defaults),
            "limits": self.limits.to_dict(),
            "models": [m.to_dict() for m in self.models],
        }


@dataclass(frozen=True)
class FillParams:
    prompt: str
    negative_prompt: str | None = None
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    batch_size: int | None = None
    image: str | None = None       # name ComfyUI gave the upload ("subfolder/name" is fine)
    steps: int | None = None


@dataclass(frozen=True)
class FilledWorkflow:
    graph: dict[str, Any]          # ready for POST /prompt
    seed: int | None               # the seed actually used; None when the workflow has no seed input


@dataclass(frozen=True)
class WorkflowTemplate:
    name: str                      # file stem, the id used by jobs and commands
    path: Path
    graph: Mapping[str, Any]       # never mutated; fill() works on a deep copy
    manifest: Manifest
    manifest_proposed: bool = False     # guessed by propose_manifest, waiting for an admin
    proposal_notes: tuple[str, ...] = ()

    @property
    def manifest_path(self) -> Path:
        return manifest_path_for(self.path)

    @property
    def enabled(self) -> bool:
        return self.manifest.enabled and not self.manifest_proposed

    @property
    def display_name(self) -> str:
        return self.manifest.display_name

    @property
    def kind(self) -> str:
        return self.manifest.kind

    def with_manifest(self, manifest: Manifest) -> WorkflowTemplate:
        return replace(self, manifest=manifest)

    def graph_with_models(self) -> dict[str, Any]:
        """A deep copy of the graph with the manifest's model files written in."""
        graph = copy.deepcopy(dict(self.graph))
        for model in self.manifest.models:
            graph[model.node]["inputs"][model.input] = model.value
        return graph

    def seed_range(self) -> Range:
        if self.manifest.limits.seed is not None:
            return self.manifest.limits.seed
        ref = self.manifest.inputs.get("seed")
        class_type = self.graph[ref.node]["class_type"] if ref else ""
        return Range(0, KNOWN_SEED_MAX.get(class_type, DEFAULT_SEED_MAX))

    def fill(self, params: FillParams) -> FilledWorkflow:
        """A graph ready to queue. Raises FillError listing every parameter that breaks the limits."""
        manifest = self.manifest
        values, problems = self._resolve(params)
        if problems:
            raise FillError(self.name, problems)
        graph = self.graph_with_models()
        for role, value in values.items():
            ref = manifest.inputs[role]
            graph[ref.node]["inputs"][ref.input] = value
        return FilledWorkflow(graph=graph, seed=values.get("seed"))

    def _resolve(self, params: FillParams) -> tuple[dict[str, Any], list[str]]:
        """The value for each mapped role, and the problems with what the caller asked for."""
        manifest, limits = self.manifest, self.manifest.limits
        inputs = manifest.inputs
        problems: list[str] = []
        values: dict[str, Any] = {}

        if not isinstance(params.prompt, str) or not params.prompt.strip():
            problems.append("the prompt is empty")
        elif len(params.prompt) > limits.prompt_max_length:
            problems.append(f"the prompt is {len(params.prompt)} characters long; "
                            f"the limit is {limits.prompt_max_length}")
        else:
            values["prompt"] = params.prompt

        negative = params.negative_prompt
        if "negative_prompt" in inputs:
            if negative is None:
                negative = manifest.defaults.get("negative_prompt")
            if negative is not None:
                if not isinstance(negative, str):
                    problems.append("the negative prompt must be text")
                elif len(negative) > limits.prompt_max_length:
                    problems.append(f"the negative prompt is {len(negative)} characters long; "
                                    f"the limit is {limits.prompt_max_length}")
                else:
                    values["negative_prompt"] = negative
        elif negative:
            problems.append(f"{manifest.display_name} takes no negative prompt")

        for role in INT_ROLES:
            given = getattr(params, role)
            if role not in inputs:
                if given is not None and not (role == "batch_size" and given == 1):
                    problems.append(f"{manifest.display_name} does not take a {_role_words(role)}")
                continue
            value = given if given is not None else manifest.defaults.get(role)
            if value is None:
                continue           # keep what the graph has
            problem = _range_problem(_role_words(role), value, limits.for_role(role))
            if problem:
                problems.append(problem)
            else:
                values[role] = value

        if "seed" in inputs:
            seed_range = self.seed_range()
            if params.seed is None:
                values["seed"] = seed_range.min + secrets.randbelow(seed_range.max - seed_range.min + 1)
            else:
                problem = _range_problem("seed", params.seed, seed_range)
                if problem:
                    problems.append(problem)
                else:
                    values["seed"] = params.seed
        elif params.seed is not None:
            problems.append(f"{manifest.display_name} has no seed input")

        if "image" in inputs:
            if not params.image or not isinstance(params.image, str):
                problems.append(f"{manifest.display_name} edits an image: attach one")
            else:
                values["image"] = params.image
        elif params.image:
            problems.append(f"{manifest.display_name} does not take an input image")
        return values, problems


def _role_words(role: str) -> str:
    return {"batch_size": "batch size", "steps": "step count"}.get(role, role)


def _range_problem(what: str, value: Any, limit: Range) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"the {what} must be a whole number (got {value!r})"
    if not limit.min <= value <= limit.max:
        return f"the {what} must be between {limit.min} and {limit.max} (got {value})"
    if value % limit.multiple_of:
        lower = value - value % limit.multiple_of
        return (f"the {what} must be a multiple of {limit.multiple_of} "
                f"(got {value}; try {lower} or {lower + limit.multiple_of})")
    return None


# ---------------------------------------------------------------- graph helpers

def is_link(value: Any) -> bool:
    """ComfyUI API format: a link is ["<node id>", <output index>]."""
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int))
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


def manifest_path_for(workflow_path: Path) -> Path:
    return workflow_path.with_name(workflow_path.stem + MANIFEST_SUFFIX)


def display_name_from_stem(stem: str) -> str:
    words = stem.replace("-", " ").replace("_", " ").split()
    return " ".join(w if w.isupper() else w.capitalize() for w in words) or stem


def model_label(class_type: str, input_name: str) -> str:
    label = MODEL_INPUT_LABELS.get(input_name, input_name)
    if class_type in GGUF_CLASSES:
        label += " (GGUF)"
    return label


# ---------------------------------------------------------------- manifest parsing

def parse_manifest(data: Any, graph: Mapping[str, Any]) -> Manifest:
    """A Manifest from its JSON, checked against the graph. WorkflowError says what to fix."""
    if not isinstance(data, dict):
        raise WorkflowError("the manifest must be a JSON object")
    display_name = data.get("display_name")
    if not isinstance(display_name, str) or not display_name.strip():
        raise WorkflowError("'display_name' must be a non-empty string")
    kind = data.get("kind", "imagine")
    if kind not in KINDS:
        raise WorkflowError(f"'kind' must be one of {', '.join(KINDS)} (got {kind!r})")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise WorkflowError("'enabled' must be true or false")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise WorkflowError("'description' must be a string")

    raw_inputs = data.get("inputs")
    if not isinstance(raw_inputs, dict):
        raise WorkflowError("'inputs' must be an object mapping roles to {\"node\": id, \"input\": name}")
    inputs: dict[str, InputRef] = {}
    for role, raw in raw_inputs.items():
        if role not in ROLES:
            raise WorkflowError(f"unknown role {role!r} in 'inputs'; roles are {', '.join(ROLES)}")
        inputs[role] = _parse_ref(f"inputs.{role}", raw, graph)
    seen: dict[InputRef, str] = {}
    for role, ref in inputs.items():
        if ref in seen:
            raise WorkflowError(f"inputs.{role} and inputs.{seen[ref]} both point at node {ref.node} "
                                f"input {ref.input!r}; each role needs its own input")
        seen[ref] = role
    if "prompt" not in inputs:
        raise WorkflowError("'inputs' has no 'prompt': map it to the text input of the prompt node, "
                            "e.g. {\"node\": \"6\", \"input\": \"text\"}")
    if kind == "edit" and "image" not in inputs:
        raise WorkflowError("an 'edit' workflow needs inputs.image (the LoadImage node's 'image')")
    if kind == "imagine" and "image" in inputs:
        raise WorkflowError("inputs.image is mapped, so 'kind' must be \"edit\"")

    limits = _parse_limits(data.get("limits", {}))
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise WorkflowError("'defaults' must be an object")
    for role, value in defaults.items():
        if role in INT_ROLES:
            problem = _range_problem(f"default {_role_words(role)}", value, limits.for_role(role))
            if problem:
                raise WorkflowError(f"defaults.{role}: {problem}; fix 'defaults' or 'limits'")
        elif role == "negative_prompt":
            if not isinstance(value, str):
                raise WorkflowError("defaults.negative_prompt must be a string")
        else:
            raise WorkflowError(f"defaults.{role}: only {', '.join(INT_ROLES)} and negative_prompt "
                                "can have defaults")

    raw_models = data.get("models", [])
    if not isinstance(raw_models, list):
        raise WorkflowError("'models' must be a list of {label, node, input, value}")
    models = []
    for i, raw in enumerate(raw_models):
        ref = _parse_ref(f"models[{i}]", raw, graph)
        value, label = raw.get("value"), raw.get("label", ref.input)
        if not isinstance(value, str) or not value:
            raise WorkflowError(f"models[{i}].value must be the model file name, e.g. \"ae.safetensors\"")
        if not isinstance(label, str):
            raise WorkflowError(f"models[{i}].label must be a string")
        models.append(ModelSetting(label=label, node=ref.node, input=ref.input, value=value))

    return Manifest(display_name=display_name, kind=kind, inputs=inputs, enabled=enabled,
                    description=description, defaults=dict(defaults), limits=limits,
                    models=tuple(models))


def _parse_ref(where: str, raw: Any, graph: Mapping[str, Any]) -> InputRef:
    if not isinstance(raw, dict) or "node" not in raw or not isinstance(raw.get("input"), str):
        raise WorkflowError(f"{where} must be {{\"node\": \"<node id>\", \"input\": \"<input name>\"}}")
    node_id = str(raw["node"])
    node = graph.get(node_id)
    if node is None:
        raise WorkflowError(f"{where} points at node {node_id}, which is not in the workflow "
                            f"(nodes: {', '.join(sorted(graph, key=_node_sort_key))}); fix the node id")
    inputs = node.get("inputs", {})
    if raw["input"] not in inputs:
        raise WorkflowError(f"{where} points at input {raw['input']!r} of node {node_id} "
                            f"({node['class_type']}), which has no such input "
                            f"(it has: {', '.join(inputs) or 'none'}); fix the input name")
    if is_link(inputs[raw["input"]]):          # fill() writes values, never links
        raise WorkflowError(f"{where}: input {raw['input']!r} of node {node_id} is a link to node "
                            f"{inputs[raw['input']][0]}; point the manifest at the node that holds the value")
    return InputRef(node=node_id, input=raw["input"])


def _parse_limits(raw: Any) -> Limits:
    if not isinstance(raw, dict):
        raise WorkflowError("'limits' must be an object")
    base = Limits()
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "prompt_max_length":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise WorkflowError("limits.prompt_max_length must be a positive whole number")
            changes[key] = value
        elif key in (*INT_ROLES, "seed"):
            default = getattr(base, key) or Range(0, SEED_MAX_64)
            changes[key] = _parse_range(f"limits.{key}", value, default)
        else:
            raise WorkflowError(f"unknown key limits.{key}; known: {', '.join(INT_ROLES)}, seed, "
                                "prompt_max_length")
    return replace(base, **changes)


def _parse_range(where: str, raw: Any, default: Range) -> Range:
    if not isinstance(raw, dict):
        raise WorkflowError(f"{where} must be {{\"min\": N, \"max\": N, \"multiple_of\": N}}")
    fields = {"min": default.min, "max": default.max, "multiple_of": default.multiple_of}
    for key, value in raw.items():
        if key not in fields:
            raise WorkflowError(f"{where}.{key} is unknown; use min, max, multiple_of")
        if isinstance(value, bool) or not isinstance(value, int):
            raise WorkflowError(f"{where}.{key} must be a whole number (got {value!r})")
        fields[key] = value
    if fields["min"] > fields["max"] or fields["multiple_of"] < 1 or fields["min"] < 0:
        raise WorkflowError(f"{where}: need 0 <= min <= max and multiple_of >= 1")
    return Range(**fields)


def _node_sort_key(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if node_id.isdigit() else (1 << 62, node_id)


# ---------------------------------------------------------------- loading and saving

@dataclass(frozen=True)
class LoadError:
    path: Path
    message: str                   # names the file and the fix

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class WorkflowSet:
    templates: dict[str, WorkflowTemplate]
    errors: list[LoadError]

    def get(self, name: str) -> WorkflowTemplate | None:
        return self.templates.get(name)

    def enabled(self, kind: str | None = None) -> list[WorkflowTemplate]:
        return [t for t in self.templates.values() if t.enabled and (kind is None or t.kind == kind)]


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")   # Notepad may add a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowLoadError(path, f"cannot read the file ({exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowLoadError(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                      f"{exc.msg}); fix or re-export the file") from exc


def load_workflow(path: Path) -> WorkflowTemplate:
    """One template from `<name>.json` and its manifest (proposed if the manifest is absent)."""
    path = Path(path)
    try:
        graph = check_graph_shape(_read_json(path))
    except WorkflowLoadError:
        raise
    except WorkflowError as exc:
        raise WorkflowLoadError(path, str(exc)) from exc
    manifest_path = manifest_path_for(path)
    if manifest_path.exists():
        raw = _read_json(manifest_path)
        try:
            manifest = parse_manifest(raw, graph)
        except WorkflowError as exc:
            raise WorkflowLoadError(manifest_path, f"{exc} (see flujos/README.md)") from exc
        return WorkflowTemplate(name=path.stem, path=path, graph=graph, manifest=manifest)
    try:
        manifest, notes = propose_manifest(graph, name=path.stem)
    except WorkflowError as exc:
        raise WorkflowLoadError(path, f"no {manifest_path.name}, and none could be proposed: {exc}; "
                                      f"write {manifest_path.name} (see flujos/README.md)") from exc
    return WorkflowTemplate(name=path.stem, path=path, graph=graph, manifest=manifest,
                            manifest_proposed=True, proposal_notes=tuple(notes))


def load_workflows(folder: str | os.PathLike[str]) -> WorkflowSet:
    """Every workflow in `folder`. A bad file becomes a LoadError; the others still load."""
    folder = Path(folder)
    templates: dict[str, WorkflowTemplate] = {}
    errors: list[LoadError] = []
    if not folder.is_dir():
        return WorkflowSet({}, [LoadError(folder, f"{folder}: the workflows folder does not exist")])
    files = sorted(folder.glob("*.json"))
    workflow_stems = {p.stem for p in files if not p.name.endswith(MANIFEST_SUFFIX)}
    for path in files:
        if path.name.endswith(MANIFEST_SUFFIX):
            stem = path.name[: -len(MANIFEST_SUFFIX)]
            if stem not in workflow_stems:
                errors.append(LoadError(path, f"{path.name}: there is no workflow {stem}.json "
                                              "for this manifest; rename or remove it"))
            continue
        try:
            templates[path.stem] = load_workflow(path)
        except WorkflowLoadError as exc:
            errors.append(LoadError(exc.path, str(exc)))
    return WorkflowSet(templates, errors)


def save_manifest(template: WorkflowTemplate) -> WorkflowTemplate:
    """Write the template's manifest next to its workflow (atomically); the result is confirmed."""
    data = template.manifest.to_dict()
    parse_manifest(data, template.graph)          # never write what we could not load back
    target = template.manifest_path
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return replace(template, manifest_proposed=False, proposal_notes=())


# ---------------------------------------------------------------- manifest proposal

SAMPLER_CLASSES = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
TEXT_INPUTS = ("text", "prompt")
# Inputs followed when tracing conditioning back to the text node, best first.
CONDITIONING_INPUTS = ("conditioning", "conditioning_to", "conditioning_1", "positive", "cond")
LATENT_INPUTS = ("latent_image", "latent", "samples")
SIZE_INPUTS = ("width", "height", "batch_size")


def propose_manifest(graph: Mapping[str, Any], name: str = "workflow") -> tuple[Manifest, list[str]]:
    """Guess the manifest of an imported workflow by tracing its graph.

    Returns the manifest (disabled, for an admin to confirm) and notes on what was found.
    Raises WorkflowError when no prompt can be found, since a workflow without one is unusable.
    """
    check_graph_shape(graph)
    notes: list[str] = []
    inputs: dict[str, InputRef] = {}
    defaults: dict[str, Any] = {}

    sampler_id = _find_sampler(graph)
    if sampler_id is None:
        raise WorkflowError("no sampler node found (" + ", ".join(SAMPLER_CLASSES) + ")")
    sampler = graph[sampler_id]
    notes.append(f"sampler: node {sampler_id} ({sampler['class_type']})")

    positive_source, negative_source = _conditioning_sources(graph, sampler_id)
    prompt = _trace_text(graph, positive_source) if positive_source else None
    if prompt is None:
        raise WorkflowError(f"could not trace the sampler's positive conditioning (node {sampler_id}) "
                            "back to a text-encode node with a 'text' input")
    inputs["prompt"] = prompt
    notes.append(f"prompt: node {prompt.node} ({graph[prompt.node]['class_type']}.{prompt.input})")

    negative = _trace_text(graph, negative_source) if negative_source else None
    if negative is not None and negative != prompt:
        inputs["negative_prompt"] = negative
        notes.append(f"negative prompt: node {negative.node} "
                     f"({graph[negative.node]['class_type']}.{negative.input})")
    else:
        notes.append("no negative prompt (none wired, or it is zeroed out)")

    seed = _find_seed(graph, sampler_id)
    if seed:
        inputs["seed"] = seed
        notes.append(f"seed: node {seed.node} ({graph[seed.node]['class_type']}.{seed.input}), "
                     "randomised unless given")
    else:
        notes.append("no seed input found: every run with the same prompt gives the same image")

    steps = _find_value_input(graph, sampler_id, ("steps",))
    if steps:
        inputs["steps"] = steps
        defaults["steps"] = graph[steps.node]["inputs"]["steps"]

    latent_id = _trace_latent_source(graph, sampler_id)
    if latent_id is not None:
        latent_inputs = graph[latent_id]["inputs"]
        for role in SIZE_INPUTS:
            if isinstance(latent_inputs.get(role), int) and not is_link(latent_inputs.get(role)):
                inputs[role] = InputRef(latent_id, role)
                defaults[role] = latent_inputs[role]
        notes.append(f"size and batch: node {latent_id} ({graph[latent_id]['class_type']})")

    load_images = [nid for nid in sorted(graph, key=_node_sort_key)
                   if graph[nid]["class_type"] == "LoadImage"
                   and isinstance(graph[nid].get("inputs", {}).get("image"), str)]
    kind = "imagine"
    if load_images:
        kind = "edit"
        inputs["image"] = InputRef(load_images[0], "image")
        notes.append(f"input image: node {load_images[0]} (LoadImage) → kind edit")
        if len(load_images) > 1:
            notes.append(f"several LoadImage nodes ({', '.join(load_images)}); only node "
                         f"{load_images[0]} receives the user's image")

    models = []
    for node_id in sorted(graph, key=_node_sort_key):
        node = graph[node_id]
        for input_name, value in node.get("inputs", {}).items():
            if input_name in MODEL_INPUT_LABELS and isinstance(value, str):
                models.append(ModelSetting(model_label(node["class_type"], input_name),
                                           node_id, input_name, value))
    if models:
        notes.append("models: " + ", ".join(f"{m.value} (node {m.node}.{m.input})" for m in models))

    limits = Limits()
    for role in INT_ROLES:     # widen the limits so the workflow's own values stay allowed
        value = defaults.get(role)
        if isinstance(value, int):
            current = limits.for_role(role)
            widened = Range(min(current.min, value), max(current.max, value),
                            current.multiple_of if value % current.multiple_of == 0 else 1)
            limits = replace(limits, **{role: widened})
    manifest = Manifest(display_name=display_name_from_stem(name), kind=kind, inputs=inputs,
                        enabled=False, description="Imported workflow; manifest proposed automatically.",
                        defaults=defaults, limits=limits, models=tuple(models))
    return manifest, notes


def _find_sampler(graph: Mapping[str, Any]) -> str | None:
    ordered = sorted(graph, key=_node_sort_key)
    for cls in SAMPLER_CLASSES:
        for node_id in ordered:
            if graph[node_id]["class_type"] == cls:
                return node_id
    for node_id in ordered:            # a custom sampler: anything with a positive conditioning link
        if is_link(graph[node_id].get("inputs", {}).get("positive")):
            return node_id
    return None


def _linked(graph: Mapping[str, Any], node_id: str, input_name: str) -> str | None:
    value = graph.get(node_id, {}).get("inputs", {}).get(input_name)
    if is_link(value) and str(value[0]) in graph:
        return str(value[0])
    return None


def _conditioning_sources(graph: Mapping[str, Any], sampler_id: str) -> tuple[str | None, str | None]:
    """Node ids feeding the sampler's positive and negative conditioning (through a guider)."""
    positive = _linked(graph, sampler_id, "positive")
    negative = _linked(graph, sampler_id, "negative")
    guider = _linked(graph, sampler_id, "guider")
    if positive is None and guider is not None:        # SamplerCustomAdvanced → CFGGuider/BasicGuider
        positive = _linked(graph, guider, "positive") or _linked(graph, guider, "conditioning")
        negative = _linked(graph, guider, "negative")
    return positive, negative


def _trace_text(graph: Mapping[str, Any], start: str) -> InputRef | None:
    """Follow conditioning links back from `start` to the node holding the prompt text."""
    seen: set[str] = set()
    node_id: str | None = start
    while node_id is not None and node_id not in seen:
        seen.add(node_id)
        node = graph[node_id]
        if node["class_type"] == "ConditioningZeroOut":
            return None                 # zeroed: there is no text to set here
        node_inputs = node.get("inputs", {})
        for name in TEXT_INPUTS:
            value = node_inputs.get(name)
            if isinstance(value, str):
                return InputRef(node_id, name)
            if is_link(value):                 # text from a primitive/string node
                source = str(value[0])
                for source_name in ("value", "string", "text"):
                    if isinstance(graph.get(source, {}).get("inputs", {}).get(source_name), str):
                        return InputRef(source, source_name)
        node_id = next((n for n in (_linked(graph, node_id, name) for name in CONDITIONING_INPUTS)
                        if n is not None), None)
    return None


def _find_value_input(graph: Mapping[str, Any], node_id: str, names: tuple[str, ...]) -> InputRef | None:
    node_inputs = graph[node_id].get("inputs", {})
    for name in names:
        value = node_inputs.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return InputRef(node_id, name)
        if is_link(value):
            source = str(value[0])
            for source_name in (name, "seed", "noise_seed", "value"):
                source_value = graph.get(source, {}).get("inputs", {}).get(source_name)
                if isinstance(source_value, int) and not isinstance(source_value, bool):
                    return InputRef(source, source_name)
    return None


def _find_seed(graph: Mapping[str, Any], sampler_id: str) -> InputRef | None:
    found = _find_value_input(graph, sampler_id, ("seed", "noise_seed"))
    if found:
        return found
    noise = _linked(graph, sampler_id, "noise")         # SamplerCustomAdvanced → RandomNoise
    if noise is not None:
        return _find_value_input(graph, noise, ("noise_seed", "seed"))
    return None


def _trace_latent_source(graph: Mapping[str, Any], sampler_id: str) -> str | None:
    """The empty-latent node (one with width/height values) feeding the sampler, if any."""
    seen: set[str] = set()
    node_id = next((n for n in (_linked(graph, sampler_id, name) for name in LATENT_INPUTS)
                    if n is not None), None)
    while node_id is not None and node_id not in seen:
        seen.add(node_id)
        node_inputs = graph[node_id].get("inputs", {})
        if all(isinstance(node_inputs.get(k), int) for k in ("width", "height")):
            return node_id
        node_id = next((n for n in (_linked(graph, node_id, name) for name in LATENT_INPUTS)
                        if n is not None), None)
    return None

"""A workflow's manifest (which node inputs the bot fills) and `fill()`, which writes a request in.

A workflow is data. `<name>.json` is the graph exactly as ComfyUI's "Export (API)" writes it;
`<name>.manifest.json` says which node inputs receive the prompt, seed, size, input image, LoRA...
and which model files the loaders use (see flujos/README.md). `fill()` deep-copies the graph and
sets values as Python objects, so any prompt text survives `json.dumps` byte for byte.
"""
from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from comfy.graph import WorkflowError, copy_plan, is_link, repeat, sorted_ids

MANIFEST_SUFFIX = ".manifest.json"

# What a workflow does with the user's request. Every kind but imagine takes an input image.
KINDS = ("imagine", "edit", "upscale", "vary")
KIND_WORDS = {
    "imagine": "makes images from a prompt",
    "edit": "changes an attached image following the prompt",
    "upscale": "enlarges an attached image",
    "vary": "makes a variation of an attached image",
}
IMAGE_KINDS = frozenset({"edit", "upscale", "vary"})
PROMPT_REQUIRED_KINDS = frozenset({"imagine", "edit"})

# Roles a manifest may map to node inputs. A role may name several inputs (a two-stage workflow
# has two seeds; the size sits on the latent and on a scheduler): all get the same value.
INT_ROLES = ("width", "height", "batch_size", "steps")
FLOAT_ROLES = ("cfg", "denoise", "scale")
ROLES = ("prompt", "negative_prompt", "seed", *INT_ROLES, *FLOAT_ROLES, "image")

SEED_MAX_64 = 2**64 - 1
# Seed range of the sampler and noise nodes we know; an unknown node gets the conservative 32-bit
# range unless the manifest's limits say otherwise.
KNOWN_SEED_MAX = {
    "KSampler": SEED_MAX_64,
    "KSamplerAdvanced": SEED_MAX_64,
    "SamplerCustom": SEED_MAX_64,
    "RandomNoise": SEED_MAX_64,
    "ImageAddNoise": SEED_MAX_64,
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
class FloatRange:
    min: float
    max: float

    def to_dict(self) -> dict[str, float]:
        return {"min": self.min, "max": self.max}


@dataclass(frozen=True)
class LoraSlot:
    """A LoRA loader whose file and strength a request may choose (one slot per loader node)."""
    label: str
    node: str
    value: str                                   # the LoRA file used when a request names none
    strength: float = 1.0                        # used when a request gives no strength
    strength_inputs: tuple[str, ...] = ("strength_model",)
    input: str = "lora_name"
    strength_range: FloatRange = FloatRange(0.0, 2.0)
    choices: tuple[str, ...] = ()                # files a request may pick; empty: any file

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "node": self.node, "input": self.input, "value": self.value,
                "strength_inputs": list(self.strength_inputs), "strength": self.strength,
                "strength_limits": self.strength_range.to_dict(), "choices": list(self.choices)}


@dataclass(frozen=True)
class Limits:
    width: Range = Range(256, 2048, 16)
    height: Range = Range(256, 2048, 16)
    batch_size: Range = Range(1, 4)
    steps: Range = Range(1, 100)
    cfg: FloatRange = FloatRange(0.0, 30.0)
    denoise: FloatRange = FloatRange(0.0, 1.0)
    scale: FloatRange = FloatRange(1.0, 4.0)
    seed: Range | None = None          # None: the seed node's own range
    prompt_max_length: int = 4000

    def for_role(self, role: str) -> Range | FloatRange:
        return getattr(self, role)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {role: self.for_role(role).to_dict() for role in (*INT_ROLES, *FLOAT_ROLES)}
        if self.seed is not None:
            out["seed"] = self.seed.to_dict()
        out["prompt_max_length"] = self.prompt_max_length
        return out


@dataclass(frozen=True)
class Manifest:
    display_name: str
    kind: str                                        # one of KINDS
    inputs: Mapping[str, tuple[InputRef, ...]]      # role -> the node inputs it fills (one or more)
    enabled: bool = True
    description: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    limits: Limits = Limits()
    models: tuple[ModelSetting, ...] = ()
    loras: tuple[LoraSlot, ...] = ()

    def ref(self, role: str) -> InputRef | None:
        """The first input a role fills (the one the GUI shows first), or None."""
        refs = self.inputs.get(role)
        return refs[0] if refs else None

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
        out = {
            "display_name": self.display_name,
            "kind": self.kind,
            "enabled": self.enabled,
            "description": self.description,
            "inputs": {role: refs[0].to_dict() if len(refs) == 1 else [r.to_dict() for r in refs]
                       for role, refs in self.inputs.items()},
            "defaults": dict(self.defaults),
            "limits": self.limits.to_dict(),
            "models": [m.to_dict() for m in self.models],
        }
        if self.loras:
            out["loras"] = [slot.to_dict() for slot in self.loras]
        return out


@dataclass(frozen=True)
class LoraChoice:
    """A request's choice for one LoRA slot; None keeps the manifest's file or strength."""
    name: str | None = None
    strength: float | None = None


@dataclass(frozen=True)
class FillParams:
    prompt: str = ""
    negative_prompt: str | None = None
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    batch_size: int | None = None
    image: str | None = None       # name ComfyUI gave the upload ("subfolder/name" is fine)
    steps: int | None = None
    cfg: float | None = None
    denoise: float | None = None   # vary: how far from the input image (0 = same, 1 = new)
    scale: float | None = None     # upscale: the factor
    loras: Sequence[LoraChoice] | None = None   # slot i of the manifest's `loras` gets loras[i]


@dataclass(frozen=True)
class FilledWorkflow:
    graph: dict[str, Any]          # ready for POST /prompt
    seed: int | None               # the seed actually used (copy i of a `copy_plan` has seed + i)


def manifest_path_for(workflow_path: Path) -> Path:
    return workflow_path.with_name(workflow_path.stem + MANIFEST_SUFFIX)


@dataclass(frozen=True)
class WorkflowTemplate:
    name: str                      # file stem, the id used by jobs and commands
    path: Path
    graph: Mapping[str, Any]       # never mutated; fill() works on a deep copy
    manifest: Manifest
    manifest_proposed: bool = False     # guessed by propose_manifest, waiting for an admin
    proposal_notes: tuple[str, ...] = ()
    shipped: bool = False               # a read-only default from the app's own flujos/
    notes: tuple[str, ...] = ()         # what loading noticed (a user file shadowing a default...)

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

    @property
    def takes_image(self) -> bool:
        return self.manifest.kind in IMAGE_KINDS

    @property
    def takes_prompt(self) -> bool:
        return "prompt" in self.manifest.inputs

    @property
    def prompt_required(self) -> bool:
        return self.manifest.kind in PROMPT_REQUIRED_KINDS

    def with_manifest(self, manifest: Manifest) -> WorkflowTemplate:
        return replace(self, manifest=manifest)

    def graph_with_models(self) -> dict[str, Any]:
        """A deep copy of the graph with the manifest's model files and default LoRAs written in."""
        graph = copy.deepcopy(dict(self.graph))
        for model in self.manifest.models:
            graph[model.node]["inputs"][model.input] = model.value
        for slot in self.manifest.loras:
            graph[slot.node]["inputs"][slot.input] = slot.value
            for name in slot.strength_inputs:
                graph[slot.node]["inputs"][name] = slot.strength
        return graph

    def seed_range(self) -> Range:
        if self.manifest.limits.seed is not None:
            return self.manifest.limits.seed
        refs = self.manifest.inputs.get("seed", ())
        if not refs:
            return Range(0, DEFAULT_SEED_MAX)
        return Range(0, min(KNOWN_SEED_MAX.get(self.graph[r.node]["class_type"], DEFAULT_SEED_MAX)
                            for r in refs))

    def copies_for(self, count: int | None) -> int:
        """How many copies of the seeded part a request for `count` images runs as: a workflow
        with a batch size makes them as one ComfyUI batch (1 copy), one without repeats its
        seeded part, one per image (see `comfy.graph.copy_plan`)."""
        if not count or count < 2 or "batch_size" in self.manifest.inputs:
            return 1
        return count

    @cached_property
    def makes_copies(self) -> bool:
        """Several images are made as copies of the seeded part (no batch size, a seed that
        reaches an output). Worked out once per template: the service's workflow list asks often."""
        return bool(self.copy_plan(2))

    def copy_plan(self, count: int | None) -> dict[str, tuple[str, int]]:
        """{node id: (original id, copy index)} of the repeated part for `count` images; {} when
        the workflow makes them as one batch. The same every time for the same template and count."""
        copies = self.copies_for(count)
        if copies == 1:
            return {}
        return copy_plan(self.graph, {ref.node for ref in self.manifest.inputs.get("seed", ())}, copies)

    def fill(self, params: FillParams) -> FilledWorkflow:
        """A graph ready to queue. Raises FillError listing every parameter that breaks the limits."""
        values, lora_values, problems = self._resolve(params)
        if problems:
            raise FillError(self.name, problems)
        graph = self.graph_with_models()
        for role, value in values.items():
            for ref in self.manifest.inputs[role]:
                graph[ref.node]["inputs"][ref.input] = value
        for slot, (name, strength) in zip(self.manifest.loras, lora_values):
            graph[slot.node]["inputs"][slot.input] = name
            for input_name in slot.strength_inputs:
                graph[slot.node]["inputs"][input_name] = strength
        plan = self.copy_plan(params.batch_size)
        if plan:
            graph = repeat(graph, plan)
            seeds = self.image_seeds(params.batch_size, values["seed"])
            for ref in self.manifest.inputs["seed"]:
                for node_id, (original, index) in plan.items():
                    if original == ref.node and index > 0:
                        graph[node_id]["inputs"][ref.input] = seeds[index]
        return FilledWorkflow(graph=graph, seed=values.get("seed"))

    def image_seeds(self, count: int | None, seed: int) -> list[int]:
        """The seed of each image of a request for `count` images made with `seed`: one seed for a
        batch, seed + i (within the seed range) for image i where they are made as copies."""
        low, high = self.seed_range().min, self.seed_range().max
        return [low + (seed - low + index) % (high - low + 1) for index in range(self.copies_for(count))]

    def _copies_problems(self, count: Any) -> list[str]:
        """What is wrong with asking a workflow that has no batch size for `count` images."""
        name = self.manifest.display_name
        if count == 1:
            return []
        if "seed" not in self.manifest.inputs:
            return [f"{name} has no seed input, so it makes one image per request"]
        problem = _range_problem(_role_words("batch_size"), count, self.manifest.limits.batch_size)
        if problem:
            return [problem]
        if not self.makes_copies:
            return [f"{name}'s seed does not reach its output, so it makes one image per request"]
        return []

    def _resolve(self, params: FillParams) -> tuple[dict[str, Any], list[tuple[str, float]], list[str]]:
        """The value for each mapped role and LoRA slot, and the problems with what was asked."""
        manifest, limits = self.manifest, self.manifest.limits
        inputs, name = manifest.inputs, manifest.display_name
        problems: list[str] = []
        values: dict[str, Any] = {}

        prompt = params.prompt if isinstance(params.prompt, str) else None
        if params.prompt is not None and prompt is None:
            problems.append("the prompt must be text")
        elif "prompt" in inputs:
            if not prompt or not prompt.strip():
                if self.prompt_required:
                    problems.append("the prompt is empty")
            elif len(prompt) > limits.prompt_max_length:
                problems.append(f"the prompt is {len(prompt)} characters long; "
                                f"the limit is {limits.prompt_max_length}")
            else:
                values["prompt"] = prompt
        elif prompt and prompt.strip():
            problems.append(f"{name} takes no prompt")

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
            problems.append(f"{name} takes no negative prompt")

        for role in (*INT_ROLES, *FLOAT_ROLES):
            given = getattr(params, role)
            if role not in inputs:
                if role == "batch_size" and given is not None:
                    problems += self._copies_problems(given)
                elif given is not None:
                    problems.append(f"{name} does not take a {_role_words(role)}")
                continue
            value = given if given is not None else manifest.defaults.get(role)
            if value is None:
                continue           # keep what the graph has
            if role in FLOAT_ROLES:
                problem = _float_problem(_role_words(role), value, limits.for_role(role))
                value = float(value) if problem is None else value
            else:
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
            problems.append(f"{name} has no seed input")

        if "image" in inputs:
            if not params.image or not isinstance(params.image, str):
                problems.append(f"{name} {KIND_WORDS.get(manifest.kind, 'takes an image')}: attach one")
            else:
                values["image"] = params.image
        elif params.image:
            problems.append(f"{name} does not take an input image")

        return values, self._resolve_loras(params.loras, problems), problems

    def _resolve_loras(self, choices: Sequence[LoraChoice] | None,
                       problems: list[str]) -> list[tuple[str, float]]:
        slots = self.manifest.loras
        choices = list(choices or ())
        if len(choices) > len(slots):
            problems.append(f"{self.manifest.display_name} takes at most {len(slots)} LoRA(s) "
                            f"(asked for {len(choices)})")
            return []
        resolved = []
        for index, slot in enumerate(slots):
            choice = choices[index] if index < len(choices) else LoraChoice()
            lora_name = slot.value if choice.name is None else choice.name
            if not isinstance(lora_name, str) or not lora_name:
                problems.append(f"LoRA {index + 1} must be a file name")
            elif slot.choices and lora_name not in slot.choices:
                problems.append(f"LoRA {lora_name!r} is not offered for {slot.label}; "
                                f"choose one of {', '.join(slot.choices)}")
            strength = slot.strength if choice.strength is None else choice.strength
            problem = _float_problem(f"{slot.label} strength", strength, slot.strength_range)
            if problem:
                problems.append(problem)
            resolved.append((lora_name, float(strength) if problem is None else strength))
        return resolved


def _role_words(role: str) -> str:
    return {"batch_size": "batch size", "steps": "step count", "cfg": "CFG scale",
            "denoise": "variation strength (denoise)", "scale": "scale factor"}.get(role, role)


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


def _float_problem(what: str, value: Any, limit: FloatRange) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return f"the {what} must be a number (got {value!r})"
    if not limit.min <= value <= limit.max:
        return f"the {what} must be between {limit.min:g} and {limit.max:g} (got {value:g})"
    return None


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
        raise WorkflowError("'inputs' must be an object mapping roles to {\"node\": id, \"input\": name} "
                            "(or a list of them)")
    inputs: dict[str, tuple[InputRef, ...]] = {}
    for role, raw in raw_inputs.items():
        if role not in ROLES:
            raise WorkflowError(f"unknown role {role!r} in 'inputs'; roles are {', '.join(ROLES)}")
        raws = raw if isinstance(raw, list) else [raw]
        if not raws:
            raise WorkflowError(f"inputs.{role} is an empty list; map it or leave it out")
        inputs[role] = tuple(_parse_ref(f"inputs.{role}", r, graph) for r in raws)
    seen: dict[InputRef, str] = {}
    for role, refs in inputs.items():
        for ref in refs:
            if ref in seen:
                raise WorkflowError(f"inputs.{role} and inputs.{seen[ref]} both point at node {ref.node} "
                                    f"input {ref.input!r}; each role needs its own input")
            seen[ref] = role
    if kind in PROMPT_REQUIRED_KINDS and "prompt" not in inputs:
        raise WorkflowError("'inputs' has no 'prompt': map it to the text input of the prompt node, "
                            "e.g. {\"node\": \"6\", \"input\": \"text\"}")
    if kind in IMAGE_KINDS and "image" not in inputs:
        raise WorkflowError(f"a {kind!r} workflow needs inputs.image (the LoadImage node's 'image')")
    if kind not in IMAGE_KINDS and "image" in inputs:
        raise WorkflowError("inputs.image is mapped, so 'kind' must be \"edit\", \"vary\" or \"upscale\"")

    limits = _parse_limits(data.get("limits", {}))
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise WorkflowError("'defaults' must be an object")
    for role, value in defaults.items():
        if role in INT_ROLES:
            problem = _range_problem(f"default {_role_words(role)}", value, limits.for_role(role))
        elif role in FLOAT_ROLES:
            problem = _float_problem(f"default {_role_words(role)}", value, limits.for_role(role))
        elif role == "negative_prompt":
            problem = None if isinstance(value, str) else "the default negative prompt must be text"
        else:
            raise WorkflowError(f"defaults.{role}: only {', '.join((*INT_ROLES, *FLOAT_ROLES))} and "
                                "negative_prompt can have defaults")
        if problem:
            raise WorkflowError(f"defaults.{role}: {problem}; fix 'defaults' or 'limits'")

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

    raw_loras = data.get("loras", [])
    if not isinstance(raw_loras, list):
        raise WorkflowError("'loras' must be a list of {label, node, input, value, strength_inputs, strength}")
    loras = tuple(_parse_lora(f"loras[{i}]", raw, graph) for i, raw in enumerate(raw_loras))

    return Manifest(display_name=display_name, kind=kind, inputs=inputs, enabled=enabled,
                    description=description, defaults=dict(defaults), limits=limits,
                    models=tuple(models), loras=loras)


def _parse_ref(where: str, raw: Any, graph: Mapping[str, Any]) -> InputRef:
    if not isinstance(raw, dict) or "node" not in raw or not isinstance(raw.get("input"), str):
        raise WorkflowError(f"{where} must be {{\"node\": \"<node id>\", \"input\": \"<input name>\"}}")
    node_id = str(raw["node"])
    node = graph.get(node_id)
    if node is None:
        shown = sorted_ids(graph)
        raise WorkflowError(f"{where} points at node {node_id}, which is not in the workflow "
                            f"(nodes: {', '.join(shown[:40])}{', ...' if len(shown) > 40 else ''}); "
                            "fix the node id")
    inputs = node.get("inputs", {})
    if raw["input"] not in inputs:
        raise WorkflowError(f"{where} points at input {raw['input']!r} of node {node_id} "
                            f"({node['class_type']}), which has no such input "
                            f"(it has: {', '.join(inputs) or 'none'}); fix the input name")
    if is_link(inputs[raw["input"]]):          # fill() writes values, never links
        raise WorkflowError(f"{where}: input {raw['input']!r} of node {node_id} is a link to node "
                            f"{inputs[raw['input']][0]}; point the manifest at the node that holds the value")
    return InputRef(node=node_id, input=raw["input"])


def _parse_lora(where: str, raw: Any, graph: Mapping[str, Any]) -> LoraSlot:
    if not isinstance(raw, dict):
        raise WorkflowError(f"{where} must be an object")
    ref = _parse_ref(where, {"node": raw.get("node"), "input": raw.get("input", "lora_name")}, graph)
    value, label = raw.get("value"), raw.get("label", f"LoRA (node {ref.node})")
    if not isinstance(value, str) or not value:
        raise WorkflowError(f"{where}.value must be the LoRA file used by default")
    if not isinstance(label, str):
        raise WorkflowError(f"{where}.label must be a string")
    strength_inputs = raw.get("strength_inputs", ["strength_model"])
    if not isinstance(strength_inputs, list) or not all(isinstance(s, str) for s in strength_inputs):
        raise WorkflowError(f"{where}.strength_inputs must be a list of input names")
    for name in strength_inputs:
        _parse_ref(f"{where}.strength_inputs", {"node": ref.node, "input": name}, graph)
    strength_range = _parse_float_range(f"{where}.strength_limits", raw.get("strength_limits", {}),
                                        FloatRange(0.0, 2.0))
    strength = raw.get("strength", 1.0)
    problem = _float_problem(f"{where}.strength", strength, strength_range)
    if problem:
        raise WorkflowError(problem)
    choices = raw.get("choices", [])
    if not isinstance(choices, list) or not all(isinstance(c, str) and c for c in choices):
        raise WorkflowError(f"{where}.choices must be a list of LoRA file names (empty: any)")
    return LoraSlot(label=label, node=ref.node, input=ref.input, value=value, strength=float(strength),
                    strength_inputs=tuple(strength_inputs), strength_range=strength_range,
                    choices=tuple(choices))


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
        elif key in FLOAT_ROLES:
            changes[key] = _parse_float_range(f"limits.{key}", value, getattr(base, key))
        else:
            raise WorkflowError(f"unknown key limits.{key}; known: {', '.join((*INT_ROLES, *FLOAT_ROLES))}, "
                                "seed, prompt_max_length")
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


def _parse_float_range(where: str, raw: Any, default: FloatRange) -> FloatRange:
    if not isinstance(raw, dict):
        raise WorkflowError(f"{where} must be {{\"min\": number, \"max\": number}}")
    fields = {"min": default.min, "max": default.max}
    for key, value in raw.items():
        if key not in fields:
            raise WorkflowError(f"{where}.{key} is unknown; use min, max")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise WorkflowError(f"{where}.{key} must be a number (got {value!r})")
        fields[key] = float(value)
    if fields["min"] > fields["max"]:
        raise WorkflowError(f"{where}: need min <= max")
    return FloatRange(**fields)

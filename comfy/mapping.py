"""Proposing a manifest for an imported workflow by following its graph as ComfyUI executes it.

Only nodes that reach an output node count (ComfyUI never runs the rest). From the last sampler
the prompt is traced back through guiders, reference latents and string nodes to the text the
author meant; the seed goes to every sampler or noise node whose seed changes the result; a
negative prompt and the CFG scale are roles only where they have an effect; the size goes to every
node that carries it. The kind follows from where a LoadImage feeds in: nowhere (imagine), the
conditioning (edit), only the latent (vary), or no sampler at all with a scaling node (upscale).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from comfy.graph import (
    VIDEO_OUTPUT_CLASSES,
    WorkflowError,
    ancestors,
    check_graph_shape,
    class_of,
    inputs_of,
    int_value,
    is_link,
    linked,
    links,
    number_value,
    output_nodes,
    sorted_ids,
    title_of,
)
from comfy.manifest import (
    FLOAT_ROLES,
    INT_ROLES,
    MODEL_INPUT_LABELS,
    FloatRange,
    InputRef,
    Limits,
    LoraSlot,
    Manifest,
    ModelSetting,
    Range,
    display_name_from_stem,
    model_label,
)

SAMPLER_CLASSES = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
# Inputs followed from a sampler or guider back to the text node, best first.
CONDITIONING_INPUTS = ("conditioning", "conditioning_to", "conditioning_1", "positive", "cond",
                       "cond1", "conditioning_2", "cond2")
LATENT_INPUTS = ("latent_image", "latent", "samples")
SCALE_CLASSES = ("ImageScaleBy", "LatentUpscaleBy")
IMAGE_SCALERS = ("ImageScaleBy", "ImageUpscaleWithModel", "ImageScale", "LatentUpscaleBy", "LatentUpscale",
                 "ImageScaleToTotalPixels", "ImageScaleToMaxDimension")
# Samplers that draw fresh noise at every step: their seed matters even when no initial noise is added.
_STOCHASTIC = re.compile(r"ancestral|sde|lcm|ddpm|seeds_|sa_solver|restart", re.IGNORECASE)
# Text inputs of encoder and string nodes (CLIPTextEncodeSDXL text_g/text_l, CLIPTextEncodeFlux
# clip_l/t5xxl, HiDream's four, batch encoders text_1..text_N).
_TEXT_INPUT = re.compile(r"^(text|prompt|string|value|text_[a-z0-9]+|clip_l|clip_g|t5xxl|llama|"
                         r"string_a|user_prompt)$")


def propose_manifest(graph: Mapping[str, Any], name: str = "workflow",
                     object_info: Mapping[str, Any] | None = None) -> tuple[Manifest, list[str]]:
    """Guess the manifest of an imported workflow by tracing its graph.

    Returns the manifest (disabled, for an admin to confirm) and notes on what was found.
    Raises WorkflowError saying why when none can be proposed (no output, a video output, no
    prompt, no image to upscale).
    """
    return _Mapper(check_graph_shape(graph), object_info).propose(name)


class _Mapper:
    def __init__(self, graph: Mapping[str, Any], object_info: Mapping[str, Any] | None) -> None:
        self.graph = graph
        self.object_info = object_info
        self.notes: list[str] = []
        self.inputs: dict[str, list[InputRef]] = {}
        self.defaults: dict[str, Any] = {}

    # ---- helpers

    def describe(self, node_id: str) -> str:
        title = title_of(self.graph, node_id)
        cls = class_of(self.graph, node_id)
        return f"node {node_id} ({cls}{', ' + repr(title) if title and title != cls else ''})"

    def add(self, role: str, refs: list[InputRef]) -> None:
        taken = {ref for refs_ in self.inputs.values() for ref in refs_}
        fresh = [r for r in dict.fromkeys(refs) if r not in taken]
        if fresh:
            self.inputs.setdefault(role, []).extend(fresh)

    # ---- the proposal

    def propose(self, name: str) -> tuple[Manifest, list[str]]:
        graph = self.graph
        outputs = output_nodes(graph, self.object_info)
        if not outputs:
            raise WorkflowError("no output node is connected (SaveImage, PreviewImage or "
                                "SaveImageWebsocket), so ComfyUI would run nothing")
        videos = [o for o in outputs if class_of(graph, o) in VIDEO_OUTPUT_CLASSES]
        if videos:
            raise WorkflowError(f"its output is a video or animation ({self.describe(videos[0])}); "
                                "the bot delivers still images only")
        self.live = ancestors(graph, outputs)
        self.notes.append("outputs: " + ", ".join(self.describe(o) for o in outputs))
        dead = [n for n in sorted_ids(graph) if n not in self.live]
        if dead:
            self.notes.append(f"not connected to an output, so never run: nodes {', '.join(dead)}")

        samplers = [n for n in sorted_ids(self.live) if self.is_sampler(n)]
        images = [n for n in sorted_ids(self.live) if class_of(graph, n) == "LoadImage"
                  and isinstance(inputs_of(graph, n).get("image"), str)]
        if samplers:
            kind = self.map_sampling(samplers, images)
        else:
            kind = self.map_upscale(images)

        if kind in ("imagine", "edit", "vary") and "seed" in self.inputs and "batch_size" not in self.inputs:
            self.notes.append("no batch size: several images (/imagine count) run the seeded part once per "
                              "image, in the same prompt")
        models, loras = self.map_models()
        limits = self.widened_limits()
        manifest = Manifest(
            display_name=display_name_from_stem(name), kind=kind,
            inputs={role: tuple(refs) for role, refs in self.inputs.items()}, enabled=False,
            description="Imported workflow; manifest proposed automatically.",
            defaults=self.defaults, limits=limits, models=tuple(models), loras=tuple(loras))
        return manifest, self.notes

    def is_sampler(self, node_id: str) -> bool:
        cls = class_of(self.graph, node_id)
        if cls in SAMPLER_CLASSES:
            return True
        node_links = dict(links(self.graph, node_id))
        return ("positive" in node_links or "guider" in node_links) and any(
            name in node_links for name in LATENT_INPUTS)

    # ---- samplers: imagine, edit, vary

    def map_sampling(self, samplers: list[str], images: list[str]) -> str:
        graph = self.graph
        # The last stage: a sampler no other live sampler builds on.
        finals = [s for s in samplers
                  if not any(s != other and s in ancestors(graph, [other]) for other in samplers)]
        self.notes.append("sampler: " + ", ".join(self.describe(s) for s in finals)
                          + (f" (after {len(samplers) - len(finals)} earlier stage(s))"
                             if len(samplers) > len(finals) else ""))

        prompt_nodes = self.map_prompt(finals, samplers)
        self.map_negative(finals, prompt_nodes)
        self.map_seeds(samplers)
        self.map_steps_and_cfg(finals, samplers)
        self.map_size(finals)

        if not images:
            if "prompt" not in self.inputs:
                raise WorkflowError(f"could not trace the sampler's positive conditioning ({self.describe(finals[0])}) "
                                    "back to a text-encode node with a text input")
            return "imagine"
        conditioning_sources = set()
        for sampler in finals:
            for source in self.conditioning_starts(sampler, "positive"):
                conditioning_sources |= ancestors(graph, [source])
        image = images[0]
        kind = "edit" if image in conditioning_sources else "vary"
        self.add("image", [InputRef(image, "image")])
        self.notes.append(f"input image: {self.describe(image)} → kind {kind}"
                          + (" (it feeds the conditioning)" if kind == "edit" else
                             " (it feeds only the latent: image to image)"))
        if len(images) > 1:
            self.notes.append(f"several LoadImage nodes ({', '.join(images)}); only node {image} "
                              "receives the user's image, the others keep their files")
        if kind == "edit" and "prompt" not in self.inputs:
            raise WorkflowError("could not trace the edit instruction (the sampler's positive "
                                "conditioning) back to a text-encode node")
        if kind == "vary":
            self.map_denoise(finals)
        return kind

    def conditioning_starts(self, sampler: str, which: str) -> list[str]:
        """Nodes feeding the sampler's positive (or negative) conditioning, through a guider."""
        graph = self.graph
        direct = linked(graph, sampler, which)
        if direct is not None:
            return [direct]
        guider = linked(graph, sampler, "guider")
        if guider is None:
            return []
        if which == "positive":
            names = ("positive", "conditioning", "cond1", "cond")
        else:
            names = ("negative",)
        return [n for n in (linked(graph, guider, name) for name in names) if n is not None][:1]

    def trace_text(self, start: str) -> tuple[str, list[str]] | None:
        """The node holding the text behind a conditioning, and its text inputs; None if zeroed."""
        graph = self.graph
        queue, seen = [start], set()
        while queue:
            node_id = queue.pop(0)
            if node_id in seen:
                continue
            seen.add(node_id)
            if class_of(graph, node_id) == "ConditioningZeroOut":
                return None
            text_inputs = [name for name, value in inputs_of(graph, node_id).items()
                           if _TEXT_INPUT.match(name) and isinstance(value, str)]
            if text_inputs:
                return node_id, text_inputs
            linked_text = [(name, str(value[0])) for name, value in inputs_of(graph, node_id).items()
                           if _TEXT_INPUT.match(name) and is_link(value) and str(value[0]) in graph]
            found = self.text_from_links(linked_text)
            if found is not None:
                return found
            for name in CONDITIONING_INPUTS:
                source = linked(graph, node_id, name)
                if source is not None:
                    queue.append(source)
        return None

    def text_from_links(self, linked_text: list[tuple[str, str]]) -> tuple[str, list[str]] | None:
        """A text input fed by a string/primitive node: the string node's own text input."""
        graph = self.graph
        for _, source in linked_text:
            seen: set[str] = set()
            node_id: str | None = source
            while node_id is not None and node_id not in seen:
                seen.add(node_id)
                values = [name for name, value in inputs_of(graph, node_id).items()
                          if _TEXT_INPUT.match(name) and isinstance(value, str)]
                if values:
                    return node_id, values[:1]
                node_id = next((str(v[0]) for n, v in inputs_of(graph, node_id).items()
                                if _TEXT_INPUT.match(n) and is_link(v) and str(v[0]) in graph), None)
        return None

    def map_prompt(self, finals: list[str], samplers: list[str]) -> set[str]:
        graph = self.graph
        prompt_nodes: set[str] = set()
        final_texts: set[str] = set()
        for sampler in finals:
            for start in self.conditioning_starts(sampler, "positive"):
                found = self.trace_text(start)
                if found is None:
                    continue
                node_id, names = found
                prompt_nodes.add(node_id)
                self.add("prompt", [InputRef(node_id, n) for n in names])
                final_texts.update(inputs_of(graph, node_id).get(n) for n in names)
                self.notes.append(f"prompt: {self.describe(node_id)} {', '.join(names)}")
        # An earlier stage with its own text node gets the prompt only when the author kept its
        # text the same as the last stage's; a deliberately empty (or different) stage stays.
        for sampler in samplers:
            if sampler in finals:
                continue
            for start in self.conditioning_starts(sampler, "positive"):
                found = self.trace_text(start)
                if found is None or found[0] in prompt_nodes:
                    continue
                node_id, names = found
                texts = {inputs_of(graph, node_id).get(n) for n in names}
                if texts == final_texts and texts != {""} and "empty" not in title_of(graph, node_id).lower():
                    prompt_nodes.add(node_id)
                    self.add("prompt", [InputRef(node_id, n) for n in names])
                    self.notes.append(f"prompt also: {self.describe(node_id)} (an earlier stage with the same text)")
                else:
                    self.notes.append(f"{self.describe(node_id)} conditions an earlier stage "
                                      f"({self.describe(sampler)}) and keeps the workflow's own text")
        return prompt_nodes

    def map_negative(self, finals: list[str], prompt_nodes: set[str]) -> None:
        graph = self.graph
        for sampler in finals:
            guider = linked(graph, sampler, "guider")
            holder = guider if guider is not None and linked(graph, sampler, "negative") is None else sampler
            starts = self.conditioning_starts(sampler, "negative")
            if not starts:
                if guider is not None:
                    self.notes.append(f"no negative prompt: {self.describe(guider)} takes none")
                continue
            cfg = number_value(graph, holder, "cfg")
            if cfg is not None and cfg <= 1.0:
                self.notes.append(f"no negative prompt: at cfg {cfg:g} ({self.describe(holder)}) "
                                  "it has no effect")
                continue
            found = self.trace_text(starts[0])
            if found is None:
                self.notes.append("no negative prompt (it is zeroed out)")
                continue
            node_id, names = found
            if node_id in prompt_nodes:
                continue
            self.add("negative_prompt", [InputRef(node_id, n) for n in names])
            self.notes.append(f"negative prompt: {self.describe(node_id)} {', '.join(names)} "
                              "(its current text stays when a request gives none)")
            self.map_earlier_negatives(finals, node_id, names, prompt_nodes)

    def map_earlier_negatives(self, finals: list[str], final_node: str, names: list[str],
                              prompt_nodes: set[str]) -> None:
        """Earlier stages (a base before a refiner) whose negative text is the same as the last's."""
        graph = self.graph
        texts = {inputs_of(graph, final_node).get(n) for n in names}
        for sampler in sorted_ids(self.live):
            if sampler in finals or not self.is_sampler(sampler):
                continue
            for start in self.conditioning_starts(sampler, "negative"):
                found = self.trace_text(start)
                if found is None or found[0] in prompt_nodes or found[0] == final_node:
                    continue
                if {inputs_of(graph, found[0]).get(n) for n in found[1]} == texts:
                    self.add("negative_prompt", [InputRef(found[0], n) for n in found[1]])
                    self.notes.append(f"negative prompt also: {self.describe(found[0])} (an earlier stage "
                                      "with the same text)")

    def map_seeds(self, samplers: list[str]) -> None:
        graph = self.graph
        refs: list[InputRef] = []
        for node_id in sorted_ids(self.live):
            cls = class_of(graph, node_id)
            node_inputs = inputs_of(graph, node_id)
            for name in ("seed", "noise_seed"):
                if name not in node_inputs:
                    continue
                if cls == "KSamplerAdvanced" and node_inputs.get("add_noise") == "disable" and not \
                        _STOCHASTIC.search(str(node_inputs.get("sampler_name", ""))):
                    self.notes.append(f"{self.describe(node_id)} adds no noise: its seed has no effect")
                    continue
                if cls == "SamplerCustom" and node_inputs.get("add_noise") is False:
                    continue
                ref = self.value_source(node_id, name, int)
                if ref is not None:
                    refs.append(ref)
        if refs:
            self.add("seed", refs)
            self.notes.append("seed: " + ", ".join(f"node {r.node} {r.input}" for r in dict.fromkeys(refs))
                              + " (randomised unless given)")
        else:
            self.notes.append("no seed input found: every run with the same prompt gives the same image")

    def value_source(self, node_id: str, name: str, kind: type) -> InputRef | None:
        """The input holding the value of `name`: on the node, or on the primitive it links to."""
        value = inputs_of(self.graph, node_id).get(name)
        if isinstance(value, kind) and not isinstance(value, bool):
            return InputRef(node_id, name)
        if is_link(value):
            source = str(value[0])
            for source_name in (name, "seed", "noise_seed", "value", "int", "number"):
                source_value = inputs_of(self.graph, source).get(source_name)
                if isinstance(source_value, kind) and not isinstance(source_value, bool):
                    return InputRef(source, source_name)
        return None

    def map_steps_and_cfg(self, finals: list[str], samplers: list[str]) -> None:
        graph = self.graph
        final = finals[0]
        step_holders = [final, *[s for s in (linked(graph, final, "sigmas"),) if s]]
        steps_ref = next((r for r in (self.value_source(h, "steps", int) for h in step_holders) if r), None)
        if steps_ref is not None:
            steps = inputs_of(graph, steps_ref.node)[steps_ref.input]
            refs = [steps_ref]
            for other in samplers:              # two-stage samplers split one step count
                for holder in (other, linked(graph, other, "sigmas")):
                    if holder and int_value(graph, holder, "steps") == steps:
                        refs.append(InputRef(holder, "steps"))
            self.add("steps", refs)
            self.defaults["steps"] = steps
        guider = linked(graph, final, "guider")
        holder = final if number_value(graph, final, "cfg") is not None else guider
        cfg = number_value(graph, holder, "cfg") if holder else None
        if cfg is None:
            return
        if cfg <= 1.0:
            self.notes.append(f"no CFG role: cfg {cfg:g} on {self.describe(holder)} (a distilled or "
                              "guidance-free setup; raising it needs a model made for it)")
            return
        refs = [InputRef(holder, "cfg")]
        for other in samplers:
            for node in (other, linked(graph, other, "guider")):
                if node and number_value(graph, node, "cfg") == cfg:
                    refs.append(InputRef(node, "cfg"))
        self.add("cfg", refs)
        self.defaults["cfg"] = cfg

    def map_size(self, finals: list[str]) -> None:
        graph = self.graph
        latent = self.latent_source(finals[0])
        if latent is None:
            return
        width, height = int_value(graph, latent, "width"), int_value(graph, latent, "height")
        if width is None or height is None:
            self.notes.append(f"the size comes from {self.describe(latent)}'s links (it follows the "
                              "input image): no size role")
            return
        holders = [latent] + [n for n in sorted_ids(self.live) if n != latent
                              and int_value(graph, n, "width") == width
                              and int_value(graph, n, "height") == height
                              and class_of(graph, n) not in IMAGE_SCALERS]
        self.add("width", [InputRef(n, "width") for n in holders])
        self.add("height", [InputRef(n, "height") for n in holders])
        self.defaults.update(width=width, height=height)
        batch = int_value(graph, latent, "batch_size")
        if batch is not None:
            self.add("batch_size", [InputRef(latent, "batch_size")])
            self.defaults["batch_size"] = batch
        self.notes.append("size: " + ", ".join(self.describe(n) for n in holders)
                          + (f"; batch: node {latent}" if batch is not None else ""))

    def latent_source(self, sampler: str) -> str | None:
        """The node with width/height (values or links) feeding the sampler's latent, if any."""
        graph = self.graph
        seen: set[str] = set()
        node_id = next((n for n in (linked(graph, sampler, name) for name in LATENT_INPUTS) if n), None)
        while node_id is not None and node_id not in seen:
            seen.add(node_id)
            node_inputs = inputs_of(graph, node_id)
            if "width" in node_inputs and "height" in node_inputs:
                return node_id
            node_id = next((n for n in (linked(graph, node_id, name) for name in LATENT_INPUTS) if n), None)
        return None

    def map_denoise(self, finals: list[str]) -> None:
        graph = self.graph
        for holder in (finals[0], linked(graph, finals[0], "sigmas")):
            if holder and number_value(graph, holder, "denoise") is not None:
                denoise = number_value(graph, holder, "denoise")
                self.add("denoise", [InputRef(holder, "denoise")])
                self.defaults["denoise"] = denoise
                self.notes.append(f"variation strength: {self.describe(holder)} denoise {denoise:g}"
                                  + (" (1 ignores the input image: lower it, e.g. 0.6)" if denoise >= 1 else ""))
                return
        self.notes.append("no denoise input found: the variation strength is fixed by the workflow")

    # ---- no sampler: upscale

    def map_upscale(self, images: list[str]) -> str:
        graph = self.graph
        scalers = [n for n in sorted_ids(self.live) if class_of(graph, n) in IMAGE_SCALERS]
        if not images or not scalers:
            raise WorkflowError("no sampler node found (" + ", ".join(SAMPLER_CLASSES) + "), and it is "
                                "not an upscale either (a LoadImage feeding ImageScaleBy or "
                                "ImageUpscaleWithModel into the output)")
        self.add("image", [InputRef(images[0], "image")])
        self.notes.append(f"input image: {self.describe(images[0])} → kind upscale "
                          f"(scaled by {', '.join(self.describe(s) for s in scalers)})")
        by = [n for n in scalers if class_of(graph, n) in SCALE_CLASSES
              and number_value(graph, n, "scale_by") is not None]
        model_scaled = [n for n in by if any(class_of(graph, a) == "ImageUpscaleWithModel"
                                             for a in ancestors(graph, [n]))]
        if model_scaled:       # the model sets the factor; a scale_by after it only adjusts it
            self.notes.append(f"the upscale model sets the factor ({self.describe(model_scaled[0])} "
                              "adjusts it): no scale role")
            by = []
        if by:
            self.add("scale", [InputRef(by[0], "scale_by")])
            self.defaults["scale"] = number_value(graph, by[0], "scale_by")
            self.notes.append(f"scale factor: {self.describe(by[0])} scale_by")
        return "upscale"

    # ---- models, LoRAs, limits

    def map_models(self) -> tuple[list[ModelSetting], list[LoraSlot]]:
        graph = self.graph
        models, loras = [], []
        for node_id in sorted_ids(self.live):
            cls = class_of(graph, node_id)
            node_inputs = inputs_of(graph, node_id)
            if isinstance(node_inputs.get("lora_name"), str):
                strength_inputs = tuple(n for n in ("strength_model", "strength_clip", "strength")
                                        if number_value(graph, node_id, n) is not None)
                strength = number_value(graph, node_id, strength_inputs[0]) if strength_inputs else 1.0
                loras.append(LoraSlot(label=f"LoRA {len(loras) + 1}", node=node_id,
                                      value=node_inputs["lora_name"], strength=strength,
                                      strength_inputs=strength_inputs,
                                      strength_range=FloatRange(min(0.0, strength), max(2.0, strength))))
                continue
            for input_name, value in node_inputs.items():
                if input_name in MODEL_INPUT_LABELS and isinstance(value, str):
                    models.append(ModelSetting(model_label(cls, input_name), node_id, input_name, value))
        if models:
            self.notes.append("models: " + ", ".join(f"{m.value} (node {m.node}.{m.input})" for m in models))
        if loras:
            self.notes.append("LoRAs: " + ", ".join(f"{s.value} at {s.strength:g} (node {s.node})" for s in loras))
        for node_id in sorted_ids(self.live):
            if any(isinstance(v, dict) and "lora" in v for v in inputs_of(graph, node_id).values()):
                self.notes.append(f"{self.describe(node_id)} holds its LoRAs in its own format: they stay "
                                  "as the workflow has them")
        return models, loras

    def widened_limits(self) -> Limits:
        """The default limits, widened so the workflow's own values stay allowed."""
        limits = Limits()
        for role in INT_ROLES:
            value = self.defaults.get(role)
            if isinstance(value, int):
                current = limits.for_role(role)
                limits = replace(limits, **{role: Range(
                    min(current.min, value), max(current.max, value),
                    current.multiple_of if value % current.multiple_of == 0 else 1)})
        for role in FLOAT_ROLES:
            value = self.defaults.get(role)
            if isinstance(value, float):
                current = limits.for_role(role)
                limits = replace(limits, **{role: FloatRange(min(current.min, value), max(current.max, value))})
        return limits

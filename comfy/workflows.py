"""Workflow templates: ComfyUI API-format graphs from `flujos/` plus a manifest each.

One import for everyone: the manifest model and `fill()` live in `comfy.manifest`, the graph
reading in `comfy.graph`, the proposal of a manifest for an imported workflow in `comfy.mapping`,
and loading (shipped defaults plus the user's folder) in `comfy.catalog`. See flujos/README.md.
"""
from __future__ import annotations

from comfy.catalog import (
    MAX_FILE_BYTES,
    Imported,
    LoadError,
    WorkflowCatalog,
    WorkflowLoadError,
    WorkflowSet,
    load_workflow,
    load_workflows,
    name_from_file,
    read_json,
    save_manifest,
    set_removed_defaults,
)
from comfy.graph import (
    WorkflowError,
    check_graph_shape,
    is_link,
    is_ui_format,
    live_nodes,
    node_sort_key,
    output_nodes,
)
from comfy.manifest import (
    DEFAULT_SEED_MAX,
    FLOAT_ROLES,
    GGUF_CLASSES,
    IMAGE_KINDS,
    INT_ROLES,
    KINDS,
    KNOWN_SEED_MAX,
    MANIFEST_SUFFIX,
    MODEL_INPUT_LABELS,
    ROLES,
    SEED_MAX_64,
    FillError,
    FilledWorkflow,
    FillParams,
    FloatRange,
    InputRef,
    Limits,
    LoraChoice,
    LoraSlot,
    Manifest,
    ModelSetting,
    Range,
    WorkflowTemplate,
    display_name_from_stem,
    manifest_path_for,
    model_label,
    parse_manifest,
)
from comfy.mapping import propose_manifest

__all__ = [
    "DEFAULT_SEED_MAX", "FLOAT_ROLES", "GGUF_CLASSES", "IMAGE_KINDS", "INT_ROLES", "KINDS", "KNOWN_SEED_MAX",
    "MANIFEST_SUFFIX", "MAX_FILE_BYTES", "MODEL_INPUT_LABELS", "ROLES", "SEED_MAX_64", "FillError",
    "FilledWorkflow", "FillParams", "FloatRange", "Imported", "InputRef", "Limits", "LoadError", "LoraChoice", "LoraSlot",
    "Manifest", "ModelSetting", "Range", "WorkflowCatalog", "WorkflowError", "WorkflowLoadError", "WorkflowSet",
    "WorkflowTemplate", "check_graph_shape", "display_name_from_stem", "is_link", "is_ui_format",
    "live_nodes", "load_workflow", "name_from_file", "load_workflows", "manifest_path_for", "model_label", "node_sort_key",
    "output_nodes", "parse_manifest", "propose_manifest", "read_json", "save_manifest",
    "set_removed_defaults",
]

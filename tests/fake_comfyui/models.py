"""Model files in the fake's VRAM: what a prompt's loader nodes name, what a load costs, what fits.

ComfyUI keeps the models of the last prompts on the GPU and loads (seconds) whatever a new prompt
names that is not there, evicting the least recently used when VRAM is full. Here "a model" is the
set of files one prompt's loaders name (a diffusion model with its text encoders and VAE: what one
workflow needs); `slots` of them fit at once (one by default, like a 12-16 GB card with Flux or
Z-Image). A load costs `load_ms` per model, or, when `load_ms_per_gib` is set, that much per GiB of
the files not already on the GPU (sizes from `file_sizes`, else `default_file_bytes`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

GiB = 1024 ** 3
_MODEL_INPUT = re.compile(r"^[a-z0-9_]*_name\d*$")
_MODEL_SUFFIXES = (".safetensors", ".sft", ".gguf", ".ckpt", ".pt", ".pth", ".bin")


def model_files(prompt: dict) -> frozenset[str]:
    """The model files a prompt's loader nodes name (e.g. unet_name, clip_name1, vae_name)."""
    files = set()
    for node in prompt.values():
        if "Loader" not in str(node.get("class_type", "")):
            continue
        for name, value in node.get("inputs", {}).items():
            if isinstance(value, str) and _MODEL_INPUT.match(name) and value.lower().endswith(_MODEL_SUFFIXES):
                files.add(value)
    return frozenset(files)


@dataclass
class ModelMemory:
    slots: int = 1
    load_ms: float = 0.0
    load_ms_per_gib: float | None = None
    file_sizes: dict[str, int] = field(default_factory=dict)
    default_file_bytes: int = 2 * GiB
    resident: list[frozenset[str]] = field(default_factory=list)   # least recently used first
    loads: list[tuple[str, frozenset[str]]] = field(default_factory=list)   # (prompt_id, model) per load

    def size_of(self, files: frozenset[str]) -> int:
        return sum(self.file_sizes.get(name, self.default_file_bytes) for name in files)

    @property
    def used_bytes(self) -> int:
        return self.size_of(frozenset().union(*self.resident))

    def load_seconds(self, model: frozenset[str]) -> float:
        """What running a prompt that needs `model` costs before its nodes run (0 when loaded)."""
        if not model or model in self.resident:
            return 0.0
        if self.load_ms_per_gib is None:
            return self.load_ms / 1000
        on_gpu = frozenset().union(*self.resident)
        return self.size_of(model - on_gpu) / GiB * self.load_ms_per_gib / 1000

    def use(self, prompt_id: str, model: frozenset[str]) -> None:
        """The prompt's model is on the GPU now (most recently used); the oldest ones leave if full."""
        if not model:
            return
        if model in self.resident:
            self.resident.remove(model)
        else:
            self.loads.append((prompt_id, model))
        self.resident.append(model)
        del self.resident[:-max(1, self.slots)]

    def unload_all(self) -> None:
        self.resident.clear()

"""Which custom node pack provides a node class ComfyUI does not have, and how to say so.

The answer comes from ComfyUI-Manager's `extension-node-map.json`, shipped gzipped in
resources/node_packs/ with its source and date (refresh it with tools/refresh_node_packs.py).
A class several packs provide goes to the one the map marks as its home ("preemptions"), then to
ComfyUI itself (a core node newer than the running ComfyUI), then to the best-known packs.
"""
from __future__ import annotations

import functools
import gzip
import json
import logging
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

COMFYUI_REPOSITORY = "https://github.com/comfyanonymous/ComfyUI"
_MAX_PACKS_NAMED = 3


def _data_folder() -> Path:
    # Same rule as core.paths.resource_root (comfy/ may not import core): the bundle or the source tree.
    bundle = getattr(sys, "_MEIPASS", None)
    return (Path(bundle) if bundle else Path(__file__).resolve().parent.parent) / "resources" / "node_packs"


@dataclass(frozen=True)
class NodePack:
    title: str
    url: str

    @property
    def is_comfyui(self) -> bool:
        return self.url.rstrip("/").lower() == COMFYUI_REPOSITORY.lower()

    @property
    def short(self) -> str:
        """'owner/name' for a GitHub repository, the URL otherwise."""
        match = re.match(r"https://github\.com/([^/]+/[^/]+?)(?:\.git)?/?$", self.url)
        return match.group(1) if match else self.url


@dataclass(frozen=True)
class NodePackIndex:
    by_class: Mapping[str, tuple[NodePack, ...]]          # best first
    patterns: tuple[tuple[re.Pattern[str], NodePack], ...]
    source: Mapping[str, object]

    def packs_for(self, class_type: str) -> tuple[NodePack, ...]:
        found = self.by_class.get(class_type)
        if found:
            return found
        return tuple(pack for pattern, pack in self.patterns if pattern.search(class_type))[:_MAX_PACKS_NAMED]


def build_index(data: Mapping[str, object], source: Mapping[str, object] | None = None) -> NodePackIndex:
    """The class -> packs index from the map's JSON ({url: [[classes], {title_aux, preemptions,
    nodename_pattern}]}). Malformed entries are skipped."""
    homes: dict[str, NodePack] = {}
    everyone: dict[str, list[NodePack]] = {}
    patterns: list[tuple[re.Pattern[str], NodePack]] = []
    for url, entry in data.items():
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list)
                and isinstance(entry[1], dict)):
            continue
        classes, meta = entry
        pack = NodePack(str(meta.get("title_aux") or url.rstrip("/").rsplit("/", 1)[-1]), str(url))
        for class_type in classes:
            if isinstance(class_type, str):
                everyone.setdefault(class_type, []).append(pack)
        for class_type in meta.get("preemptions") or ():
            if isinstance(class_type, str):
                homes[class_type] = pack
        pattern = meta.get("nodename_pattern")
        if isinstance(pattern, str):
            try:
                patterns.append((re.compile(pattern), pack))
            except re.error:
                pass
    by_class = {}
    for class_type, packs in everyone.items():
        home = homes.get(class_type)
        # the pack that claims the class is the answer; otherwise ComfyUI itself, then the others
        by_class[class_type] = (home,) if home else tuple(sorted(packs, key=lambda p: not p.is_comfyui)[:_MAX_PACKS_NAMED])
    for class_type, home in homes.items():
        by_class.setdefault(class_type, (home,))
    return NodePackIndex(by_class, tuple(patterns), dict(source or {}))


@functools.cache
def shipped_index() -> NodePackIndex:
    """The shipped map, read once. Missing or broken: an empty index (messages stay generic)."""
    folder = _data_folder()
    try:
        data = json.loads(gzip.decompress((folder / "extension-node-map.json.gz").read_bytes()))
        source = json.loads((folder / "SOURCE.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, EOFError) as exc:
        log.warning("the custom node pack map could not be read (%s); missing nodes are not matched to packs", exc)
        return NodePackIndex({}, (), {})
    return build_index(data if isinstance(data, dict) else {}, source if isinstance(source, dict) else {})


def missing_class_message(class_type: str, index: NodePackIndex | None = None) -> str:
    """What to tell an admin whose ComfyUI lacks `class_type`: the pack to install, by name and address."""
    packs = (index or shipped_index()).packs_for(class_type)
    if packs and packs[0].is_comfyui:
        return (f"{class_type} is a ComfyUI core node that this ComfyUI does not have: update ComfyUI "
                "(or, if it was disabled, check its start-up log)")
    if packs:
        first = packs[0]
        message = (f"{class_type} is not installed in ComfyUI: install the {first.title} custom nodes "
                   f"({first.short}, {first.url}), e.g. with ComfyUI-Manager, then restart ComfyUI")
        others = [p for p in packs[1:] if not p.is_comfyui]
        if others:
            message += "; also provided by " + ", ".join(f"{p.title} ({p.short})" for p in others)
        return message
    return (f"{class_type} is not installed in ComfyUI and no known custom node pack provides it: "
            "ComfyUI-Manager's 'Install Missing Custom Nodes' may find it, or update ComfyUI if it is a core node")


_CANNOT_EXECUTE = re.compile(r"Cannot execute because (?:a )?node (.+?) does not exist", re.IGNORECASE)


def missing_classes_in(text: str) -> list[str]:
    """Node classes named in ComfyUI's 'Cannot execute because node X does not exist.' texts."""
    return list(dict.fromkeys(match.group(1).strip(" .'\"") for match in _CANNOT_EXECUTE.finditer(text or "")))

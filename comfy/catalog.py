"""The workflow catalog: shipped defaults plus the user's folder, loaded so that no file can block
or stop it.

Shipped workflows (the app's own `flujos/`) are read-only defaults. The user's folder holds the
user's workflows and manifests; a user file with a shipped workflow's name wins (with a note), a
user manifest without a graph beside it changes a shipped workflow (model files, enabled), and a
shipped workflow the user removed stays removed (listed in `.removed-defaults.json`) until
"Restore defaults".

Reading is defensive: a file that is not a regular file (a named pipe would block `open`), too
large, too deeply nested, not UTF-8, with absurd numbers or not JSON is skipped with a message
naming it; the others still load.
"""
from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from comfy.graph import WorkflowError, check_graph_shape
from comfy.manifest import MANIFEST_SUFFIX, WorkflowTemplate, manifest_path_for, parse_manifest
from comfy.mapping import propose_manifest

MAX_FILE_BYTES = 4 * 1024 * 1024       # an API-format workflow is rarely over 200 KB
MAX_DEPTH = 64                         # graphs nest 4-6 levels; deeper is not a workflow
MAX_NUMBER_DIGITS = 40                 # seeds are at most 20 digits
REMOVED_DEFAULTS_FILE = ".removed-defaults.json"


class WorkflowLoadError(WorkflowError):
    """A file in the workflows folder could not be loaded. The message names the file and the fix."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path.name}: {message}")
        self.path = path
        self.reason = message


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
    removed_defaults: tuple[str, ...] = ()         # shipped workflows the user removed
    user_folder: Path | None = None
    shipped_folder: Path | None = None
    notes: tuple[str, ...] = field(default=())

    def get(self, name: str) -> WorkflowTemplate | None:
        return self.templates.get(name)

    def enabled(self, kind: str | None = None) -> list[WorkflowTemplate]:
        return [t for t in self.templates.values() if t.enabled and (kind is None or t.kind == kind)]


# ---------------------------------------------------------------- safe reading

def read_json(path: Path) -> Any:
    """The JSON in `path`, or WorkflowLoadError saying why not. Never blocks on a pipe or device."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise WorkflowLoadError(path, f"cannot read the file ({exc.strerror})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise WorkflowLoadError(path, "not a regular file (a pipe, device or folder); remove it "
                                      "from the workflows folder")
    if info.st_size > MAX_FILE_BYTES:
        raise WorkflowLoadError(path, f"the file is {info.st_size / 1e6:.1f} MB; a workflow is at most "
                                      f"{MAX_FILE_BYTES // 1024 // 1024} MB: export it again from ComfyUI")
    try:
        # O_NONBLOCK: a file swapped for a pipe between stat and open still cannot block us.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise WorkflowLoadError(path, "not a regular file; remove it from the workflows folder")
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise WorkflowLoadError(path, f"cannot read the file ({exc.strerror})") from exc
    if len(data) > MAX_FILE_BYTES:
        raise WorkflowLoadError(path, "the file is too large for a workflow")
    try:
        text = data.decode("utf-8-sig")         # Notepad may add a BOM
    except UnicodeDecodeError as exc:
        raise WorkflowLoadError(path, f"not UTF-8 text (byte {exc.start}); save it as UTF-8 or "
                                      "export it again from ComfyUI") from exc
    return parse_json_text(path, text)


def parse_json_text(path: Path, text: str) -> Any:
    """Strict JSON: no NaN/Infinity, no absurd numbers, no absurd nesting."""
    try:
        data = json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise WorkflowLoadError(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                      f"{exc.msg}); fix or re-export the file") from exc
    except RecursionError as exc:
        raise WorkflowLoadError(path, f"nested deeper than {MAX_DEPTH} levels: not a workflow") from exc
    except ValueError as exc:               # our number checks, or Python's int-digits limit
        raise WorkflowLoadError(path, f"{exc}; fix or re-export the file") from exc
    if _depth(data) > MAX_DEPTH:
        raise WorkflowLoadError(path, f"nested deeper than {MAX_DEPTH} levels: not a workflow")
    return data


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number with {len(text.lstrip('-'))} digits is not a workflow value")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > 64:
        raise ValueError(f"a {len(text)}-character number is not a workflow value")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth(data: Any) -> int:
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


# ---------------------------------------------------------------- one workflow

def load_graph(path: Path) -> dict[str, Any]:
    try:
        return check_graph_shape(read_json(path))
    except WorkflowLoadError:
        raise
    except WorkflowError as exc:
        raise WorkflowLoadError(path, str(exc)) from exc


def template_from(path: Path, graph: dict[str, Any], manifest_path: Path | None, *,
                  shipped: bool = False) -> WorkflowTemplate:
    """A template from a graph and its manifest file (proposed when there is none)."""
    if manifest_path is not None:
        raw = read_json(manifest_path)
        try:
            manifest = parse_manifest(raw, graph)
        except WorkflowError as exc:
            raise WorkflowLoadError(manifest_path, f"{exc} (see flujos/README.md)") from exc
        return WorkflowTemplate(name=path.stem, path=path, graph=graph, manifest=manifest, shipped=shipped)
    expected = manifest_path_for(path)
    try:
        manifest, notes = propose_manifest(graph, name=path.stem)
    except WorkflowError as exc:
        raise WorkflowLoadError(path, f"no {expected.name}, and none could be proposed: {exc}; "
                                      f"write {expected.name} (see flujos/README.md)") from exc
    return WorkflowTemplate(name=path.stem, path=path, graph=graph, manifest=manifest,
                            manifest_proposed=True, proposal_notes=tuple(notes), shipped=shipped)


def load_workflow(path: Path) -> WorkflowTemplate:
    """One template from `<name>.json` and its manifest (proposed if the manifest is absent)."""
    path = Path(path)
    manifest_path = manifest_path_for(path)
    return template_from(path, load_graph(path), manifest_path if _exists(manifest_path) else None)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


# ---------------------------------------------------------------- the catalog

def _scan(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """Workflow files and manifest files in a folder, by stem."""
    graphs, manifests = {}, {}
    try:
        entries = sorted(folder.glob("*.json"))
    except OSError:
        return graphs, manifests
    for path in entries:
        if path.name.startswith("."):
            continue
        if path.name.endswith(MANIFEST_SUFFIX):
            manifests[path.name[: -len(MANIFEST_SUFFIX)]] = path
        else:
            graphs[path.stem] = path
    return graphs, manifests


def removed_defaults(user_folder: Path) -> tuple[str, ...]:
    path = user_folder / REMOVED_DEFAULTS_FILE
    if not _exists(path):
        return ()
    try:
        data = read_json(path)
    except WorkflowLoadError:
        return ()
    return tuple(sorted(n for n in data if isinstance(n, str))) if isinstance(data, list) else ()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def load_workflows(folder: str | os.PathLike[str], shipped: str | os.PathLike[str] | None = None) -> WorkflowSet:
    """Every workflow: the shipped defaults (when `shipped` is given) overlaid by the user's
    `folder`. A bad file becomes a LoadError; the others still load."""
    folder = Path(folder)
    shipped_folder = Path(shipped) if shipped is not None else None
    templates: dict[str, WorkflowTemplate] = {}
    errors: list[LoadError] = []
    notes: list[str] = []
    if not folder.is_dir() and shipped_folder is None:
        return WorkflowSet({}, [LoadError(folder, f"{folder}: the workflows folder does not exist")])

    user_graphs, user_manifests = _scan(folder) if folder.is_dir() else ({}, {})
    removed: tuple[str, ...] = ()
    shadowed: set[str] = set()
    if shipped_folder is not None and shipped_folder.resolve() != folder.resolve():
        removed = removed_defaults(folder)
        ship_graphs, ship_manifests = _scan(shipped_folder)
        for stem, path in ship_graphs.items():
            if stem in removed:
                if stem in user_graphs and _same_file(user_graphs[stem], path):
                    user_graphs.pop(stem)        # an old copy of the removed default: removed too
                    user_manifests.pop(stem, None)
                continue
            user_graph = user_graphs.get(stem)
            if user_graph is not None and not _same_file(user_graph, path):
                shadowed.add(stem)
                notes.append(f"{user_graph.name}: your workflow has the name of a shipped one and "
                             "replaces it")
                continue
            if user_graph is not None:       # an unchanged copy an older version made: the default
                user_graphs.pop(stem)
            manifest = user_manifests.pop(stem, None) or ship_manifests.get(stem)
            try:
                template = template_from(path, load_graph(path), manifest, shipped=True)
                # Read-only default: its manifest is saved into the user's folder, never the app's.
                templates[stem] = replace(template, path=folder / path.name)
            except WorkflowLoadError as exc:
                errors.append(LoadError(exc.path, str(exc)))

    for stem, path in user_manifests.items():
        if stem not in user_graphs:
            errors.append(LoadError(path, f"{path.name}: there is no workflow {stem}.json for this "
                                          "manifest; rename or remove it"))
    for stem, path in user_graphs.items():
        manifest = user_manifests.get(stem)
        try:
            templates[stem] = template_from(path, load_graph(path), manifest)
        except WorkflowLoadError as exc:
            errors.append(LoadError(exc.path, str(exc)))
        else:
            if stem in shadowed:
                templates[stem] = replace(templates[stem], notes=(
                    "replaces the shipped workflow of the same name",))
    return WorkflowSet(templates, errors, removed, folder, shipped_folder, tuple(notes))


# ---------------------------------------------------------------- writing

def write_text_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
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


def save_manifest(template: WorkflowTemplate) -> WorkflowTemplate:
    """Write the template's manifest next to its workflow (atomically); the result is confirmed.

    A shipped workflow's manifest goes to the user's folder (its `path` points there), never into
    the app's own files."""
    data = template.manifest.to_dict()
    parse_manifest(data, template.graph)          # never write what we could not load back
    write_text_atomic(template.manifest_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return replace(template, manifest_proposed=False, proposal_notes=())


def set_removed_defaults(user_folder: Path, names: Iterable[str]) -> None:
    names = sorted(set(names))
    path = Path(user_folder) / REMOVED_DEFAULTS_FILE
    if not names:
        path.unlink(missing_ok=True)
        return
    write_text_atomic(path, json.dumps(names, indent=2) + "\n")


# ---------------------------------------------------------------- the catalog object

def _same_graph(path: Path, graph: Any) -> bool:
    try:
        return load_graph(path) == graph
    except WorkflowLoadError:
        return False


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def workflow_name_problem(name: str) -> str | None:
    if not name or len(name) > 64 or not set(name) <= _NAME_CHARS or name.startswith("-"):
        return (f"{name!r} cannot be a workflow name: use 1 to 64 letters, digits, '_' or '-' "
                "(it becomes the file name and the id in commands)")
    return None


def name_from_file(path: Path) -> str:
    stem = Path(path).name.removesuffix(".json").removesuffix(".manifest")
    cleaned = "".join(c if c in _NAME_CHARS else "_" for c in stem.replace(" ", "_")).strip("_-")
    return cleaned[:64] or "workflow"


@dataclass(frozen=True)
class Imported:
    template: WorkflowTemplate
    notes: tuple[str, ...]              # what the proposal found, and what the import replaced


class WorkflowCatalog:
    """The one place the workflow set is loaded, changed and reloaded: the shipped defaults
    (read-only) plus the user's folder. Everyone else asks it."""

    def __init__(self, user_folder: str | os.PathLike[str], shipped_folder: str | os.PathLike[str] | None = None):
        self.user_folder = Path(user_folder)
        self.shipped_folder = Path(shipped_folder) if shipped_folder is not None else None
        self.current = WorkflowSet({}, [])
        self._signature: tuple = ()

    def load(self) -> WorkflowSet:
        self._signature = self.disk_signature()
        self.current = load_workflows(self.user_folder, self.shipped_folder)
        return self.current

    # ---- changes on disk

    def disk_signature(self) -> tuple:
        """Names, sizes and times of every file the catalog reads: a change means reload."""
        entries = []
        for folder in (self.user_folder, self.shipped_folder):
            if folder is None:
                continue
            try:
                for entry in os.scandir(folder):
                    if entry.name.endswith(".json"):
                        info = entry.stat(follow_symlinks=False)
                        entries.append((str(folder), entry.name, info.st_size, info.st_mtime_ns))
            except OSError:
                entries.append((str(folder), None))
        return tuple(sorted(entries, key=repr))

    def reload_if_changed(self) -> WorkflowSet | None:
        """The new set when a file changed since the last load, else None."""
        if self.disk_signature() == self._signature:
            return None
        return self.load()

    # ---- shipped defaults

    def shipped_names(self) -> tuple[str, ...]:
        if self.shipped_folder is None:
            return ()
        return tuple(sorted(_scan(self.shipped_folder)[0]))

    def remove(self, name: str) -> None:
        """Remove a workflow: a shipped default is hidden (until Restore defaults), a user's
        workflow and its manifest are deleted."""
        template = self.current.get(name)
        if template is None:
            raise WorkflowError(f"there is no workflow {name!r}")
        if template.shipped:
            set_removed_defaults(self.user_folder, (*removed_defaults(self.user_folder), name))
            manifest_path_for(self.user_folder / f"{name}.json").unlink(missing_ok=True)
        else:
            template.path.unlink(missing_ok=True)
            template.manifest_path.unlink(missing_ok=True)
        self.load()

    def restore_defaults(self) -> tuple[str, ...]:
        """Bring back every removed shipped workflow; returns their names."""
        restored = removed_defaults(self.user_folder)
        set_removed_defaults(self.user_folder, ())
        self.load()
        return restored

    # ---- import

    def import_workflow(self, source: str | os.PathLike[str], *, name: str | None = None,
                        enable: bool = False, object_info: Any = None) -> Imported:
        """Copy an exported workflow into the user's folder and write its proposed manifest.

        Raises WorkflowError saying why when the file is unusable (the message names it) or the
        name is taken by another of the user's workflows."""
        source = Path(source)
        name = name or name_from_file(source)
        problem = workflow_name_problem(name)
        if problem:
            raise WorkflowError(problem)
        graph = load_graph(source)
        target = self.user_folder / f"{name}.json"
        if _exists(target) and not _same_graph(target, graph):
            raise WorkflowError(f"you already have a workflow named {name!r} ({target}); choose another "
                                "name (--name) or remove that one first")
        try:
            manifest, notes = propose_manifest(graph, name=name, object_info=object_info)
        except WorkflowError as exc:
            raise WorkflowError(f"{source.name}: no manifest can be proposed: {exc}") from exc
        notes = list(notes)
        if name in self.shipped_names():
            notes.append(f"replaces the shipped workflow {name!r} (remove yours to get it back)")
        manifest = replace(manifest, enabled=enable)
        self.user_folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, json.dumps(graph, indent=2, ensure_ascii=False) + "\n")
        template = save_manifest(WorkflowTemplate(name=name, path=target, graph=graph, manifest=manifest))
        self.load()
        return Imported(self.current.get(name) or template, tuple(notes))

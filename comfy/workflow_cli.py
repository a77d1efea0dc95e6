"""Headless workflow import: `--propose-manifest FILE` and `--import-workflow FILE [--name] [--enable]`.

Neither needs ComfyUI: the manifest is proposed from the graph alone. Each returns an exit code
(0 done, 1 with the reason printed) and never raises on a bad file.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from comfy.catalog import WorkflowCatalog, load_graph, name_from_file
from comfy.graph import WorkflowError
from comfy.mapping import propose_manifest

EXIT_OK, EXIT_FAILED = 0, 1


def propose_manifest_command(path: str | Path, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the proposed manifest as JSON (stdout), the notes on what was found (stderr)."""
    out, err = out or sys.stdout, err or sys.stderr
    path = Path(path)
    try:
        manifest, notes = propose_manifest(load_graph(path), name=name_from_file(path))
    except WorkflowError as exc:
        message = str(exc) if str(exc).startswith(path.name) else f"{path.name}: {exc}"
        print(f"No manifest can be proposed: {message}", file=err)
        return EXIT_FAILED
    print(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False), file=out)
    for note in notes:
        print(f"· {note}", file=err)
    return EXIT_OK


def import_workflow_command(catalog: WorkflowCatalog, path: str | Path, *, name: str | None = None,
                            enable: bool = False, out: TextIO | None = None) -> int:
    """Copy the workflow into the user's folder with its proposed manifest; say what was found."""
    out = out or sys.stdout
    try:
        imported = catalog.import_workflow(path, name=name, enable=enable)
    except WorkflowError as exc:
        print(f"Not imported: {exc}", file=out)
        return EXIT_FAILED
    template = imported.template
    state = "enabled" if template.enabled else "disabled until you enable it (--enable, or the Workflows tab)"
    print(f"Imported {template.name} ({template.display_name}, kind {template.kind}): {state}", file=out)
    print(f"  workflow: {template.path}", file=out)
    print(f"  manifest: {template.manifest_path}", file=out)
    for note in imported.notes:
        print(f"  · {note}", file=out)
    print("Check it against ComfyUI with: python main.py --check-workflows", file=out)
    return EXIT_OK

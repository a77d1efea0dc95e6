"""Loading never blocks or dies: every hostile file is skipped with a message naming it, the rest load."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from comfy.catalog import MAX_FILE_BYTES
from comfy.workflows import load_workflows

FLUJOS = Path(__file__).resolve().parents[2] / "flujos"
SHIPPED = {p.stem for p in FLUJOS.glob("*.json") if not p.name.endswith(".manifest.json")}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "flujos"
    shutil.copytree(FLUJOS, target, ignore=shutil.ignore_patterns("*.md"))
    return target


def graph_with(value_text: str) -> str:
    return '{"1": {"class_type": "SaveImage", "inputs": {"x": ' + value_text + "}}}"


HOSTILE = {
    "deep.json": lambda: "[" * 200_000 + "]" * 200_000,
    "deep_object.json": lambda: '{"a":' * 100 + "1" + "}" * 100,
    "huge_number.json": lambda: graph_with("1" * 5000),
    "long_float.json": lambda: graph_with("1." + "5" * 5000),
    "infinite.json": lambda: graph_with("1e999"),
    "nan.json": lambda: graph_with("NaN"),
}
EXPECTED = {
    "deep.json": "nested deeper than 64 levels",
    "deep_object.json": "nested deeper than 64 levels",
    "huge_number.json": "a number with 5000 digits",
    "long_float.json": "-character number",
    "infinite.json": "out of range",
    "nan.json": "NaN is not a JSON number",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_workflow_is_skipped_and_named(folder, name):
    (folder / name).write_text(HOSTILE[name](), encoding="utf-8")
    workflows = load_workflows(folder)
    assert set(workflows.templates) == SHIPPED
    [error] = workflows.errors
    assert error.message.startswith(f"{name}: ") and EXPECTED[name] in error.message


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_manifest_is_skipped_and_named(folder, name):
    (folder / "flux_schnell.manifest.json").write_text(HOSTILE[name](), encoding="utf-8")
    workflows = load_workflows(folder)
    assert set(workflows.templates) == SHIPPED - {"flux_schnell"}
    [error] = workflows.errors
    assert error.message.startswith("flux_schnell.manifest.json: ") and EXPECTED[name] in error.message


def test_a_file_over_the_size_limit_is_not_read(folder):
    with open(folder / "big.json", "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)          # sparse: nothing is written or read
    [error] = load_workflows(folder).errors
    assert error.message.startswith("big.json: the file is 4.2 MB; a workflow is at most 4 MB")


def test_a_file_that_is_not_utf8_names_the_fix(folder):
    (folder / "latin1.json").write_bytes('{"1": {"class_type": "Café"}}'.encode("latin-1"))
    [error] = load_workflows(folder).errors
    assert error.message.startswith("latin1.json: not UTF-8 text") and "save it as UTF-8" in error.message


def test_a_folder_named_like_a_workflow_is_skipped(folder):
    (folder / "odd.json").mkdir()
    [error] = load_workflows(folder).errors
    assert error.message == "odd.json: not a regular file (a pipe, device or folder); remove it from the workflows folder"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
async def test_a_named_pipe_never_blocks_loading(folder):
    os.mkfifo(folder / "x.json")
    os.mkfifo(folder / "flux_edit.manifest.json.tmp")        # not *.json: never looked at
    # A plain open() of a pipe waits for a writer forever; the guard only ends a broken test.
    workflows = await asyncio.wait_for(asyncio.to_thread(load_workflows, folder), timeout=30)
    assert set(workflows.templates) == SHIPPED
    [error] = workflows.errors
    assert error.message.startswith("x.json: not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
async def test_a_named_pipe_as_a_manifest_never_blocks(folder):
    (folder / "z_image_turbo.manifest.json").unlink()
    os.mkfifo(folder / "z_image_turbo.manifest.json")
    workflows = await asyncio.wait_for(asyncio.to_thread(load_workflows, folder), timeout=30)
    [error] = workflows.errors
    assert error.message.startswith("z_image_turbo.manifest.json: not a regular file")
    assert "z_image_turbo" not in workflows.templates


def test_self_test_and_check_workflows_survive_hostile_files(folder, tmp_path):
    """The CLI entry point reports the bad files instead of dying with a traceback."""
    import subprocess
    (folder / "deep.json").write_text(HOSTILE["deep.json"](), encoding="utf-8")
    (folder / "flux_edit.manifest.json").write_text(HOSTILE["huge_number.json"](), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "comfy.check_workflows", "--folder", str(folder),
                             "--comfy-url", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[2])
    assert "Traceback" not in result.stderr
    assert result.returncode == 2        # ComfyUI unreachable: loading itself went through


def test_a_bom_and_a_good_file_still_load(folder):
    graph = json.loads((folder / "flux_schnell.json").read_text(encoding="utf-8"))
    (folder / "with_bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(graph).encode())
    shutil.copy(folder / "flux_schnell.manifest.json", folder / "with_bom.manifest.json")
    workflows = load_workflows(folder)
    assert workflows.errors == [] and "with_bom" in workflows.templates

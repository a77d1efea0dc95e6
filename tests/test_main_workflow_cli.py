"""`python main.py --propose-manifest FILE` and `--import-workflow FILE [--name] [--enable]`, run as a
user on a headless host would: no ComfyUI, exit code 0 or 1 with the reason."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL = ROOT / "tests" / "fixtures" / "workflows" / "original"
FIXTURES = ROOT / "tests" / "fixtures" / "workflows"


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "IMAGEBOT_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("COMFY_URL", None)

    def run_main(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
    run_main.workflows = tmp_path / "home" / "data" / "flujos"
    return run_main


def test_propose_manifest_prints_the_manifest_json(run):
    result = run("--propose-manifest", str(ORIGINAL / "z-image_imagine.json"))
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["kind"] == "imagine" and manifest["enabled"] is False
    assert manifest["inputs"]["seed"] == [{"node": "32", "input": "noise_seed"}, {"node": "33", "input": "noise_seed"}]
    assert "· prompt: node 6 (CLIPTextEncode, 'Positive Prompt') text" in result.stderr


@pytest.mark.parametrize(("content", "expected"), [
    (None, "its output is a video or animation"),
    ('{"nodes": [], "links": []}', "this is the ComfyUI UI format"),
    ("{", "not valid JSON"),
])
def test_propose_manifest_says_why_none_can_be_made(run, tmp_path, content, expected):
    path = FIXTURES / "video_refused.json"
    if content is not None:
        path = tmp_path / "mine.json"
        path.write_text(content, encoding="utf-8")
    result = run("--propose-manifest", str(path))
    assert result.returncode == 1
    assert f"No manifest can be proposed: {path.name}: " in result.stderr and expected in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_import_copies_the_workflow_and_writes_its_manifest(run):
    result = run("--import-workflow", str(ORIGINAL / "flux_image.json"), "--name", "klein", "--enable")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Imported klein (Klein, kind imagine): enabled" in result.stdout
    manifest = json.loads((run.workflows / "klein.manifest.json").read_text(encoding="utf-8"))
    assert manifest["enabled"] is True
    assert [ref["input"] for ref in manifest["inputs"]["prompt"]] == ["text_1", "text_2", "text_3", "text_4"]
    assert json.loads((run.workflows / "klein.json").read_text(encoding="utf-8")) == \
        json.loads((ORIGINAL / "flux_image.json").read_text(encoding="utf-8"))


def test_import_under_a_shipped_name_replaces_it_with_a_note(run):
    result = run("--import-workflow", str(ORIGINAL / "flux_edit.json"))
    assert result.returncode == 0
    assert "Imported flux_edit (Flux Edit, kind edit): disabled until you enable it" in result.stdout
    assert "replaces the shipped workflow 'flux_edit'" in result.stdout
    assert "input image: node 103 (LoadImage" in result.stdout      # not the unconnected node 81
    # importing the same file again (to enable it) is fine; another workflow under that name is not
    assert run("--import-workflow", str(ORIGINAL / "flux_edit.json"), "--enable").returncode == 0
    clash = run("--import-workflow", str(ORIGINAL / "anima.json"), "--name", "flux_edit")
    assert clash.returncode == 1 and "you already have a workflow named 'flux_edit'" in clash.stdout


@pytest.mark.parametrize(("args", "expected"), [
    (("--name", "../evil"), "'../evil' cannot be a workflow name"),
    (("--name", "a b"), "'a b' cannot be a workflow name"),
])
def test_import_refuses_a_bad_name(run, args, expected):
    result = run("--import-workflow", str(ORIGINAL / "anima.json"), *args)
    assert result.returncode == 1 and expected in result.stdout
    assert not run.workflows.exists() or list(run.workflows.iterdir()) == []


def test_import_of_a_missing_file_says_so(run, tmp_path):
    result = run("--import-workflow", str(tmp_path / "nope.json"))
    assert result.returncode == 1 and "Not imported: nope.json: cannot read the file" in result.stdout


def test_self_test_reports_hostile_files_instead_of_dying(run):
    run.workflows.mkdir(parents=True)
    (run.workflows / "deep.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    (run.workflows / "flux_edit.manifest.json").write_text('{"a": 1' + "1" * 5000 + "}", encoding="utf-8")
    result = run("--self-test")
    assert "Traceback" not in result.stderr
    assert "[FAIL] workflow: deep.json: nested deeper than 64 levels: not a workflow" in result.stdout
    assert "[FAIL] workflow: flux_edit.manifest.json: a number with 5001 digits" in result.stdout
    assert "[ok] workflows: 5 in" in result.stdout        # the other shipped ones still load

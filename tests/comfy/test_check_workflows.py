"""`check_workflows` end to end against the fake ComfyUI, and `python -m comfy.check_workflows`."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from comfy.check_workflows import EXIT_OK, EXIT_PROBLEMS, EXIT_UNREACHABLE, check_workflows
from tests.fake_comfyui import FakeComfyUI
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
FLUJOS = ROOT / "flujos"
OBJECT_INFO = ROOT / "tests" / "fixtures" / "object_info" / "shipped_models.json"
LOADERS = ("UnetLoaderGGUF", "UNETLoader", "CLIPLoader", "DualCLIPLoader", "VAELoader")


def _loaders_with_models() -> dict:
    """Loader definitions whose model lists hold every file the shipped workflows use."""
    info = json.loads(OBJECT_INFO.read_text(encoding="utf-8"))
    return {cls: info[cls] for cls in LOADERS}



async def _check(folder: Path, url: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await check_workflows(folder, url, out=out)
    return code, out.getvalue()


async def test_shipped_workflows_pass_when_comfyui_has_the_models():
    async with FakeComfyUI(extra_object_info=_loaders_with_models()) as fake:
        code, text = await _check(FLUJOS, fake.url)
    assert code == EXIT_OK, text
    for name in ("flux_schnell", "z_image_turbo", "flux_edit", "z_image_turbo_vary", "upscale", "upscale_model"):
        assert f"OK        {name} " in text
    assert "6 OK, 0 with problems, 0 not loaded" in text


async def test_missing_model_gives_exit_1_and_names_the_closest(tmp_path):
    loaders = _loaders_with_models()
    loaders["UnetLoaderGGUF"]["input"]["required"]["unet_name"][0] = [
        "flux1-schnell-Q8_0.gguf", "flux1-kontext-dev-Q4_K_S.gguf"]
    async with FakeComfyUI(extra_object_info=loaders) as fake:
        code, text = await _check(FLUJOS, fake.url)
    assert code == EXIT_PROBLEMS
    assert "PROBLEMS  flux_schnell" in text and "OK        flux_edit" in text
    assert "'flux1-schnell-Q4_K_S.gguf' is not in ComfyUI" in text
    assert "Closest available: 'flux1-schnell-Q8_0.gguf'" in text


class FakeWithoutGGUF(FakeComfyUI):
    """A ComfyUI without the ComfyUI-GGUF custom nodes."""

    def object_info(self) -> dict:
        info = super().object_info()
        info.pop("UnetLoaderGGUF", None)
        return info


async def test_missing_custom_node_pack_gives_exit_1():
    async with FakeWithoutGGUF(extra_object_info=_loaders_with_models()) as fake:
        code, text = await _check(FLUJOS, fake.url)
    assert code == EXIT_PROBLEMS
    assert "city96/ComfyUI-GGUF" in text
    assert "OK        z_image_turbo" in text


async def test_load_errors_and_proposed_manifests_are_reported(tmp_path):
    folder = tmp_path / "flujos"
    shutil.copytree(FLUJOS, folder)
    (folder / "broken.json").write_text("{", encoding="utf-8")
    (folder / "flux_schnell.manifest.json").unlink()
    async with FakeComfyUI(extra_object_info=_loaders_with_models()) as fake:
        code, text = await _check(folder, fake.url)
    assert code == EXIT_PROBLEMS
    assert "NOT LOADED broken.json: not valid JSON" in text
    assert "OK        flux_schnell (Flux Schnell) [manifest proposed, not confirmed: disabled]" in text
    assert "· prompt: node 4 (CLIPTextEncode, 'Prompt') text" in text


async def test_default_fake_fixture_is_checked(fake_comfy):
    # whatever models the shared fake lists, the check runs and reports per workflow
    code, text = await _check(FLUJOS, fake_comfy.url)
    assert code in (EXIT_OK, EXIT_PROBLEMS)
    assert "Checking 6 workflow(s)" in text


async def test_unreachable_comfyui_gives_exit_2_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    code, text = await _check(FLUJOS, url)
    assert code == EXIT_UNREACHABLE
    assert f"ComfyUI at {url} is unreachable" in text


def test_module_entry_point_runs(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run([sys.executable, "-m", "comfy.check_workflows", "--folder", str(FLUJOS),
                             "--comfy-url", url], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == EXIT_UNREACHABLE, result.stderr
    assert url in result.stdout


async def test_an_http_error_on_object_info_gives_exit_2(fake_comfy):
    fake_comfy.fail_http("/object_info", times=5, status=401)
    code, text = await _check(FLUJOS, fake_comfy.url)
    assert code == EXIT_UNREACHABLE
    assert "did not give its node list" in text

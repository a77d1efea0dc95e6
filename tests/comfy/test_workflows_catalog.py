"""The catalog: shipped workflows are read-only defaults under the user's folder. A user file never
collides with them, a removed default stays removed until "Restore defaults", changes on disk reload."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from comfy.workflows import WorkflowCatalog, WorkflowError, save_manifest

FLUJOS = Path(__file__).resolve().parents[2] / "flujos"
ORIGINAL = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "original"
SHIPPED = {p.stem for p in FLUJOS.glob("*.json") if not p.name.endswith(".manifest.json")}


@pytest.fixture
def shipped(tmp_path) -> Path:
    """A copy of the app's flujos/, so a test can prove it is never written to."""
    target = tmp_path / "app" / "flujos"
    shutil.copytree(FLUJOS, target)
    return target


@pytest.fixture
def catalog(tmp_path, shipped) -> WorkflowCatalog:
    user = tmp_path / "user"
    user.mkdir()
    catalog = WorkflowCatalog(user, shipped)
    catalog.load()
    return catalog


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_shipped_workflows_load_from_the_app_and_are_marked(catalog):
    assert set(catalog.current.templates) == SHIPPED and catalog.current.errors == []
    assert all(t.shipped for t in catalog.current.templates.values())
    assert list(catalog.user_folder.iterdir()) == []


def test_a_user_file_with_a_shipped_name_wins_with_a_note(catalog, shipped):
    shutil.copy(ORIGINAL / "flux_edit.json", catalog.user_folder / "flux_edit.json")
    workflows = catalog.load()
    mine = workflows.get("flux_edit")
    assert not mine.shipped and mine.manifest_proposed and mine.manifest.ref("image").node == "103"
    assert mine.notes == ("replaces the shipped workflow of the same name",)
    assert workflows.notes == ("flux_edit.json: your workflow has the name of a shipped one and replaces it",)
    assert workflows.errors == []            # the original bot's flux_edit.json no longer clashes


def test_an_old_unchanged_copy_of_a_shipped_workflow_is_the_default(catalog, shipped):
    shutil.copy(shipped / "flux_edit.json", catalog.user_folder / "flux_edit.json")   # what older versions did
    workflows = catalog.load()
    assert workflows.get("flux_edit").shipped and workflows.notes == ()


def test_changing_a_shipped_workflow_writes_only_to_the_user_folder(catalog, shipped):
    before = snapshot(shipped)
    template = catalog.current.get("flux_schnell")
    save_manifest(template.with_manifest(replace(template.manifest, enabled=False)))
    assert snapshot(shipped) == before
    assert (catalog.user_folder / "flux_schnell.manifest.json").exists()
    reloaded = catalog.load().get("flux_schnell")
    assert reloaded.shipped and not reloaded.enabled


def test_a_removed_default_stays_removed_until_restore(catalog, shipped):
    template = catalog.current.get("z_image_turbo")
    save_manifest(template.with_manifest(template.manifest.with_model_value("1", "unet_name", "x.safetensors")))
    catalog.load()
    catalog.remove("z_image_turbo")
    assert "z_image_turbo" not in catalog.current.templates
    assert catalog.current.removed_defaults == ("z_image_turbo",)
    assert "z_image_turbo" not in WorkflowCatalog(catalog.user_folder, shipped).load().templates   # after a restart
    assert (shipped / "z_image_turbo.json").exists()
    assert catalog.restore_defaults() == ("z_image_turbo",)
    restored = catalog.current.get("z_image_turbo")
    assert restored.shipped and restored.manifest.models[0].value == "z_image_turbo_bf16.safetensors"


def test_removing_a_user_workflow_deletes_its_files(catalog):
    imported = catalog.import_workflow(ORIGINAL / "anima.json")
    assert imported.template.name == "anima" and not imported.template.enabled
    catalog.remove("anima")
    assert list(catalog.user_folder.iterdir()) == []
    with pytest.raises(WorkflowError, match="no workflow 'anima'"):
        catalog.remove("anima")


def test_changes_on_disk_are_noticed(catalog):
    assert catalog.reload_if_changed() is None
    shutil.copy(ORIGINAL / "anima.json", catalog.user_folder / "anima.json")
    workflows = catalog.reload_if_changed()
    assert workflows is not None and workflows.get("anima").manifest_proposed
    assert catalog.reload_if_changed() is None
    (catalog.user_folder / "anima.json").unlink()
    assert "anima" not in catalog.reload_if_changed().templates


def test_the_original_bots_four_workflows_all_load_beside_the_defaults(catalog):
    for path in ORIGINAL.glob("*.json"):
        shutil.copy(path, catalog.user_folder / path.name)
    workflows = catalog.load()
    assert workflows.errors == []
    assert {"anima", "flux_edit", "flux_image", "z-image_imagine"} <= set(workflows.templates)
    assert json.loads((ORIGINAL / "flux_image.json").read_text())["75:74"]["class_type"] == "CLIP Text Encode (Batch)"

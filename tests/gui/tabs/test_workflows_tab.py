from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.jobs import JobState
from gui.bridge import CoreBridge
from gui.tabs.workflows_tab import WorkflowsTab
from tests.fixtures_core import shipped_object_info
from tests.gui.conftest import until


class StubComfyClient:
    def __init__(self, object_info: dict | None = None, error: Exception | None = None) -> None:
        self.info, self.error = object_info, error

    async def object_info(self, refresh: bool = False) -> dict:
        await asyncio.sleep(0)
        if self.error:
            raise self.error
        return self.info


@pytest.fixture
def tab(qtbot, gui_services):
    bridge = CoreBridge(gui_services.bus)
    widget = WorkflowsTab(gui_services, bridge)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    bridge.close()


def select(tab: WorkflowsTab, name: str) -> None:
    for row in range(tab.list.count()):
        if tab.list.item(row).data(Qt.ItemDataRole.UserRole + 1) == name:
            tab.list.setCurrentRow(row)
            return
    raise AssertionError(name)


def problems(tab: WorkflowsTab) -> list[str]:
    return [tab.problem_list.item(r).text() for r in range(tab.problem_list.count())]


async def test_invalid_json_is_a_clear_message_and_nothing_is_saved(tab):
    select(tab, "z_image_turbo")
    before = tab.current.path.read_text()
    text = tab.editor.toPlainText().replace('"class_type": "KSampler"', '"class_type": "KSampler",,', 1)
    tab.editor.setPlainText(text)
    assert tab.save_now() is False
    message = problems(tab)[0]
    assert message.startswith("✗ Invalid JSON at line") and "column" in message
    line = int(message.split("line ")[1].split(",")[0])
    assert "KSampler" in tab.editor.toPlainText().splitlines()[line - 1]
    assert tab.editor.marked_lines() == [line]
    assert tab.editor.textCursor().blockNumber() + 1 == line
    assert tab.current.path.read_text() == before
    assert tab.validate_now() is None           # the same message, no ComfyUI call


async def test_a_graph_that_is_not_api_format_is_explained(tab):
    select(tab, "z_image_turbo")
    tab.editor.setPlainText(json.dumps({"nodes": [], "links": []}))
    assert tab.save_now() is False
    assert "Not a ComfyUI API-format workflow" in problems(tab)[0]


async def test_missing_node_and_model_are_shown_inline(tab, gui_services):
    info = shipped_object_info()
    del info["ModelSamplingAuraFlow"]
    info["VAELoader"]["input"]["required"]["vae_name"][0] = ["other_vae.safetensors"]
    gui_services.comfy_client = StubComfyClient(info)
    select(tab, "z_image_turbo")
    await tab.validate_now()
    found = problems(tab)
    assert any("ModelSamplingAuraFlow is a ComfyUI core node that this ComfyUI does not have" in p for p in found), found
    assert any("node 3" in p for p in found), found            # the VAE file ComfyUI does not have
    lines = tab.editor.node_lines()
    assert lines["4"] in tab.editor.marked_lines() and lines["3"] in tab.editor.marked_lines()
    vae_box = next(box for setting, box in tab.model_boxes if setting.input == "vae_name")
    assert "other_vae.safetensors" in [vae_box.itemText(i) for i in range(vae_box.count())]


async def test_a_complete_workflow_validates(tab, gui_services):
    gui_services.comfy_client = StubComfyClient(shipped_object_info())
    select(tab, "z_image_turbo")
    await tab.validate_now()
    assert problems(tab) == ["✓ ComfyUI has every node and model this workflow needs."]
    assert tab.editor.marked_lines() == []


async def test_unreachable_comfy_is_explained(tab, gui_services):
    gui_services.comfy_client = StubComfyClient(error=ConnectionRefusedError("connect call failed"))
    select(tab, "z_image_turbo")
    tab.validate_now()
    await until(lambda: problems(tab) and "not answering" in problems(tab)[0])
    assert "start it from the tray menu" in problems(tab)[0]
    assert tab.validate_button.isEnabled()


async def test_disable_and_model_change_are_saved(tab, gui_services):
    select(tab, "z_image_turbo")
    item = tab.list.currentItem()
    item.setCheckState(Qt.CheckState.Unchecked)
    manifest = json.loads(tab.templates["z_image_turbo"].manifest_path.read_text())
    assert manifest["enabled"] is False
    assert gui_services.job_service.calls[-1][0] == "set_workflows"      # the queue has the change at once
    box = next(box for setting, box in tab.model_boxes if setting.input == "vae_name")
    box.setCurrentText("better_vae.safetensors")
    assert tab.save_now() is True
    manifest = json.loads(tab.templates["z_image_turbo"].manifest_path.read_text())
    assert {m["input"]: m["value"] for m in manifest["models"]}["vae_name"] == "better_vae.safetensors"
    assert "Saved" in tab.notice.label.text() or "saved" in tab.notice.label.text().lower()


async def test_test_run_goes_through_the_job_service(tab, gui_services, tmp_path):
    from PySide6.QtGui import QColor, QImage
    service = gui_services.job_service
    select(tab, "z_image_turbo")
    tab.test_prompt.setText("a red lighthouse")
    await tab.test_run()
    request = service.calls[-1][1]
    assert (request.source, request.workflow, request.prompt, request.is_admin) == (
        "tray", "z_image_turbo", "a red lighthouse", True)
    job = service.start_next()
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    path = tmp_path / "out.png"
    image.save(str(path))
    service.finish(job.id, (path,))
    assert "Done in" in tab.test_status.text()
    assert not tab.test_image.pixmap().isNull()
    assert service._jobs[job.id].state is JobState.DONE


# ---- the form ----------------------------------------------------------------------------------

ORIGINAL = Path(__file__).resolve().parents[2] / "fixtures" / "workflows" / "original"


def test_an_imagine_workflow_is_selected_first_and_shown_as_a_form(tab):
    assert tab.current.kind == "imagine"
    select(tab, "z_image_turbo")
    prompt = tab.role_rows["prompt"]
    assert (prompt.node_box.currentData(), prompt.input_box.currentText()) == ("5", "text")
    assert prompt.node_box.currentText() == "5 · CLIPTextEncode · Prompt"
    assert tab.role_rows["seed"].now.text() == "now 0"
    assert tab.role_rows["image"].node_box.currentText() == "(not mapped)"
    assert tab.kind_box.currentData() == "imagine" and tab.enabled_box.isChecked()
    assert not tab.dirty and not tab.save_button.isEnabled()
    assert not tab.advanced_group.isChecked()            # the raw JSON waits under Advanced


def test_changing_a_role_marks_unsaved_changes_and_save_writes_it(tab):
    select(tab, "z_image_turbo")
    steps_default, steps_min, steps_max = tab.number_rows["steps"]
    steps_max.setValue(12)
    assert tab.dirty and tab.save_button.isEnabled() and "unsaved changes" in tab.title.text()
    negative = tab.role_rows["negative_prompt"]
    negative.node_box.setCurrentIndex(negative.node_box.findData("6"))
    negative.input_box.setCurrentText("text")
    assert tab.save_now() is True
    manifest = json.loads(tab.templates["z_image_turbo"].manifest_path.read_text())
    assert manifest["inputs"]["negative_prompt"] == {"node": "6", "input": "text"}
    assert manifest["limits"]["steps"]["max"] == 12
    assert not tab.dirty and "unsaved" not in tab.title.text()


def test_a_kind_that_needs_an_image_without_one_is_refused(tab):
    select(tab, "z_image_turbo")
    tab.kind_box.setCurrentIndex(tab.kind_box.findData("edit"))
    assert tab.save_now() is False
    assert "'edit' workflow needs inputs.image" in problems(tab)[0]


def test_import_shows_the_proposal_and_enable_confirms_it(tab, gui_services):
    template = tab.import_file(ORIGINAL / "flux_edit.json", name="klein_edit")
    assert tab.current.name == "klein_edit" and tab.current.kind == "edit"
    assert tab.role_rows["image"].node_box.currentData() == "103"       # the LoadImage that is used
    assert any("never run: nodes 81" in p for p in problems(tab))
    assert "manifest proposed" in tab.title.text() or not template.enabled
    assert not tab.enabled_box.isChecked()
    tab.enabled_box.setChecked(True)
    assert tab.save_now() is True
    assert tab.templates["klein_edit"].enabled
    assert gui_services.job_service.calls[-1][0] == "set_workflows"


def test_a_removed_default_comes_back_with_restore_defaults(tab):
    select(tab, "flux_schnell")
    assert tab.current.shipped and not tab.restore_button.isEnabled()
    tab.remove_current()
    assert "flux_schnell" not in tab.templates and tab.restore_button.isEnabled()
    tab.restore_defaults()
    assert "flux_schnell" in tab.templates and not tab.restore_button.isEnabled()


async def test_an_upscale_test_run_needs_an_image_and_sends_it(tab, gui_services, tmp_path):
    from PySide6.QtGui import QColor, QImage
    select(tab, "upscale")
    assert tab.test_image_button.isVisibleTo(tab) and not tab.test_prompt.isEnabled()
    assert tab.test_run() is None and "Choose an image first" in tab.test_status.text()
    image = QImage(32, 32, QImage.Format.Format_RGB32)
    image.fill(QColor("blue"))
    path = tmp_path / "in.png"
    image.save(str(path))
    tab.set_test_image(path)
    await tab.test_run()
    request = gui_services.job_service.calls[-1][1]
    assert (request.workflow, request.prompt, request.input_image) == ("upscale", "", path.read_bytes())


async def test_a_file_dropped_in_the_folder_shows_up_and_a_revalidation_is_shown(tab, gui_services):
    import shutil
    from core.workflow_watch import WorkflowsChecked, WorkflowsReloaded
    shutil.copy(ORIGINAL / "anima.json", tab.folder / "anima.json")
    gui_services.bus.publish(WorkflowsReloaded(tab.catalog.load()))
    await gui_services.bus.drain()
    assert "anima" in tab.templates
    select(tab, "z_image_turbo")
    problem = "node 4: ModelSamplingAuraFlow is not installed"
    gui_services.bus.publish(WorkflowsChecked("http://127.0.0.1:8188", {"z_image_turbo": (problem,)}))
    await gui_services.bus.drain()
    assert problems(tab) == ["⚠ " + problem]


async def test_a_disk_change_never_throws_away_an_edit(tab, gui_services):
    from core.workflow_watch import WorkflowsReloaded
    select(tab, "z_image_turbo")
    tab.name_edit.setText("Mine")
    tab.name_edit.textEdited.emit("Mine")
    gui_services.bus.publish(WorkflowsReloaded(tab.catalog.load()))
    await gui_services.bus.drain()
    assert tab.dirty and tab.name_edit.text() == "Mine"
    assert "changed on disk" in tab.notice.label.text()


# ---- safe editing --------------------------------------------------------------------------------

def edit_name(tab: WorkflowsTab, name: str) -> None:
    tab.name_edit.setText(name)
    tab.name_edit.textEdited.emit(name)


def saved_manifest(tab: WorkflowsTab, name: str) -> dict:
    return json.loads(tab.templates[name].manifest_path.read_text())


def test_tab_moves_focus_out_of_the_json_editor(tab, qtbot):
    from PySide6.QtWidgets import QApplication
    tab.advanced_group.setChecked(True)
    tab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab.window())
    tab.editor.setFocus()
    before = tab.editor.toPlainText()
    qtbot.keyClick(tab.editor, Qt.Key.Key_Tab)
    assert tab.editor.toPlainText() == before              # no tab typed: no keyboard trap
    assert QApplication.focusWidget() is not tab.editor


def test_another_workflow_with_unsaved_edits_asks_and_cancel_stays(tab, confirmations):
    from gui.widgets import Unsaved
    select(tab, "z_image_turbo")
    edit_name(tab, "Mine")
    confirmations.unsaved = Unsaved.CANCEL
    select(tab, "flux_schnell")
    assert confirmations[-1][0] == "Unsaved changes" and "Z-Image Turbo" in confirmations[-1][1]
    assert tab.current.name == "z_image_turbo" and tab.list.currentItem().data(Qt.ItemDataRole.UserRole + 1) == \
        "z_image_turbo"
    assert tab.dirty and tab.name_edit.text() == "Mine"


def test_unsaved_edits_discarded_are_not_saved(tab, confirmations):
    from gui.widgets import Unsaved
    select(tab, "z_image_turbo")
    edit_name(tab, "Mine")
    confirmations.unsaved = Unsaved.DISCARD
    select(tab, "flux_schnell")
    assert tab.current.name == "flux_schnell" and not tab.dirty
    assert tab.templates["z_image_turbo"].display_name != "Mine"
    select(tab, "z_image_turbo")
    assert tab.name_edit.text() != "Mine"


def test_unsaved_edits_saved_then_the_other_workflow_opens(tab, confirmations):
    from gui.widgets import Unsaved
    select(tab, "z_image_turbo")
    edit_name(tab, "Mine")
    confirmations.unsaved = Unsaved.SAVE
    select(tab, "flux_schnell")
    assert saved_manifest(tab, "z_image_turbo")["display_name"] == "Mine"
    assert tab.current.name == "flux_schnell" and tab.name_edit.text() != "Mine" and not tab.dirty
    assert tab.list.currentItem().data(Qt.ItemDataRole.UserRole + 1) == "flux_schnell"


def test_edits_that_cannot_be_saved_keep_the_workflow_open(tab, confirmations):
    select(tab, "z_image_turbo")
    tab.editor.setPlainText("{ not json")
    select(tab, "flux_schnell")
    assert tab.current.name == "z_image_turbo" and tab.dirty
    assert "Invalid JSON" in problems(tab)[0]


async def test_closing_or_quitting_with_unsaved_edits_asks(qtbot, gui_services, confirmations):
    from gui.app import TrayApp
    from gui.widgets import Unsaved
    shutdown = asyncio.Event()
    app = TrayApp(gui_services, shutdown, tick_ms=0)
    qtbot.addWidget(app.dashboard)
    app.dashboard.show()
    tab = app.dashboard.workflows_tab
    select(tab, "z_image_turbo")
    edit_name(tab, "Mine")
    confirmations.unsaved = Unsaved.CANCEL
    assert not app.dashboard.close() and app.dashboard.isVisible()
    app.actions.quit.trigger()
    assert not shutdown.is_set() and tab.dirty
    confirmations.unsaved = Unsaved.DISCARD
    app.actions.quit.trigger()
    assert shutdown.is_set() and not tab.dirty
    assert tab.templates["z_image_turbo"].display_name != "Mine"
    await app.close()


def test_unticking_a_workflow_asks_first_and_no_keeps_it(tab, confirmations):
    select(tab, "z_image_turbo")
    confirmations.answer = False
    tab.list.currentItem().setCheckState(Qt.CheckState.Unchecked)
    assert confirmations[-1][0] == "Disable Z-Image Turbo?"
    assert tab.list.currentItem().checkState() == Qt.CheckState.Checked
    assert saved_manifest(tab, "z_image_turbo").get("enabled", True) is True
    tab.enabled_box.setChecked(False)                     # the form's box: asked when saving
    assert tab.save_now() is False and len(confirmations) == 2
    assert saved_manifest(tab, "z_image_turbo").get("enabled", True) is True
    confirmations.answer = True
    assert tab.save_now() is True and saved_manifest(tab, "z_image_turbo")["enabled"] is False


def test_a_notice_shows_below_the_list_so_rows_never_move(tab):
    row_top = tab.list.mapTo(tab, tab.list.rect().topLeft()).y()
    tab.notice.show_message("Saved something.")
    tab.layout().activate()
    assert tab.list.mapTo(tab, tab.list.rect().topLeft()).y() == row_top


def test_remove_asks_first_and_no_keeps_the_workflow(tab, confirmations):
    select(tab, "z_image_turbo")
    confirmations.answer = False
    tab.remove_current()
    assert confirmations[-1][0] == "Remove Z-Image Turbo?" and "Restore defaults brings it back" in confirmations[-1][1]
    assert "z_image_turbo" in tab.catalog.load().templates and tab.current.name == "z_image_turbo"
    confirmations.answer = True
    tab.remove_current()
    assert "z_image_turbo" not in tab.catalog.load().templates

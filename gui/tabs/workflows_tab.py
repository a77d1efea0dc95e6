"""Workflows tab, form first: the list (enable/disable, shipped defaults marked, Import workflow...,
Remove, Restore defaults), then the selected workflow as a form (kind, roles with node and input
dropdowns and what each fill will change, model files from ComfyUI, LoRAs, defaults and limits,
enabled), validation against the running ComfyUI (missing nodes name their pack), a test run
through JobService (source="tray", with an image picker for edit, upscale and vary) and the raw
graph JSON under "Advanced"."""
from __future__ import annotations

import asyncio
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QScrollArea, QSpinBox, QSplitter, QVBoxLayout, QWidget)

from comfy.manifest import FLOAT_ROLES, INT_ROLES, KINDS, ROLES
from comfy.validation import validate
from comfy.workflows import (FloatRange, InputRef, Range, WorkflowCatalog, WorkflowError, WorkflowTemplate,
                             check_graph_shape, is_link, live_nodes, node_sort_key, parse_manifest, save_manifest)
from core.bootstrap import workflow_catalog
from core.jobs import JobCancelled, JobFailed, JobFinished, JobProgress, JobRequest, JobStarted
from gui import widgets
from gui.json_editor import JsonEditor
from gui.tasks import error_text, spawn
from gui.theme import Tone, say
from gui.widgets import NoticeBar, Unsaved

NameRole = Qt.ItemDataRole.UserRole + 1
TRAY_USER_ID = 0
RESULT_SIDE = 280
NOT_MAPPED = QT_TRANSLATE_NOOP("WorkflowsTab", "(not mapped)")
ROLE_LABELS = {
    "prompt": QT_TRANSLATE_NOOP("WorkflowsTab", "Prompt"),
    "negative_prompt": QT_TRANSLATE_NOOP("WorkflowsTab", "Negative prompt"),
    "seed": QT_TRANSLATE_NOOP("WorkflowsTab", "Seed"),
    "width": QT_TRANSLATE_NOOP("WorkflowsTab", "Width"),
    "height": QT_TRANSLATE_NOOP("WorkflowsTab", "Height"),
    "batch_size": QT_TRANSLATE_NOOP("WorkflowsTab", "Batch size"),
    "steps": QT_TRANSLATE_NOOP("WorkflowsTab", "Steps"),
    "cfg": QT_TRANSLATE_NOOP("WorkflowsTab", "CFG scale"),
    "denoise": QT_TRANSLATE_NOOP("WorkflowsTab", "Variation (denoise)"),
    "scale": QT_TRANSLATE_NOOP("WorkflowsTab", "Scale factor"),
    "image": QT_TRANSLATE_NOOP("WorkflowsTab", "Input image"),
}
KIND_LABELS = {
    "imagine": QT_TRANSLATE_NOOP("WorkflowsTab", "imagine — makes images from a prompt"),
    "edit": QT_TRANSLATE_NOOP("WorkflowsTab", "edit — changes an attached image following the prompt"),
    "upscale": QT_TRANSLATE_NOOP("WorkflowsTab", "upscale — enlarges an attached image"),
    "vary": QT_TRANSLATE_NOOP("WorkflowsTab", "vary — makes a variation of an attached image"),
}


def bold_font(font: QFont) -> QFont:
    font.setBold(True)
    return font


def tr(text: str) -> str:
    """One of the module's QT_TRANSLATE_NOOP strings in the app's language."""
    return QCoreApplication.translate("WorkflowsTab", text)


class InvalidWorkflow(Exception):
    """What the editor holds cannot be used; `line` points at it when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line, self.column = line, column


def parse_editor_json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidWorkflow(f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. "
                              "Fix it (or Revert) before validating or saving.", exc.lineno, exc.colno) from exc
    try:
        return dict(check_graph_shape(data))
    except WorkflowError as exc:
        raise InvalidWorkflow(f"Not a ComfyUI API-format workflow: {exc}") from exc


def write_json_atomically(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def node_caption(graph: dict, node_id: str) -> str:
    node = graph[node_id]
    title = (node.get("_meta") or {}).get("title") if isinstance(node.get("_meta"), dict) else None
    caption = f"{node_id} · {node['class_type']}"
    return caption + (f" · {title}" if title and title != node["class_type"] else "")


def shown_value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 48 else text[:45] + "…"


class RoleRow:
    """One role: which node and input it fills, and what is there now."""

    def __init__(self, role: str, on_change) -> None:
        self.role = role
        self.node_box = QComboBox()
        self.input_box = QComboBox()
        self.now = QLabel()
        self.extra: tuple[InputRef, ...] = ()      # further inputs of a role naming several
        self.graph: dict = {}
        self.node_box.currentIndexChanged.connect(self._node_changed)
        self.input_box.currentIndexChanged.connect(self._show_now)
        self.node_box.currentIndexChanged.connect(on_change)
        self.input_box.currentIndexChanged.connect(on_change)

    def load(self, graph: dict, live: set[str], refs: tuple[InputRef, ...]) -> None:
        self.graph = graph
        for box in (self.node_box, self.input_box):
            box.blockSignals(True)
            box.clear()
        self.node_box.addItem(tr(NOT_MAPPED), None)
        for node_id in sorted(graph, key=node_sort_key):
            if node_id in live or (refs and refs[0].node == node_id):
                self.node_box.addItem(node_caption(graph, node_id), node_id)
        first = refs[0] if refs else None
        self.extra = tuple(refs[1:])
        self.node_box.setCurrentIndex(max(0, self.node_box.findData(first.node)) if first else 0)
        self._fill_inputs(first.input if first else None)
        for box in (self.node_box, self.input_box):
            box.blockSignals(False)
        self._show_now()

    def _node_changed(self) -> None:
        self.extra = ()                    # another node: the role names this one input only
        self._fill_inputs(None)
        self._show_now()

    def _fill_inputs(self, selected: str | None) -> None:
        self.input_box.blockSignals(True)
        self.input_box.clear()
        node_id = self.node_box.currentData()
        if node_id is not None:
            for name, value in self.graph[node_id].get("inputs", {}).items():
                if not is_link(value):
                    self.input_box.addItem(name)
            if selected is not None:
                self.input_box.setCurrentText(selected)
        self.input_box.setEnabled(node_id is not None)
        self.input_box.blockSignals(False)

    def _show_now(self) -> None:
        ref = self.ref()
        if ref is None:
            self.now.setText("")
            return
        value = self.graph[ref.node]["inputs"].get(ref.input)
        more = QCoreApplication.translate("WorkflowsTab", " (+{count} more)").format(count=len(self.extra)) if self.extra else ""
        self.now.setText(QCoreApplication.translate("WorkflowsTab", "now {value}").format(value=shown_value(value)) + more)
        self.now.setToolTip("\n".join(QCoreApplication.translate("WorkflowsTab", "also node {node} input {input}").format(node=r.node, input=r.input)
                                      for r in self.extra))

    def ref(self) -> InputRef | None:
        node_id = self.node_box.currentData()
        if node_id is None or not self.input_box.currentText():
            return None
        return InputRef(node_id, self.input_box.currentText())

    def refs(self) -> tuple[InputRef, ...]:
        ref = self.ref()
        return (ref, *self.extra) if ref else ()


class WorkflowsTab(QWidget):
    result_shown = Signal(int)         # a test run's result or failure was shown (the outbox: delivered)

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.catalog: WorkflowCatalog = services.workflow_catalog or workflow_catalog(services.settings)
        self.folder = self.catalog.user_folder
        self.templates: dict[str, WorkflowTemplate] = {}
        self.current: WorkflowTemplate | None = None
        self.object_info: dict | None = None
        self.test_job_id: int | None = None
        self.test_image_path: Path | None = None
        self.model_boxes: list[tuple[Any, QComboBox]] = []
        self.lora_rows: list[tuple[Any, QComboBox, QDoubleSpinBox]] = []
        self.number_rows: dict[str, tuple[QWidget, QWidget, QWidget]] = {}
        self.problems: list[str] = []
        self.dirty = False
        self._loading = False

        self.notice = NoticeBar()
        self.list = QListWidget()
        self.list.setMinimumWidth(190)
        self.list.currentItemChanged.connect(self._on_selected)
        self.list.itemChanged.connect(self._on_item_changed)
        self.import_button = QPushButton(self.tr("Import workflow…"))
        self.import_button.setToolTip(self.tr("A workflow exported from ComfyUI with Workflow → Export (API)"))
        self.import_button.clicked.connect(self.import_dialog)
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.clicked.connect(self.remove_current)
        self.restore_button = QPushButton(self.tr("Restore defaults"))
        self.restore_button.clicked.connect(self.restore_defaults)
        list_box = QWidget()
        list_layout = QVBoxLayout(list_box)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.addWidget(self.list, 1)
        list_layout.addWidget(self.import_button)
        row = QHBoxLayout()
        row.addWidget(self.remove_button)
        row.addWidget(self.restore_button)
        list_layout.addLayout(row)

        # ---- the form
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.kind_box = QComboBox()
        for kind in KINDS:
            self.kind_box.addItem(tr(KIND_LABELS[kind]), kind)
        self.enabled_box = QCheckBox(self.tr("Offered to users"))
        self.description_edit = QLineEdit()
        general = QGroupBox(self.tr("Workflow"))
        general_form = QFormLayout(general)
        general_form.addRow(self.tr("Name shown"), self.name_edit)
        general_form.addRow(self.tr("Kind"), self.kind_box)
        general_form.addRow(self.tr("Enabled"), self.enabled_box)
        general_form.addRow(self.tr("Description"), self.description_edit)

        self.roles_group = QGroupBox(self.tr("What a request fills in (node · input, and what is there now)"))
        roles_grid = QGridLayout(self.roles_group)
        self.role_rows: dict[str, RoleRow] = {}
        for line, role in enumerate(ROLES):
            row_widget = RoleRow(role, self._mark_dirty)
            self.role_rows[role] = row_widget
            roles_grid.addWidget(QLabel(tr(ROLE_LABELS[role])), line, 0)
            roles_grid.addWidget(row_widget.node_box, line, 1)
            roles_grid.addWidget(row_widget.input_box, line, 2)
            roles_grid.addWidget(row_widget.now, line, 3)
        roles_grid.setColumnStretch(1, 3)
        roles_grid.setColumnStretch(3, 2)

        self.models_group = QGroupBox(self.tr("Model files (from ComfyUI once validated)"))
        self.models_form = QFormLayout(self.models_group)
        self.loras_group = QGroupBox(self.tr("LoRAs (default file and strength)"))
        self.loras_form = QFormLayout(self.loras_group)
        self.numbers_group = QGroupBox(self.tr("Defaults and limits"))
        self.numbers_grid = QGridLayout(self.numbers_group)

        self.advanced_group = QGroupBox(self.tr("Advanced: the workflow's JSON (API format)"))
        self.advanced_group.setCheckable(True)
        self.advanced_group.setChecked(False)
        self.editor = JsonEditor()
        self.editor.setMinimumHeight(260)
        self.editor.textChanged.connect(self._on_text_changed)
        advanced_layout = QVBoxLayout(self.advanced_group)
        advanced_layout.addWidget(self.editor)
        self.advanced_group.toggled.connect(self.editor.setVisible)
        self.editor.setVisible(False)

        form = QWidget()
        form_layout = QVBoxLayout(form)
        for widget in (self.title, general, self.roles_group, self.models_group, self.loras_group,
                       self.numbers_group, self.advanced_group):
            form_layout.addWidget(widget)
        form_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form)

        for signal in (self.name_edit.textEdited, self.description_edit.textEdited):
            signal.connect(self._mark_dirty)
        self.kind_box.currentIndexChanged.connect(self._mark_dirty)
        self.kind_box.currentIndexChanged.connect(self._update_test_inputs)
        self.enabled_box.toggled.connect(self._mark_dirty)

        # ---- side: problems, buttons, test run
        self.problem_list = QListWidget()
        self.problem_list.setWordWrap(True)
        self.problem_list.itemActivated.connect(self._go_to_problem)
        self.problem_list.itemClicked.connect(self._go_to_problem)
        self.validate_button = QPushButton(self.tr("Validate with ComfyUI"))
        self.save_button = QPushButton(self.tr("Save"))
        self.revert_button = QPushButton(self.tr("Revert"))
        self.validate_button.clicked.connect(self.validate_now)
        self.save_button.clicked.connect(self.save_now)
        self.revert_button.clicked.connect(lambda: self.show_template(self.current))
        buttons = QHBoxLayout()
        for button in (self.validate_button, self.save_button, self.revert_button):
            buttons.addWidget(button)

        self.test_prompt = QLineEdit()
        self.test_prompt.setPlaceholderText(self.tr("Prompt for a test run"))
        self.test_image_button = QPushButton(self.tr("Choose image…"))
        self.test_image_button.clicked.connect(self.choose_test_image)
        self.test_image_label = QLabel("")
        self.test_button = QPushButton(self.tr("Test run"))
        self.test_button.clicked.connect(self.test_run)
        self.test_status = QLabel("")
        self.test_status.setWordWrap(True)
        self.test_status.setTextFormat(Qt.TextFormat.PlainText)     # error texts are never markup
        self.test_image = QLabel()
        self.test_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.test_image.setMinimumHeight(RESULT_SIDE // 2)
        test_group = QGroupBox(self.tr("Test run (through the queue, not Discord)"))
        test_layout = QVBoxLayout(test_group)
        row = QHBoxLayout()
        row.addWidget(self.test_prompt, 1)
        row.addWidget(self.test_button)
        test_layout.addLayout(row)
        image_row = QHBoxLayout()
        image_row.addWidget(self.test_image_button)
        image_row.addWidget(self.test_image_label, 1)
        test_layout.addLayout(image_row)
        test_layout.addWidget(self.test_status)
        test_layout.addWidget(self.test_image, 1)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("<b>" + self.tr("Problems and notes") + "</b>"))
        side_layout.addWidget(self.problem_list, 1)
        side_layout.addLayout(buttons)
        side_layout.addWidget(test_group, 1)

        splitter = QSplitter()
        splitter.addWidget(list_box)
        splitter.addWidget(scroll)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.notice)       # below: showing it never moves a row under the mouse

        bridge.job_started.connect(self._on_test_event)
        bridge.job_progress.connect(self._on_test_event)
        bridge.job_finished.connect(self._on_test_event)
        bridge.job_failed.connect(self._on_test_event)
        bridge.job_cancelled.connect(self._on_test_event)
        bridge.workflows_reloaded.connect(self._on_disk_change)
        bridge.workflows_checked.connect(self._on_checked)
        self.reload()

    # ---- list ----
    def reload(self, select: str | None = None) -> None:
        workflow_set = self.catalog.load()
        self.templates = dict(workflow_set.templates)
        self.list.blockSignals(True)
        self.list.clear()
        for name, template in sorted(self.templates.items(), key=lambda kv: (kv[1].kind != "imagine", kv[0])):
            marks = (self.tr("  (proposed)") if template.manifest_proposed else "") + \
                (self.tr("  · default") if template.shipped else "")
            item = QListWidgetItem(template.display_name + marks)
            item.setData(NameRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if template.enabled else Qt.CheckState.Unchecked)
            item.setToolTip("\n".join([f"{name} · {template.kind}", template.manifest.description, *template.notes]))
            self.list.addItem(item)
        for error in workflow_set.errors:
            item = QListWidgetItem(f"⚠ {error.path.name}")
            item.setFont(bold_font(item.font()))
            item.setToolTip(str(error))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.restore_button.setEnabled(bool(workflow_set.removed_defaults))
        self.restore_button.setToolTip(
            self.tr("Bring back: {names}").format(names=", ".join(workflow_set.removed_defaults))
            if workflow_set.removed_defaults else self.tr("No shipped workflow was removed"))
        names = [self.list.item(i).data(NameRole) for i in range(self.list.count())]
        current = self.current.name if self.current and self.current.name in names else None
        target = select if select in names else current
        # an imagine workflow first: the list puts them on top
        row = names.index(target) if target else (0 if names and names[0] else -1)
        if row >= 0:
            self.list.setCurrentRow(row)

    def _on_selected(self, item, _previous=None) -> None:
        if item is None:
            return
        name = item.data(NameRole)
        if self.dirty and self.current is not None and name != self.current.name:
            answer = self.settle_unsaved(then_select=name)
            if answer is Unsaved.CANCEL:
                self._select_quietly(self.current.name)
                return
            if answer is Unsaved.SAVE:
                return              # saving reloaded the list with `name` selected
        if name is None:
            self.current = None
            self.editor.setPlainText("")
            self.title.setText(f"<b>{item.text()}</b>")
            self._show_problems([item.toolTip()], error=True)
            return
        self.show_template(self.templates[name])

    def settle_unsaved(self, then_select: str | None = None) -> Unsaved:
        """Before unsaved edits would be lost (another workflow, the window closing): Save, Discard or
        Cancel. CANCEL also when saving failed (the edits stay, with the reason shown)."""
        if not self.dirty or self.current is None:
            return Unsaved.DISCARD
        answer = widgets.ask_unsaved(self, self.tr("Unsaved changes"), self.tr(
            "{name} has unsaved changes. Save them?").format(name=self.current.display_name))
        if answer is Unsaved.SAVE and not self.save_now(select=then_select):
            return Unsaved.CANCEL
        if answer is Unsaved.DISCARD:
            self.show_template(self.current)        # the form shows what is saved again
        return answer

    def _select_quietly(self, name: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(NameRole) == name:
                self.list.blockSignals(True)
                self.list.setCurrentRow(row)
                self.list.blockSignals(False)
                return

    def _confirm_disable(self, template: WorkflowTemplate) -> bool:
        """Disabling takes a workflow away from everyone on the server: ask first."""
        return widgets.confirm(self, self.tr("Disable {name}?").format(name=template.display_name), self.tr(
            "Nobody will be offered {name} until it is enabled again. Disable it?").format(
            name=template.display_name))

    def _on_item_changed(self, item) -> None:
        name = item.data(NameRole)
        template = self.templates.get(name)
        if template is None:
            return
        enabled = item.checkState() == Qt.CheckState.Checked
        if enabled == template.enabled:
            return
        if not enabled and not self._confirm_disable(template):
            self.list.blockSignals(True)
            item.setCheckState(Qt.CheckState.Checked)
            self.list.blockSignals(False)
            return
        try:
            saved = save_manifest(template.with_manifest(replace(template.manifest, enabled=enabled)))
        except (WorkflowError, OSError) as exc:
            text = self.tr("Could not enable {name}: {reason}") if enabled else self.tr("Could not disable {name}: {reason}")
            self.notice.show_message(text.format(name=name, reason=error_text(exc)), error=True)
            self.reload(select=name)
            return
        self.templates[name] = saved
        if self.current is not None and self.current.name == name:
            self.enabled_box.blockSignals(True)
            self.enabled_box.setChecked(enabled)
            self.enabled_box.blockSignals(False)
            self.current = saved
        self._workflows_changed((self.tr("{name} enabled.") if enabled else self.tr("{name} disabled.")).format(
            name=template.display_name))

    def _on_disk_change(self, _event) -> None:
        """Files changed on disk: show them, unless the admin is in the middle of an edit."""
        if self.dirty:
            self.notice.show_message(self.tr("Workflow files changed on disk; Save or Revert to see them."),
                                     timeout_ms=8000)
            return
        self.reload()

    def _on_checked(self, event) -> None:
        """ComfyUI came (back) up and every workflow was validated: show the selected one's result."""
        if self.current is None or self.dirty or self.current.name not in event.problems:
            return
        self._show_problems(list(event.problems[self.current.name]),
                            ok=self.tr("ComfyUI at {url} has every node and model this workflow needs.").format(
                                url=event.backend))

    # ---- import, remove, restore ----
    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Import a workflow exported from ComfyUI (Export (API))"),
                                              str(Path.home()), self.tr("Workflows (*.json)"))
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path, name: str | None = None) -> WorkflowTemplate | None:
        """Copy the workflow in and show its proposed manifest as the form; Save (enabled) confirms."""
        try:
            imported = self.catalog.import_workflow(path, name=name)
        except WorkflowError as exc:
            if "already have a workflow named" in str(exc) and name is None:
                name, ok = QInputDialog.getText(self, self.tr("Name taken"),
                                                f"{exc}\n\n" + self.tr("Name for the imported workflow:"))
                return self.import_file(path, name) if ok and name else None
            self.notice.show_message(self.tr("Not imported: {reason}").format(reason=error_text(exc)), error=True)
            return None
        self.reload(select=imported.template.name)
        self._show_problems([], notes=list(imported.notes))
        self.notice.show_message(self.tr("Imported {name}: check the form, tick Enabled and Save.").format(
            name=imported.template.name), timeout_ms=8000)
        self._workflows_changed(None)
        return imported.template

    def remove_current(self) -> None:
        if self.current is None:
            return
        name, shipped = self.current.name, self.current.shipped
        if not widgets.confirm(self, self.tr("Remove {name}?").format(name=self.current.display_name), self.tr(
                "Nobody will be offered {name} any more.").format(name=self.current.display_name) + " " + (
                self.tr("Restore defaults brings it back.") if shipped else self.tr("Its workflow file and manifest are deleted."))):
            return
        try:
            self.catalog.remove(name)
        except (WorkflowError, OSError) as exc:
            self.notice.show_message(self.tr("Could not remove {name}: {reason}").format(name=name, reason=error_text(exc)),
                                     error=True)
            return
        self.current = None
        self._set_dirty(False)          # the edits went with the workflow
        self.reload()
        self._workflows_changed((self.tr("Removed {name} (Restore defaults brings it back).") if shipped
                                 else self.tr("Removed {name}.")).format(name=name))

    def restore_defaults(self) -> None:
        restored = self.catalog.restore_defaults()
        self.reload(select=restored[0] if restored else None)
        self._workflows_changed(self.tr("Restored {names}.").format(names=", ".join(restored) or "—"))

    # ---- the form ----
    def show_template(self, template: WorkflowTemplate | None) -> None:
        self.current = template
        if template is None:
            return
        self._loading = True
        manifest, graph = template.manifest, dict(template.graph)
        self.editor.blockSignals(True)
        self.editor.setPlainText(json.dumps(graph, indent=2, ensure_ascii=False))
        self.editor.blockSignals(False)
        self.editor.mark_lines()
        self.name_edit.setText(manifest.display_name)
        self.kind_box.setCurrentIndex(self.kind_box.findData(manifest.kind))
        self.enabled_box.setChecked(manifest.enabled and not template.manifest_proposed)
        self.description_edit.setText(manifest.description)
        live = live_nodes(graph)
        for role, row in self.role_rows.items():
            row.load(graph, live, tuple(manifest.inputs.get(role, ())))
        self._build_model_form(template)
        self._build_lora_form(template)
        self._build_number_form(template)
        self._show_problems(list(template.notes), notes=list(template.proposal_notes))
        say(self.test_status, "")
        self.test_image.setPixmap(QPixmap())
        self.remove_button.setText(self.tr("Remove (hide the default)") if template.shipped else self.tr("Remove"))
        self._update_test_inputs()
        self._loading = False
        self._set_dirty(False)

    def _title_text(self) -> str:
        template = self.current
        if template is None:
            return ""
        text = f"<b>{template.display_name}</b> — {template.name}.json · {template.kind}"
        if template.shipped:
            text += " · <i>" + self.tr("shipped default (changes are saved in your workflows folder)") + "</i>"
        if template.manifest_proposed:
            text += " · <i>" + self.tr("manifest proposed: check the form, tick Enabled and Save") + "</i>"
        elif not template.enabled:
            text += " · <i>" + self.tr("disabled: not offered to users") + "</i>"
        if self.dirty:
            text += " · <b>● " + self.tr("unsaved changes") + "</b>"
        return text

    def _mark_dirty(self, *_args) -> None:
        if not self._loading:
            self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        self.dirty = dirty
        self.save_button.setEnabled(dirty or bool(self.current and self.current.manifest_proposed))
        self.title.setText(self._title_text())

    def _build_model_form(self, template: WorkflowTemplate) -> None:
        while self.models_form.rowCount():
            self.models_form.removeRow(0)
        self.model_boxes = []
        for setting in template.manifest.models:
            box = QComboBox()
            box.setEditable(True)
            box.addItem(setting.value)
            box.setToolTip(f"node {setting.node}, input {setting.input}")
            box.currentTextChanged.connect(self._mark_dirty)
            self.models_form.addRow(setting.label, box)
            self.model_boxes.append((setting, box))
        if not template.manifest.models:
            self.models_form.addRow(QLabel(self.tr("This workflow names no model files.")))
        self._fill_model_options()

    def _build_lora_form(self, template: WorkflowTemplate) -> None:
        while self.loras_form.rowCount():
            self.loras_form.removeRow(0)
        self.lora_rows = []
        for slot in template.manifest.loras:
            box = QComboBox()
            box.setEditable(True)
            box.addItem(slot.value)
            strength = QDoubleSpinBox()
            strength.setRange(slot.strength_range.min, slot.strength_range.max)
            strength.setSingleStep(0.05)
            strength.setValue(slot.strength)
            box.currentTextChanged.connect(self._mark_dirty)
            strength.valueChanged.connect(self._mark_dirty)
            row = QHBoxLayout()
            row.addWidget(box, 1)
            row.addWidget(QLabel(self.tr("strength")))
            row.addWidget(strength)
            self.loras_form.addRow(self.tr("{label} (node {node})").format(label=slot.label, node=slot.node), row)
            self.lora_rows.append((slot, box, strength))
        self.loras_group.setVisible(bool(template.manifest.loras))

    def _build_number_form(self, template: WorkflowTemplate) -> None:
        while self.numbers_grid.count():
            widget = self.numbers_grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.number_rows = {}
        manifest = template.manifest
        for column, header in enumerate(("", self.tr("default"), self.tr("min"), self.tr("max"))):
            self.numbers_grid.addWidget(QLabel(f"<i>{header}</i>"), 0, column)
        line = 1
        for role in (*INT_ROLES, *FLOAT_ROLES):
            if role not in manifest.inputs:
                continue
            limit = manifest.limits.for_role(role)
            boxes = []
            for value in (manifest.defaults.get(role), limit.min, limit.max):
                if role in FLOAT_ROLES:
                    box = QDoubleSpinBox()
                    box.setDecimals(2)
                    box.setRange(0.0, 1000.0)
                    box.setSingleStep(0.05)
                else:
                    box = QSpinBox()
                    box.setRange(0, 1_000_000)
                if value is None:             # no default: the graph's own value stays
                    box.setSpecialValueText("—")
                box.setValue(box.minimum() if value is None else value)
                box.valueChanged.connect(self._mark_dirty)
                boxes.append(box)
            self.numbers_grid.addWidget(QLabel(tr(ROLE_LABELS[role])), line, 0)
            for column, box in enumerate(boxes, 1):
                self.numbers_grid.addWidget(box, line, column)
            self.number_rows[role] = tuple(boxes)
            line += 1
        self.numbers_group.setVisible(bool(self.number_rows))

    def _fill_model_options(self) -> None:
        if not self.object_info or self.current is None:
            return
        for setting, box in [*self.model_boxes, *[(slot, box) for slot, box, _ in self.lora_rows]]:
            node = self.current.graph.get(setting.node, {})
            spec = (self.object_info.get(node.get("class_type"), {}).get("input", {}).get("required", {})
                    .get(setting.input))
            options = spec[0] if spec and isinstance(spec[0], list) else []
            if spec and spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
                options = list(spec[1].get("options", []))
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems([str(o) for o in options] or [current])
            if current not in options:
                box.insertItem(0, current)
            box.setCurrentText(current)
            box.blockSignals(False)

    def _on_text_changed(self) -> None:
        if self.editor.extraSelections():
            self.editor.mark_lines()
        self._mark_dirty()

    def form_manifest_data(self) -> dict[str, Any]:
        """The manifest as the form has it (JSON shape, for parse_manifest)."""
        base = self.current.manifest
        data = base.to_dict()
        data.update(display_name=self.name_edit.text().strip(), kind=self.kind_box.currentData(),
                    enabled=self.enabled_box.isChecked(), description=self.description_edit.text())
        inputs = {}
        for role, row in self.role_rows.items():
            refs = row.refs()
            if refs:
                inputs[role] = [ref.to_dict() for ref in refs] if len(refs) > 1 else refs[0].to_dict()
        data["inputs"] = inputs
        defaults = {k: v for k, v in base.defaults.items() if k not in (*INT_ROLES, *FLOAT_ROLES) and k in inputs}
        limits = base.limits
        for role, (default_box, min_box, max_box) in self.number_rows.items():
            if role not in inputs:
                continue
            if default_box.value() != default_box.minimum() or not default_box.specialValueText():
                defaults[role] = default_box.value()
            old = limits.for_role(role)
            new = (FloatRange(min_box.value(), max_box.value()) if isinstance(old, FloatRange)
                   else Range(min_box.value(), max_box.value(), old.multiple_of))
            limits = replace(limits, **{role: new})
        data["defaults"], data["limits"] = defaults, limits.to_dict()
        values = {(s.node, s.input): box.currentText().strip() for s, box in self.model_boxes}
        for model in data["models"]:
            model["value"] = values.get((model["node"], model["input"]), model["value"])
        for slot_data, (_, box, strength) in zip(data.get("loras", []), self.lora_rows):
            slot_data["value"], slot_data["strength"] = box.currentText().strip(), strength.value()
        return data

    def edited_template(self) -> WorkflowTemplate:
        """The template as the form and the JSON editor have it; raises InvalidWorkflow."""
        if self.current is None:
            raise InvalidWorkflow(self.tr("Select a workflow first."))
        graph = parse_editor_json(self.editor.toPlainText())
        try:
            manifest = parse_manifest(self.form_manifest_data(), graph)
        except WorkflowError as exc:
            raise InvalidWorkflow(self.tr("The form does not fit the workflow: {reason}").format(reason=exc)) from exc
        return replace(self.current, graph=graph, manifest=manifest)

    # ---- problems ----
    def _show_problems(self, problems: list[str], *, error: bool = False, ok: str | None = None,
                       notes: list[str] = ()) -> None:
        self.problems = list(problems)
        self.problem_list.clear()
        for text in problems:
            item = QListWidgetItem(("✗ " if error else "⚠ ") + text)
            item.setFont(bold_font(item.font()))          # a sign and bold, in the palette's text colour
            self.problem_list.addItem(item)
        for text in notes:                  # what the proposal found: information, not a problem
            self.problem_list.addItem(QListWidgetItem("· " + text))
        if ok and not problems:
            self.problem_list.addItem(QListWidgetItem("✓ " + ok))

    def _go_to_problem(self, item) -> None:
        line = item.data(Qt.ItemDataRole.UserRole)
        if line:
            self.advanced_group.setChecked(True)
            self.editor.go_to(int(line))

    def _invalid(self, exc: InvalidWorkflow) -> None:
        self._show_problems([str(exc)], error=True)
        if exc.line:
            self.advanced_group.setChecked(True)
            self.problem_list.item(0).setData(Qt.ItemDataRole.UserRole, exc.line)
            self.editor.mark_lines(error_lines=[exc.line])
            self.editor.go_to(exc.line, exc.column or 1)

    # ---- validate ----
    def validate_now(self) -> asyncio.Task | None:
        try:
            template = self.edited_template()
        except InvalidWorkflow as exc:
            self._invalid(exc)
            return None
        self.validate_button.setEnabled(False)
        self._show_problems([])
        self.problem_list.addItem(self.tr("Asking ComfyUI which nodes and models it has…"))
        return spawn(self._validate(template), on_error=self._validation_failed, name="validate workflow")

    async def _validate(self, template: WorkflowTemplate) -> None:
        try:
            client = self.services.comfy_client
            if client is None:
                raise InvalidWorkflow(self.tr("No ComfyUI connection in this app: nodes and models cannot be checked."))
            try:
                # ComfyClient caches /object_info; validation wants what ComfyUI has now
                self.object_info = await client.object_info(refresh=True)
            except Exception as exc:
                raise InvalidWorkflow(
                    f"ComfyUI at {self.services.settings.comfy_url} is not answering ({error_text(exc)}): start "
                    "it from the tray menu, then validate again.") from exc
            problems = validate(template, self.object_info)
            loading, self._loading = self._loading, True
            self._fill_model_options()
            self._loading = loading
            lines = self.editor.node_lines()
            self._show_problems([str(p) for p in problems],
                                ok=self.tr("ComfyUI has every node and model this workflow needs."))
            for row, problem in enumerate(problems):
                if problem.node_id in lines:
                    self.problem_list.item(row).setData(Qt.ItemDataRole.UserRole, lines[problem.node_id])
            self.editor.mark_lines(problem_lines=[lines[p.node_id] for p in problems if p.node_id in lines])
        finally:
            self.validate_button.setEnabled(True)

    def _validation_failed(self, exc: BaseException) -> None:
        if isinstance(exc, InvalidWorkflow):
            self._invalid(exc)
        else:
            self._show_problems([self.tr("Validation failed: {reason}").format(reason=error_text(exc))], error=True)

    # ---- save ----
    def save_now(self, select: str | None = None) -> bool:
        """Save the form and the JSON; then the list shows `select` (by default the saved workflow)."""
        try:
            template = self.edited_template()
        except InvalidWorkflow as exc:
            self._invalid(exc)
            return False
        if self.current.enabled and not template.manifest.enabled and not self._confirm_disable(template):
            return False
        try:
            if not template.shipped or dict(template.graph) != dict(self.current.graph):
                # an edited shipped graph becomes the user's own copy, which replaces the default
                write_json_atomically(template.path, dict(template.graph))
            saved = save_manifest(template)
        except (OSError, WorkflowError) as exc:
            self.notice.show_message(self.tr("Could not save {name}: {reason}").format(
                name=template.name, reason=error_text(exc)), error=True)
            return False
        self.templates[saved.name] = saved
        self.current = saved
        self._set_dirty(False)
        self._workflows_changed(self.tr("Saved {file} and its manifest.").format(file=saved.path.name))
        self.reload(select=select or saved.name)
        return True

    def _workflows_changed(self, message: str | None) -> None:
        """Hand the reloaded catalog to the queue, so new jobs use it."""
        self.services.job_service.set_workflows(self.catalog.load())
        if message:
            self.notice.show_message(message, timeout_ms=5000)

    # ---- test run ----
    def _update_test_inputs(self) -> None:
        kind = self.kind_box.currentData()
        takes_image = kind in ("edit", "upscale", "vary")
        self.test_image_button.setVisible(takes_image)
        self.test_image_label.setVisible(takes_image)
        self.test_prompt.setEnabled(kind != "upscale")
        self.test_prompt.setPlaceholderText(self.tr("No prompt: an upscale takes only an image") if kind == "upscale"
                                            else self.tr("Prompt for a test run"))
        if takes_image and self.test_image_path is None:
            self.test_image_label.setText("<i>" + self.tr("choose the image for the test run") + "</i>")

    def choose_test_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Image for the test run"), str(Path.home()),
                                              self.tr("Images (*.png *.jpg *.jpeg *.webp)"))
        if path:
            self.set_test_image(Path(path))

    def set_test_image(self, path: Path) -> None:
        self.test_image_path = path
        self.test_image_label.setText(path.name)

    def test_run(self) -> asyncio.Task | None:
        if self.current is None:
            return None
        template = self.current
        image = None
        if template.takes_image:
            if self.test_image_path is None:
                say(self.test_status, self.tr(
                    "Choose an image first: {name} works on an attached image.").format(
                    name=template.display_name), Tone.PROBLEM)
                return None
            try:
                image = self.test_image_path.read_bytes()
            except OSError as exc:
                say(self.test_status, self.tr("Cannot read {file}: {reason}").format(
                    file=self.test_image_path.name, reason=exc.strerror), Tone.PROBLEM)
                return None
        prompt = self.test_prompt.text().strip()
        if not prompt and template.prompt_required:
            prompt = "a lighthouse on a cliff at sunset, watercolour"
        if not template.takes_prompt:
            prompt = ""
        request = JobRequest(user_id=TRAY_USER_ID, user_name="tray (admin)", workflow=template.name, prompt=prompt,
                             source="tray", is_admin=True, input_image=image,
                             input_image_name=self.test_image_path.name if image else None)
        self.test_button.setEnabled(False)
        say(self.test_status, self.tr("Submitting…"))
        self.test_image.setPixmap(QPixmap())

        def accepted(result) -> None:
            self.test_job_id = result.job.id
            say(self.test_status, self.tr("Job #{id} queued at position {position}.").format(
                id=result.job.id, position=result.position))

        def refused(exc: BaseException) -> None:
            self.test_button.setEnabled(True)
            say(self.test_status, self.tr("Not queued: {reason}").format(
                reason=error_text(exc)), Tone.PROBLEM)

        return spawn(self.services.job_service.submit(request), on_done=accepted, on_error=refused, name="test run")

    def _on_test_event(self, event) -> None:
        if self.test_job_id is None or event.job_id != self.test_job_id:
            return
        if isinstance(event, JobStarted):
            say(self.test_status, self.tr("Job #{id} is running.").format(id=event.job_id))
        elif isinstance(event, JobProgress):
            say(self.test_status, self.tr("Job #{id}: step {step} of {steps}.").format(
                id=event.job_id, step=event.value, steps=event.max))
            if event.preview:
                self._show_image(QPixmap(), data=event.preview)
        elif isinstance(event, JobFinished):
            self.test_button.setEnabled(True)
            say(self.test_status, self.tr("Done in {seconds}s (waited {waited}s), seed {seed}.").format(
                seconds=f"{event.generation_s:.1f}", waited=f"{event.queue_wait_s:.1f}", seed=event.seed))
            if event.images:
                self._show_image(QPixmap(str(event.images[0])))
            self.result_shown.emit(event.job_id)
        elif isinstance(event, (JobFailed, JobCancelled)):
            self.test_button.setEnabled(True)
            reason = event.text if isinstance(event, JobFailed) else self.tr("cancelled")
            say(self.test_status, self.tr("Job #{id} failed: {reason}").format(
                id=event.job_id, reason=reason), Tone.PROBLEM)
            self.result_shown.emit(event.job_id)

    def _show_image(self, pixmap: QPixmap, data: bytes | None = None) -> None:
        if data is not None:
            pixmap.loadFromData(data)
        if not pixmap.isNull():
            self.test_image.setPixmap(pixmap.scaled(RESULT_SIDE, RESULT_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                                    Qt.TransformationMode.SmoothTransformation))

"""Workflows tab: the flujos list (enable/disable), a JSON editor for the graph, the manifest's model
files, validation against the running ComfyUI (missing nodes and models shown inline), and a test
run that goes through JobService (source="tray") and shows the image here, without Discord."""
from __future__ import annotations

import asyncio
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QSplitter, QVBoxLayout, QWidget)

from comfy.validation import validate
from comfy.workflows import WorkflowCatalog, WorkflowError, WorkflowTemplate, check_graph_shape, parse_manifest, save_manifest
from core.bootstrap import workflow_catalog
from core.jobs import JobCancelled, JobFailed, JobFinished, JobProgress, JobRequest, JobStarted
from gui.json_editor import JsonEditor
from gui.tasks import error_text, spawn
from gui.widgets import NoticeBar

NameRole = Qt.ItemDataRole.UserRole + 1
TRAY_USER_ID = 0
RESULT_SIDE = 280


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


class WorkflowsTab(QWidget):
    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.catalog: WorkflowCatalog = services.workflow_catalog or workflow_catalog(services.settings)
        self.folder = self.catalog.user_folder
        self.templates: dict[str, WorkflowTemplate] = {}
        self.current: WorkflowTemplate | None = None
        self.object_info: dict | None = None
        self.test_job_id: int | None = None
        self.model_boxes: list[tuple[Any, QComboBox]] = []
        self.problems: list[str] = []

        self.notice = NoticeBar()
        self.list = QListWidget()
        self.list.setMinimumWidth(180)
        self.list.currentItemChanged.connect(self._on_selected)
        self.list.itemChanged.connect(self._on_item_changed)

        self.title = QLabel()
        self.title.setWordWrap(True)
        self.editor = JsonEditor()
        self.editor.textChanged.connect(self._on_text_changed)
        editor_box = QWidget()
        editor_layout = QVBoxLayout(editor_box)
        editor_layout.setContentsMargins(0, 0, 0, 0)
        editor_layout.addWidget(self.title)
        editor_layout.addWidget(self.editor, 1)

        self.models_group = QGroupBox("Model files")
        self.models_form = QFormLayout(self.models_group)
        self.problem_list = QListWidget()
        self.problem_list.setWordWrap(True)
        self.problem_list.itemActivated.connect(self._go_to_problem)
        self.problem_list.itemClicked.connect(self._go_to_problem)
        self.validate_button = QPushButton("Validate with ComfyUI")
        self.save_button = QPushButton("Save")
        self.revert_button = QPushButton("Revert")
        self.validate_button.clicked.connect(self.validate_now)
        self.save_button.clicked.connect(self.save_now)
        self.revert_button.clicked.connect(lambda: self.show_template(self.current))
        buttons = QHBoxLayout()
        for button in (self.validate_button, self.save_button, self.revert_button):
            buttons.addWidget(button)

        self.test_prompt = QLineEdit()
        self.test_prompt.setPlaceholderText("Prompt for a test run")
        self.test_button = QPushButton("Test run")
        self.test_button.clicked.connect(self.test_run)
        self.test_status = QLabel("")
        self.test_status.setWordWrap(True)
        self.test_image = QLabel()
        self.test_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.test_image.setMinimumHeight(RESULT_SIDE // 2)
        test_group = QGroupBox("Test run (through the queue, not Discord)")
        test_layout = QVBoxLayout(test_group)
        row = QHBoxLayout()
        row.addWidget(self.test_prompt, 1)
        row.addWidget(self.test_button)
        test_layout.addLayout(row)
        test_layout.addWidget(self.test_status)
        test_layout.addWidget(self.test_image, 1)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.models_group)
        side_layout.addWidget(QLabel("<b>Problems</b>"))
        side_layout.addWidget(self.problem_list, 1)
        side_layout.addLayout(buttons)
        side_layout.addWidget(test_group, 1)

        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(editor_box)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addWidget(splitter, 1)

        bridge.job_started.connect(self._on_test_event)
        bridge.job_progress.connect(self._on_test_event)
        bridge.job_finished.connect(self._on_test_event)
        bridge.job_failed.connect(self._on_test_event)
        bridge.job_cancelled.connect(self._on_test_event)
        self.reload()

    # ---- list ----
    def reload(self, select: str | None = None) -> None:
        workflow_set = self.catalog.load()
        self.templates = dict(workflow_set.templates)
        self.list.blockSignals(True)
        self.list.clear()
        for name, template in sorted(self.templates.items()):
            item = QListWidgetItem(template.display_name + ("  (proposed)" if template.manifest_proposed else ""))
            item.setData(NameRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if template.enabled else Qt.CheckState.Unchecked)
            item.setToolTip(f"{name} · {template.kind}\n{template.manifest.description}")
            self.list.addItem(item)
        for error in workflow_set.errors:
            item = QListWidgetItem(f"⚠ {error.path.name}")
            item.setForeground(QBrush(QColor("#C53030")))
            item.setToolTip(str(error))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable)
            self.list.addItem(item)
        self.list.blockSignals(False)
        names = [self.list.item(i).data(NameRole) for i in range(self.list.count())]
        target = select if select in names else (self.current.name if self.current and self.current.name in names else None)
        row = names.index(target) if target else (0 if names and names[0] else -1)
        if row >= 0:
            self.list.setCurrentRow(row)

    def _on_selected(self, item, _previous=None) -> None:
        if item is None:
            return
        name = item.data(NameRole)
        if name is None:
            self.current = None
            self.editor.setPlainText("")
            self.title.setText(f"<b>{item.text()}</b>")
            self._show_problems([item.toolTip()], error=True)
            return
        self.show_template(self.templates[name])

    def _on_item_changed(self, item) -> None:
        name = item.data(NameRole)
        template = self.templates.get(name)
        if template is None:
            return
        enabled = item.checkState() == Qt.CheckState.Checked
        if enabled == template.enabled:
            return
        try:
            saved = save_manifest(template.with_manifest(replace(template.manifest, enabled=enabled)))
        except (WorkflowError, OSError) as exc:
            self.notice.show_message(f"Could not {'enable' if enabled else 'disable'} {name}: {error_text(exc)}", error=True)
            self.reload(select=name)
            return
        self.templates[name] = saved
        self._workflows_changed(f"{template.display_name} {'enabled' if enabled else 'disabled'}.")

    # ---- editor ----
    def show_template(self, template: WorkflowTemplate | None) -> None:
        self.current = template
        if template is None:
            return
        self.title.setText(f"<b>{template.display_name}</b> — {template.name}.json · {template.kind}"
                           + (" · <i>manifest proposed, check and save to enable</i>" if template.manifest_proposed else ""))
        self.editor.blockSignals(True)
        self.editor.setPlainText(json.dumps(dict(template.graph), indent=2, ensure_ascii=False))
        self.editor.blockSignals(False)
        self.editor.mark_lines()
        self._build_model_form(template)
        self._show_problems(list(template.proposal_notes))
        self.test_status.setText("")
        self.test_image.setPixmap(QPixmap())

    def _build_model_form(self, template: WorkflowTemplate) -> None:
        while self.models_form.rowCount():
            self.models_form.removeRow(0)
        self.model_boxes = []
        for setting in template.manifest.models:
            box = QComboBox()
            box.setEditable(True)
            box.addItem(setting.value)
            box.setToolTip(f"node {setting.node}, input {setting.input}")
            self.models_form.addRow(setting.label, box)
            self.model_boxes.append((setting, box))
        if not template.manifest.models:
            self.models_form.addRow(QLabel("This workflow names no model files."))
        self._fill_model_options()

    def _fill_model_options(self) -> None:
        if not self.object_info or self.current is None:
            return
        for setting, box in self.model_boxes:
            node = self.current.graph.get(setting.node, {})
            spec = (self.object_info.get(node.get("class_type"), {}).get("input", {}).get("required", {})
                    .get(setting.input))
            options = spec[0] if spec and isinstance(spec[0], list) else []
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

    def edited_template(self) -> WorkflowTemplate:
        """The template as the editor and the model boxes have it; raises InvalidWorkflow."""
        if self.current is None:
            raise InvalidWorkflow("Select a workflow first.")
        graph = parse_editor_json(self.editor.toPlainText())
        manifest = self.current.manifest
        for setting, box in self.model_boxes:
            manifest = manifest.with_model_value(setting.node, setting.input, box.currentText().strip())
        try:
            manifest = parse_manifest(manifest.to_dict(), graph)
        except WorkflowError as exc:
            raise InvalidWorkflow(f"The manifest does not fit the edited graph: {exc}") from exc
        return replace(self.current, graph=graph, manifest=manifest)

    # ---- problems ----
    def _show_problems(self, problems: list[str], *, error: bool = False, ok: str | None = None) -> None:
        self.problems = list(problems)
        self.problem_list.clear()
        for text in problems:
            item = QListWidgetItem(("✗ " if error else "⚠ ") + text)
            item.setForeground(QBrush(QColor("#C53030" if error else "#92400E")))
            self.problem_list.addItem(item)
        if ok and not problems:
            item = QListWidgetItem("✓ " + ok)
            item.setForeground(QBrush(QColor("#047857")))
            self.problem_list.addItem(item)

    def _go_to_problem(self, item) -> None:
        line = item.data(Qt.ItemDataRole.UserRole)
        if line:
            self.editor.go_to(int(line))

    def _invalid(self, exc: InvalidWorkflow) -> None:
        self._show_problems([str(exc)], error=True)
        if exc.line:
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
        self.problem_list.addItem("Asking ComfyUI which nodes and models it has…")
        return spawn(self._validate(template), on_error=self._validation_failed, name="validate workflow")

    async def _validate(self, template: WorkflowTemplate) -> None:
        try:
            client = self.services.comfy_client
            if client is None:
                raise InvalidWorkflow("No ComfyUI connection in this app: nodes and models cannot be checked.")
            try:
                # ComfyClient caches /object_info; validation wants what ComfyUI has now
                self.object_info = await client.object_info(refresh=True)
            except Exception as exc:
                raise InvalidWorkflow(
                    f"ComfyUI at {self.services.settings.comfy_url} is not answering ({error_text(exc)}): start "
                    "it from the tray menu, then validate again.") from exc
            problems = validate(template, self.object_info)
            self._fill_model_options()
            lines = self.editor.node_lines()
            self._show_problems([str(p) for p in problems], ok="ComfyUI has every node and model this workflow needs.")
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
            self._show_problems([f"Validation failed: {error_text(exc)}"], error=True)

    # ---- save ----
    def save_now(self) -> bool:
        try:
            template = self.edited_template()
        except InvalidWorkflow as exc:
            self._invalid(exc)
            return False
        try:
            if not template.shipped or dict(template.graph) != dict(self.current.graph):
                # an edited shipped graph becomes the user's own copy, which replaces the default
                write_json_atomically(template.path, dict(template.graph))
            saved = save_manifest(template)
        except (OSError, WorkflowError) as exc:
            self.notice.show_message(f"Could not save {template.name}: {error_text(exc)}", error=True)
            return False
        self.templates[saved.name] = saved
        self.current = saved
        self._workflows_changed(f"Saved {saved.path.name} and its manifest.")
        self.reload(select=saved.name)
        return True

    def _workflows_changed(self, message: str) -> None:
        """Hand the reloaded folder to the queue, so new jobs use it."""
        self.services.job_service.set_workflows(self.catalog.load())
        self.notice.show_message(message, timeout_ms=5000)

    # ---- test run ----
    def test_run(self) -> asyncio.Task | None:
        if self.current is None:
            return None
        prompt = self.test_prompt.text().strip() or "a lighthouse on a cliff at sunset, watercolour"
        request = JobRequest(user_id=TRAY_USER_ID, user_name="tray (admin)", workflow=self.current.name, prompt=prompt,
                             source="tray", is_admin=True)
        self.test_button.setEnabled(False)
        self.test_status.setText("Submitting…")
        self.test_image.setPixmap(QPixmap())

        def accepted(result) -> None:
            self.test_job_id = result.job.id
            self.test_status.setText(f"Job #{result.job.id} queued at position {result.position}.")

        def refused(exc: BaseException) -> None:
            self.test_button.setEnabled(True)
            self.test_status.setText(f"<span style='color:#C53030'>Not queued: {error_text(exc)}</span>")

        return spawn(self.services.job_service.submit(request), on_done=accepted, on_error=refused, name="test run")

    def _on_test_event(self, event) -> None:
        if self.test_job_id is None or event.job_id != self.test_job_id:
            return
        if isinstance(event, JobStarted):
            self.test_status.setText(f"Job #{event.job_id} is running.")
        elif isinstance(event, JobProgress):
            self.test_status.setText(f"Job #{event.job_id}: step {event.value} of {event.max}.")
            if event.preview:
                self._show_image(QPixmap(), data=event.preview)
        elif isinstance(event, JobFinished):
            self.test_button.setEnabled(True)
            self.test_status.setText(f"Done in {event.generation_s:.1f}s (waited {event.queue_wait_s:.1f}s), seed {event.seed}.")
            if event.images:
                self._show_image(QPixmap(str(event.images[0])))
        elif isinstance(event, (JobFailed, JobCancelled)):
            self.test_button.setEnabled(True)
            reason = event.text if isinstance(event, JobFailed) else "cancelled"
            self.test_status.setText(f"<span style='color:#C53030'>Job #{event.job_id} failed: {reason}</span>")

    def _show_image(self, pixmap: QPixmap, data: bytes | None = None) -> None:
        if data is not None:
            pixmap.loadFromData(data)
        if not pixmap.isNull():
            self.test_image.setPixmap(pixmap.scaled(RESULT_SIDE, RESULT_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                                    Qt.TransformationMode.SmoothTransformation))

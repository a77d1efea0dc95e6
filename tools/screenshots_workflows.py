"""Screenshots of the Workflows tab: `python tools/screenshots_workflows.py [out_dir]`.

The tab runs on the real JobService against the in-process fake ComfyUI, with a temporary
IMAGEBOT_HOME, on an X server (it re-runs itself under `xvfb-run -a` when there is no DISPLAY).
Saved into docs/screenshots/:
- `workflows-import-form.png`: the original FuLLet-AI-Bot's flux_edit.json just imported, its proposed
  manifest shown as the form (roles with node and input, what each fill changes), the notes beside it.
- `workflows-import-validated.png`: the same after "Validate with ComfyUI": the missing nodes name their pack.
- `workflows-test-run.png`: a test run of the shipped Z-Image variation workflow with a picked image.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
ORIGINAL = ROOT / "tests" / "fixtures" / "workflows" / "original"
sys.path.insert(0, str(ROOT))
from tools.screenshots import reexec_under_xvfb  # noqa: E402  (ROOT on the path first)


async def _run(out: Path) -> list[Path]:
    from PySide6.QtGui import QColor, QImage
    from PySide6.QtWidgets import QApplication

    from comfy.client import ComfyClient
    from core.bootstrap import ensure_user_files, workflow_catalog
    from core.events import EventBus
    from core.jobs import JobFailed, JobFinished
    from core.jobservice import JobService
    from core.paths import AppPaths
    from core.settings import Settings
    from core.store import Database
    from gui.bridge import CoreBridge
    from gui.services import GuiServices
    from gui.tabs.workflows_tab import NameRole, WorkflowsTab
    from tests.fake_comfyui.server import FakeComfyUI
    from tests.fixtures_core import shipped_object_info

    saved: list[Path] = []

    def shoot(widget, name: str) -> None:
        QApplication.processEvents()
        path = out / f"{name}.png"
        if widget.grab().save(str(path)):
            saved.append(path)

    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    fake = FakeComfyUI(exec_ms=400, progress_steps=4, extra_object_info=shipped_object_info())
    await fake.start()
    paths = AppPaths.default()
    settings = Settings(paths=paths, comfy_urls=(fake.url,))
    ensure_user_files(paths, settings.workflows_path)
    bus = EventBus()
    db = await Database.open(None, paths.data_dir)
    client = ComfyClient(fake.url)
    catalog = workflow_catalog(settings)
    job_service = JobService(db=db, bus=bus, settings=settings, workflows=catalog.load(), backends=[client],
                             paths=paths)
    await job_service.start()
    services = GuiServices(settings=settings, paths=paths, bus=bus, job_service=job_service, comfy_client=client,
                           workflow_catalog=catalog)
    bridge = CoreBridge(bus)
    tab = WorkflowsTab(services, bridge)
    tab.setWindowTitle("Workflows — FuLLetLabs Image Bot")
    tab.resize(1560, 940)
    tab.show()
    await asyncio.sleep(0.3)

    # Import: the original bot's Flux 2 edit workflow, as a user migrating from it would
    tab.import_file(ORIGINAL / "flux_edit.json", name="klein_edit")
    await asyncio.sleep(0.3)
    shoot(tab, "workflows-import-form")
    await tab.validate_now()
    await asyncio.sleep(0.2)
    shoot(tab, "workflows-import-validated")

    # Test run: the shipped variation workflow with a picked image
    for row in range(tab.list.count()):
        if tab.list.item(row).data(NameRole) == "z_image_turbo_vary":
            tab.list.setCurrentRow(row)
            break
    picture = QImage(640, 480, QImage.Format.Format_RGB32)
    picture.fill(QColor("#2B6CB0"))
    image_path = Path(paths.data_dir) / "harbour.png"
    picture.save(str(image_path))
    tab.set_test_image(image_path)
    tab.test_prompt.setText("the same harbour at night, lanterns")
    finished = asyncio.Event()
    bus.subscribe(JobFinished, lambda event: finished.set())
    bus.subscribe(JobFailed, lambda event: finished.set())
    await tab.test_run()
    await asyncio.wait_for(finished.wait(), timeout=60)
    await asyncio.sleep(0.5)
    shoot(tab, "workflows-test-run")

    bridge.close()
    await job_service.stop()
    await client.close()
    await db.close()
    await bus.close()
    await fake.stop()
    return saved


def main() -> int:
    reexec_under_xvfb(__file__, OUT, "1600x1000x24")
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    home = tempfile.mkdtemp(prefix="imagebot-shots-")
    os.environ["IMAGEBOT_HOME"] = home
    sys.path.insert(0, str(ROOT))
    import qasync

    from gui.app import create_application

    OUT.mkdir(parents=True, exist_ok=True)
    create_application([sys.argv[0]])
    try:
        saved = qasync.run(_run(OUT))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for path in saved:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

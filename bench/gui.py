"""GUI figures: `python -m bench gui` prints one JSON line.

startup_s         launch of a fresh process to the dashboard shown (offscreen: no tray host, so the
                  app falls back to the window, which is the slower path), measured from Popen
idle_rss_mb       that process's RSS after 2 s idle
rss_mb_1000_jobs  RSS with 1,000 jobs in the queue model and its table view
max_stall_ms      the largest extra delay of a 5 ms timer on the qasync loop while 200 jobs stream
                  through (queued, started, 4 progress events with a JPEG preview, finished)
The services are the in-memory fakes from tests/gui/fakes.py publishing the real core events, so
the figures are the GUI's own cost.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    import psutil

    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               IMAGEBOT_HOME=tempfile.mkdtemp(prefix="imagebot-bench-gui-"), PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", "from bench.gui import child; child()"], cwd=ROOT, env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    process = psutil.Process(child.pid)
    result: dict = {}

    def expect(event: str) -> dict:
        for line in child.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("event") == event:
                return message
        raise RuntimeError(f"the GUI process ended before {event!r}")

    expect("shown")
    result["startup_s"] = round(time.perf_counter() - started, 3)
    time.sleep(2.0)
    result["idle_rss_mb"] = round(process.memory_info().rss / 2**20, 1)
    child.stdin.write("jobs\n")
    child.stdin.flush()
    expect("jobs_loaded")
    result["rss_mb_1000_jobs"] = round(process.memory_info().rss / 2**20, 1)
    child.stdin.write("stream\n")
    child.stdin.flush()
    streamed = expect("streamed")
    result["max_stall_ms"] = streamed["max_stall_ms"]
    result["stream_s"] = streamed["seconds"]
    child.stdin.write("quit\n")
    child.stdin.flush()
    child.wait(30)
    result["exit_code"] = child.returncode
    print(json.dumps(result))
    return 0


def child() -> None:
    """The measured process: the tray app on fakes, driven by lines on stdin."""
    import asyncio

    import qasync
    from PySide6.QtCore import QBuffer, QIODevice, QTimer
    from PySide6.QtGui import QColor, QImage

    from gui.app import TrayApp, create_application

    create_application([sys.argv[0]])

    async def run() -> None:
        from core.events import EventBus
        from core.paths import AppPaths
        from core.settings import Settings
        from gui.services import GuiServices
        from tests.gui.fakes import FakeJobService, make_request

        paths = AppPaths.default()
        bus = EventBus()
        service = FakeJobService(bus)
        settings = Settings(paths=paths, workflows_dir=str(ROOT / "flujos"), allowed_guild_ids=(1,),
                            discord_token="bench-token")
        shutdown = asyncio.Event()
        app = TrayApp(GuiServices(settings=settings, paths=paths, bus=bus, job_service=service), shutdown)
        app.start()
        app.dashboard.open()
        await asyncio.sleep(0)
        print(json.dumps({"event": "shown", "tray": app.tray.available}), flush=True)
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()
        loop.add_reader(sys.stdin.fileno(), lambda: lines.put_nowait(sys.stdin.readline().strip()))

        preview = QImage(512, 512, QImage.Format.Format_RGB32)
        preview.fill(QColor("#3D2BB8"))
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        preview.save(buffer, "JPEG", 80)
        preview_bytes = bytes(buffer.data())

        while True:
            command = await lines.get()
            if command == "jobs":
                for n in range(1000):
                    await service.submit(make_request(n))
                app.dashboard.queue_tab.table.viewport().update()
                await asyncio.sleep(0.5)
                print(json.dumps({"event": "jobs_loaded", "rows": app.dashboard.queue_tab.model.rowCount()}), flush=True)
            elif command == "stream":
                for job_id in list(service._order):          # empty the queue first
                    await service.cancel(job_id)
                await asyncio.sleep(0.2)
                stalls = []
                last = [time.perf_counter()]

                def tick() -> None:
                    now = time.perf_counter()
                    stalls.append(now - last[0] - 0.005)
                    last[0] = now

                timer = QTimer()
                timer.setInterval(5)
                timer.timeout.connect(tick)
                timer.start()
                began = time.perf_counter()
                for n in range(200):
                    await service.submit(make_request(n))
                    await asyncio.sleep(0.001)
                for _ in range(200):
                    job = service.start_next()
                    for step in range(1, 5):
                        service.progress(job.id, step, 4, preview_bytes)
                        await asyncio.sleep(0.001)
                    service.finish(job.id)
                    await asyncio.sleep(0.001)
                seconds = time.perf_counter() - began
                timer.stop()
                print(json.dumps({"event": "streamed", "max_stall_ms": round(max(stalls) * 1000, 1),
                                  "seconds": round(seconds, 2)}), flush=True)
            elif command in ("quit", ""):
                loop.remove_reader(sys.stdin.fileno())
                shutdown.set()
                await app.close()
                return

    qasync.run(run())


if __name__ == "__main__":
    sys.exit(main())

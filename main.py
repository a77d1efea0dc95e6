"""FuLLetLabs Image Bot: the composition root.

`python main.py` starts the tray app; `--headless` runs the same services without Qt (a server
talking to a remote ComfyUI); `--self-test` checks settings, storage, workflows and resources
without touching the network; `--check-workflows` validates the workflows against a ComfyUI.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

log = logging.getLogger("main")


async def build_services(settings):
    raise NotImplementedError("wired once the queue, supervisor and bot land")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="imagebot", description="FuLLetLabs Image Bot: a Discord image bot beside your ComfyUI.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--headless", action="store_true", help="run without the tray app (servers without a display)")
    mode.add_argument("--self-test", action="store_true", help="check settings, storage, workflows and resources, then exit")
    mode.add_argument("--check-workflows", action="store_true", help="validate every workflow against a running ComfyUI")
    parser.add_argument("--comfy-url", help="ComfyUI URL for --check-workflows (default: the configured one)")
    parser.add_argument("--env-file", type=Path, help="a .env file to read (default: ./.env)")
    return parser.parse_args(argv)


def load_configuration(args: argparse.Namespace):
    """Settings, paths and the user's folders; raises CoreError with a one-line message."""
    from core.bootstrap import ensure_user_files
    from core.paths import AppPaths
    from core.settings import load_settings

    paths = AppPaths.default()
    settings = load_settings(paths, dotenv=args.env_file)
    ensure_user_files(paths, settings.workflows_path)
    return settings


async def self_test(settings) -> int:
    """A short report of what would stop the app from starting. Exit code 0 when all is well."""
    from comfy.workflows import load_workflows
    from core.errors import CoreError
    from core.paths import resource_root
    from core.secrets import SecretStore
    from core.store import Database, head_revision

    failures = 0

    def report(ok: bool, what: str, detail: str) -> None:
        nonlocal failures
        failures += not ok
        print(f"[{'ok' if ok else 'FAIL'}] {what}: {detail}")

    report(True, "settings", f"read ({len(settings.sources)} values set; config folder {settings.paths.config_dir})")
    keyring_ok = SecretStore().available
    report(True, "keyring", "available" if keyring_ok else "none on this machine: secrets come from the environment only")
    try:
        db = await Database.open(settings.database_url, settings.paths.data_dir)
        revision = await db.revision()
        await db.close()
        report(revision == head_revision(), "storage", f"{db.description}, schema {revision}")
    except CoreError as exc:
        report(False, "storage", str(exc))
    workflows = load_workflows(settings.workflows_path)
    detail = f"{len(workflows.templates)} in {settings.workflows_path} ({len(workflows.enabled())} enabled)"
    report(bool(workflows.enabled()), "workflows", detail)
    for error in workflows.errors:
        report(False, "workflow", str(error))
    root = resource_root()
    missing = [p for p in ("resources", "flujos", "core/store/migrations/versions") if not (root / p).is_dir()]
    report(not missing, "resources", f"missing {', '.join(missing)}" if missing else f"found under {root}")
    print("self-test passed" if not failures else f"self-test failed: {failures} problem(s)")
    return 0 if not failures else 1


async def check_workflows(settings, comfy_url: str | None) -> int:
    from comfy.check_workflows import check_workflows as check

    return await check(settings.workflows_path, comfy_url or settings.comfy_url, api_key=settings.comfy_api_key)


async def run_headless(settings) -> int:
    shutdown = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, shutdown.set)
        except (NotImplementedError, RuntimeError):  # Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(shutdown.set))
    services = await build_services(settings)
    try:
        await services.start()
        log.info("Running headless; press Ctrl+C to stop.")
        await shutdown.wait()
    finally:
        await services.stop()
    return 0


def run_tray(settings) -> int:
    from gui.app import run_tray_app

    return run_tray_app(settings, build_services)


def show_error_dialog(text: str) -> None:
    """The tray app has no console to print to: say it in a dialog."""
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication([])
    QMessageBox.critical(None, "FuLLetLabs Image Bot", text)
    del app


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from core.errors import CoreError
    from core.logs import setup_logging

    try:
        settings = load_configuration(args)
    except CoreError as exc:
        if not (args.headless or args.self_test or args.check_workflows):
            show_error_dialog(str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 1
    quiet = args.self_test or args.check_workflows
    setup_logging(None if quiet else settings.paths.logs_dir, "WARNING" if quiet else settings.log_level, settings.secret_values())
    try:
        if args.self_test:
            return asyncio.run(self_test(settings))
        if args.check_workflows:
            return asyncio.run(check_workflows(settings, args.comfy_url))
        if args.headless:
            return asyncio.run(run_headless(settings))
        return run_tray(settings)
    except CoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    sys.exit(main())

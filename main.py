"""FuLLetLabs Image Bot: the composition root.

`python main.py` starts the tray app; `--headless` runs the same services without Qt (a server
talking to a remote ComfyUI); `--self-test` checks settings, storage, workflows and resources
without touching the network; `--check-workflows` validates the workflows against a ComfyUI.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import signal
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("main")


@dataclass
class AppServices:
    """Everything the app runs, built once; the tray and headless mode start and stop it the same way."""
    settings: Any
    bus: Any
    db: Any
    backends: Any
    workflows: Any
    jobs: Any
    sessions: Any
    supervisor: Any | None
    bot: Any                                   # bot.runner.BotRunner
    host_gpu: Any                              # core.gpu_mode.HostGpu: the host's "I need my GPU"
    retention: Any                             # core.retention.Retention: old results and uploads go
    catalog: Any = None                        # comfy.catalog.WorkflowCatalog: shipped defaults + the user's folder
    watcher: Any = None                        # core.workflow_watch.WorkflowWatcher: reload on disk change, revalidate

    async def start(self, *, with_bot: bool = True) -> None:
        """Queue first (it holds jobs while ComfyUI comes up), then ComfyUI, then the bot."""
        from comfy.supervisor import SupervisorError

        await self.backends.start()
        await self.jobs.start()
        await self.retention.start()           # a first pass now (in the background), then hourly
        if self.watcher is not None:
            await self.watcher.start()
        await self.host_gpu.start()            # a schedule window or a game already on holds the queue now
        if self.supervisor is not None:
            try:
                await self.supervisor.start()
            except SupervisorError as exc:
                log.error("%s", exc)  # jobs wait; the tray shows it and offers Start ComfyUI
        if with_bot:
            await self.bot.start()

    async def stop(self) -> None:
        """Bot first (no new requests), then the queue (jobs stay stored), ComfyUI, connections."""
        steps = [("bot stopped", self.bot.stop), ("host GPU watch stopped", self.host_gpu.stop),
                 *([("workflow watch stopped", self.watcher.stop)] if self.watcher is not None else []),
                 ("job queue stopped (jobs stay stored)", self.jobs.stop),
                 ("retention stopped", self.retention.close)]
        if self.supervisor is not None:
            steps.append(("ComfyUI supervisor stopped", self.supervisor.stop))
        steps += [("ComfyUI connections closed", self.backends.close), ("database closed", self.db.close),
                  ("event bus closed", self.bus.close)]
        for done, step in steps:
            try:
                await step()
            except Exception:
                log.exception("error while stopping %s", getattr(step, "__qualname__", step))
            else:
                log.info("%s", done)


async def build_services(settings) -> AppServices:
    """The composition root: every service built once, wired through the core event bus."""
    from bot.bot import ImageBot
    from bot.runner import BotRunner
    from comfy.backends import BackendPool
    from comfy.supervisor import ComfySupervisor, SupervisorConfig, input_folder
    from core.bootstrap import workflow_catalog
    from core.events import EventBus
    from core.gpu_mode import HostGpu, Schedule
    from core.guildprefs import GuildPrefsStore
    from core.joblog import log_job_lifecycle
    from core.jobservice import JobService
    from core.retention import Retention, RetentionPolicy
    from core.sessions import SessionService
    from core.store import Database
    from core.workflow_watch import WorkflowWatcher

    bus = EventBus()
    log_job_lifecycle(bus)             # queued / started / finished / failed / cancelled, one line each
    db = await Database.open(settings.database_url, settings.paths.data_dir)
    backends = BackendPool(list(settings.comfy_urls), api_key=settings.comfy_api_key, logins=settings.comfy_logins)
    catalog = workflow_catalog(settings)
    workflows = catalog.load()
    for error in workflows.errors:
        log.warning("workflow not loaded: %s", error)
    jobs = JobService(db=db, bus=bus, settings=settings, workflows=workflows, backends=backends, paths=settings.paths)
    sessions = SessionService(db=db, bus=bus, settings=settings)
    supervisor = None
    if settings.comfy_folder:  # launch (or attach to) a local ComfyUI; a remote one is only watched
        supervisor = ComfySupervisor(SupervisorConfig(
            url=settings.comfy_url, folder=settings.comfy_folder, python=settings.comfy_python,
            extra_args=settings.comfy_extra_args, allow_non_loopback=settings.comfy_allow_non_loopback,
            ready_timeout_s=settings.comfy_ready_timeout_s), on_state=bus.publish,
            probes=backends)  # its hang detection follows the pool's checks: one poller
    prefs = GuildPrefsStore(db)
    # a bot (re)built later gets the settings in force then (saved while running: apply_settings)
    runner = BotRunner(lambda: ImageBot(job_service=jobs, session_service=sessions, prefs=prefs, bus=bus,
                                        settings=services.settings),
                       settings.discord_token, bus)
    host_gpu = HostGpu(queue=jobs, backends=lambda: [b.client for b in backends.backends], publish=bus.publish,
                       clock=lambda: datetime.now().astimezone(), schedule=Schedule.parse(settings.host_gpu_schedule),
                       programs=settings.host_gpu_programs)
    retention = Retention(db=db, bus=bus, paths=settings.paths, policy=RetentionPolicy.from_settings(settings),
                          comfy_input_dir=input_folder(settings.comfy_folder, settings.comfy_extra_args))
    watcher = WorkflowWatcher(catalog=catalog, jobs=jobs, bus=bus, clients=lambda: [b.client for b in backends.backends])
    services = AppServices(settings, bus, db, backends, workflows, jobs, sessions, supervisor, runner, host_gpu,
                           retention, catalog, watcher)
    return services


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="imagebot", description="FuLLetLabs Image Bot: a Discord image bot beside your ComfyUI.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--headless", action="store_true", help="run without the tray app (servers without a display)")
    mode.add_argument("--self-test", action="store_true", help="check settings, storage, workflows and resources, then exit")
    mode.add_argument("--check-workflows", action="store_true", help="validate every workflow against a running ComfyUI")
    mode.add_argument("--import-workflow", metavar="FILE", type=Path,
                      help="copy a workflow exported from ComfyUI (Export (API)) into your workflows with its proposed manifest")
    mode.add_argument("--propose-manifest", metavar="FILE", type=Path,
                      help="print the manifest the bot would propose for a workflow file (no ComfyUI needed)")
    parser.add_argument("--name", help="with --import-workflow: the workflow's name (default: from the file name)")
    parser.add_argument("--enable", action="store_true", help="with --import-workflow: enable it at once")
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
    from core.bootstrap import workflow_catalog
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
    workflows = workflow_catalog(settings).load()
    detail = f"{len(workflows.templates)} in {settings.workflows_path} ({len(workflows.enabled())} enabled)"
    report(bool(workflows.enabled()), "workflows", detail)
    for error in workflows.errors:
        report(False, "workflow", str(error))
    root = resource_root()
    missing = [p for p in ("resources", "flujos", "core/store/migrations/versions") if not (root / p).is_dir()]
    report(not missing, "resources", f"missing {', '.join(missing)}" if missing else f"found under {root}")
    report(*_gui_stack_check())
    report(*await _bot_stack_check(settings))
    print("self-test passed" if not failures else f"self-test failed: {failures} problem(s)")
    return 0 if not failures else 1


def _gui_stack_check() -> tuple[bool, str, str]:
    """The tray app's modules import and a QApplication starts (offscreen where there is no display),
    so a packaged build missing a Qt plugin or a hidden import fails here, not at the user's first launch."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtCore import qVersion

        import gui.app
        gui.app.create_application([sys.argv[0] if sys.argv else "imagebot"])
    except Exception as exc:  # ImportError, a Qt platform plugin that fails, a broken PySide6
        return False, "gui", f"{type(exc).__name__}: {exc}"
    return True, "gui", f"Qt {qVersion()}"


async def _bot_stack_check(settings) -> tuple[bool, str, str]:
    """discord.py and every bot extension (loaded by name, so invisible to PyInstaller) import, and the
    bot can be built; nothing connects."""
    try:
        import importlib

        import discord

        from bot.bot import EXTENSIONS, ImageBot
        from bot.i18n import LANGS, babel_locale
        from core.events import EventBus
        for extension in EXTENSIONS:
            importlib.import_module(extension)
        for lang in LANGS:  # the CLDR data of each language the bot speaks (the build ships only those)
            babel_locale(lang).plural_form(2)
        bus = EventBus()
        logging.disable(logging.WARNING)  # voice-support and empty-allowlist warnings say nothing here
        try:
            bot = ImageBot(job_service=None, session_service=None, prefs=None, bus=bus, settings=settings)
            await bot.close()
            await bus.close()
        finally:
            logging.disable(logging.NOTSET)
    except Exception as exc:
        return False, "bot", f"{type(exc).__name__}: {exc}"
    return True, "bot", f"discord.py {discord.__version__}"


async def check_workflows(settings, comfy_url: str | None) -> int:
    from comfy.check_workflows import check_workflows as check

    from core.bootstrap import bundled_workflows_dir

    return await check(settings.workflows_path, comfy_url or settings.comfy_url, api_key=settings.comfy_api_key,
                       login=None if comfy_url else settings.comfy_logins.get(settings.comfy_url),
                       shipped=bundled_workflows_dir())


def workflow_file_command(settings, args: argparse.Namespace) -> int:
    """--propose-manifest / --import-workflow: no ComfyUI, no services."""
    from comfy.workflow_cli import import_workflow_command, propose_manifest_command
    from core.bootstrap import workflow_catalog

    if args.propose_manifest:
        return propose_manifest_command(args.propose_manifest)
    return import_workflow_command(workflow_catalog(settings), args.import_workflow, name=args.name, enable=args.enable)


def stop_on_signals(shutdown: asyncio.Event) -> None:
    """Ctrl+C and SIGTERM end the app in order instead of killing it mid-write."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        log.info("%s received: shutting down", sig.name)
        shutdown.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal, sig)
        except (NotImplementedError, RuntimeError):  # Windows, or a loop that cannot
            signal.signal(sig, lambda number, _frame: loop.call_soon_threadsafe(on_signal, signal.Signals(number)))


async def run_headless(settings) -> int:
    if not settings.discord_token:
        print("error: no Discord token: set DISCORD_TOKEN in the environment or .env (headless mode has no setup window).",
              file=sys.stderr)
        return 1
    shutdown = asyncio.Event()
    stop_on_signals(shutdown)
    services = await build_services(settings)
    try:
        await services.start()
        log.info("Running headless; press Ctrl+C to stop.")
        await shutdown.wait()
    except RuntimeError as exc:  # no token, or Discord rejected it (an unreachable Discord is retried, not raised)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await services.stop()
    return 0


def instance_name(settings) -> str:
    """One tray app per user and config folder: another IMAGEBOT_HOME (a test, a second profile) is
    another app, not a second launch of this one."""
    folder = str(Path(settings.paths.config_dir).resolve()).encode("utf-8", "surrogateescape")
    return f"FuLLetLabsImageBot-{hashlib.sha256(folder).hexdigest()[:12]}"


def show_starting_window():
    """A window at once: reading the settings asks the OS keyring, which may first ask the user to
    unlock it; without it, nothing would show that the app is starting. None when Qt cannot start."""
    try:
        from gui.app import create_application, starting_window
        from gui.i18n import install_translations

        app = create_application(sys.argv)
        install_translations(app, "system")
        return starting_window()
    except Exception as exc:      # a broken Qt: run_tray says why
        log.debug("no starting window: %s", exc)
        return None


def run_tray(settings, log_ring, splash=None) -> int:
    from gui.app import create_application
    from gui.single_instance import SingleInstance

    try:
        app = create_application(sys.argv)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from gui.i18n import install_translations
    from gui.theme import apply_theme

    install_translations(app, settings.language)
    apply_theme(app, settings.theme)
    instance = SingleInstance(instance_name(settings))
    if not instance.acquire():
        log.info("Already running: the open window was brought forward.")
        return 0
    instance.activated.connect(lambda: log.info("Another launch asked for the window: the dashboard is brought forward."))

    import qasync

    from bot.runner import check_token
    from core.autostart import Autostart
    from gui.app import run_tray_app
    from gui.services import GuiServices, comfy_probe, read_system_stats

    restart = asyncio.Event()      # "Restart now": shut down in order, then start this program again

    async def amain() -> None:
        shutdown = asyncio.Event()
        stop_on_signals(shutdown)
        services = await build_services(settings)
        gui_services = GuiServices(
            settings=settings, paths=settings.paths, bus=services.bus, job_service=services.jobs, log_ring=log_ring,
            session_service=services.sessions, supervisor=services.supervisor, bot=services.bot,
            comfy_client=services.backends.client(settings.comfy_url), host_gpu=services.host_gpu,
            workflow_catalog=services.catalog,
            token_checker=check_token, comfy_probe=comfy_probe,
            comfy_stats=lambda url: read_system_stats(url, gui_services.settings.comfy_api_key),
            autostart=Autostart(),
            on_settings_saved=lambda changes: _apply_saved_settings(services, changes, gui_services),
            restart=lambda: (restart.set(), shutdown.set()))
        starting = asyncio.create_task(services.start(with_bot=False))
        bot_start = asyncio.create_task(_start_bot_when_configured(services, starting))
        try:
            await run_tray_app(gui_services, shutdown, on_activate=instance.activated, starting=splash)
        finally:
            log.info("Shutting down: bot, job queue, ComfyUI connections, database")
            for task in (bot_start, starting):
                task.cancel()
            await asyncio.gather(bot_start, starting, return_exceptions=True)
            await services.stop()
            instance.release()
        log.info("Stopped cleanly")

    qasync.run(amain())
    del app
    if restart.is_set():
        log.info("Restarting")
        os.execv(sys.executable, [sys.executable, *sys.argv])
    return 0


# Settings a running app cannot take over: Settings says "restart needed" and offers "Restart now".
RESTART_SETTINGS = ("database_url", "comfy_urls", "comfy_folder", "comfy_python", "comfy_extra_args",
                    "comfy_api_key", "workflows_dir", "language")


def apply_settings(services: AppServices, settings) -> list[str]:
    """Put saved settings in force while running: the server list, limits, priorities, admin roles,
    session minutes, logging. Returns the names that need a restart (RESTART_SETTINGS that changed;
    `_apply_saved_settings` then applies ComfyUI addresses live too, unless the app launches ComfyUI)."""
    before, services.settings = services.settings, settings
    services.jobs.use_settings(settings)
    services.sessions.use_settings(settings)
    bot = services.bot.bot
    if bot is not None:                       # the running bot: allowed servers, admin roles, limits
        bot.settings = settings
    logging.getLogger().setLevel(settings.log_level)
    changed = [name for name in RESTART_SETTINGS if getattr(before, name) != getattr(settings, name)]
    log.info("Settings applied%s", f"; after a restart: {', '.join(changed)}" if changed else "")
    return changed


async def _apply_saved_settings(services: AppServices, changes: dict, gui_services=None) -> list[str]:
    """Everything saved in the wizard that can take effect now does (a new token restarts the bot);
    returns what needs a restart."""
    from core.settings import load_settings

    settings = await asyncio.to_thread(load_settings, services.settings.paths)
    token = changes.get("discord_token")
    if token:            # from the keyring, or (no keyring) only in this run: keep what the admin typed
        settings = replace(settings, discord_token=token)
    restart = apply_settings(services, settings)
    if "comfy_urls" in restart and not settings.comfy_folder:   # a launched ComfyUI's address needs a restart
        await services.backends.use_urls(list(settings.comfy_urls), logins=settings.comfy_logins)
        await services.jobs.use_backends()
        restart.remove("comfy_urls")
        log.info("ComfyUI addresses now in use: %s", ", ".join(services.backends.urls))
        if gui_services is not None:
            gui_services.comfy_client = services.backends.client(settings.comfy_url)
    if gui_services is not None:            # the tray app: its colours follow at once too
        from PySide6.QtWidgets import QApplication

        from gui.theme import apply_theme
        gui_services.settings = settings
        apply_theme(QApplication.instance(), settings.theme)
    if token:
        services.bot.set_token(changes["discord_token"])
        await services.bot.stop()
        try:
            await services.bot.start()
        except RuntimeError as exc:
            log.error("%s", exc)
    return restart


async def _start_bot_when_configured(services: AppServices, starting: asyncio.Task) -> None:
    """The tray shows the bot's failure itself (BotStateChanged); a missing token waits for the wizard."""
    await starting
    if services.settings.discord_token:
        try:
            await services.bot.start()
        except RuntimeError as exc:
            log.error("%s", exc)


def show_error_dialog(text: str) -> None:
    """The tray app has no console to print to: say it in a dialog."""
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication([])
    QMessageBox.critical(None, "FuLLetLabs Image Bot", text)
    del app


def fail(message: str, *, dialog: bool) -> int:
    """A one-line error and exit code 1; the tray app also shows it in a dialog."""
    if dialog:
        show_error_dialog(message)
    print(f"error: {message}", file=sys.stderr)
    return 1


def never_fail_on_output() -> None:
    """Printing a path or a name the output's encoding cannot show (a Windows code page such as
    cp1252, output piped to a file) shows '?' instead of ending the app with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def hand_tray_to_windowed_app(argv: list[str]) -> bool:
    """Windows: typed in a terminal, the app's name runs FuLLetLabsImageBot.com, the bundle's console
    twin (build.spec). For the tray app it starts the windowed .exe beside it, on its own, as a
    double-click would: the terminal gets its prompt back, and closing it does not end the app.
    False (nothing done) anywhere else."""
    if not (getattr(sys, "frozen", False) and Path(sys.executable).suffix.lower() == ".com"):
        return False
    import subprocess

    from core.autostart import launch_command

    subprocess.Popen([*launch_command(), *argv], close_fds=True,
                     creationflags=getattr(subprocess, "DETACHED_PROCESS", 0)
                     | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0))
    return True


def main(argv: list[str] | None = None) -> int:
    # Windows: the command line runs FuLLetLabsImageBot.com, the bundle's console twin (build.spec);
    # the windowed .exe has no console to print to.
    never_fail_on_output()
    args = parse_args(argv)
    from core.errors import CoreError
    from core.logs import setup_logging

    workflow_file = args.import_workflow or args.propose_manifest
    tray = not (args.headless or args.self_test or args.check_workflows or workflow_file)
    if tray and hand_tray_to_windowed_app(sys.argv[1:] if argv is None else argv):
        return 0
    starting = show_starting_window() if tray else None    # before the keyring, which may ask to be unlocked
    try:
        settings = load_configuration(args)
    except CoreError as exc:
        if starting is not None:
            starting.close()
        return fail(str(exc), dialog=tray)
    quiet = args.self_test or args.check_workflows or workflow_file
    logs = setup_logging(None if quiet else settings.paths.logs_dir, "WARNING" if quiet else settings.log_level,
                         settings.secret_values())
    for note in settings.notes:      # values accepted with a remark (e.g. a GPU_VRAM_GB list that does not fit)
        log.warning("%s", note)
    try:
        if args.self_test:
            return asyncio.run(self_test(settings))
        if args.check_workflows:
            return asyncio.run(check_workflows(settings, args.comfy_url))
        if workflow_file:
            return workflow_file_command(settings, args)
        if args.headless:
            return asyncio.run(run_headless(settings))
        return run_tray(settings, logs.ring, starting)
    except CoreError as exc:  # e.g. the database cannot be opened
        return fail(str(exc), dialog=tray)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

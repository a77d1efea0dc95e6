"""Screenshots of the tray app for the README and reviews: `python tools/screenshots.py [out_dir]`.

Two passes, each a process of its own (Qt takes the scale factor at start): 100 % and 200 %
(QT_SCALE_FACTOR=2 on a 1920x1080 X screen, i.e. 960x540 logical pixels). Each renders Home, every
tab and every wizard page in English and Spanish, light and dark, into build/screenshots/
<lang>-<theme>-<scale>x/, measures the text contrast of every label and button on them
(gui.theme.window_text_contrasts) and exits 1 when one is below 4.5:1. The 100 % pass also saves
the README's set (English, light) into docs/screenshots/.

Runs the real tray app (gui.app.TrayApp, as run_tray_app builds it) on the real JobService,
SessionService and ComfySupervisor (attached), against the in-process fake ComfyUI, with a
temporary IMAGEBOT_HOME and a queue of jobs, on an X server: it re-runs itself under
`xvfb-run -a` when there is no DISPLAY (apt: xvfb xauth libxcb-cursor0 libxkbcommon-x11-0
fonts-dejavu-core). Each window and tab, the tray menu and the setup wizard are saved with
QWidget.grab() into docs/screenshots/.

With Debian's `trayer` and `xdotool` installed (apt-get install trayer xdotool) it also starts a real
system tray on that X server, so the app runs with its tray icon as on a desktop: `tray-real.png` is
an X root screenshot (QScreen.grabWindow(0)) of the tray with the context menu opened by a real
right-click, `tray-real-states.png` the embedded icon, enlarged, in each state the tray shows, and
`tray-real-notification.png` the balloon a ComfyUI failure pops up. Without them these are skipped and the app runs in its no-tray window mode.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
MATRIX = ROOT / "build" / "screenshots"
LOOKS = [(language, theme) for language in ("en", "es") for theme in ("light", "dark")]
MINIMUM_CONTRAST = 4.5

PROMPTS = [
    ("mira", "a lighthouse on a basalt cliff at dusk, volumetric light, oil painting"),
    ("kenji", "isometric cozy ramen shop at night, neon signs, rain puddles"),
    ("ana_b", "portrait of a red fox wearing a knitted scarf, studio lighting"),
    ("tobias", "a vintage robot watering plants in a greenhouse, soft morning light"),
    ("lu", "watercolour map of an imaginary archipelago with sea monsters"),
    ("mira", "macro photo of a dew drop on a fern, bokeh"),
    ("oskar", "brutalist library interior filled with hanging plants"),
    ("kenji", "a paper boat sailing through a flooded city street, cinematic"),
    ("zoe", "astronaut relaxing in a hammock on the moon, pastel colours"),
]


def reexec_under_xvfb(script: str, out: Path, screen: str = "1920x1080x24") -> None:
    """Run `script` again under `xvfb-run -a` when there is no X server (and exit with its code)."""
    if os.environ.get("DISPLAY") or os.environ.get("IMAGEBOT_SCREENSHOTS_CHILD"):
        return
    xvfb = shutil.which("xvfb-run")
    if not xvfb:
        sys.exit("screenshots need an X server: install xvfb (apt-get install xvfb xauth) or set DISPLAY")
    env = dict(os.environ, IMAGEBOT_SCREENSHOTS_CHILD="1")
    cmd = [xvfb, "-a", "-s", f"-screen 0 {screen}", sys.executable, script, str(out)]
    sys.exit(subprocess.run(cmd, env=env).returncode)


def _start_tray_host() -> subprocess.Popen | None:
    """trayer: a freedesktop system tray on this X server (None when it is not installed)."""
    if not (shutil.which("trayer") and shutil.which("xdotool")):
        print("trayer/xdotool not installed: no real-tray screenshots (apt-get install trayer xdotool)", file=sys.stderr)
        return None
    return subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "40",
                             "--SetDockType", "true", "--transparent", "false"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for_tray(seconds: float = 5.0) -> bool:
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    deadline = time.monotonic() + seconds
    while not QSystemTrayIcon.isSystemTrayAvailable():
        if time.monotonic() > deadline:
            return False
        QApplication.processEvents()
        time.sleep(0.05)
    return True


def _root_grab(rect):
    """What the X server shows in `rect` (global coordinates): windows, the tray, the menu."""
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    return screen.grabWindow(0, rect.x(), rect.y(), rect.width(), rect.height())


async def _settle(seconds: float = 0.3) -> None:
    from PySide6.QtWidgets import QApplication

    await asyncio.sleep(seconds)
    QApplication.processEvents()


async def _shoot_real_tray(app, out: Path, saved: list[Path]) -> None:
    """The real tray: a right-click on the embedded icon (xdotool) and an X root screenshot; then the
    icon as the tray shows it in each state, enlarged side by side."""
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
    from PySide6.QtWidgets import QApplication

    from comfy.supervisor import ComfyStateChanged, SupervisorState
    from core.status import BotStateChanged

    tray, bus = app.tray, app.services.bus
    url = app.services.settings.comfy_urls[0]
    app.dashboard.hide()
    await _settle()
    icon_rect = tray.icon.geometry()
    if not tray.icon.isVisible() or icon_rect.isEmpty():
        print("the tray icon did not embed: no real-tray screenshots", file=sys.stderr)
        return
    # right-click near the icon's lower edge, as a user would: the menu opens below it
    click = (icon_rect.center().x(), icon_rect.bottom() - 4)
    subprocess.run(["xdotool", "mousemove", str(click[0]), str(click[1]), "click", "3"], check=True, timeout=10)
    for _ in range(50):
        await _settle(0.05)
        if tray.menu.isVisible():
            break
    if not tray.menu.isVisible():
        print("the tray menu did not open on a right-click", file=sys.stderr)
    await _settle()
    menu_rect = tray.menu.geometry()
    left = min(icon_rect.left(), menu_rect.left()) - 160
    screen_right = tray.menu.screen().geometry().right()
    shot = _root_grab(QRect(left, 0, screen_right + 1 - left, max(icon_rect.bottom(), menu_rect.bottom()) + 60))
    if shot.save(str(out / "tray-real.png")):
        saved.append(out / "tray-real.png")
    subprocess.run(["xdotool", "key", "Escape"], timeout=10)
    tray.menu.hide()
    subprocess.run(["xdotool", "mousemove", "20", "600"], timeout=10)    # no tooltip over the icon
    await _settle()

    # each state through the real path: the job service, core events on the bus, AppStatus, the tray
    jobs = app.services.job_service

    async def comfy(state: SupervisorState, message: str) -> None:
        bus.publish(ComfyStateChanged(state, url, message, state is not SupervisorState.UP, 0))

    async def bot(state: str) -> None:
        app.status.update(bot=state)      # what the bot toggle and BotStateChanged set

    async def empty_queue() -> None:
        for job in jobs.queued():
            await jobs.cancel(job.id, is_admin=True)
        await jobs.resume()
        await comfy(SupervisorState.UP, "up")

    waiting = app.status.snapshot.jobs
    states = [
        ("busy", f"generating,\n{waiting} jobs in the queue", _noop),
        ("warn", "queue paused", jobs.pause),
        ("down", "ComfyUI not\nanswering", lambda: comfy(SupervisorState.WAITING, f"No answer from ComfyUI at {url} "
                                                          "for 30 s; jobs wait until it is back.")),
        ("down", "bot token\nrejected", lambda: _both(comfy(SupervisorState.UP, "up"), bot("rejected"))),
        ("ok", "idle: bot connected,\nComfyUI up", lambda: _both(bot("connected"), empty_queue())),
        ("off", "bot and ComfyUI\nstopped", lambda: _both(bot("stopped"), comfy(SupervisorState.STOPPED, "stopped"))),
    ]
    zoom, cell_w, cell_h = 6, 190, 230
    strip = QPixmap(cell_w * len(states), cell_h)
    strip.fill(QColor("#F2F3F5"))
    painter = QPainter(strip)
    font = QFont()
    font.setPixelSize(15)
    painter.setFont(font)
    for n, (level, caption, apply) in enumerate(states):
        await apply()
        await _settle(0.5)
        if tray.status.snapshot.level != level:
            print(f"tray state {caption!r}: expected {level}, got {tray.status.snapshot.level}", file=sys.stderr)
        balloons = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.metaObject().className() == "QBalloonTip"]
        if balloons and not (out / "tray-real-notification.png").exists():   # the crash notice, as the tray shows it
            area = balloons[0].geometry().united(tray.icon.geometry()).adjusted(-40, 0, 0, 40)
            if _root_grab(area).save(str(out / "tray-real-notification.png")):
                saved.append(out / "tray-real-notification.png")
        for balloon in balloons:
            balloon.close()
        await _settle(0.2)
        rect = tray.icon.geometry()
        side = min(rect.width(), rect.height())    # the icon is drawn square in the middle of its slot
        grab = _root_grab(QRect(rect.center().x() - side // 2, rect.center().y() - side // 2, side, side))
        big = grab.scaled(side * zoom, side * zoom, Qt.AspectRatioMode.KeepAspectRatio,
                          Qt.TransformationMode.FastTransformation)   # crisp pixels: what the tray really shows
        x = n * cell_w + (cell_w - big.width()) // 2
        painter.drawPixmap(x, 12, big)
        painter.setPen(QColor("#202225"))
        painter.drawText(QRect(n * cell_w, 170, cell_w, 56), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         f"{level}\n{caption}")
    painter.end()
    if strip.save(str(out / "tray-real-states.png")):
        saved.append(out / "tray-real-states.png")


async def _noop() -> None:
    return None


async def _both(*steps) -> None:
    for step in steps:
        await step


async def _run(out: Path, scale: int) -> tuple[list[Path], list[str]]:
    """Render everything once per look; returns the files saved and the contrast problems found."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QApplication

    from comfy.client import ComfyClient
    from comfy.supervisor import ComfySupervisor, SupervisorConfig
    from core.bootstrap import ensure_user_files, workflow_catalog
    from core.events import EventBus
    from core.joblog import log_job_lifecycle
    from core.jobs import JobRequest
    from core.jobservice import JobService
    from core.logs import setup_logging
    from core.paths import AppPaths
    from core.sessions import SessionService
    from core.settings import Settings
    from core.status import BotStateChanged
    from core.store import Database
    from gui.app import TrayApp
    from gui.i18n import install_translations
    from gui.services import BotIdentity, GuiServices, read_system_stats
    from gui.theme import apply_theme, fit_to_screen, window_text_contrasts
    from tests.fake_comfyui.server import FakeComfyUI
    from tests.fixtures_core import shipped_object_info
    from tests.gui.fakes import FakeBot

    saved: list[Path] = []
    problems: list[str] = []
    qapp = QApplication.instance()

    def shoot(widget, folder: Path, name: str) -> None:
        QApplication.processEvents()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        if widget.grab().save(str(path)):
            saved.append(path)

    def measure(widget, where: str) -> None:
        for ratio, what in window_text_contrasts(widget):
            if ratio < MINIMUM_CONTRAST:
                problems.append(f"{where}: {what} reads at {ratio:.2f}:1")

    fake = FakeComfyUI(exec_ms=150, progress_steps=6, extra_object_info=shipped_object_info())
    await fake.start()
    paths = AppPaths.default()
    settings = Settings(paths=paths, comfy_urls=(fake.url,), allowed_guild_ids=(987654321098765432,),
                        discord_token="MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.screenshot-token-not-real")
    ensure_user_files(paths, settings.workflows_path)
    logs = setup_logging(paths.logs_dir, "INFO", settings.secret_values(), console=False)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)   # the in-process fake ComfyUI's server log
    bus = EventBus()
    log_job_lifecycle(bus)            # as main.py does: the Logs tab shows each job's steps
    db = await Database.open(None, paths.data_dir)
    client = ComfyClient(fake.url)
    job_service = JobService(db=db, bus=bus, settings=settings, workflows=workflow_catalog(settings).load(),
                             backends=[client], paths=paths)
    sessions = SessionService(db=db, bus=bus, settings=settings)
    supervisor = ComfySupervisor(SupervisorConfig(url=fake.url), on_state=bus.publish)

    async def token_checker(token: str):
        return BotIdentity("FuLLetLabs Image Bot", 123456789012345678)

    services = GuiServices(settings=settings, paths=paths, bus=bus, job_service=job_service, log_ring=logs.ring,
                           session_service=sessions, supervisor=supervisor, bot=FakeBot(connected=True),
                           comfy_client=client, token_checker=token_checker, comfy_stats=read_system_stats)
    connected = BotStateChanged(True, "Connected to Discord as FuLLetLabs Image Bot#4821")
    apply_theme(qapp, "light")
    shutdown = asyncio.Event()
    app = TrayApp(services, shutdown)
    app.start()
    bus.publish(connected)
    await supervisor.start()
    await job_service.start()
    for n, (user, name) in enumerate([("mira", "mira"), ("kenji", "kenji_dev"), ("lu", "lu")]):
        await sessions.touch(5000 + n, settings.allowed_guild_ids[0], user, channel_id=880000 + n)

    def request(n: int, user: str, prompt: str) -> JobRequest:
        return JobRequest(user_id=4000 + n, user_name=user, workflow="z_image_turbo", prompt=prompt,
                          width=768, height=768, guild_id=settings.allowed_guild_ids[0])

    # a few results for History and Home
    for n, (user, prompt) in enumerate(PROMPTS[:4]):
        await job_service.submit(request(n, user, prompt))
    history = app.dashboard.history_tab.model
    while history.rowCount() < 4:
        await asyncio.sleep(0.05)
    # now a slow job with previews and a queue behind it
    fake.exec_ms = 600_000
    fake.progress_steps = 20
    for n, (user, prompt) in enumerate(PROMPTS[4:], start=4):
        await job_service.submit(request(n, user, prompt))
    queue_tab = app.dashboard.queue_tab
    while queue_tab.preview.pixmap().isNull():
        await asyncio.sleep(0.05)
    await asyncio.sleep(2.5)

    async def show_every_tab(dashboard, folder: Path, where: str) -> None:
        names = ["home", "queue", "sessions", "workflows", "logs", "history"]
        for index, name in enumerate(names):
            dashboard.tabs.setCurrentIndex(index)
            tab = dashboard.tabs.currentWidget()
            if tab is dashboard.workflows_tab:
                for row in range(tab.list.count()):
                    if tab.list.item(row).text().startswith("Z-Image Turbo"):
                        tab.list.setCurrentRow(row)
                        break
                await tab.validate_now()
            if tab is dashboard.history_tab:
                model = tab.model
                for r in range(model.rowCount()):
                    model.index(r).data(1)
                while any(row.thumb is None for row in model._rows):
                    await asyncio.sleep(0.05)
            if tab is dashboard.home_tab:
                await (tab.ask_comfy() or asyncio.sleep(0))
                for r in range(tab.images.rowCount()):
                    tab.images.index(r).data(1)
                while any(row.thumb is None for row in tab.images._rows):
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            shoot(dashboard, folder, f"dashboard-{name}")
            measure(dashboard, f"{where} {name}")

    async def show_the_wizard(wizard, folder: Path, where: str) -> None:
        wizard.discord_page.token.setText(settings.discord_token)
        await wizard.discord_page.check_token()
        names = ["discord", "comfyui", "database", "settings", "invite"] if wizard.app_page else \
            ["discord", "comfyui", "database", "invite"]
        for name in names:
            await asyncio.sleep(0.3)
            shoot(wizard, folder, f"wizard-{name}")
            measure(wizard, f"{where} wizard-{name}")
            wizard.next()

    dashboard = app.dashboard
    if scale == 1:        # the README's set: English, light, the app as it runs (real tray when there is one)
        fit_to_screen(dashboard, 1280, 760)
        dashboard.open(home=True)
        await show_every_tab(dashboard, out, "README")

        # the workflow editor with a broken edit
        tab = dashboard.workflows_tab
        dashboard.tabs.setCurrentWidget(tab)
        tab.editor.setPlainText(tab.editor.toPlainText().replace('"class_type": "KSampler"', '"class_type": KSampler', 1))
        tab.save_now()
        await asyncio.sleep(0.2)
        shoot(dashboard, out, "dashboard-workflows-invalid-json")
        tab.show_template(tab.current)

        # the tray menu, popped up where a tray would put it
        menu = app.tray.menu
        menu.popup(QPoint(900, 40))
        await asyncio.sleep(0.3)
        shoot(menu, out, "tray-menu")
        menu.hide()

        wizard = app.open_wizard(first_run=False)
        await show_the_wizard(wizard, out, "README")
        wizard = app.open_wizard(first_run=False)
        wizard.discord_page.guilds.setText("my server")
        wizard.discord_page.validatePage()
        await asyncio.sleep(0.1)
        shoot(wizard, out, "wizard-discord-bad-server-id")
        wizard.close()

        if app.tray.available:
            await _shoot_real_tray(app, out, saved)
            app.status.update(bot="connected")
            bus.publish(connected)
    dashboard.hide()
    await app.close()

    # every look: English and Spanish, light and dark, at this scale
    for language, theme in LOOKS:
        install_translations(qapp, language)
        apply_theme(qapp, theme)
        folder = MATRIX / f"{language}-{theme}-{scale}x"
        look = TrayApp(services, asyncio.Event())
        look.tray.available = False
        bus.publish(connected)
        fit_to_screen(look.dashboard, 1280, 760)      # inside 960x540 at 200 %, as the app does
        look.dashboard.open(home=True)
        await show_every_tab(look.dashboard, folder, folder.name)
        wizard = look.open_wizard(first_run=False)
        await show_the_wizard(wizard, folder, folder.name)
        wizard.close()
        look.dashboard.hide()
        await look.close()
    install_translations(qapp, "en")
    apply_theme(qapp, "light")

    await job_service.stop()
    await supervisor.stop()
    await client.close()
    await db.close()
    await fake.stop()
    return saved, problems


def main() -> int:
    reexec_under_xvfb(__file__, OUT)
    scale = os.environ.get("IMAGEBOT_SCREENSHOTS_SCALE")
    if scale is None:                  # the parent: one process per scale factor
        codes = []
        for factor in ("1", "2"):
            env = dict(os.environ, IMAGEBOT_SCREENSHOTS_SCALE=factor, QT_SCALE_FACTOR=factor)
            codes.append(subprocess.run([sys.executable, __file__, str(OUT)], env=env).returncode)
        return max(codes)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    home = tempfile.mkdtemp(prefix="imagebot-shots-")
    os.environ["IMAGEBOT_HOME"] = home
    sys.path.insert(0, str(ROOT))
    import qasync

    from gui.app import create_application

    OUT.mkdir(parents=True, exist_ok=True)
    tray_host = _start_tray_host() if scale == "1" else None
    create_application([sys.argv[0]])
    if tray_host is not None and not _wait_for_tray():
        print("trayer started but no system tray appeared", file=sys.stderr)
    try:
        saved, problems = qasync.run(_run(OUT, int(scale)))
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if tray_host is not None:
            tray_host.terminate()
            tray_host.wait(5)
    for path in saved:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    for problem in problems:
        print(f"contrast below {MINIMUM_CONTRAST}:1 — {problem}", file=sys.stderr)
    print(f"{scale}x: {len(saved)} screenshots, {len(problems)} contrast problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

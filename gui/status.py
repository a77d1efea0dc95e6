"""What the tray says at a glance: bot, ComfyUI, queue. Kept up to date from bridge signals.

ComfyUI's state comes from the supervisor when the app launched ComfyUI, and from each backend's
health (BackendHealthChanged) when it attaches to one that runs already: either way it is watched.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Signal

from comfy.supervisor import ComfyStateChanged
from core.jobs import BackendHealthChanged, QueueSnapshot
from core.status import BotStateChanged, StoreHealthChanged

COMFY_WORDS = {
    "up": QT_TRANSLATE_NOOP("Status", "up"), "starting": QT_TRANSLATE_NOOP("Status", "starting…"),
    "restarting": QT_TRANSLATE_NOOP("Status", "restarting…"), "waiting": QT_TRANSLATE_NOOP("Status", "not answering"),
    "failed": QT_TRANSLATE_NOOP("Status", "failed"), "stopped": QT_TRANSLATE_NOOP("Status", "stopped"),
    "unknown": QT_TRANSLATE_NOOP("Status", "checking…"),
}
BOT_WORDS = {
    "connected": QT_TRANSLATE_NOOP("Status", "connected"), "connecting": QT_TRANSLATE_NOOP("Status", "connecting…"),
    "disconnected": QT_TRANSLATE_NOOP("Status", "reconnecting…"), "stopped": QT_TRANSLATE_NOOP("Status", "stopped"),
    "rejected": QT_TRANSLATE_NOOP("Status", "token rejected"),
    "unreachable": QT_TRANSLATE_NOOP("Status", "Discord unreachable"), "absent": QT_TRANSLATE_NOOP("Status", "not set up"),
}


translate = QCoreApplication.translate


def bot_words(state: str) -> str:
    return translate("Status", BOT_WORDS.get(state, state))


def comfy_words(state: str) -> str:
    return translate("Status", COMFY_WORDS.get(state, state))
COMFY_RUNNING = ("up", "starting", "restarting", "waiting")


@dataclass(frozen=True)
class StatusSnapshot:
    bot: str = "absent"          # one of BOT_WORDS
    bot_message: str = ""        # the bot's own words for its state (whom it is connected as, or why not)
    comfy: str = "unknown"       # a SupervisorState value, or "unknown" before the first health report
    comfy_message: str = ""
    waiting: int = 0             # with us, not yet sent to ComfyUI (THE queue length)
    running: int = 0             # executing in ComfyUI now
    pending: int = 0             # sent to ComfyUI, not started yet
    paused: bool = False
    store_ok: bool = True        # the database answers
    store_message: str = ""

    @property
    def level(self) -> str:
        """ok / busy / warn / down / off: the tray dot's colour."""
        if self.bot == "absent":                  # nothing works before setup: grey, "Set up the bot"
            return "off"
        if not self.store_ok:
            return "down"
        if self.comfy in ("failed", "waiting") or self.bot in ("rejected", "unreachable", "disconnected"):
            return "down"
        if self.comfy in ("starting", "restarting") or self.bot == "connecting" or self.paused:
            return "warn"
        if self.comfy == "stopped" and self.bot == "stopped":
            return "off"
        if self.comfy == "stopped":
            return "down"
        if self.running:
            return "busy"
        return "ok"

    @property
    def jobs(self) -> int:
        return self.waiting + self.running + self.pending

    @property
    def comfy_down(self) -> bool:
        return self.comfy in ("failed", "waiting", "stopped")

    def queue_text(self) -> str:
        if self.paused:
            return translate("Status", "paused: {waiting} waiting, {running} running").format(waiting=self.waiting, running=self.running)
        if self.comfy_down and self.waiting:
            return translate("Status", "{waiting} waiting for ComfyUI").format(waiting=self.waiting)
        text = translate("Status", "{waiting} waiting, {running} running").format(waiting=self.waiting,
                                                                                running=self.running)
        if self.pending:
            text += translate("Status", ", {pending} next in ComfyUI").format(pending=self.pending)
        return text

    def line(self) -> str:
        """One line: the dashboard's status bar."""
        line = translate("Status", "Bot: {bot}   ·   ComfyUI: {comfy}   ·   Queue: {queue}").format(
            bot=bot_words(self.bot), comfy=comfy_words(self.comfy), queue=self.queue_text())
        if not self.store_ok:
            line = translate("Status", "Database unreachable") + "   ·   " + line
        return line

    def tooltip(self) -> str:
        if self.bot == "absent":
            return "FuLLetLabs Image Bot\n" + translate("Status", "Not set up: open “Set up the bot…” in this menu")
        return "\n".join([
            "FuLLetLabs Image Bot",
            *([translate("Status", "Database unreachable")] if not self.store_ok else []),
            translate("Status", "Bot: {state}").format(state=bot_words(self.bot)),
            translate("Status", "ComfyUI: {state}").format(state=comfy_words(self.comfy)),
            translate("Status", "Queue: {state}").format(state=self.queue_text()),
        ])


class AppStatus(QObject):
    changed = Signal(object)       # StatusSnapshot

    def __init__(self, initial: StatusSnapshot, parent: QObject | None = None, *,
                 watch_backends: bool = True) -> None:
        super().__init__(parent)
        self.snapshot = initial
        self.watch_backends = watch_backends        # False when a supervisor reports ComfyUI's state
        self.backends: dict[str, tuple[bool, str]] = {}   # url -> (healthy, reason)

    def update(self, **changes) -> None:
        new = replace(self.snapshot, **changes)
        if new != self.snapshot:
            self.snapshot = new
            self.changed.emit(new)

    # ---- bridge slots ----
    def on_comfy_state(self, event: ComfyStateChanged) -> None:
        self.update(comfy=event.state.value, comfy_message=event.message)

    def on_backend_health(self, event: BackendHealthChanged) -> None:
        self.backends[event.backend] = (event.healthy, event.reason)
        self._show_backends()

    def on_queue_snapshot(self, snapshot: QueueSnapshot) -> None:
        """The core's one account of the queue and the backends' health (coalesced)."""
        for backend in snapshot.backends:
            self.backends[backend.url] = (backend.healthy, backend.reason)
        self.update(waiting=snapshot.queue_length, running=len(snapshot.running), pending=len(snapshot.pending),
                    paused=snapshot.paused, store_ok=snapshot.store_ok)
        self._show_backends()

    def on_store_health(self, event: StoreHealthChanged) -> None:
        self.update(store_ok=event.ok, store_message="" if event.ok else event.reason)

    def _show_backends(self) -> None:
        if not self.watch_backends or not self.backends:
            return
        down = [(url, reason) for url, (healthy, reason) in self.backends.items() if not healthy]
        if down:
            url, reason = down[0]
            self.update(comfy="waiting", comfy_message=f"{url}: {reason}" if reason else url)
        else:
            self.update(comfy="up", comfy_message="")

    def on_bot_state(self, event: BotStateChanged) -> None:
        if event.connected:
            state = "connected"
        elif event.token_rejected:
            state = "rejected"
        elif event.unreachable:
            state = "unreachable"
        elif self.snapshot.bot == "absent":       # a bot without a token says "stopped": it is not set up
            state = "absent"
        else:
            state = "disconnected"
        self.update(bot=state, bot_message=event.message)

    def on_settings(self, settings) -> None:
        """After the wizard saved: a token makes the bot "connecting" (main.py starts it)."""
        if self.snapshot.bot == "absent" and settings.discord_token:
            self.update(bot="connecting")

    def on_paused(self, paused: bool) -> None:
        self.update(paused=paused)


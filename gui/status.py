"""What the tray says at a glance: bot, ComfyUI, queue. Kept up to date from bridge signals."""
from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Signal

from comfy.supervisor import ComfyStateChanged
from core.status import BotStateChanged

COMFY_WORDS = {
    "up": "up", "starting": "starting…", "restarting": "restarting…", "waiting": "not answering",
    "failed": "failed", "stopped": "stopped", "unknown": "not watched",
}
BOT_WORDS = {
    "connected": "connected", "connecting": "connecting…", "disconnected": "reconnecting…",
    "stopped": "stopped", "rejected": "token rejected", "unreachable": "Discord unreachable",
    "absent": "not set up",
}


@dataclass(frozen=True)
class StatusSnapshot:
    bot: str = "absent"          # one of BOT_WORDS
    bot_message: str = ""        # the bot's own words for its state (why not connected)
    comfy: str = "unknown"       # a SupervisorState value, or "unknown" without a supervisor
    comfy_message: str = ""
    waiting: int = 0
    running: int = 0
    paused: bool = False

    @property
    def level(self) -> str:
        """ok / busy / warn / down / off: the tray dot's colour."""
        if self.bot == "absent":                  # nothing works before setup: grey, "Set up the bot"
            return "off"
        if self.comfy in ("failed", "waiting") or self.bot in ("rejected", "unreachable", "disconnected"):
            return "down"
        if self.comfy in ("starting", "restarting") or self.bot == "connecting" or self.paused:
            return "warn"
        if self.comfy == "stopped" and self.bot in ("stopped", "absent"):
            return "off"
        if self.comfy == "stopped":
            return "down"
        if self.running:
            return "busy"
        return "ok"

    @property
    def jobs(self) -> int:
        return self.waiting + self.running

    def tooltip(self) -> str:
        queue = f"{self.waiting} waiting, {self.running} running" + (" — paused" if self.paused else "")
        if self.bot == "absent":
            return "FuLLetLabs Image Bot\nNot set up: open “Set up the bot…” in this menu"
        return "\n".join([
            "FuLLetLabs Image Bot",
            f"Bot: {BOT_WORDS.get(self.bot, self.bot)}",
            f"ComfyUI: {COMFY_WORDS.get(self.comfy, self.comfy)}",
            f"Queue: {queue}",
        ])


class AppStatus(QObject):
    changed = Signal(object)       # StatusSnapshot

    def __init__(self, initial: StatusSnapshot, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.snapshot = initial

    def update(self, **changes) -> None:
        new = replace(self.snapshot, **changes)
        if new != self.snapshot:
            self.snapshot = new
            self.changed.emit(new)

    # ---- bridge slots ----
    def on_comfy_state(self, event: ComfyStateChanged) -> None:
        self.update(comfy=event.state.value, comfy_message=event.message)

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

    def on_counts(self, waiting: int, running: int) -> None:
        self.update(waiting=waiting, running=running)

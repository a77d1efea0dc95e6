"""What the tray app is handed by main.py: services already built, nothing Qt-specific.

The GUI calls these and observes the core bus through `gui.bridge.CoreBridge`; it never talks to
ComfyUI or Discord itself. Optional services (supervisor, bot, session service, comfy client) may
be None: the matching menu entries and tabs then say so instead of failing.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.events import EventBus
from core.logs import LogRing
from core.paths import AppPaths
from core.secrets import SecretStore
from core.settings import Settings
from core.status import BotIdentity  # noqa: F401  (re-exported: the wizard's token checks return it)


class BotController(Protocol):
    """The Discord bot as the tray sees it (built by main.py around bot/)."""

    async def start(self) -> None: ...     # raises when the token is rejected (message shown to the admin)
    async def stop(self) -> None: ...
    def is_connected(self) -> bool: ...


# token -> the bot's identity (or just its name); raises an exception whose str() is shown when the
# token is rejected. The real one logs in with discord.py over HTTP (main.py injects it: gui never
# imports discord).
TokenChecker = Callable[[str], Awaitable["BotIdentity | str"]]
# (url, api_key) -> a one-line description of the ComfyUI answering there; raises when none answers.
ComfyProbe = Callable[[str, "str | None"], Awaitable[str]]


@dataclass
class GuiServices:
    settings: Settings
    paths: AppPaths
    bus: EventBus
    job_service: Any                              # core.jobservice.JobService
    log_ring: LogRing | None = None
    session_service: Any | None = None            # core.sessions.SessionService
    supervisor: Any | None = None                 # comfy.supervisor.ComfySupervisor
    bot: BotController | None = None
    comfy_client: Any | None = None               # has `async object_info() -> dict` (validation)
    secrets: SecretStore | None = None
    token_checker: TokenChecker | None = None
    comfy_probe: ComfyProbe | None = None
    # called after the settings window saved changes (e.g. to reload settings / restart the bot)
    on_settings_saved: Callable[[dict[str, Any]], Awaitable[None] | None] | None = None

    def secret_store(self) -> SecretStore:
        if self.secrets is None:
            self.secrets = SecretStore()
        return self.secrets


async def comfy_probe(url: str, api_key: str | None = None) -> str:
    """The wizard's "Test connection": ask ComfyUI's /system_stats (main.py may pass this as comfy_probe)."""
    from comfy.client import ComfyClient

    client = ComfyClient(url, api_key=api_key, request_timeout=5.0)
    try:
        stats = await client.system_stats()
    finally:
        await client.close()
    devices = ", ".join(getattr(d, "name", str(d)) for d in stats.devices) or "no GPU listed"
    return f"ComfyUI {stats.comfyui_version or '(version unknown)'} on {devices}"

"""What the tray app is handed by main.py: services already built, nothing Qt-specific.

The GUI calls these and observes the core bus through `gui.bridge.CoreBridge`; it never talks to
ComfyUI or Discord itself. Optional services (supervisor, bot, session service, comfy client) may
be None: the matching menu entries and tabs then say so instead of failing.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from core.autostart import Autostart
from core.events import EventBus
from core.logs import LogRing
from core.paths import AppPaths
from core.secrets import SecretStore
from core.settings import Settings
from core.status import BotIdentity

if TYPE_CHECKING:                  # for the annotations only: main.py builds these and hands them in
    from comfy.catalog import WorkflowCatalog
    from comfy.client import ComfyClient
    from comfy.supervisor import ComfySupervisor
    from core.gpu_mode import HostGpu
    from core.jobservice import JobService
    from core.sessions import SessionService


class BotController(Protocol):
    """The Discord bot as the tray sees it (built by main.py around bot/)."""

    async def start(self) -> None: ...     # raises when the token is rejected (message shown to the admin)
    async def stop(self) -> None: ...
    def is_connected(self) -> bool: ...


# token -> the bot's identity; raises an exception whose str() is shown when the token is rejected.
# The real one is bot.runner.check_token (main.py injects it: gui never imports discord).
TokenChecker = Callable[[str], Awaitable[BotIdentity]]
# (url, api_key) -> a one-line description of the ComfyUI answering there; raises when none answers.
ComfyProbe = Callable[[str, "str | None"], Awaitable[str]]


@dataclass
class GuiServices:
    settings: Settings
    paths: AppPaths
    bus: EventBus
    job_service: JobService
    log_ring: LogRing | None = None
    session_service: SessionService | None = None
    supervisor: ComfySupervisor | None = None
    bot: BotController | None = None
    comfy_client: ComfyClient | None = None       # the Workflows tab's validation (object_info)
    workflow_catalog: WorkflowCatalog | None = None   # the one workflow catalog (None: built from settings)
    host_gpu: HostGpu | None = None               # "I need my GPU" / "Share my GPU again"
    secrets: SecretStore | None = None
    token_checker: TokenChecker | None = None
    comfy_probe: ComfyProbe | None = None
    # url -> ComfyUI's /system_stats there (Home: version, GPU, VRAM); raises a ComfyError when none answers
    comfy_stats: Callable[[str], Awaitable[Any]] | None = None
    # "Restart now" (settings that need one: the database, ComfyUI addresses): stop in order, start again
    restart: Callable[[], None] | None = None
    autostart: Autostart | None = None            # "Start with Windows"/"Start at login"; None: not offered
    # called after the settings window saved changes (e.g. to reload settings / restart the bot)
    on_settings_saved: Callable[[dict[str, Any]], Awaitable[None] | None] | None = None

    def secret_store(self) -> SecretStore:
        if self.secrets is None:
            self.secrets = SecretStore()
        return self.secrets


async def read_system_stats(url: str, api_key: str | None = None):
    """ComfyUI's /system_stats at `url` (comfy.client.SystemStats); raises NotComfyUIError when something
    else answers there, another ComfyError when nothing does."""
    from comfy.client import ComfyClient

    client = ComfyClient(url, api_key=api_key, request_timeout=5.0)
    try:
        return await client.system_stats()
    finally:
        await client.close()


async def comfy_probe(url: str, api_key: str | None = None) -> str:
    """The wizard's "Test connection": ask ComfyUI's /system_stats (main.py may pass this as comfy_probe)."""
    stats = await read_system_stats(url, api_key)
    devices = ", ".join(device.name for device in stats.devices) or "no GPU listed"
    return f"ComfyUI {stats.comfyui_version or '(version unknown)'} on {devices}"

"""A pool of ComfyUI backends (COMFY_URLS): one independent ComfyClient each, with health checks.

Health comes from /system_stats, asked by one poller for every backend: on an interval, at once
when someone saw a backend fail (`check_soon`), and every `recheck_interval_s` while one is down.
A backend is down after `failures_to_down` consecutive failed checks (at once after a failure
someone reported) and up again after the next good one; listeners hear every change as (url,
healthy, reason).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping

import aiohttp

from .client import ComfyClient, SystemStats
from .errors import ComfyError
from .urls import ComfyLogin, split_login

log = logging.getLogger(__name__)

HealthListener = Callable[[str, bool, str], None]
GiB = 1024 ** 3


def parse_urls(text: str) -> list[str]:
    """COMFY_URLS: comma, space or newline separated; duplicates dropped, order kept."""
    urls: list[str] = []
    for part in text.replace(",", " ").split():
        url = part.strip().rstrip("/")
        if url and url not in urls:
            urls.append(url)
    return urls


@dataclass
class Backend:
    url: str
    client: ComfyClient
    healthy: bool = False
    checked: bool = False
    consecutive_failures: int = 0
    stats: SystemStats | None = None
    reason: str = "not checked yet"

    @property
    def vram_free(self) -> int:
        return max((d.vram_free for d in self.stats.devices), default=0) if self.stats else 0


@dataclass
class BackendPool:
    urls: list[str]
    api_key: str | None = field(default=None, repr=False)
    session: aiohttp.ClientSession | None = field(default=None, repr=False)
    check_interval_s: float = 10.0
    recheck_interval_s: float = 1.0
    failures_to_down: int = 3
    request_timeout: float = 5.0
    connect_websockets: bool = True
    logins: Mapping[str, ComfyLogin] = field(default_factory=dict, repr=False)  # url -> its Basic login

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError("BackendPool needs at least one ComfyUI URL (COMFY_URLS)")
        clients = [ComfyClient(url, api_key=self.api_key, login=self.logins.get(url), session=self.session,
                               request_timeout=self.request_timeout) for url in self.urls]
        self.urls = [client.base_url for client in clients]  # a login written into a URL stays in its client
        self._backends = {client.base_url: Backend(client.base_url, client) for client in clients}
        self._listeners: list[HealthListener] = []
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._suspect: set[str] = set()         # reported failing by a client: down on the next failure

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **kwargs) -> "BackendPool":
        urls = parse_urls(environ.get("COMFY_URLS") or environ.get("COMFY_URL") or "http://127.0.0.1:8188")
        return cls(urls, api_key=environ.get("COMFY_API_KEY") or None, **kwargs)

    # ---- access ----------------------------------------------------------------------------

    @property
    def backends(self) -> list[Backend]:
        return list(self._backends.values())

    def backend(self, url: str) -> Backend:
        return self._backends[split_login(url)[0]]

    def client(self, url: str) -> ComfyClient:
        return self.backend(url).client

    def healthy(self) -> list[Backend]:
        """Healthy backends, most free VRAM first (ties keep the configured order)."""
        return sorted((b for b in self._backends.values() if b.healthy), key=lambda b: -b.vram_free)

    def add_listener(self, callback: HealthListener) -> None:
        self._listeners.append(callback)

    def remove_listener(self, callback: HealthListener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """First health check now, then on the interval; websockets connect in the background."""
        if self._task is not None:
            return
        if self.connect_websockets:
            for backend in self._backends.values():
                await backend.client.connect(wait=False)
        await self.check_now()
        self._task = asyncio.create_task(self._loop(), name="comfy-backend-health")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await asyncio.gather(*(b.client.close() for b in self._backends.values()), return_exceptions=True)

    async def __aenter__(self) -> "BackendPool":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def check_soon(self, url: str) -> None:
        """Someone saw `url` fail (a refused connection): check it now and often until it answers."""
        self._suspect.add(url.rstrip("/"))
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            hurry = self._suspect or any(b.checked and not b.healthy for b in self._backends.values())
            try:
                await asyncio.wait_for(self._wake.wait(), self.recheck_interval_s if hurry else self.check_interval_s)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.check_now()

    async def check_now(self) -> None:
        await asyncio.gather(*(self._check(b) for b in self._backends.values()))

    async def _check(self, backend: Backend) -> None:
        try:
            stats = await backend.client.system_stats()
        except ComfyError as exc:
            backend.consecutive_failures += 1
            backend.reason = str(exc)
            failed_enough = backend.consecutive_failures >= self.failures_to_down or backend.url in self._suspect
            if failed_enough and (backend.healthy or not backend.checked):
                backend.checked = True
                self._set(backend, False, f"{backend.consecutive_failures} failed checks: {exc}")
            return
        backend.stats = stats
        backend.consecutive_failures = 0
        was_suspect = backend.url in self._suspect
        self._suspect.discard(backend.url)
        device = stats.devices[0] if stats.devices else None
        backend.reason = (f"ComfyUI {stats.comfyui_version}"
                          + (f" on {device.name}, {device.vram_free / GiB:.1f}/{device.vram_total / GiB:.1f} GiB "
                             "VRAM free" if device else ""))
        if not backend.healthy or was_suspect:      # a reporter waits to hear it answers again
            backend.checked = True
            self._set(backend, True, backend.reason)

    def _set(self, backend: Backend, healthy: bool, reason: str) -> None:
        backend.healthy = healthy
        (log.info if healthy else log.warning)("ComfyUI backend %s is %s: %s", backend.url,
                                               "up" if healthy else "down", reason)
        for callback in list(self._listeners):
            try:
                callback(backend.url, healthy, reason)
            except Exception:
                log.exception("backend health listener %r failed", callback)

"""A pool of ComfyUI backends (COMFY_URLS): one independent ComfyClient each, and each backend's
health in one record (`Backend`), fed by three sources:

- the probe: /system_stats, asked by the pool's one poller for every backend, on an interval, at
  once when someone saw a backend fail (`report_unreachable`), and every `recheck_interval_s`
  while one is down. Down after `failures_to_down` consecutive failed checks (at once after a
  reported failure), answering again after the next good one;
- the client's websocket (`SocketConnected` / `SocketDisconnected`);
- the supervisor of a local ComfyUI (`set_supervisor`).

`Backend.healthy` combines them; listeners hear every change of it as (url, healthy, reason).
The poller is the only thing that asks /system_stats once a backend is up: probe listeners hear
each of its checks as a `Probe` (the supervisor's hang detection follows them).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping

import aiohttp

from .client import ComfyClient, SystemStats
from .errors import ComfyError
from .events import SocketConnected, SocketDisconnected
from .urls import ComfyLogin, split_login, without_login

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


@dataclass(frozen=True)
class Probe:
    """One /system_stats check of one backend by the pool's poller."""
    url: str
    ok: bool
    detail: str = ""
    listening: bool = True     # False: nothing listens there (connection refused, host unknown)


ProbeListener = Callable[[Probe], None]


@dataclass
class Backend:
    """One ComfyUI's health: the only record of it (see the module docstring)."""
    url: str
    client: ComfyClient
    answering: bool = False          # the probe: /system_stats answers (meaningful once `checked`)
    checked: bool = False
    socket_up: bool = True           # its websocket is open (while the pool watches it)
    supervisor_up: bool = True       # the supervisor of a local ComfyUI says it is up
    consecutive_failures: int = 0
    stats: SystemStats | None = None
    reason: str = "not checked yet"
    announced: bool | None = None    # the `healthy` listeners last heard

    @property
    def healthy(self) -> bool:
        return (self.answering or not self.checked) and self.socket_up and self.supervisor_up

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
        self._probe_listeners: list[ProbeListener] = []
        self._task: asyncio.Task | None = None
        self._check_asap = False               # someone wants a check on the next short tick
        self._suspect: set[str] = set()         # reported failing by a client: down on the next failure
        self._socket_listeners: dict[str, Callable] = {}
        self._watch_sockets = self.connect_websockets   # a websocket nobody connects says nothing

    @classmethod
    def of_clients(cls, clients: list[ComfyClient], **kwargs) -> "BackendPool":
        """A pool around clients made elsewhere (their owner connects and closes them)."""
        pool = cls([c.base_url for c in clients], connect_websockets=False, **kwargs)
        pool._backends = {c.base_url: Backend(c.base_url, c) for c in clients}
        pool._watch_sockets = True
        return pool

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

    def add_probe_listener(self, callback: ProbeListener) -> Callable[[], None]:
        """Hear every check the poller makes; returns the way to stop hearing them."""
        self._probe_listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._probe_listeners:
                self._probe_listeners.remove(callback)
        return unsubscribe

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Watch the websockets, first health check now, then on the interval; websockets connect
        in the background."""
        if self._task is not None:
            return
        for backend in self._backends.values():
            if self._watch_sockets:
                self._watch_socket(backend)
            if self.connect_websockets:
                await backend.client.connect(wait=False)
        await self.check_now()
        self._task = asyncio.create_task(self._loop(), name="comfy-backend-health")

    async def stop(self) -> None:
        """Stop the poller and stop watching the websockets (the clients stay open)."""
        if self._task is not None:
            self._task.cancel()
            # however it ended (cancelled, or a loop being torn down under it), it has ended
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for url, listener in self._socket_listeners.items():
            self._backends[url].client.remove_listener(listener)
        self._socket_listeners.clear()

    async def use_urls(self, urls: list[str], *, logins: Mapping[str, ComfyLogin] | None = None) -> None:
        """New addresses while running. An address kept keeps its client and health record; a
        removed one's client is closed; a new one gets a client. The poller starts again if it ran."""
        if not urls:
            raise ValueError("BackendPool needs at least one ComfyUI URL (COMFY_URLS)")
        running = self._task is not None
        await self.stop()
        logins = dict(self.logins if logins is None else logins)
        backends: dict[str, Backend] = {}
        for url in urls:
            address = split_login(url)[0]
            if address not in backends:
                backends[address] = self._backends.get(address) or Backend(address, ComfyClient(
                    url, api_key=self.api_key, login=logins.get(url), session=self.session,
                    request_timeout=self.request_timeout))
        removed = [b for address, b in self._backends.items() if address not in backends]
        self.urls, self.logins, self._backends = list(backends), logins, backends
        self._suspect &= set(backends)
        await asyncio.gather(*(b.client.close() for b in removed), return_exceptions=True)
        if running:
            await self.start()

    async def close(self) -> None:
        await self.stop()
        await asyncio.gather(*(b.client.close() for b in self._backends.values()), return_exceptions=True)

    def _watch_socket(self, backend: Backend) -> None:
        if backend.url in self._socket_listeners:
            return
        backend.socket_up = backend.client.connected

        def on_event(event) -> None:
            if isinstance(event, SocketConnected):
                backend.socket_up = True
                self._changed(backend, _describe(backend.stats) if backend.answering and backend.stats
                              else "websocket connected")
            elif isinstance(event, SocketDisconnected):
                backend.socket_up = False
                self._changed(backend, f"websocket closed: {event.reason}")
        self._socket_listeners[backend.url] = on_event
        backend.client.add_listener(on_event)

    # ---- what others report ----------------------------------------------------------------

    def report_unreachable(self, url: str, reason: str) -> None:
        """A client saw `url` fail (a refused connection): down now, checked often until it answers."""
        backend = self._backends.get(without_login(url))
        if backend is None:
            return
        self._suspect.add(backend.url)
        backend.answering, backend.checked = False, True
        self._changed(backend, reason)
        self._check_asap = True

    def set_supervisor(self, url: str, up: bool, reason: str) -> None:
        """The supervisor's word on a local ComfyUI (its URL, or the only backend there is)."""
        url = without_login(url)
        targets = [b for b in self._backends.values() if b.url == url]
        if not targets and len(self._backends) == 1:
            targets = list(self._backends.values())
        for backend in targets:
            if backend.supervisor_up != up:
                backend.supervisor_up = up
                self._changed(backend, reason)

    async def __aenter__(self) -> "BackendPool":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _loop(self) -> None:
        """Ticks every recheck_interval_s; checks on the long interval, or on this tick when a
        backend is down, suspect, or someone asked."""
        since_check = 0.0
        while True:
            await asyncio.sleep(min(self.recheck_interval_s, self.check_interval_s))
            since_check += min(self.recheck_interval_s, self.check_interval_s)
            hurry = (self._check_asap or self._suspect
                     or any(b.checked and not b.answering for b in self._backends.values()))
            if hurry or since_check >= self.check_interval_s:
                self._check_asap, since_check = False, 0.0
                await self.check_now()

    async def check_now(self) -> None:
        await asyncio.gather(*(self._check(b) for b in self._backends.values()))

    async def _check(self, backend: Backend) -> None:
        try:
            stats = await backend.client.system_stats()
        except ComfyError as exc:
            self._tell_probe(Probe(backend.url, False, str(exc),
                                   listening=not isinstance(exc.__cause__, aiohttp.ClientConnectorError)))
            backend.consecutive_failures += 1
            backend.reason = str(exc)
            failed_enough = backend.consecutive_failures >= self.failures_to_down or backend.url in self._suspect
            if failed_enough and (backend.answering or not backend.checked):
                backend.answering, backend.checked = False, True
                self._changed(backend, f"{backend.consecutive_failures} failed checks: {exc}")
            return
        self._tell_probe(Probe(backend.url, True, _describe(stats)))
        backend.stats = stats
        backend.consecutive_failures = 0
        self._suspect.discard(backend.url)
        backend.reason = _describe(stats)
        if not backend.answering or not backend.checked:
            backend.answering, backend.checked = True, True
            self._changed(backend, backend.reason)

    def _tell_probe(self, probe: Probe) -> None:
        for callback in list(self._probe_listeners):
            try:
                callback(probe)
            except Exception:
                log.exception("probe listener %r failed", callback)

    def _changed(self, backend: Backend, reason: str) -> None:
        """One of the inputs changed: tell the listeners when `healthy` did."""
        backend.reason = reason
        healthy = backend.healthy
        if healthy == backend.announced:
            return
        if not backend.checked:          # the probe has not spoken yet: ask it now, announce after
            self._check_asap = True
            return
        if backend.announced is None and not healthy and not backend.socket_up and backend.answering:
            return                       # starting: its websocket has not connected yet, nothing is wrong
        backend.announced = healthy
        (log.info if healthy else log.warning)("ComfyUI backend %s is %s: %s", backend.url,
                                               "up" if healthy else "down", reason)
        for callback in list(self._listeners):
            try:
                callback(backend.url, healthy, reason)
            except Exception:
                log.exception("backend health listener %r failed", callback)


def _describe(stats: SystemStats) -> str:
    device = stats.devices[0] if stats.devices else None
    return (f"ComfyUI {stats.comfyui_version}"
            + (f" on {device.name}, {device.vram_free / GiB:.1f}/{device.vram_total / GiB:.1f} GiB VRAM free"
               if device else ""))

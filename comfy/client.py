"""Async client for one ComfyUI server: HTTP API plus a pushed /ws event stream.

One aiohttp ClientSession for the client's lifetime (injected, or owned and closed by us), one
`_request()` choke point, typed errors from comfy.errors. Completion is pushed over the
websocket; after every (re)connect the in-flight prompts are reconciled through /queue and
/history, because ComfyUI never replays events a socket missed.

A login written into the URL (`http://user:password@host`) is split off at once: `base_url`, logs
and errors hold the address alone, and the credentials are sent only to that origin: neither HTTP
nor the websocket ever follows a redirect to another scheme, host or port.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import struct
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import quote

import aiohttp
from yarl import URL

from . import events as ev
from .errors import (ComfyAuthError, ComfyConnectionError, ComfyError, ComfyHTTPError, ComfyTimeoutError,
                     ExecutionFailed, NotComfyUIError, PromptInterrupted, PromptLost, WorkflowRejected)
from .events import ImageRef
from .tasks import TaskManager
from .urls import ComfyLogin, origin, split_login, without_login

log = logging.getLogger(__name__)

Listener = Callable[[Any], None]
_WEBSOCKET_OUTPUT = "SaveImageWebsocket"    # its images arrive only as binary websocket frames
_FEATURE_FLAGS = json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}})
_IMAGE_MIME = {1: "image/jpeg", 2: "image/png"}
_BODY_LIMIT = 2000
_FINISHED_KEEP = 1000


@dataclass(frozen=True)
class SubmittedPrompt:
    prompt_id: str
    number: int | float
    node_errors_text: str | None = None
    # For a 200 with node_errors: the same information as a WorkflowRejected(accepted=True).
    rejection: WorkflowRejected | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class PromptResult:
    prompt_id: str
    images: list[ImageRef]
    cached: bool = False
    # Images SaveImageWebsocket nodes sent as binary websocket frames, in the order they came.
    image_data: tuple[ev.ImageBytes, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class UploadedImage:
    name: str
    subfolder: str = ""
    type: str = "input"

    @property
    def load_image_value(self) -> str:
        """What LoadImage's `image` input wants."""
        return f"{self.subfolder}/{self.name}" if self.subfolder else self.name


@dataclass(frozen=True)
class QueueSnapshot:
    running: list[str]
    pending: list[str]  # in execution order (sorted by number)


@dataclass(frozen=True)
class HistoryEntry:
    prompt_id: str
    status: str  # "success" | "error"
    completed: bool
    images: list[ImageRef]
    cached: bool
    error: ExecutionFailed | None = None
    interrupted: bool = False
    raw: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Device:
    name: str
    type: str
    vram_total: int
    vram_free: int


@dataclass(frozen=True)
class SystemStats:
    comfyui_version: str
    python_version: str
    devices: list[Device]


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str
    location: str | None = None

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _Tracked:
    """One prompt we wait for. `gap` marks that the socket dropped while it was in flight, so
    the images collected from `executed` frames may be incomplete."""

    __slots__ = ("future", "images", "ran_nodes", "posted", "gap", "websocket_nodes", "websocket_images")

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.future: asyncio.Future[PromptResult] = loop.create_future()
        # A prompt may end (deleted: PromptLost, interrupted...) with nobody waiting any more; its
        # error is marked retrieved, so no "Future exception was never retrieved" at garbage
        # collection. A caller that awaits the future still gets the exception raised.
        self.future.add_done_callback(_mark_retrieved)
        self.images: list[ImageRef] = []
        self.ran_nodes = 0
        self.posted = False
        self.gap = False
        self.websocket_nodes: frozenset[str] = frozenset()   # SaveImageWebsocket node ids
        self.websocket_images: list[ev.ImageBytes] = []


def _mark_retrieved(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def _auth_header(api_key: str | None, login: ComfyLogin | None = None) -> dict[str, str]:
    """The login of this server's URL wins over the shared API key."""
    if login is not None:
        api_key = f"{login.user}:{login.password}"
    if not api_key:
        return {}
    if ":" in api_key:  # "user:password" -> HTTP Basic, for proxies that want it
        return {"Authorization": "Basic " + base64.b64encode(api_key.encode()).decode()}
    return {"Authorization": f"Bearer {api_key}"}


def _redirect_target(base: URL, location: str | None) -> str:
    """Where a redirect points, as it may be shown (origin only, no login)."""
    try:
        return without_login(str(base.join(URL(location)).origin())) if location else "nowhere (no Location)"
    except ValueError:
        return "an invalid address"


class RedirectRefused(aiohttp.ClientError):
    """A hop to another origin, stopped before anything (credentials included) was sent there."""


class ComfyClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        login: ComfyLogin | None = None,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float = 30.0,
        reconnect_min_s: float = 0.2,
        reconnect_max_s: float = 10.0,
    ):
        try:
            address, written_login = split_login(base_url)
            url = URL(address)
        except ValueError:
            url, written_login = URL(), None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"ComfyUI URL must look like http://host:port or https://host/path, "
                             f"got {without_login(base_url)!r}")
        self.base_url = str(url.with_query(None).with_fragment(None)).rstrip("/")
        self._base = URL(self.base_url)
        self._origin = origin(self._base)
        self.client_id = uuid.uuid4().hex
        self.request_timeout = request_timeout
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self._auth = _auth_header(api_key, login or written_login)  # never logged, never in repr or error text
        self._session = session
        self._owns_session = session is None
        self._ws_session: aiohttp.ClientSession | None = None
        self._tasks = TaskManager(f"ComfyUI {self.base_url}")
        self._listeners: list[Listener] = []
        self._tracked: dict[str, _Tracked] = {}
        self._finished: OrderedDict[str, asyncio.Future] = OrderedDict()
        self._collecting: dict[str, list[ImageRef]] = {}
        self._last_progress: tuple[str | None, str | None] = (None, None)
        self._object_info: dict | None = None
        self._object_info_lock = asyncio.Lock()
        self._ws_task: asyncio.Task | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._connected_once: asyncio.Event | None = None
        self._reconcile_task: asyncio.Task | None = None
        self._reconcile_again = False
        self._closed = False
        self.connected = False

    def __repr__(self) -> str:
        return f"ComfyClient({self.base_url!r}, client_id={self.client_id!r}, connected={self.connected})"

    # ---- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> "ComfyClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        self._closed = True
        await self._tasks.close()
        self._ws_task = self._reconcile_task = None
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        self.connected = False
        for prompt_id, tracked in list(self._tracked.items()):
            if not tracked.future.done():
                tracked.future.set_exception(ComfyConnectionError(f"client for {self.base_url} closed"))
        self._tracked.clear()
        if self._owns_session and self._session is not None:
            await self._session.close()
        if self._ws_session is not None and self._ws_session is not self._session:
            await self._ws_session.close()
        self._session = self._ws_session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ComfyError(f"client for {self.base_url} is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(middlewares=(self._same_origin_only,))
        return self._session

    def _websocket_session(self) -> aiohttp.ClientSession:
        """ws_connect always follows redirects; only a session-wide middleware can stop a hop to
        another origin, so an injected session (not ours to change) gets a private one beside it."""
        if not self._owns_session:
            self._http()
            if self._ws_session is None:
                self._ws_session = aiohttp.ClientSession(middlewares=(self._same_origin_only,))
            return self._ws_session
        return self._http()

    async def _same_origin_only(self, request: aiohttp.ClientRequest, handler) -> aiohttp.ClientResponse:
        if origin(request.url) != self._origin:
            raise RedirectRefused(f"{self.base_url} redirected to {without_login(str(request.url.origin()))}, "
                                  "another server; not followed (set COMFY_URL to the final address)")
        return await handler(request)

    def url_for(self, path: str) -> URL:
        """Base URL + path, keeping a path prefix (https://host/comfy + prompt)."""
        return URL(self.base_url + "/" + path.lstrip("/"))

    @property
    def ws_url(self) -> URL:
        scheme = "wss" if self._base.scheme == "https" else "ws"
        return self.url_for("ws").with_scheme(scheme).with_query(clientId=self.client_id)

    # ---- HTTP choke point ------------------------------------------------------------------

    async def _request(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
                       data: Any = None, ok: Iterable[int] = (200,), timeout: float | None = None) -> _Reply:
        url = self.url_for(path)
        where = f"{method} {url}"
        try:
            async with self._http().request(
                method, url, params=params, json=json_body, data=data, headers=self._auth,
                timeout=aiohttp.ClientTimeout(total=timeout or self.request_timeout), allow_redirects=False,
            ) as response:
                body = await response.read()
                reply = _Reply(response.status, body, response.content_type, response.headers.get("Location"))
        except asyncio.TimeoutError as exc:
            raise ComfyTimeoutError(f"{where}: no answer within {timeout or self.request_timeout:g} s; "
                                    "ComfyUI may be overloaded or hung") from exc
        except aiohttp.ClientConnectionError as exc:
            raise ComfyConnectionError(
                f"Cannot reach ComfyUI at {self.base_url} ({type(exc).__name__}: {exc}). "
                "Check that ComfyUI is running and that COMFY_URL is right.") from exc
        except aiohttp.ClientError as exc:
            raise ComfyConnectionError(f"{where} failed: {type(exc).__name__}: {exc}") from exc
        if reply.status in ok:
            return reply
        text = reply.text()[:_BODY_LIMIT]
        if 300 <= reply.status < 400:
            target = _redirect_target(self._base, reply.location)
            raise ComfyHTTPError(f"{where} answered HTTP {reply.status}, a redirect to {target}; redirects are not "
                                 "followed: set COMFY_URL to the address ComfyUI really answers on",
                                 reply.status, text)
        if reply.status in (401, 403):
            raise ComfyAuthError(
                f"{where} answered {reply.status}: a proxy in front of ComfyUI refused the request. "
                "Check COMFY_API_KEY (sent as a Bearer token, or Basic auth for 'user:password').",
                reply.status, text)
        if reply.status == 404 and not path.startswith("view"):  # every other route exists on ComfyUI
            raise NotComfyUIError(f"{self.base_url} has no /{path.lstrip('/')} (HTTP 404); "
                                  "is this URL really ComfyUI (and the path prefix right)?")
        raise ComfyHTTPError(f"{where} answered HTTP {reply.status}: {text[:200]}", reply.status, text)

    async def _json(self, method: str, path: str, **kwargs) -> Any:
        reply = await self._request(method, path, **kwargs)
        try:
            return json.loads(reply.body)
        except ValueError as exc:
            raise NotComfyUIError(
                f"{self.base_url} answered {path} with non-JSON ({reply.content_type}); "
                "is this URL really ComfyUI?") from exc

    # ---- listeners -------------------------------------------------------------------------

    def add_listener(self, callback: Listener) -> None:
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        try:
            self._listeners.remove(callback)
        except ValueError:
            pass

    def _emit(self, event: Any) -> None:
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # a broken listener must not break the socket
                log.exception("ComfyUI event listener %r failed on %s", callback, type(event).__name__)

    # ---- server info -----------------------------------------------------------------------

    async def system_stats(self) -> SystemStats:
        try:
            body = await self._json("GET", "system_stats")
        except ComfyHTTPError as exc:
            if isinstance(exc, ComfyAuthError):
                raise
            raise NotComfyUIError(f"{self.base_url}/system_stats answered HTTP {exc.status}; "
                                  "is this URL really ComfyUI?") from exc
        try:
            system = body["system"]
            devices = [Device(str(d.get("name", "")), str(d.get("type", "")), int(d.get("vram_total") or 0),
                              int(d.get("vram_free") or 0)) for d in body["devices"]]
            return SystemStats(str(system["comfyui_version"]), str(system.get("python_version", "")), devices)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NotComfyUIError(f"{self.base_url}/system_stats does not look like ComfyUI's "
                                  "(no system.comfyui_version / devices)") from exc

    async def object_info(self, refresh: bool = False) -> dict:
        async with self._object_info_lock:
            if self._object_info is None or refresh:
                info = await self._json("GET", "object_info", timeout=max(self.request_timeout, 60.0))
                if not isinstance(info, dict):
                    raise NotComfyUIError(f"{self.base_url}/object_info is not a JSON object")
                self._object_info = info
            return self._object_info

    async def node_info(self, class_type: str) -> dict:
        """One node class's /object_info entry, asked now (small, and it lists the model files
        ComfyUI has at this moment); {} when ComfyUI has no such node."""
        info = await self._json("GET", f"object_info/{quote(class_type, safe='')}")
        entry = info.get(class_type) if isinstance(info, dict) else None
        return entry if isinstance(entry, dict) else {}

    # ---- prompts ---------------------------------------------------------------------------

    def _track(self, prompt_id: str) -> _Tracked:
        tracked = self._tracked.get(prompt_id)
        if tracked is None or tracked.future.done():
            tracked = _Tracked(asyncio.get_running_loop())
            self._tracked[prompt_id] = tracked
            self._finished.pop(prompt_id, None)
        return tracked

    async def submit(self, workflow: dict, *, prompt_id: str | None = None,
                     extra_data: dict | None = None) -> SubmittedPrompt:
        """POST /prompt under our client_id. Tracking starts before the POST: events can beat the reply."""
        prompt_id = prompt_id or str(uuid.uuid4())
        tracked = self._track(prompt_id)
        tracked.websocket_nodes = frozenset(
            str(node_id) for node_id, node in workflow.items()
            if isinstance(node, dict) and node.get("class_type") == _WEBSOCKET_OUTPUT)
        body: dict[str, Any] = {"prompt": workflow, "client_id": self.client_id, "prompt_id": prompt_id}
        if extra_data:
            body["extra_data"] = extra_data
        try:
            reply = await self._request("POST", "prompt", json_body=body, ok=(200, 400))
            data = json.loads(reply.body)
            if reply.status == 400:
                raise WorkflowRejected(data.get("error"), data.get("node_errors"))
            number = data["number"]
        except ValueError as exc:
            self._untrack(prompt_id, tracked)
            raise NotComfyUIError(f"{self.base_url}/prompt answered with non-JSON; is this URL ComfyUI?") from exc
        except (KeyError, TypeError) as exc:
            self._untrack(prompt_id, tracked)
            raise NotComfyUIError(f"{self.base_url}/prompt answered without a prompt number") from exc
        except BaseException:
            self._untrack(prompt_id, tracked)
            raise
        tracked.posted = True
        node_errors = data.get("node_errors") or {}
        if not node_errors:
            return SubmittedPrompt(prompt_id, number)
        rejection = WorkflowRejected(None, node_errors, accepted=True)
        log.warning("ComfyUI accepted prompt %s but dropped outputs: %s", prompt_id, "; ".join(rejection.lines))
        return SubmittedPrompt(prompt_id, number, "\n".join(rejection.lines) or None, rejection)

    def _untrack(self, prompt_id: str, tracked: _Tracked) -> None:
        if self._tracked.get(prompt_id) is tracked:
            del self._tracked[prompt_id]
        tracked.future.cancel()

    async def wait(self, prompt_id: str, timeout: float | None = None) -> PromptResult:
        """The prompt's result, pushed by the ws (or found by reconciliation).

        A prompt this client did not submit (say, after a restart) is looked up at once.
        """
        future = self._finished.get(prompt_id)
        if future is None:
            tracked = self._tracked.get(prompt_id)
            if tracked is None:
                tracked = self._track(prompt_id)
                tracked.posted = True
                tracked.gap = True
                self._schedule_reconcile()
            future = tracked.future
        if timeout is None:
            return await asyncio.shield(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError as exc:
            raise ComfyTimeoutError(f"prompt {prompt_id} did not finish within {timeout:g} s") from exc

    def _resolve(self, prompt_id: str, result: PromptResult | None = None, error: BaseException | None = None) -> None:
        tracked = self._tracked.pop(prompt_id, None)
        if tracked is None or tracked.future.done():
            return
        if error is not None:
            tracked.future.set_exception(error)
        else:
            tracked.future.set_result(result)
        self._finished[prompt_id] = tracked.future
        while len(self._finished) > _FINISHED_KEEP:
            self._finished.popitem(last=False)

    async def interrupt(self, prompt_id: str | None = None) -> None:
        await self._request("POST", "interrupt", json_body={"prompt_id": prompt_id} if prompt_id else None)

    async def delete_pending(self, prompt_ids: Iterable[str]) -> None:
        ids = list(prompt_ids)
        await self._request("POST", "queue", json_body={"delete": ids})
        if any(i in self._tracked for i in ids):
            self._schedule_reconcile()  # deleted prompts get no event: resolve them as PromptLost

    async def clear_pending(self) -> None:
        await self._request("POST", "queue", json_body={"clear": True})
        self._schedule_reconcile()

    async def queue(self) -> QueueSnapshot:
        body = await self._json("GET", "queue")
        try:
            running = [item[1] for item in body["queue_running"]]
            pending = [item[1] for item in sorted(body["queue_pending"], key=lambda item: item[0])]
        except (KeyError, TypeError, IndexError) as exc:
            raise NotComfyUIError(f"{self.base_url}/queue does not look like ComfyUI's") from exc
        return QueueSnapshot(running, pending)

    async def history(self, prompt_id: str) -> HistoryEntry | None:
        body = await self._json("GET", f"history/{prompt_id}")
        entry = body.get(prompt_id) if isinstance(body, dict) else None
        return None if not entry else _parse_history(prompt_id, entry)

    async def view(self, ref: ImageRef) -> bytes:
        reply = await self._request("GET", "view", params={"filename": ref.filename, "subfolder": ref.subfolder,
                                                           "type": ref.type})
        return reply.body

    async def upload_image(self, data: bytes, filename: str, *, subfolder: str = "",
                           overwrite: bool = False, type: str = "input") -> UploadedImage:
        """Upload for LoadImage. aiohttp percent-encodes odd characters in multipart file names
        (`my pic.png` would be stored as `my%20pic.png`), so the name is made plain first; the
        server's answer is what counts either way (it renames on a clash)."""
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename.replace("\\", "/").rsplit("/", 1)[-1]) or "image.png"
        form = aiohttp.FormData()
        form.add_field("image", data, filename=safe, content_type="application/octet-stream")
        form.add_field("overwrite", "true" if overwrite else "false")
        form.add_field("type", type)
        form.add_field("subfolder", subfolder)
        body = json.loads((await self._request("POST", "upload/image", data=form)).body)
        return UploadedImage(body["name"], body.get("subfolder", ""), body.get("type", type))

    async def free(self, unload_models: bool = True, free_memory: bool = True) -> None:
        await self._request("POST", "free", json_body={"unload_models": unload_models, "free_memory": free_memory})

    # ---- websocket -------------------------------------------------------------------------

    async def connect(self, wait: bool = True) -> None:
        """Start the /ws task (idempotent). With wait, return once the first socket is up; if that
        fails within request_timeout, raise ComfyConnectionError (the task keeps retrying)."""
        if self._closed:
            raise ComfyError(f"client for {self.base_url} is closed")
        if self._ws_task is None or self._ws_task.done():
            self._connected_once = asyncio.Event()
            self._ws_task = self._tasks.spawn(self._ws_loop(), name="websocket")
        if wait and not self.connected:
            try:
                await asyncio.wait_for(self._connected_once.wait(), self.request_timeout)
            except asyncio.TimeoutError as exc:
                raise ComfyConnectionError(
                    f"Cannot open the ComfyUI websocket at {self.base_url} within {self.request_timeout:g} s; "
                    "check that ComfyUI is running and COMFY_URL is right (still retrying).") from exc

    async def _ws_loop(self) -> None:
        delay = self.reconnect_min_s
        while not self._closed:
            reason = "closed by server"
            try:
                # The previous socket is closed before this one opens: with the same clientId,
                # closing an old socket later would unregister the new one (ComfyUI quirk).
                self._ws = await self._websocket_session().ws_connect(
                    self.ws_url, headers=self._auth, heartbeat=30.0, max_msg_size=0,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0))
                await self._ws.send_str(_FEATURE_FLAGS)
                delay = self.reconnect_min_s
                async for msg in self._ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        self._on_text(msg.data)
                    elif msg.type == aiohttp.WSMsgType.BINARY:
                        self._on_binary(msg.data)
                    elif msg.type == aiohttp.WSMsgType.ERROR:
                        reason = f"socket error: {self._ws.exception()}"
                        break
            except asyncio.CancelledError:
                raise
            except aiohttp.WSServerHandshakeError as exc:
                reason = f"handshake refused: HTTP {exc.status}"
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                ws, self._ws = self._ws, None
                if ws is not None:
                    await ws.close()
                was_connected, self.connected = self.connected, False
            for tracked in self._tracked.values():
                tracked.gap = True
            if was_connected:
                log.info("ComfyUI websocket %s closed: %s", self.base_url, reason)
                self._emit(ev.SocketDisconnected(reason))
            else:
                log.debug("ComfyUI websocket %s not available: %s", self.base_url, reason)
            if self._closed:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max_s)

    def _on_connected(self) -> None:
        self.connected = True
        if self._connected_once is not None:
            self._connected_once.set()
        log.info("ComfyUI websocket connected to %s", self.base_url)
        self._emit(ev.SocketConnected())
        self._schedule_reconcile()

    def _on_text(self, raw: str) -> None:
        if raw.startswith('{"type": "progress_state"') or raw.startswith('{"type":"progress_state"'):
            return  # chatty full snapshots; nothing we need
        try:
            message = json.loads(raw)
            kind, data = message.get("type"), message.get("data") or {}
        except (ValueError, AttributeError):
            log.debug("ignoring malformed ws frame from %s", self.base_url)
            return
        try:
            self._dispatch(kind, data)
        except (KeyError, TypeError, ValueError):
            log.warning("ignoring unexpected %r frame from %s", kind, self.base_url)

    def _dispatch(self, kind: str, data: dict) -> None:
        prompt_id = data.get("prompt_id")
        if kind == "status":
            if "sid" in data and not self.connected:
                # Registered under our clientId now, so events can no longer slip past: reconcile.
                self._on_connected()
            self._emit(ev.QueueStatus(int(data["status"]["exec_info"]["queue_remaining"])))
            if data["status"]["exec_info"]["queue_remaining"] == 0 and any(
                    t.posted for t in self._tracked.values()):
                self._schedule_reconcile()  # idle with prompts still open: deleted, cleared, or missed
        elif kind == "execution_start":
            self._collecting[prompt_id] = []
            self._emit(ev.PromptStarted(prompt_id))
        elif kind == "execution_cached":
            self._emit(ev.PromptCached(prompt_id, list(data.get("nodes", []))))
        elif kind == "executing":
            node = data.get("node")
            if node is None:
                return  # end-of-prompt marker; execution_success/error already resolved it
            tracked = self._tracked.get(prompt_id) if prompt_id else None
            if tracked is not None:
                tracked.ran_nodes += 1
            self._emit(ev.NodeExecuting(prompt_id, str(node)))
        elif kind == "progress":
            self._last_progress = (prompt_id, data.get("node"))
            self._emit(ev.PromptProgress(prompt_id, data.get("node"), int(data["value"]), int(data["max"])))
        elif kind == "executed":
            images = [ImageRef.from_json(i, str(data["node"])) for i in (data.get("output") or {}).get("images", [])]
            self._collecting.setdefault(prompt_id, []).extend(images)
            self._emit(ev.NodeOutput(prompt_id, str(data["node"]), images))
        elif kind == "execution_success":
            images = self._collecting.pop(prompt_id, [])
            self._emit(ev.PromptSucceeded(prompt_id, images))
            tracked = self._tracked.get(prompt_id)
            if tracked is not None:
                if tracked.gap:  # frames may have been missed while disconnected: ask /history
                    self._schedule_reconcile()
                else:
                    self._resolve(prompt_id, PromptResult(prompt_id, images, cached=tracked.ran_nodes == 0,
                                                          image_data=tuple(tracked.websocket_images)))
        elif kind == "execution_error":
            self._collecting.pop(prompt_id, None)
            error = ExecutionFailed.from_event(data)
            self._emit(ev.PromptFailed(prompt_id, error))
            self._resolve(prompt_id, error=error)
        elif kind == "execution_interrupted":
            self._collecting.pop(prompt_id, None)
            self._emit(ev.PromptInterrupted(prompt_id))
            self._resolve(prompt_id, error=PromptInterrupted(prompt_id, data.get("node_id")))

    def _on_binary(self, data: bytes) -> None:
        if len(data) < 8:
            return
        event_type, second = struct.unpack_from(">II", data)
        if event_type == 1:  # legacy: the progress frame came just before it
            prompt_id, node = self._last_progress
            image, mime = data[8:], _IMAGE_MIME.get(second, "image/jpeg")
        elif event_type == 4:
            try:
                meta = json.loads(data[8:8 + second])
            except ValueError:
                return
            prompt_id, node = meta.get("prompt_id"), meta.get("node_id")
            image, mime = data[8 + second:], meta.get("image_type", "image/jpeg")
        else:
            return
        tracked = self._tracked.get(prompt_id) if prompt_id else None
        if tracked is not None and node is not None and str(node) in tracked.websocket_nodes:
            tracked.websocket_images.append(ev.ImageBytes(image, str(node)))     # an output, not a preview
        self._emit(ev.PreviewImage(prompt_id, node, image, mime))

    # ---- reconciliation --------------------------------------------------------------------

    def _schedule_reconcile(self) -> None:
        if self._closed:
            return
        if self._reconcile_task is not None and not self._reconcile_task.done():
            self._reconcile_again = True
            return
        self._reconcile_task = self._tasks.spawn(self._reconcile_loop(), name="reconcile")

    async def _reconcile_loop(self) -> None:
        while True:
            self._reconcile_again = False
            try:
                await self.reconcile()
            except ComfyError as exc:
                log.info("reconciling prompts with %s failed (will retry on reconnect): %s", self.base_url, exc)
                return
            if not self._reconcile_again:
                return

    async def reconcile(self) -> None:
        """Settle every posted in-flight prompt from /queue then /history.

        Queue first: a prompt that leaves the queue is already in history (ComfyUI writes history
        before dropping the running item), so "not queued and no history" really means lost.
        """
        candidates = [pid for pid, t in self._tracked.items() if t.posted]
        if not candidates:
            return
        snapshot = await self.queue()
        queued = set(snapshot.running) | set(snapshot.pending)
        for prompt_id in candidates:
            tracked = self._tracked.get(prompt_id)
            if tracked is None or prompt_id in queued:
                continue
            entry = await self.history(prompt_id)
            if prompt_id not in self._tracked:
                continue  # resolved by a pushed event meanwhile
            if entry is None:
                self._resolve(prompt_id, error=PromptLost(prompt_id))
            elif entry.interrupted:
                self._resolve(prompt_id, error=PromptInterrupted(prompt_id))
            elif entry.error is not None:
                self._resolve(prompt_id, error=entry.error)
            elif entry.status == "success" or entry.completed:
                self._resolve(prompt_id, PromptResult(prompt_id, entry.images, entry.cached,
                                                      tuple(tracked.websocket_images)))
            else:
                self._resolve(prompt_id, error=ExecutionFailed(prompt_id, None, None, "Unknown",
                                                               f"ComfyUI reported status {entry.status!r}"))


def _parse_history(prompt_id: str, entry: dict) -> HistoryEntry:
    status = entry.get("status") or {}
    messages = status.get("messages") or []
    images = [ImageRef.from_json(i, str(node)) for node, out in (entry.get("outputs") or {}).items()
              for i in out.get("images", [])]
    error = None
    interrupted = False
    cached_nodes: list[str] = []
    for name, data in messages:
        if name == "execution_error":
            error = ExecutionFailed.from_event(data)
        elif name == "execution_interrupted":
            interrupted = True
        elif name == "execution_cached":
            cached_nodes = list(data.get("nodes", []))
    prompt = entry.get("prompt") or []
    workflow = prompt[2] if len(prompt) > 2 and isinstance(prompt[2], dict) else {}
    cached = bool(workflow) and set(workflow) <= set(cached_nodes)
    return HistoryEntry(prompt_id, status.get("status_str", ""), bool(status.get("completed")), images, cached,
                        error, interrupted, entry)

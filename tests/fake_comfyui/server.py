"""A protocol-faithful fake of ComfyUI 0.3.64's HTTP API and /ws, built on aiohttp.

Faithful to the recordings in tests/fixtures/comfyui/ (routes, bodies, status codes, ws frame
order, client_id routing, the duplicate-clientId and mid-run-connect quirks, caching), with no
model: nodes "run" by sleeping and output nodes write real PNGs. Faults can be injected at run
time, from Python or through the control routes under /__fake__/.
"""
from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import heapq
import io
import itertools
import json
import logging
import os
import random
import shutil
import string
import struct
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from PIL import Image

from . import images
from .models import ModelMemory, model_files
from .validation import validate_prompt

log = logging.getLogger(__name__)

_OBJECT_INFO_FILE = Path(__file__).with_name("object_info.json")
_SERVER_ERROR_TEXT = "500 Internal Server Error\n\nServer got itself in trouble"
_IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
_SAMPLERS = {"KSampler", "KSamplerAdvanced", "SamplerCustomAdvanced", "SamplerCustom"}
_NEVER_CACHED = {"SaveImageWebsocket"}
# Inputs that carry the picture (not the model, text encoder or conditioning), in the order tried.
_PICTURE_INPUTS = ("images", "image", "pixels", "samples", "latent_image", "latent", "destination", "source")
_FEATURES = {"supports_preview_metadata": True, "max_upload_size": 104857600}
MiB = 1024 * 1024


@dataclasses.dataclass
class QueueItem:
    number: int | float
    prompt_id: str
    prompt: dict
    extra_data: dict
    outputs: list[str]

    def as_list(self) -> list:
        return [self.number, self.prompt_id, self.prompt, self.extra_data, self.outputs]


class _Interrupted(Exception):
    def __init__(self, node_id: str):
        self.node_id = node_id


class _NodeFailed(Exception):
    def __init__(self, node_id: str, exception_type: str, message: str, inputs: dict):
        super().__init__(message)
        self.node_id, self.exception_type, self.message, self.inputs = node_id, exception_type, message, inputs


def _now_ms() -> int:
    return int(time.time() * 1000)


def _same_origin(origin: str, host_header: str) -> bool:
    from yarl import URL
    try:
        url = URL(origin)
    except ValueError:
        return False
    host, _, port = host_header.rpartition(":") if ":" in host_header else (host_header, "", "")
    return url.host == host and (not port or str(url.port) == port)


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


class _CountingDict(dict):
    """A dict that counts changes to its keys, so a cache built from it knows when to rebuild.
    (Edits inside a value are not seen: replace the value instead.)"""

    changes = 0

    def _changed(self) -> None:
        self.changes += 1

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key) -> None:
        super().__delitem__(key)
        self._changed()

    def __ior__(self, other):
        result = super().__ior__(other)
        self._changed()
        return result

    def update(self, *args, **kwargs) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def pop(self, *args):
        self._changed()
        return super().pop(*args)

    def popitem(self):
        self._changed()
        return super().popitem()

    def setdefault(self, key, default=None):
        self._changed()
        return super().setdefault(key, default)

    def clear(self) -> None:
        super().clear()
        self._changed()


class FakeComfyUI:
    """In-process fake: ``url = await fake.start()`` ... ``await fake.stop()``.

    exec_ms: total simulated execution time of one uncached job (split across its nodes; samplers
    get most of it, spread over ``progress_steps`` progress ticks with a preview each).
    Models (see models.py): ``model_slots`` models fit in VRAM; loading one that is not there costs
    ``model_load_ms``, or ``model_load_ms_per_gib`` per GiB of ``model_file_sizes`` when given.
    ``output_compress_level``: SaveImage's PNG level (4, as ComfyUI; 1 is faster for tests).
    ``output_size``: None makes images the size the prompt asks for, as ComfyUI does; a fixed
    (width, height) and ``flat_outputs`` (one colour) are for benches that measure the queue, not
    the making and moving of real images.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        exec_ms: float = 20.0,
        progress_steps: int = 3,
        extra_object_info: dict | None = None,
        root: str | os.PathLike | None = None,
        device_name: str = "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync",
        vram_total: int = 25_393_692_672,
        vram_free: int = 23_000_000_000,
        model_slots: int = 1,
        model_load_ms: float = 0.0,
        model_load_ms_per_gib: float | None = None,
        model_file_sizes: dict[str, int] | None = None,
        output_compress_level: int = images.SAVE_IMAGE_COMPRESS_LEVEL,
        output_size: tuple[int, int] | None = None,
        flat_outputs: bool = False,
    ):
        self.host, self.port = host, port
        self.exec_ms = exec_ms
        self.exec_ms_by_prompt: dict[str, float] = {}
        self.progress_steps = progress_steps
        self.device = {"name": device_name, "type": "cuda" if "cuda" in device_name else "cpu",
                       "index": 0, "vram_total": vram_total, "vram_free": vram_free,
                       "torch_vram_total": vram_total, "torch_vram_free": vram_free}
        self.argv = ["main.py", "--listen", host, "--port", str(port)]
        self.models = ModelMemory(slots=model_slots, load_ms=model_load_ms, load_ms_per_gib=model_load_ms_per_gib,
                                  file_sizes=dict(model_file_sizes or {}))
        self.output_compress_level = output_compress_level
        self.output_size = output_size
        self.flat_outputs = flat_outputs
        self._info_cache: tuple[tuple, dict] | None = None
        self._object_info = json.loads(_OBJECT_INFO_FILE.read_text())
        if extra_object_info:
            self.add_object_info(extra_object_info)
        self._own_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="fake-comfyui-"))
        self.exit_on_crash = False  # set by `python -m tests.fake_comfyui`: a crash ends the process
        # What tests and the benchmark look at.
        self.received_prompts: list[dict] = []   # parsed POST /prompt bodies, in arrival order
        self.received_raw: list[bytes] = []      # the same bodies, byte for byte
        self.finished_at: dict[str, float] = {}  # prompt_id -> time.perf_counter() at execution_success
        self.request_log: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers)
        self._runner: web.AppRunner | None = None
        self._reset_state()

    # ---- lifecycle -------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self.number = 0
        self._seq = itertools.count()
        self._pending: list[tuple[Any, int, QueueItem]] = []
        self.running: QueueItem | None = None
        self.history: dict[str, dict] = {}
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self._socket_flags: dict[str, dict] = {}
        self._live: dict[web.WebSocketResponse, Any] = {}  # every open socket -> its transport
        self._cache: dict[str, dict | None] = {}
        self._counters: dict[tuple[str, str, str], int] = {}
        self._temp_suffix = "".join(random.choice(string.ascii_lowercase) for _ in range(5))
        self.client_id: str | None = None
        self.last_node_id: str | None = None
        self._http_faults: dict[str, list[int]] = {}
        self._delays: dict[str, list] = {}
        self._exec_faults: list[dict] = []
        self._tasks: list[asyncio.Task] = []
        self._free_flags: dict[str, bool] = {}
        self.models.unload_all()   # a new process starts with nothing on the GPU

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def dir_for(self, kind: str) -> Path | None:
        return {"input": self.root / "input", "output": self.root / "output",
                "temp": self.root / "temp"}.get(kind)

    async def start(self) -> str:
        for kind in ("input", "output"):
            self.dir_for(kind).mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.dir_for("temp"), ignore_errors=True)  # ComfyUI empties temp on start
        self.dir_for("temp").mkdir(parents=True)
        example = self.dir_for("input") / "example.png"
        if not example.exists():
            example.write_bytes(images.preview_png("example", 32))
        self._outbox: asyncio.Queue = asyncio.Queue()
        self._work = asyncio.Event()
        self._idle = asyncio.Event()
        self._interrupt = asyncio.Event()
        app = web.Application(middlewares=[self._middleware], client_max_size=100 * MiB)
        self._add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self.argv[-1] = str(self.port)
        self._tasks = [asyncio.create_task(self._worker(), name="fake-comfy-worker"),
                       asyncio.create_task(self._publisher(), name="fake-comfy-publisher")]
        return self.url

    async def stop(self) -> None:
        await self._shutdown(abort=False)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    async def crash(self) -> None:
        """The server goes away mid-whatever: connections reset, queue and history lost."""
        await self._shutdown(abort=True)

    async def restart(self) -> str:
        """Start again on the same port with empty queue and history, like a relaunched process."""
        await self._shutdown(abort=True)
        port = self.port
        self._reset_state()
        self.port = port
        return await self.start()

    async def _shutdown(self, *, abort: bool) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        for ws, transport in list(self._live.items()):
            if abort and transport is not None:
                transport.abort()
            else:
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeComfyUI":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # ---- fault injection -------------------------------------------------------------------

    def fail_http(self, route: str, times: int = 1, status: int = 500) -> None:
        """The next `times` requests whose path starts with `route` (no /api) answer `status`."""
        self._http_faults[route] = [times, status]

    def slow_route(self, route: str, delay_s: float, times: int | None = None) -> None:
        """Delay requests whose path starts with `route` by delay_s (all of them if times is None)."""
        self._delays[route] = [delay_s, times]

    def fail_next_prompt(self, *, exception_type: str = "RuntimeError",
                         message: str = "CUDA error: an illegal memory access was encountered",
                         node: str | None = None) -> None:
        """The next prompt to run fails with execution_error at `node` (default: its first node)."""
        self._exec_faults.append({"exception_type": exception_type, "message": message, "node": node})

    async def drop_websockets(self) -> None:
        """Every open /ws connection is cut without a close frame (like a network drop)."""
        for ws, transport in list(self._live.items()):
            if transport is not None:
                transport.abort()
            else:
                await ws.close()

    async def until_idle(self) -> None:
        """Until nothing runs or waits and any /free asked for has been done."""
        await self._idle.wait()

    @property
    def queue_remaining(self) -> int:
        return len(self._pending) + (1 if self.running else 0)

    # ---- HTTP plumbing ---------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        routes = [
            ("GET", "/ws", self._ws), ("GET", "/system_stats", self._system_stats),
            ("GET", "/features", self._features), ("GET", "/prompt", self._get_prompt),
            ("POST", "/prompt", self._post_prompt), ("GET", "/queue", self._get_queue),
            ("POST", "/queue", self._post_queue), ("POST", "/interrupt", self._post_interrupt),
            ("POST", "/free", self._post_free), ("GET", "/history", self._get_history),
            ("GET", "/history/{prompt_id}", self._get_history_id), ("POST", "/history", self._post_history),
            ("GET", "/view", self._view), ("POST", "/upload/image", self._upload_image),
            ("GET", "/object_info", self._get_object_info), ("GET", "/object_info/{node_class}", self._get_object_info_class),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
            app.router.add_route(method, "/api" + path, handler)
        app.router.add_post("/__fake__/fault", self._control_fault)
        app.router.add_get("/__fake__/state", self._control_state)

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        path = request.path[4:] if request.path.startswith("/api/") else request.path
        self.request_log.append((request.method, request.path, dict(request.headers)))
        if path.startswith("/__fake__/"):
            return await handler(request)
        origin = request.headers.get("Origin")
        if origin is not None and not _same_origin(origin, request.host or ""):
            return web.Response(status=403)  # ComfyUI's loopback origin guard
        for route, delay in list(self._delays.items()):
            if path.startswith(route):
                seconds, times = delay
                if times is not None:
                    delay[1] = times - 1
                    if delay[1] <= 0:
                        del self._delays[route]
                await asyncio.sleep(seconds)
        for route, fault in list(self._http_faults.items()):
            if path.startswith(route) and fault[0] > 0:
                fault[0] -= 1
                if fault[0] <= 0:
                    del self._http_faults[route]
                return web.Response(status=fault[1], text=_SERVER_ERROR_TEXT if fault[1] == 500 else "")
        return await handler(request)

    def _queue_info(self) -> dict:
        return {"exec_info": {"queue_remaining": self.queue_remaining}}

    # ---- ws --------------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self._live[ws] = request.transport
        sid = request.rel_url.query.get("clientId", "")
        if sid:
            self.sockets.pop(sid, None)  # reusing a session: the older socket silently loses it
        else:
            sid = uuid.uuid4().hex
        self.sockets[sid] = ws
        self._socket_flags[sid] = {}
        try:
            await ws.send_str(json.dumps({"type": "status", "data": {"status": self._queue_info(), "sid": sid}}))
            if self.client_id == sid and self.last_node_id is not None:
                await ws.send_str(json.dumps({"type": "executing", "data": {"node": self.last_node_id}}))
            first = True
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                if first and isinstance(data, dict) and data.get("type") == "feature_flags":
                    self._socket_flags[sid] = dict(data.get("data") or {})
                    await ws.send_str(json.dumps({"type": "feature_flags", "data": _FEATURES}))
                first = False
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            # ComfyUI drops the registration under this sid even if a newer socket owns it now.
            self.sockets.pop(sid, None)
            self._socket_flags.pop(sid, None)
            self._live.pop(ws, None)
        return ws

    def _send(self, event: str, data: dict, sid: str | None, *, broadcast_if_none: bool = False) -> None:
        if sid is None and not broadcast_if_none:
            return
        self._outbox.put_nowait(("text", json.dumps({"type": event, "data": data}), sid))

    def _broadcast_status(self) -> None:
        self._outbox.put_nowait(("text", json.dumps({"type": "status", "data": {"status": self._queue_info()}}), None))

    def _send_progress_with_preview(self, progress: dict, image: bytes, mime: str, node_id: str,
                                    prompt_id: str, sid: str | None) -> None:
        self._outbox.put_nowait(("preview", (progress, image, mime, node_id, prompt_id), sid))

    async def _publisher(self) -> None:
        while True:
            kind, payload, sid = await self._outbox.get()
            if sid is None:
                targets = list(self.sockets.items())
            elif sid in self.sockets:
                targets = [(sid, self.sockets[sid])]
            else:
                continue  # not connected: dropped, never replayed
            for target_sid, ws in targets:
                try:
                    if kind == "text":
                        await ws.send_str(payload)
                    else:
                        await self._send_preview(ws, self._socket_flags.get(target_sid, {}), *payload)
                except (ConnectionResetError, RuntimeError):
                    pass

    @staticmethod
    async def _send_preview(ws, flags: dict, progress: dict, image: bytes, mime: str,
                            node_id: str, prompt_id: str) -> None:
        progress_frame = json.dumps({"type": "progress", "data": progress})
        if flags.get("supports_preview_metadata"):
            meta = json.dumps({"node_id": node_id, "prompt_id": prompt_id, "display_node_id": node_id,
                               "parent_node_id": None, "real_node_id": node_id, "image_type": mime}).encode()
            await ws.send_bytes(struct.pack(">II", 4, len(meta)) + meta + image)
            await ws.send_str(progress_frame)
        else:
            await ws.send_str(progress_frame)
            await ws.send_bytes(struct.pack(">II", 1, 2 if mime == "image/png" else 1) + image)

    # ---- simple routes ---------------------------------------------------------------------

    async def _system_stats(self, request: web.Request) -> web.Response:
        return web.json_response({
            "system": {"os": os.name, "ram_total": 68_719_476_736, "ram_free": 60_000_000_000,
                       "comfyui_version": "0.3.64", "required_frontend_version": "1.27.10",
                       "installed_templates_version": "0.1.95", "required_templates_version": "0.1.95",
                       "python_version": sys.version, "pytorch_version": "2.8.0+cu128 (fake)",
                       "embedded_python": False, "argv": self.argv},
            "devices": [self._device_now()],
        })

    def _device_now(self) -> dict:
        """`self.device` with the loaded models' bytes taken off its free VRAM (tests may remove or
        falsify the VRAM fields to play a server that reports them wrong)."""
        device = dict(self.device)
        used = self.models.used_bytes
        for name in ("vram_free", "torch_vram_free"):
            if isinstance(device.get(name), int):
                device[name] = max(0, device[name] - used)
        return device

    async def _features(self, request: web.Request) -> web.Response:
        return web.json_response(_FEATURES)

    async def _get_prompt(self, request: web.Request) -> web.Response:
        return web.json_response(self._queue_info())

    async def _post_free(self, request: web.Request) -> web.Response:
        """Like ComfyUI: only flags are set here (a body that is not JSON is a 500); the worker acts
        on them when it is idle or once the running prompt has finished."""
        data = await request.json()
        for flag in ("unload_models", "free_memory"):
            if data.get(flag, False):
                self._free_flags[flag] = True
        self._idle.clear()
        self._work.set()
        return web.Response(status=200)

    def _apply_free_flags(self) -> None:
        flags, self._free_flags = self._free_flags, {}
        free_memory = flags.get("free_memory", False)
        if flags.get("unload_models", free_memory):
            self.models.unload_all()
        if free_memory:
            self._cache = {}          # the executor's caches are reset too

    async def _get_queue(self, request: web.Request) -> web.Response:
        return web.json_response({
            "queue_running": [self.running.as_list()] if self.running else [],
            "queue_pending": [entry[2].as_list() for entry in self._pending],  # heap order, like ComfyUI
        })

    async def _post_queue(self, request: web.Request) -> web.Response:
        data = await request.json()
        changed = False
        if data.get("clear"):
            changed = bool(self._pending)
            self._pending = []
        if "delete" in data:
            ids = set(data["delete"])
            kept = [entry for entry in self._pending if entry[2].prompt_id not in ids]
            changed = changed or len(kept) != len(self._pending)
            self._pending = kept
            heapq.heapify(self._pending)
        if changed:
            self._broadcast_status()
        return web.Response(status=200)

    async def _post_interrupt(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
        except ValueError:
            data = {}
        if isinstance(data, dict) and "prompt_id" in data:
            if self.running is not None and self.running.prompt_id == data["prompt_id"]:
                self._interrupt.set()
        elif self.running is not None:
            self._interrupt.set()
        return web.Response(status=200)

    async def _get_history(self, request: web.Request) -> web.Response:
        max_items = request.rel_url.query.get("max_items")
        max_items = len(self.history) if max_items is None else int(max_items)
        offset = int(request.rel_url.query.get("offset", -1))
        if offset < 0 and max_items > 0:
            offset = len(self.history) - max_items
        offset = max(offset, 0)
        keys = list(self.history)[offset:offset + max_items]
        return web.json_response({k: self.history[k] for k in keys})

    async def _get_history_id(self, request: web.Request) -> web.Response:
        prompt_id = request.match_info["prompt_id"]
        entry = self.history.get(prompt_id)
        return web.json_response({prompt_id: entry} if entry is not None else {})

    async def _post_history(self, request: web.Request) -> web.Response:
        data = await request.json()
        if data.get("clear"):
            self.history.clear()
        for prompt_id in data.get("delete", []):
            self.history.pop(prompt_id, None)
        return web.Response(status=200)

    # ---- node definitions --------------------------------------------------------------------

    @property
    def _object_info(self) -> "_CountingDict":
        """The node definitions (class -> definition); changing it (update, [] =, pop...) is noticed."""
        return self._definitions

    @_object_info.setter
    def _object_info(self, value: dict) -> None:
        self._definitions = _CountingDict(value)

    def add_object_info(self, extra: dict) -> None:
        """More node classes / model lists (a copy is kept), like installing custom nodes or models."""
        self._object_info.update(copy.deepcopy(extra))

    def _input_files(self) -> tuple[str, ...]:
        input_dir = self.dir_for("input")
        if not input_dir.is_dir():
            return ()
        return tuple(sorted(p.name for p in input_dir.iterdir()
                            if p.is_file() and p.suffix.lower() in _IMAGE_EXTENSIONS))

    def object_info(self) -> dict:
        """What GET /object_info answers, LoadImage's list naming the files in the input folder.

        POST /prompt validates against it, and deep-copying every definition costs milliseconds,
        so the copy is made once and reused until the definitions change or the input folder's
        file list does (an upload). The dict returned is a fresh top level over shared
        definitions: a caller may add or drop classes, but must not edit a definition in place.
        """
        files = self._input_files() if "LoadImage" in self._object_info else None
        key = (self._object_info.changes, files)
        if self._info_cache is None or self._info_cache[0] != key:
            info = copy.deepcopy(dict(self._object_info))
            if files is not None:
                info["LoadImage"]["input"]["required"]["image"][0] = list(files)
            self._info_cache = (key, info)
        return dict(self._info_cache[1])

    async def _get_object_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.object_info())

    async def _get_object_info_class(self, request: web.Request) -> web.Response:
        name = request.match_info["node_class"]
        info = self.object_info()
        return web.json_response({name: info[name]} if name in info else {})

    # ---- /view and /upload -----------------------------------------------------------------

    def _annotated(self, name: str) -> tuple[str, Path | None]:
        for kind in ("input", "output", "temp"):
            suffix = f" [{kind}]"
            if name.endswith(suffix):
                return name[: -len(suffix)], self.dir_for(kind)
        return name, None

    async def _view(self, request: web.Request) -> web.StreamResponse:
        query = request.rel_url.query
        if "filename" not in query:
            return web.Response(status=404)
        filename, base = self._annotated(query["filename"])
        if not filename:
            return web.Response(status=400)
        if filename[0] == "/" or ".." in filename:
            return web.Response(status=400)
        if base is None:
            base = self.dir_for(query.get("type", "output"))
        if base is None:
            return web.Response(status=400)
        base = base.resolve()
        if "subfolder" in query:
            full = os.path.abspath(os.path.join(base, query["subfolder"]))
            if os.path.commonpath((full, str(base))) != str(base):
                return web.Response(status=403)
            base = Path(full)
        filename = os.path.basename(filename)
        path = base / filename
        if not path.is_file():
            return web.Response(status=404)
        headers = {"Content-Disposition": f'filename="{filename}"'}
        preview = query.get("preview")
        channel = query.get("channel", "rgba")
        if preview or channel != "rgba":
            image = Image.open(path)
            out = io.BytesIO()
            if preview:
                fmt, _, quality = preview.partition(";")
                fmt = "JPEG" if fmt.lower() in ("jpeg", "jpg") else "WEBP" if fmt.lower() == "webp" else "JPEG"
                image.convert("RGB").save(out, fmt, quality=int(quality or 90))
                return web.Response(body=out.getvalue(), content_type=f"image/{fmt.lower()}", headers=headers)
            if channel == "rgb":
                image.convert("RGB").save(out, "PNG")
            else:
                image.convert("RGBA").getchannel("A").save(out, "PNG")
            return web.Response(body=out.getvalue(), content_type="image/png", headers=headers)
        return web.FileResponse(path, headers=headers)

    async def _upload_image(self, request: web.Request) -> web.Response:
        post = await request.post()
        image = post.get("image")
        overwrite = post.get("overwrite")
        kind = post.get("type", "input")
        upload_dir = self.dir_for(kind)
        if upload_dir is None:
            raise ValueError(f"unknown upload type {kind!r}")  # ComfyUI answers 500
        if image is None or not getattr(image, "file", None):
            return web.Response(status=400)
        filename = image.filename
        if not filename:
            return web.Response(status=400)
        upload_dir = str(upload_dir.resolve())
        subfolder = post.get("subfolder", "")
        folder = os.path.join(upload_dir, os.path.normpath(subfolder))
        filepath = os.path.abspath(os.path.join(folder, filename))
        if os.path.commonpath((upload_dir, filepath)) != upload_dir:
            return web.Response(status=400)
        os.makedirs(folder, exist_ok=True)
        content = image.file.read()
        duplicate = False
        if overwrite not in ("true", "1"):
            stem, ext = os.path.splitext(filename)
            counter = 1
            while os.path.exists(filepath):
                if hashlib.sha256(Path(filepath).read_bytes()).digest() == hashlib.sha256(content).digest():
                    duplicate = True
                    break
                filename = f"{stem} ({counter}){ext}"
                filepath = os.path.join(folder, filename)
                counter += 1
        if not duplicate:
            Path(filepath).write_bytes(content)
        return web.json_response({"name": filename, "subfolder": subfolder, "type": kind})

    # ---- /prompt ---------------------------------------------------------------------------

    def _validate_load_image(self, name: str, value: Any) -> str | None:
        filename, base = self._annotated(str(value))
        path = (base or self.dir_for("input")) / filename
        return None if path.is_file() else f"Invalid image file: {value}"

    async def _post_prompt(self, request: web.Request) -> web.Response:
        raw = await request.read()
        data = json.loads(raw)  # not JSON: aiohttp's plain 500, as ComfyUI
        self.received_raw.append(raw)
        self.received_prompts.append(data)
        if "number" in data:
            number = float(data["number"])
        else:
            number = self.number
            self.number += 1
        if "prompt" not in data:
            return web.json_response({"error": {"type": "no_prompt", "message": "No prompt provided",
                                                "details": "No prompt provided", "extra_info": {}},
                                      "node_errors": {}}, status=400)
        prompt = data["prompt"]
        prompt_id = str(data.get("prompt_id", uuid.uuid4()))
        valid, error, outputs, node_errors = validate_prompt(
            prompt, self.object_info(), {"LoadImage": self._validate_load_image})
        extra_data = dict(data.get("extra_data", {}))
        if "client_id" in data:
            extra_data["client_id"] = data["client_id"]
        if not valid:
            return web.json_response({"error": error, "node_errors": node_errors}, status=400)
        item = QueueItem(number, prompt_id, prompt, extra_data, outputs)
        heapq.heappush(self._pending, (number, next(self._seq), item))
        self._broadcast_status()
        self._idle.clear()
        self._work.set()
        return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": node_errors})

    # ---- the worker ------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            self._apply_free_flags()
            while not self._pending:
                self._work.clear()
                self._idle.set()
                await self._work.wait()
                self._apply_free_flags()
            _, _, item = heapq.heappop(self._pending)
            self.running = item
            self._broadcast_status()
            try:
                await self._execute(item)
            finally:
                self.running = None
                self._broadcast_status()
                if item.extra_data.get("client_id") is not None:
                    self._send("executing", {"node": None, "prompt_id": item.prompt_id},
                               item.extra_data["client_id"])
                self.client_id = None
                self.last_node_id = None

    def _execution_order(self, prompt: dict, outputs: list[str]) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()

        def visit(node_id: str) -> None:
            if node_id in seen:
                return
            seen.add(node_id)
            for value in prompt[node_id].get("inputs", {}).values():
                if _is_link(value):
                    visit(value[0])
            order.append(node_id)

        for output_id in outputs:
            visit(output_id)
        return order

    def _signatures(self, prompt: dict, order: list[str]) -> dict[str, str]:
        sigs: dict[str, str] = {}
        for node_id in order:
            node = prompt[node_id]
            parts: dict[str, Any] = {}
            for name, value in sorted(node.get("inputs", {}).items()):
                parts[name] = ["link", sigs.get(value[0]), value[1]] if _is_link(value) else value
            if node["class_type"] == "LoadImage":
                path = self.dir_for("input") / self._annotated(str(node["inputs"].get("image")))[0]
                parts["__file__"] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            sigs[node_id] = hashlib.sha256(json.dumps([node["class_type"], parts], sort_keys=True,
                                                      default=str).encode()).hexdigest()
        return sigs

    async def _pause(self, seconds: float, node_id: str) -> None:
        """Simulated work; an interrupt takes effect here, like at a progress tick."""
        if self._interrupt.is_set():
            raise _Interrupted(node_id)
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._interrupt.wait(), seconds)
        except asyncio.TimeoutError:
            return
        raise _Interrupted(node_id)

    async def _execute(self, item: QueueItem) -> None:
        prompt, prompt_id, sid = item.prompt, item.prompt_id, item.extra_data.get("client_id")
        self.client_id = sid
        self._interrupt.clear()  # an interrupt sent while idle does not touch the next prompt
        messages: list[list] = []

        def event(name: str, data: dict, keep: bool = True) -> None:
            if keep:
                messages.append([name, data])
            self._send(name, data, sid)

        event("execution_start", {"prompt_id": prompt_id, "timestamp": _now_ms()})
        order = self._execution_order(prompt, item.outputs)
        sigs = self._signatures(prompt, order)
        cached = [n for n in order if sigs[n] in self._cache and prompt[n]["class_type"] not in _NEVER_CACHED]
        event("execution_cached", {"nodes": cached, "prompt_id": prompt_id, "timestamp": _now_ms()})
        to_run = [n for n in order if n not in cached]
        budget = self.exec_ms_by_prompt.pop(prompt_id, self.exec_ms) / 1000.0
        samplers = [n for n in to_run if prompt[n]["class_type"] in _SAMPLERS]
        if samplers:
            sampler_share = budget * 0.9 / len(samplers)
            other_share = budget * 0.1 / max(1, len(to_run) - len(samplers))
        else:
            sampler_share, other_share = 0.0, budget / max(1, len(to_run))
        fault = self._exec_faults.pop(0) if self._exec_faults else None
        model = model_files(prompt)
        loading = bool(to_run and model)    # the first node that runs waits for the models first
        new_cache: dict[str, dict | None] = {}
        outputs_ui: dict[str, dict] = {}
        executed: list[str] = []
        try:
            for node_id in order:
                node = prompt[node_id]
                if node_id in cached:
                    ui = self._cache[sigs[node_id]]
                    new_cache[sigs[node_id]] = ui
                    if ui is not None:
                        outputs_ui[node_id] = ui
                        self._send("executed", {"node": node_id, "display_node": node_id, "output": ui,
                                                "prompt_id": prompt_id}, sid)
                    continue
                self.last_node_id = node_id
                self._send("executing", {"node": node_id, "display_node": node_id, "prompt_id": prompt_id}, sid)
                if self._interrupt.is_set():
                    raise _Interrupted(node_id)
                if fault is not None and fault["node"] in (None, node_id):
                    raise _NodeFailed(node_id, fault["exception_type"], fault["message"],
                                      self._current_inputs(node))
                if loading:
                    await self._pause(self.models.load_seconds(model), node_id)
                    self.models.use(prompt_id, model)
                    loading = False
                share = sampler_share if node_id in samplers else other_share
                ui = await self._run_node(item, node_id, share)
                executed.append(node_id)
                if prompt[node_id]["class_type"] not in _NEVER_CACHED:
                    new_cache[sigs[node_id]] = ui
                if ui is not None:
                    outputs_ui[node_id] = ui
                    self._send("executed", {"node": node_id, "display_node": node_id, "output": ui,
                                            "prompt_id": prompt_id}, sid)
        except _Interrupted as stop:
            event("execution_interrupted", {"prompt_id": prompt_id, "node_id": stop.node_id,
                                            "node_type": prompt[stop.node_id]["class_type"],
                                            "executed": executed, "timestamp": _now_ms()})
            self._finish(item, {}, messages, "error", new_cache, meta={})
            return
        except _NodeFailed as failure:
            event("execution_error", {
                "prompt_id": prompt_id, "node_id": failure.node_id,
                "node_type": prompt[failure.node_id]["class_type"], "executed": executed,
                "exception_message": failure.message, "exception_type": failure.exception_type,
                "traceback": [f'  File "{self.root}/execution.py", line 496, in execute\n'
                              "    output_data, output_ui, has_subgraph = await get_output_data(...)\n"],
                "current_inputs": failure.inputs, "current_outputs": list(order), "timestamp": _now_ms()})
            self._finish(item, {}, messages, "error", new_cache, meta={})
            return
        self.finished_at[prompt_id] = time.perf_counter()
        event("execution_success", {"prompt_id": prompt_id, "timestamp": _now_ms()})
        meta = {n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n} for n in outputs_ui}
        self._finish(item, outputs_ui, messages, "success", new_cache, meta=meta)

    def _finish(self, item: QueueItem, outputs: dict, messages: list, status: str,
                new_cache: dict, meta: dict) -> None:
        self._cache = new_cache
        self.history[item.prompt_id] = {
            "prompt": item.as_list(), "outputs": outputs,
            "status": {"status_str": status, "completed": status == "success", "messages": messages},
            "meta": meta,
        }

    @staticmethod
    def _current_inputs(node: dict) -> dict:
        return {k: [v] for k, v in node.get("inputs", {}).items() if not _is_link(v)}

    async def _run_node(self, item: QueueItem, node_id: str, seconds: float) -> dict | None:
        prompt, prompt_id, sid = item.prompt, item.prompt_id, item.extra_data.get("client_id")
        node = prompt[node_id]
        class_type, inputs = node["class_type"], node.get("inputs", {})
        if class_type == "LoadImage":
            path = (self.dir_for("input") / self._annotated(str(inputs["image"]))[0]).resolve()
            try:
                Image.open(path).verify()
            except Exception as exc:
                raise _NodeFailed(node_id, "PIL.UnidentifiedImageError",
                                  f"cannot identify image file '{path}'\n", self._current_inputs(node)) from exc
            await self._pause(seconds, node_id)
            return None
        if class_type in _SAMPLERS:
            steps = max(1, self.progress_steps)
            for step in range(1, steps + 1):
                await self._pause(seconds / steps, node_id)
                self._send_progress_with_preview(
                    {"value": step, "max": steps, "prompt_id": prompt_id, "node": node_id},
                    images.preview_jpeg(f"{prompt_id}-{step}"), "image/jpeg", node_id, prompt_id, sid)
            return None
        if class_type == "SaveImageWebsocket":
            width, height, batch = self._image_shape(prompt, node_id)
            for index in range(batch):
                await self._pause(seconds / batch, node_id)
                self._send_progress_with_preview(
                    {"value": index, "max": batch, "prompt_id": prompt_id, "node": node_id},
                    images.preview_png(f"{prompt_id}-{node_id}-{index}", min(width, 256)), "image/png", node_id,
                    prompt_id, sid)
            return None
        await self._pause(seconds, node_id)
        if class_type in ("SaveImage", "PreviewImage"):
            return {"images": await self._save_images(item, node_id)}
        return None

    def _image_shape(self, prompt: dict, node_id: str, depth: int = 0) -> tuple[int, int, int]:
        """(width, height, batch) of the images a node makes, following the picture upstream
        (images, pixels, samples, latent...) to where its size is set: an empty latent or image,
        a loaded image, a scale node. Latents count in blocks of 8 pixels, as ComfyUI's do."""
        node = prompt[node_id]
        class_type, inputs = node["class_type"], node.get("inputs", {})
        if class_type == "LoadImage":
            try:
                with Image.open(self.dir_for("input") / self._annotated(str(inputs["image"]))[0]) as img:
                    return img.width, img.height, 1
            except Exception:
                return 64, 64, 1
        if "width" in inputs and "height" in inputs and not _is_link(inputs["width"]) and not _is_link(inputs["height"]):
            width, height = int(inputs["width"]), int(inputs["height"])
            batch = inputs.get("batch_size", 1)
            batch = int(batch) if not _is_link(batch) else 1
            if "Latent" in class_type:
                width, height = width // 8 * 8, height // 8 * 8
            return max(1, width), max(1, height), max(1, min(batch, 64))
        upstream = next((inputs[name] for name in _PICTURE_INPUTS if _is_link(inputs.get(name))), None)
        if upstream is None or depth >= 50 or upstream[0] not in prompt:
            return 64, 64, 1
        width, height, batch = self._image_shape(prompt, upstream[0], depth + 1)
        if class_type == "ImageScaleToTotalPixels":
            scale = (float(inputs.get("megapixels", 1.0)) * 1024 * 1024 / (width * height)) ** 0.5
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        elif class_type == "ImageScaleBy":      # ComfyUI: round(side * scale_by)
            scale = float(inputs.get("scale_by", 1.0))
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        elif class_type == "VAEEncode":
            width, height = max(8, width // 8 * 8), max(8, height // 8 * 8)
        if "batch_size" in inputs and not _is_link(inputs["batch_size"]):
            batch = int(inputs["batch_size"])
        return width, height, max(1, min(batch, 64))

    async def _save_images(self, item: QueueItem, node_id: str) -> list[dict]:
        node = item.prompt[node_id]
        if node["class_type"] == "PreviewImage":
            kind, subfolder, prefix = "temp", "", "ComfyUI_temp_" + self._temp_suffix
        else:
            kind = "output"
            full_prefix = str(node["inputs"].get("filename_prefix", "ComfyUI"))
            subfolder, prefix = os.path.split(os.path.normpath(full_prefix))
            base = str(self.dir_for("output").resolve())
            if os.path.commonpath((base, os.path.abspath(os.path.join(base, subfolder)))) != base:
                raise _NodeFailed(node_id, "Exception", "Saving image outside the output folder is not allowed."
                                  f"\n full_output_folder: {os.path.abspath(os.path.join(base, subfolder))}"
                                  f"\n         output_dir: {base}", self._current_inputs(node))
        folder = self.dir_for(kind) / subfolder
        folder.mkdir(parents=True, exist_ok=True)
        key = (kind, subfolder, prefix)
        if key not in self._counters:
            existing = [int(p.name[len(prefix) + 1: len(prefix) + 6]) for p in folder.glob(f"{prefix}_*_.png")
                        if p.name[len(prefix) + 1: len(prefix) + 6].isdigit()]
            self._counters[key] = max(existing, default=0) + 1
        width, height, batch = self._image_shape(item.prompt, node_id)
        if self.output_size is not None:
            width, height = self.output_size
        extra_pnginfo = item.extra_data.get("extra_pnginfo")
        refs, files = [], []
        for index in range(batch):
            counter = self._counters[key]
            self._counters[key] += 1
            filename = f"{prefix}_{counter:05}_.png"
            files.append((folder / filename,
                          f"{item.prompt_id}-{node_id}-{index}-{json.dumps(item.prompt, sort_keys=True)}"))
            refs.append({"filename": filename, "subfolder": subfolder, "type": kind})

        def write() -> None:      # encoding a real-size PNG takes ~0.1 s: off the loop, as in its own process
            for path, image_key in files:
                path.write_bytes(images.output_png(width, height, image_key, item.prompt, extra_pnginfo,
                                                   self.output_compress_level, flat=self.flat_outputs))
        await asyncio.to_thread(write)
        return refs

    # ---- control routes (for out-of-process use, e.g. the supervisor's tests) --------------

    async def _control_fault(self, request: web.Request) -> web.Response:
        data = await request.json()
        kind = data.get("kind")
        if kind == "http_error":
            self.fail_http(data["route"], int(data.get("times", 1)), int(data.get("status", 500)))
        elif kind == "slow":
            self.slow_route(data["route"], float(data["delay_ms"]) / 1000, data.get("times"))
        elif kind == "execution_error":
            self.fail_next_prompt(**{k: data[k] for k in ("exception_type", "message", "node") if k in data})
        elif kind == "drop_ws":
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.drop_websockets()))
        elif kind == "exec_ms":
            self.exec_ms = float(data["exec_ms"])
        elif kind == "crash":
            loop = asyncio.get_running_loop()
            if self.exit_on_crash:
                loop.call_later(0.02, os._exit, 70)
            else:
                loop.call_later(0.02, lambda: asyncio.ensure_future(self.crash()))
        else:
            return web.json_response({"error": f"unknown fault kind {kind!r}"}, status=400)
        return web.json_response({"ok": True})

    async def _control_state(self, request: web.Request) -> web.Response:
        return web.json_response({
            "queue_remaining": self.queue_remaining, "history": list(self.history),
            "sockets": list(self.sockets), "received_prompts": len(self.received_prompts),
            "finished_at": self.finished_at,
            "models_loaded": [sorted(model) for model in self.models.resident],
            "model_loads": len(self.models.loads),
        })

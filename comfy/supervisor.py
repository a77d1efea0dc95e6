"""Launch or attach the local ComfyUI, and keep it running.

On `start()` the supervisor first asks the configured URL for /system_stats. If a ComfyUI answers
there it is used as is (attached: never launched, never killed). Otherwise, when a ComfyUI folder
is configured, it launches `main.py` with that folder's own Python on 127.0.0.1, waits until it
answers, and from then on watches it: a crash (the child exits) or a hang (health checks fail
`health_failures` times in a row) restarts it with exponential backoff, and too many crashes in a
short window give up with a message naming the log.

Once ComfyUI is up, its health checks are the backend pool's (`probes=pool`): the pool's poller is
the only one asking /system_stats, and the supervisor counts its failed checks. Without a pool it
asks /system_stats itself every `health_interval_s`. Its own quick probes remain only for attaching
and for waiting until a launched ComfyUI answers.

Every state change goes to the `on_state` callback as a `ComfyStateChanged`; the app forwards it
onto the core event bus, where the scheduler holds jobs while ComfyUI is not UP.

The child's stdout and stderr (merged) go line by line to the `comfyui` logger, and the last
`log_lines` lines stay available through `recent_lines()`.

Stopping ends ComfyUI's whole process tree. On Linux and macOS the child leads its own process
group: SIGTERM, then SIGKILL after `stop_timeout_s`. On Windows it runs without a console window
inside a job object (`comfy/winjob.py`), which is terminated as a whole; `taskkill /F /T` is the
fallback where a job object cannot be made. There is no graceful step on Windows: a windowed app
has no console to send Ctrl-Break through, and ComfyUI keeps nothing it would save on one.

Only stdlib and aiohttp here (and the pool's `Probe`): no Qt, no discord.
"""
from __future__ import annotations

import asyncio
import codecs
import enum
import ipaddress
import logging
import os
import shlex
import shutil
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp

from comfy.backends import Probe
from comfy.errors import ComfyError
from comfy.urls import without_login
from comfy.winjob import ProcessTreeJob

log = logging.getLogger(__name__)
comfy_log = logging.getLogger("comfyui")  # the child's own output; the Logs window shows it

IS_WINDOWS = os.name == "nt"
# ComfyUI gets a hidden console of its own: no black window beside the windowed app, and a Ctrl+C
# typed in the terminal of `python main.py` reaches the app (which stops ComfyUI), not ComfyUI.
_CREATE_NO_WINDOW = 0x08000000
RESTARTING_MESSAGE = "ComfyUI is restarting, your job keeps its place"
_LAST_LINES_IN_MESSAGES = 15


class SupervisorError(ComfyError):
    """ComfyUI could not be attached or launched; the message says which setting to fix."""


class SupervisorState(enum.StrEnum):
    STOPPED = "stopped"         # not started, or stopped by the app
    STARTING = "starting"       # launched, waiting for /system_stats to answer
    UP = "up"                   # answering (launched by us, or attached)
    RESTARTING = "restarting"   # our child crashed or hung; it is being restarted
    WAITING = "waiting"         # an attached ComfyUI stopped answering; probing until it is back
    FAILED = "failed"           # gave up; the message says why and what to fix

    @property
    def is_up(self) -> bool:
        return self is SupervisorState.UP


@dataclass(frozen=True)
class ComfyStateChanged:
    """Published on every state change (and every second or so while STARTING/RESTARTING)."""
    state: SupervisorState
    url: str
    message: str
    started_by_us: bool
    restarts: int
    elapsed_s: float | None = None   # seconds since this launch began, while STARTING/RESTARTING
    pid: int | None = None

    @property
    def is_up(self) -> bool:
        """True is "comfy_up": jobs may go to ComfyUI. False is "comfy_down": hold them."""
        return self.state.is_up


@dataclass
class SupervisorConfig:
    url: str = "http://127.0.0.1:8188"     # where to look for a running ComfyUI
    folder: str | Path | None = None       # ComfyUI checkout to launch when none answers
    python: str | Path | None = None       # interpreter; default: the folder's venv / python_embeded
    port: int | None = None                # port to launch on; default: the url's port
    listen: str = "127.0.0.1"
    extra_args: str | Sequence[str] = ()   # more ComfyUI flags, a shell-style string or a list
    allow_non_loopback: bool = False       # ComfyUI has no authentication: loopback only unless asked
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # e.g. auth for a proxy
    ready_timeout_s: float = 300.0
    ready_poll_interval_s: float = 0.25
    progress_interval_s: float = 1.0       # how often STARTING/RESTARTING re-publish elapsed time
    probe_timeout_s: float = 5.0
    health_interval_s: float = 10.0
    health_failures: int = 3               # failed health checks in a row that count as a hang
    restart_backoff_min_s: float = 1.0
    restart_backoff_max_s: float = 60.0
    max_quick_crashes: int = 3             # this many crashes within the window: give up
    quick_crash_window_s: float = 120.0
    stop_timeout_s: float = 10.0           # SIGTERM, then SIGKILL after this; the most a stop waits
    log_lines: int = 500
    max_line_chars: int = 4000


class _Probe(enum.Enum):
    COMFY = "comfy"
    NOT_LISTENING = "not listening"   # connection refused, host unknown
    NOT_ANSWERING = "not answering"   # connected, no answer in time (hung?)
    NOT_COMFY = "not comfy"           # answered, but not like ComfyUI


@dataclass(frozen=True)
class _ProbeResult:
    kind: _Probe
    detail: str = ""
    status: int | None = None


class ProbeFeed(Protocol):
    """Where the health checks come from when the supervisor asks none itself (a BackendPool)."""
    urls: list[str]

    def add_probe_listener(self, callback: Callable[[Probe], None]) -> Callable[[], None]: ...


@dataclass(frozen=True)
class _LaunchPlan:
    python: str
    folder: Path
    args: list[str]
    url: str


class ComfySupervisor:
    def __init__(self, config: SupervisorConfig,
                 on_state: Callable[[ComfyStateChanged], None] | None = None,
                 probes: ProbeFeed | None = None) -> None:
        self._config = config
        self._on_state = on_state
        self._probes = probes
        self._stop_hearing: Callable[[], None] | None = None
        self._checks: asyncio.Queue[_ProbeResult] = asyncio.Queue()   # the pool's checks of our URL
        self._state = SupervisorState.STOPPED
        self._url = config.url.rstrip("/")
        self._started_by_us = False
        self._restarts = 0
        self._lines: deque[str] = deque(maxlen=max(1, config.log_lines))
        self._lines_total = 0        # lines ever captured; with _run_first_line, "this run's lines"
        self._run_first_line = 0
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._job: ProcessTreeJob | None = None   # Windows: the launched child's process tree
        self._reader: asyncio.Task | None = None
        self._exit_task: asyncio.Task | None = None
        self._first_outcome: asyncio.Future | None = None
        self._stop_requested = False

    # ---- public API ---------------------------------------------------------------------------

    @property
    def state(self) -> SupervisorState:
        return self._state

    @property
    def url(self) -> str:
        return self._url

    @property
    def started_by_us(self) -> bool:
        return self._started_by_us

    @property
    def restarts(self) -> int:
        return self._restarts

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    def recent_lines(self) -> list[str]:
        """The child's last output lines, oldest first."""
        return list(self._lines)

    async def start(self) -> None:
        """Attach or launch. Returns once ComfyUI answers; raises SupervisorError saying what to fix."""
        if self._task is not None and not self._task.done():
            raise SupervisorError("the ComfyUI supervisor is already running; stop() it first")
        self._restarts = 0
        self._started_by_us = False
        self._stop_requested = False
        self._url = self._config.url.rstrip("/")
        # One connection per probe: a pooled connection to a ComfyUI that died would look like garbage.
        self._session = aiohttp.ClientSession(headers=dict(self._config.headers),
                                              connector=aiohttp.TCPConnector(force_close=True))
        if self._probes is not None:
            self._stop_hearing = self._probes.add_probe_listener(self._on_probe)
        try:
            await self._start()
        except SupervisorError as exc:
            await self._shut_down()
            if not self._stop_requested and self._state is not SupervisorState.FAILED:
                self._publish(SupervisorState.FAILED, str(exc))
            raise
        except BaseException:
            await self._shut_down()
            raise

    async def stop(self) -> None:
        """Stop watching; end the process only if this app started it. Never kills an attached ComfyUI."""
        self._stop_requested = True
        await self._shut_down()
        self._started_by_us = False
        self._publish(SupervisorState.STOPPED, "ComfyUI supervisor stopped")

    async def _shut_down(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._end_child(graceful=True)
        await self._close_session()
        stop_hearing, self._stop_hearing = self._stop_hearing, None
        if stop_hearing is not None:
            stop_hearing()
        first, self._first_outcome = self._first_outcome, None
        if first is not None and not first.done():
            first.set_exception(SupervisorError("the ComfyUI supervisor was stopped before ComfyUI was up"))
            first.exception()  # marked as retrieved: start() may not be waiting any more

    # ---- start ----------------------------------------------------------------------------------

    async def _start(self) -> None:
        config = self._config
        launch_url = None
        if config.folder is not None:
            self._check_listen()  # a security setting: refuse at once, even if we would attach
            launch_url = self._launch_url()

        found = await self._probe(self._url)
        if found.kind is _Probe.NOT_LISTENING and launch_url is not None and launch_url != self._url:
            self._url = launch_url
            found = await self._probe(self._url)

        if found.kind is _Probe.COMFY:
            self._publish(SupervisorState.UP, f"Using the ComfyUI already running at {self._url}")
            self._task = asyncio.create_task(self._watch_attached(), name="comfy-supervisor")
            return
        if found.kind is not _Probe.NOT_LISTENING:
            raise SupervisorError(self._occupied_message(found))
        if config.folder is None:
            raise SupervisorError(
                f"No ComfyUI answers at {self._url} and comfy_folder is not set: start ComfyUI "
                f"there, or set comfy_folder so the app can launch it ({found.detail})")
        plan = self._plan_launch()
        self._first_outcome = first = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run_launched(plan), name="comfy-supervisor")
        await asyncio.shield(first)

    def _occupied_message(self, found: _ProbeResult) -> str:
        where = _host_port(self._url)
        if found.status in (401, 403):
            return (f"{self._url} refuses access (HTTP {found.status}): check comfy_urls and "
                    f"comfy_api_key")
        if found.kind is _Probe.NOT_ANSWERING:
            what = f"{where} accepts connections but does not answer like ComfyUI"
        else:
            what = f"{where} is in use by another program that is not ComfyUI"
        fix = "change the port in COMFY_URL (comfy_urls) or stop that program" if self._config.folder is not None \
            else "check comfy_urls"
        return f"{what}: {fix} ({found.detail})"

    # ---- launch plan: folder, python, arguments -------------------------------------------------

    def _parse_args(self) -> tuple[str, int, list[str], str]:
        """The effective --listen and --port (extra args win, as in ComfyUI), the other args, and
        which setting the listen address came from."""
        config = self._config
        extra = _split_args(config.extra_args) if isinstance(config.extra_args, str) \
            else [str(a) for a in config.extra_args]
        listen, listen_from = config.listen, "the listen address"
        port = config.port if config.port is not None else (urlsplit(self._config.url).port or 8188)
        rest: list[str] = []
        i = 0
        while i < len(extra):
            arg = extra[i]
            name, eq, value = arg.partition("=")
            if name in ("--listen", "--port"):
                if not eq:
                    has_value = i + 1 < len(extra) and not extra[i + 1].startswith("--")
                    value = extra[i + 1] if has_value else ""
                    i += 1 if has_value else 0
                if name == "--listen":
                    listen = value or "0.0.0.0,::"  # ComfyUI's meaning of a bare --listen
                    listen_from = "--listen in comfy_extra_args"
                else:
                    try:
                        port = int(value)
                    except ValueError:
                        raise SupervisorError(
                            f"comfy_extra_args has --port {value!r}, which is not a port number") from None
            else:
                rest.append(arg)
            i += 1
        return listen, port, rest, listen_from

    def _check_listen(self) -> None:
        listen, _, _, listen_from = self._parse_args()
        if self._config.allow_non_loopback:
            return
        exposed = [h for h in listen.split(",") if not _is_loopback(h.strip())]
        if exposed:
            raise SupervisorError(
                f"{listen_from} {listen} would make ComfyUI reachable from other machines, "
                f"and ComfyUI has no authentication of its own: listen on 127.0.0.1, or set "
                f"comfy_allow_non_loopback if you really mean it (and protect it with a firewall)")

    def _launch_url(self) -> str:
        listen, port, rest, _ = self._parse_args()
        return _url_for_launch(listen, port, rest)

    def _plan_launch(self) -> _LaunchPlan:
        config = self._config
        assert config.folder is not None
        folder = Path(config.folder).expanduser()
        if not folder.is_dir():
            raise SupervisorError(f"comfy_folder {folder} does not exist or is not a folder: "
                                  f"set comfy_folder to your ComfyUI folder (the one with main.py)")
        folder = comfy_root(folder)
        if not (folder / "main.py").is_file():
            raise SupervisorError(f"comfy_folder {folder} has no main.py: set comfy_folder to your "
                                  f"ComfyUI folder (the one with main.py)")
        python = self._find_python(folder)
        listen, port, rest, _ = self._parse_args()
        args = ["main.py", "--listen", listen, "--port", str(port), *rest]
        return _LaunchPlan(python=python, folder=folder, args=args, url=_url_for_launch(listen, port, rest))

    def _find_python(self, folder: Path) -> str:
        configured = self._config.python
        if configured is not None:
            text = str(configured)
            path = Path(text).expanduser()
            if path.is_file():
                return str(path)
            found = shutil.which(text) if os.sep not in text and "/" not in text else None
            if found:
                return found
            raise SupervisorError(f"comfy_python {text} was not found: set comfy_python to the "
                                  f"Python that runs ComfyUI (or leave it empty to use the folder's venv)")
        # The folder's venv (this OS's layout first), then the Windows portable package's own
        # Python beside the ComfyUI folder ("python_embeded" is ComfyUI's spelling).
        layouts = ["Scripts/python.exe", "bin/python"] if IS_WINDOWS else ["bin/python", "Scripts/python.exe"]
        candidates = [folder / venv / layout for venv in ("venv", ".venv") for layout in layouts]
        candidates.append(folder.parent / "python_embeded" / "python.exe")
        for candidate in candidates:
            if candidate.is_file():
                return str(candidate)
        looked = ", ".join(str(c) for c in candidates)
        raise SupervisorError(f"No Python found for ComfyUI in {folder} (looked for {looked}): "
                              f"set comfy_python to the Python that runs ComfyUI")

    # ---- supervising a child we launched --------------------------------------------------------

    async def _run_launched(self, plan: _LaunchPlan) -> None:
        config = self._config
        crashes: deque[float] = deque()
        restarting = False
        while True:
            try:
                await self._spawn(plan)
            except OSError as exc:
                self._give_up(f"comfy_python {plan.python} could not start ComfyUI: {exc}")
                return
            state = SupervisorState.RESTARTING if restarting else SupervisorState.STARTING
            if not await self._wait_ready(state):
                await self._end_child(graceful=False)
                self._give_up(f"ComfyUI did not answer at {self._url} within {config.ready_timeout_s:g} s "
                              f"(ready_timeout_s)." + self._last_lines_text())
                return
            if self._exit_task is not None and self._exit_task.done():
                reason = f"ComfyUI {_describe_exit(self._exit_task.result())} while starting"
            else:
                self._publish(SupervisorState.UP, f"ComfyUI is up at {self._url}")
                self._resolve_first()
                reason = await self._watch_child()
            await self._end_child(graceful=False)  # ComfyUI's own children too, so the port is free

            now = time.monotonic()
            crashes.append(now)
            while crashes and now - crashes[0] > config.quick_crash_window_s:
                crashes.popleft()
            if len(crashes) >= config.max_quick_crashes:
                self._give_up(
                    f"ComfyUI failed {len(crashes)} times within {config.quick_crash_window_s:g} s, "
                    f"so it is not restarted again (max_quick_crashes). Last failure: {reason}. "
                    f"See the ComfyUI log (Logs window, logger 'comfyui') for why."
                    + self._last_lines_text())
                return
            backoff = min(config.restart_backoff_max_s,
                          config.restart_backoff_min_s * 2 ** (len(crashes) - 1))
            log.warning("ComfyUI: %s; restarting in %.1f s", reason, backoff)
            self._publish(SupervisorState.RESTARTING, f"{RESTARTING_MESSAGE} ({reason})")
            await asyncio.sleep(backoff)
            self._restarts += 1
            restarting = True

    async def _spawn(self, plan: _LaunchPlan) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
        kwargs: dict = {}
        if IS_WINDOWS:
            kwargs["creationflags"] = _CREATE_NO_WINDOW
        else:
            kwargs["start_new_session"] = True    # its own process group: stop() signals all of it
        log.info("launching ComfyUI: %s %s (in %s)", plan.python, shlex.join(plan.args), plan.folder)
        proc = await asyncio.create_subprocess_exec(
            plan.python, *plan.args, cwd=str(plan.folder), env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, **kwargs)
        self._proc = proc
        if IS_WINDOWS:
            self._job = _job_for(proc.pid)
        self._run_first_line = self._lines_total
        self._started_by_us = True
        self._url = plan.url
        self._exit_task = asyncio.create_task(proc.wait(), name="comfyui-exit")
        assert proc.stdout is not None
        self._reader = asyncio.create_task(self._read_output(proc.stdout), name="comfyui-log")

    async def _wait_ready(self, state: SupervisorState) -> bool:
        """Until ComfyUI answers or the child exits (True), or ready_timeout_s passes (False)."""
        config = self._config
        assert self._exit_task is not None
        began = time.monotonic()
        last_progress = -config.progress_interval_s
        while True:
            elapsed = time.monotonic() - began
            if elapsed - last_progress >= config.progress_interval_s:
                last_progress = elapsed
                text = (f"{RESTARTING_MESSAGE} ({elapsed:.0f} s)" if state is SupervisorState.RESTARTING
                        else f"Starting ComfyUI… {elapsed:.0f} s")
                self._publish(state, text, elapsed_s=elapsed)
            if elapsed >= config.ready_timeout_s:
                return False
            done, _ = await asyncio.wait({self._exit_task}, timeout=config.ready_poll_interval_s)
            if done or (await self._probe(self._url)).kind is _Probe.COMFY:
                return True

    async def _watch_child(self) -> str:
        """Wait until the child exits or hangs; returns why."""
        config = self._config
        assert self._exit_task is not None
        self._forget_checks()
        failures = 0
        while True:
            found = await self._next_check()
            if found is None:
                return f"ComfyUI {_describe_exit(self._exit_task.result())}"
            if found.kind is _Probe.COMFY:
                failures = 0
                continue
            if self._exit_task.done():
                continue  # reported as an exit on the next turn
            failures += 1
            log.warning("ComfyUI health check %d/%d failed: %s", failures, config.health_failures,
                        found.detail or found.kind.value)
            if failures >= config.health_failures:
                return (f"ComfyUI stopped answering at {self._url} "
                        f"({failures} health checks failed in a row: {found.detail or found.kind.value})")

    def _give_up(self, message: str) -> None:
        log.error("%s", message)
        self._publish(SupervisorState.FAILED, message)
        if self._first_outcome is not None and not self._first_outcome.done():
            self._first_outcome.set_exception(SupervisorError(message))

    def _resolve_first(self) -> None:
        if self._first_outcome is not None and not self._first_outcome.done():
            self._first_outcome.set_result(None)

    def _last_lines_text(self) -> str:
        """The latest run's last lines, for messages."""
        this_run = min(self._lines_total - self._run_first_line, len(self._lines))
        lines = list(self._lines)[len(self._lines) - this_run:][-_LAST_LINES_IN_MESSAGES:]
        if not lines:
            return " ComfyUI printed nothing."
        return " Last lines:\n" + "\n".join(lines)

    # ---- supervising an attached ComfyUI --------------------------------------------------------

    async def _watch_attached(self) -> None:
        """Probe an attached ComfyUI; publish WAITING when it goes away and UP when it is back.
        With a folder configured, launch our own once nothing listens there any more."""
        config = self._config
        self._forget_checks()
        failures = 0
        up = True
        while True:
            found = await self._next_check()
            assert found is not None   # no child of ours to exit
            if found.kind is _Probe.COMFY:
                failures = 0
                if not up:
                    up = True
                    self._publish(SupervisorState.UP, f"ComfyUI at {self._url} answers again")
                continue
            failures += 1
            gone = found.kind is _Probe.NOT_LISTENING
            if up and (gone or failures >= config.health_failures):
                up = False
                self._publish(SupervisorState.WAITING,
                              f"ComfyUI at {self._url} stopped answering ({found.detail or found.kind.value}); "
                              f"waiting for it to come back, your job keeps its place")
            if not up and gone and config.folder is not None:
                try:
                    plan = self._plan_launch()
                except SupervisorError as exc:
                    self._give_up(f"The ComfyUI at {self._url} went away and ours cannot be launched: {exc}")
                    return
                log.info("the attached ComfyUI went away; launching our own")
                await self._run_launched(plan)
                return

    # ---- health checks --------------------------------------------------------------------------

    async def _next_check(self) -> _ProbeResult | None:
        """The next health check of ComfyUI: the pool's next check of our URL when it feeds us,
        else one probe of our own after health_interval_s. None when our child exited first."""
        exit_task = self._exit_task if self._started_by_us else None
        if self._probes is None:
            if exit_task is None:
                await asyncio.sleep(self._config.health_interval_s)
            elif (await asyncio.wait({exit_task}, timeout=self._config.health_interval_s))[0]:
                return None
            return await self._probe(self._url)
        check = asyncio.ensure_future(self._checks.get())
        try:
            await asyncio.wait({check} | ({exit_task} if exit_task is not None else set()),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            check.cancel()
        return check.result() if check.done() and not check.cancelled() else None

    def _forget_checks(self) -> None:
        """Checks made before ComfyUI was (again) up say nothing about it now."""
        while not self._checks.empty():
            self._checks.get_nowait()

    def _on_probe(self, probe: Probe) -> None:
        if not self._is_ours(probe.url):
            return
        kind = (_Probe.COMFY if probe.ok else _Probe.NOT_LISTENING if not probe.listening
                else _Probe.NOT_ANSWERING)
        self._checks.put_nowait(_ProbeResult(kind, "" if probe.ok else probe.detail))

    def _is_ours(self, url: str) -> bool:
        """Our URL, or the pool's only backend (the same ComfyUI written another way)."""
        assert self._probes is not None
        return url == without_login(self._url) or len(self._probes.urls) == 1

    # ---- probing --------------------------------------------------------------------------------

    async def _probe(self, url: str) -> _ProbeResult:
        """One GET /system_stats with one short timeout. ComfyUI answers JSON with system and devices."""
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=self._config.probe_timeout_s)
        ssl = False if url.startswith("https://") else None  # a local self-signed certificate is fine
        try:
            async with self._session.get(f"{url}/system_stats", timeout=timeout, ssl=ssl,
                                         allow_redirects=False) as resp:
                if resp.status != 200:
                    return _ProbeResult(_Probe.NOT_COMFY, f"HTTP {resp.status} from /system_stats", resp.status)
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    return _ProbeResult(_Probe.NOT_COMFY, "/system_stats is not JSON", resp.status)
                if isinstance(body, dict) and "system" in body and "devices" in body:
                    return _ProbeResult(_Probe.COMFY, status=resp.status)
                return _ProbeResult(_Probe.NOT_COMFY, "/system_stats is not ComfyUI's", resp.status)
        except asyncio.TimeoutError:
            return _ProbeResult(_Probe.NOT_ANSWERING,
                                f"no answer within {self._config.probe_timeout_s:g} s")
        except aiohttp.ClientConnectorError as exc:
            return _ProbeResult(_Probe.NOT_LISTENING, f"cannot connect: {exc.os_error or exc}")
        except (aiohttp.ClientError, UnicodeDecodeError) as exc:
            return _ProbeResult(_Probe.NOT_COMFY, f"{type(exc).__name__}: {exc}")

    # ---- child output ---------------------------------------------------------------------------

    async def _read_output(self, stream: asyncio.StreamReader) -> None:
        """Split the child's output into lines without ever holding more than one capped line.
        A bare \\r (progress bars) restarts the line, as a terminal would show it."""
        cap = self._config.max_line_chars
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        line: list[str] = []
        length = 0
        truncated = False
        cr_pending = False
        while True:
            chunk = await stream.read(65536)
            text = decoder.decode(chunk, final=not chunk)
            if cr_pending:
                text = "\r" + text
                cr_pending = False
            if chunk and text.endswith("\r"):
                cr_pending, text = True, text[:-1]
            start = 0
            for i, ch in enumerate(text):
                if ch not in "\r\n":
                    continue
                if ch == "\r" and i + 1 < len(text) and text[i + 1] == "\n":
                    continue  # the \n right after finishes this line
                piece = text[start:i]
                start = i + 1
                if ch == "\r":
                    line, length, truncated = [], 0, False
                    continue
                length, truncated = self._append_capped(line, piece.rstrip("\r"), length, truncated, cap)
                self._emit("".join(line), truncated)
                line, length, truncated = [], 0, False
            length, truncated = self._append_capped(line, text[start:], length, truncated, cap)
            if not chunk:
                if line:
                    self._emit("".join(line), truncated)
                return

    @staticmethod
    def _append_capped(line: list[str], piece: str, length: int, truncated: bool, cap: int) -> tuple[int, bool]:
        if not piece:
            return length, truncated
        room = cap - length
        if len(piece) > room:
            piece, truncated = piece[:max(room, 0)], True
        if piece:
            line.append(piece)
        return length + len(piece), truncated

    def _emit(self, line: str, truncated: bool) -> None:
        if truncated:
            line += " …[line truncated]"
        self._lines.append(line)
        self._lines_total += 1
        comfy_log.info("%s", line)

    # ---- ending the child -----------------------------------------------------------------------

    async def _end_child(self, *, graceful: bool) -> None:
        """End the child we launched and all it started (terminate, then kill). No-op if none."""
        proc, self._proc = self._proc, None
        job, self._job = self._job, None
        exit_task, self._exit_task = self._exit_task, None
        reader, self._reader = self._reader, None
        if proc is None:
            return
        deadline = time.monotonic() + (self._config.stop_timeout_s if graceful else 0.0)
        if IS_WINDOWS:
            await self._end_tree_windows(proc, job)
        else:
            await self._end_group_posix(proc, graceful=graceful, deadline=deadline)
        if proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
        await proc.wait()
        if exit_task is not None:
            await asyncio.gather(exit_task, return_exceptions=True)
        if reader is not None:
            try:  # let the last lines arrive; the pipe closes once the whole tree is gone
                await asyncio.wait_for(asyncio.shield(reader), 2.0)
            except asyncio.TimeoutError:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        log.info("ComfyUI (pid %s) ended with code %s", proc.pid, proc.returncode)

    async def _end_group_posix(self, proc: asyncio.subprocess.Process, *, graceful: bool, deadline: float) -> None:
        """SIGTERM to the child's process group, then SIGKILL to what is left by the deadline."""
        if proc.returncode is None and graceful:
            _signal_group(proc.pid, signal.SIGTERM)
            _signal_group(proc.pid, signal.SIGCONT)  # a stopped process handles SIGTERM only once resumed
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                log.warning("ComfyUI did not stop within %g s (stop_timeout_s); killing it",
                            self._config.stop_timeout_s)
        # Whatever is left of its group (ComfyUI's own children) goes too, so the port is freed.
        while proc.returncode is not None and _group_alive(proc.pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if proc.returncode is None or _group_alive(proc.pid):
            _signal_group(proc.pid, signal.SIGKILL)

    async def _end_tree_windows(self, proc: asyncio.subprocess.Process, job: ProcessTreeJob | None) -> None:
        """Terminate the child's job object and wait until its last process is gone; `taskkill /F /T`
        where there is no job (or it would not end)."""
        gone_by = time.monotonic() + max(self._config.stop_timeout_s, 1.0)
        try:
            if job is not None:
                try:
                    job.terminate()
                    while job.active_processes() and time.monotonic() < gone_by:
                        await asyncio.sleep(0.05)
                    if not job.active_processes():
                        return
                    log.warning("ComfyUI's processes outlived their job object; using taskkill")
                except OSError as exc:
                    log.warning("could not end ComfyUI's job object (%s); using taskkill", exc)
            if proc.returncode is None or job is not None:
                killer = await asyncio.create_subprocess_exec(
                    "taskkill", "/F", "/T", "/PID", str(proc.pid), stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                    creationflags=_CREATE_NO_WINDOW)
                await killer.wait()
        finally:
            if job is not None:
                job.close()  # KILL_ON_JOB_CLOSE: anything still in it ends here

    # ---- publishing -----------------------------------------------------------------------------

    def _publish(self, state: SupervisorState, message: str, *, elapsed_s: float | None = None) -> None:
        changed = state is not self._state
        self._state = state
        if changed:
            level = logging.ERROR if state is SupervisorState.FAILED else logging.INFO
            log.log(level, "ComfyUI %s: %s", state.value, message)
        event = ComfyStateChanged(state=state, url=self._url, message=message,
                                  started_by_us=self._started_by_us, restarts=self._restarts,
                                  elapsed_s=elapsed_s, pid=self.pid)
        if self._on_state is not None:
            try:
                self._on_state(event)
            except Exception:
                log.exception("ComfyUI state callback failed on %s", state.value)

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exited with code {code}"


def comfy_root(folder: Path) -> Path:
    """The folder holding ComfyUI's main.py: the given one, or the Windows portable package's
    inner `ComfyUI` when its outer folder was given."""
    if not (folder / "main.py").is_file() and (folder / "ComfyUI" / "main.py").is_file():
        return folder / "ComfyUI"
    return folder


def input_folder(folder: str | Path | None, extra_args: str | Sequence[str] = ()) -> Path | None:
    """ComfyUI's input folder when the app launches ComfyUI from `folder`, else None (a remote
    ComfyUI's folders are out of reach). `--input-directory` in the extra args wins, as in ComfyUI."""
    if not folder:
        return None
    try:
        args = _split_args(extra_args) if isinstance(extra_args, str) else [str(a) for a in extra_args]
    except ValueError:          # unbalanced quotes: the launch reports it; the default folder here
        args = []
    for index, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name == "--input-directory":
            value = value if eq else (args[index + 1] if index + 1 < len(args) else "")
            if value:
                return Path(value).expanduser()
    return comfy_root(Path(folder).expanduser()) / "input"


def _split_args(text: str) -> list[str]:
    """Shell-style split. On Windows backslashes are path separators, not escapes."""
    if not IS_WINDOWS:
        return shlex.split(text)
    return [t[1:-1] if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'" else t
            for t in shlex.split(text, posix=False)]


def _is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _probe_host(listen: str) -> str:
    """Where to reach a ComfyUI started with this --listen from this machine."""
    first = listen.split(",")[0].strip().strip("[]")
    if first in ("", "0.0.0.0"):
        return "127.0.0.1"
    if first == "::":
        return "[::1]"
    try:
        return f"[{first}]" if ipaddress.ip_address(first).version == 6 else first
    except ValueError:
        return first


def _url_for_launch(listen: str, port: int, other_args: list[str]) -> str:
    """Where this machine reaches a ComfyUI launched with these arguments."""
    scheme = "https" if any(a.partition("=")[0] == "--tls-keyfile" for a in other_args) else "http"
    return f"{scheme}://{_probe_host(listen)}:{port}"


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _job_for(pid: int) -> ProcessTreeJob | None:
    """A job object holding `pid` (and all it will start), or None where Windows refuses one."""
    try:
        job = ProcessTreeJob()
    except OSError as exc:
        log.warning("no job object for ComfyUI (%s): stop falls back to taskkill", exc)
        return None
    try:
        job.add(pid)
    except OSError as exc:
        job.close()
        log.warning("could not put ComfyUI in a job object (%s): stop falls back to taskkill", exc)
        return None
    return job


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError:  # already gone
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

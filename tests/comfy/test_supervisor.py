"""The ComfyUI supervisor against the fake ComfyUI run as a real child process.

A "ComfyUI folder" here is a temp folder whose main.py runs `tests.fake_comfyui`: the supervisor
launches it exactly as it launches a real checkout (that folder's Python running main.py).
Intervals are tiny so nothing waits longer than it must. The same tests run on Windows, where
ComfyUI's process tree lives in a job object instead of a process group.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import aiohttp
import psutil
import pytest
from aiohttp import web

from tests.fake_comfyui import FakeComfyUI
from tests.ports import free_port

from comfy.backends import BackendPool, Probe
from comfy.errors import ComfyError
from comfy.supervisor import (
    RESTARTING_MESSAGE,
    ComfyStateChanged,
    ComfySupervisor,
    SupervisorConfig,
    SupervisorError,
    SupervisorState,
    input_folder,
)

REPO = Path(__file__).resolve().parents[2]
FAKE_MODULE = "tests.fake_comfyui"

IS_WINDOWS = sys.platform == "win32"


# ---- helpers -------------------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    if IS_WINDOWS:
        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    if not Path("/proc/self/stat").exists():
        return True  # no /proc (macOS): kill(0) is all we can ask
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def group_alive(pgid: int) -> bool:
    if IS_WINDOWS:  # no process groups: the test's helper process stands for the rest of the tree
        return pid_alive(pgid)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def make_folder(path: Path, *bodies: str) -> Path:
    """A ComfyUI folder whose main.py runs `bodies` (with the repo importable)."""
    path.mkdir(parents=True, exist_ok=True)
    code = "".join(textwrap.dedent(body).strip() + "\n" for body in bodies)
    (path / "main.py").write_text(f"import sys\nsys.path.insert(0, {str(REPO)!r})\n" + code)
    return path


def kill_hard(pid: int) -> None:
    """What a crash looks like: SIGKILL, or TerminateProcess on Windows."""
    if IS_WINDOWS:
        psutil.Process(pid).kill()
    else:
        os.kill(pid, signal.SIGKILL)


RUN_THE_FAKE = f"""
    import runpy
    print("main.py here, args:", " ".join(sys.argv[1:]), flush=True)
    runpy.run_module({FAKE_MODULE!r}, run_name="__main__", alter_sys=True)
"""


def fake_folder(path: Path) -> Path:
    return make_folder(path, RUN_THE_FAKE)


def config(folder: Path | None, port: int, **overrides) -> SupervisorConfig:
    fields = dict(
        url=f"http://127.0.0.1:{port}", folder=folder, python=sys.executable,
        ready_timeout_s=20, ready_poll_interval_s=0.05, progress_interval_s=0.2,
        probe_timeout_s=0.5, health_interval_s=0.1, health_failures=2,
        restart_backoff_min_s=0.05, restart_backoff_max_s=0.2,
        max_quick_crashes=3, quick_crash_window_s=60, stop_timeout_s=5)
    fields.update(overrides)
    return SupervisorConfig(**fields)


class Recorder:
    """Collects published states; lets a test wait for one without sleeping."""

    def __init__(self) -> None:
        self.events: list[ComfyStateChanged] = []
        self._changed = asyncio.Event()

    def __call__(self, event: ComfyStateChanged) -> None:
        self.events.append(event)
        self._changed.set()

    def states(self) -> list[SupervisorState]:
        return [e.state for e in self.events]

    async def wait_for(self, predicate: Callable[[ComfyStateChanged], bool], *,
                       after: int = 0, timeout: float = 15) -> ComfyStateChanged:
        async def wait() -> ComfyStateChanged:
            while True:
                for event in self.events[after:]:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()
        return await asyncio.wait_for(wait(), timeout)

    async def wait_state(self, state: SupervisorState, **kw) -> ComfyStateChanged:
        return await self.wait_for(lambda e: e.state is state, **kw)


async def answers_like_comfy(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as s, s.get(f"{url}/system_stats",
                                                      timeout=aiohttp.ClientTimeout(total=10)) as r:
            body = await r.json()
            return r.status == 200 and "system" in body and "devices" in body
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return False


async def start_external_fake(port: int) -> asyncio.subprocess.Process:
    """A ComfyUI the app did not start (the user's own), as a separate process."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", FAKE_MODULE, "--listen", "127.0.0.1", "--port", str(port),
        cwd=str(REPO), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    for _ in range(300):
        if await answers_like_comfy(f"http://127.0.0.1:{port}"):
            return proc
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    proc.kill()
    await proc.wait()
    raise AssertionError("the external fake ComfyUI did not come up")


async def end_external(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
    await proc.wait()


@pytest.fixture
async def supervisors():
    """Makes supervisors and stops every one at the end, whatever the test did."""
    made: list[ComfySupervisor] = []

    def make(cfg: SupervisorConfig, probes: BackendPool | None = None) -> tuple[ComfySupervisor, Recorder]:
        recorder = Recorder()
        sup = ComfySupervisor(cfg, on_state=recorder, probes=probes)
        made.append(sup)
        return sup, recorder

    yield make
    for sup in made:
        await sup.stop()


@pytest.fixture
async def pools():
    """Backend pools checking as often as the supervisors' config(); all closed at the end."""
    made: list[BackendPool] = []

    async def make(url: str) -> BackendPool:
        pool = BackendPool([url], check_interval_s=0.1, recheck_interval_s=0.05, failures_to_down=2,
                           request_timeout=0.5, connect_websockets=False)
        made.append(pool)
        await pool.start()
        return pool

    yield make
    for pool in made:
        await pool.close()


@pytest.fixture(params=["own checks", "the pool's checks"])
def health_checks(request, pools):
    """Where a supervisor's health checks come from: its own probes, or the backend pool's poller."""
    async def probes_for(url: str) -> BackendPool | None:
        return await pools(url) if request.param == "the pool's checks" else None
    return probes_for


# ---- launch, readiness, logs, stop ---------------------------------------------------------------

async def test_launches_waits_until_ready_captures_logs_and_stops_the_whole_group(
        tmp_path, supervisors, caplog):
    caplog.set_level(logging.INFO, logger="comfyui")
    port = free_port()
    folder = make_folder(tmp_path / "ComfyUI", """
        import subprocess
        # ComfyUI's own child (a custom node's helper, say): stop() must end it too.
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open("helper.pid", "w").write(str(helper.pid))
    """, RUN_THE_FAKE)
    sup, rec = supervisors(config(folder, port, extra_args="--cpu --preview-method auto"))

    await sup.start()

    assert sup.state is SupervisorState.UP and sup.started_by_us
    assert rec.states()[0] is SupervisorState.STARTING
    assert rec.events[0].elapsed_s is not None and rec.events[0].started_by_us
    up = rec.events[-1]
    assert up.state is SupervisorState.UP and up.is_up and up.url == f"http://127.0.0.1:{port}"
    assert up.started_by_us and up.restarts == 0 and up.pid == sup.pid
    assert await answers_like_comfy(sup.url)

    # Output goes line by line to the `comfyui` logger and to recent_lines().
    first = next(line for line in sup.recent_lines() if line.startswith("main.py here"))
    assert f"--listen 127.0.0.1 --port {port} --cpu --preview-method auto" in first
    assert f"To see the GUI go to: http://127.0.0.1:{port}" in sup.recent_lines()  # the fake's own
    logged = [r.getMessage() for r in caplog.records if r.name == "comfyui"]
    assert first in logged and f"To see the GUI go to: http://127.0.0.1:{port}" in logged

    pid = sup.pid
    helper_pid = int((folder / "helper.pid").read_text())
    assert pid_alive(helper_pid)

    await sup.stop()

    assert sup.state is SupervisorState.STOPPED and rec.events[-1].state is SupervisorState.STOPPED
    assert sup.pid is None and not sup.started_by_us
    assert not pid_alive(pid) and not group_alive(pid) and not pid_alive(helper_pid)
    assert not await answers_like_comfy(f"http://127.0.0.1:{port}")


WINDOWED_APP = """
import asyncio, ctypes, json, sys
sys.path.insert(0, {repo!r})
from comfy.supervisor import ComfySupervisor, SupervisorConfig

async def main():
    sup = ComfySupervisor(SupervisorConfig(url="http://127.0.0.1:{port}", folder={folder!r}, python={python!r},
                                           ready_timeout_s=60, ready_poll_interval_s=0.05))
    result = {{"console": bool(ctypes.windll.kernel32.GetConsoleWindow())}}
    try:
        await sup.start()
        result["pid"] = sup.pid
        await sup.stop()
        result["state"] = sup.state.value
    except BaseException as exc:
        result["error"] = repr(exc)
    with open({out!r}, "w", encoding="utf-8") as f:
        json.dump(result, f)

asyncio.run(main())
"""


@pytest.mark.skipif(not IS_WINDOWS, reason="a windowed app without a console is a Windows thing")
async def test_a_windowed_app_stops_comfyui_and_everything_it_started(tmp_path):
    """The double-click build has no console: stop() must still end ComfyUI's whole tree."""
    port = free_port()
    folder = make_folder(tmp_path / "ComfyUI", """
        import subprocess
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open("helper.pid", "w").write(str(helper.pid))
    """, RUN_THE_FAKE)
    script, out = tmp_path / "app.py", tmp_path / "result.json"
    script.write_text(WINDOWED_APP.format(repo=str(REPO), port=port, folder=str(folder), python=sys.executable,
                                          out=str(out)), encoding="utf-8")
    pythonw = Path(sys.executable).with_name("pythonw.exe")

    app = await asyncio.create_subprocess_exec(str(pythonw), str(script), stdin=asyncio.subprocess.DEVNULL,
                                               stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    assert await asyncio.wait_for(app.wait(), 120) == 0

    result = json.loads(out.read_text(encoding="utf-8"))
    assert result == {"console": False, "pid": result["pid"], "state": "stopped"}
    assert not pid_alive(result["pid"]) and not pid_alive(int((folder / "helper.pid").read_text()))
    assert not await answers_like_comfy(f"http://127.0.0.1:{port}")


@pytest.mark.skipif(IS_WINDOWS, reason="fakes the venv's python with a shell script")
async def test_finds_the_folders_venv_python(tmp_path, supervisors):
    port = free_port()
    folder = fake_folder(tmp_path / "ComfyUI")
    venv_python = folder / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text(f'#!/bin/sh\necho "venv python"\nexec {sys.executable} "$@"\n')
    venv_python.chmod(0o755)
    sup, _ = supervisors(config(folder, port, python=None))

    await sup.start()

    assert sup.recent_lines()[0] == "venv python"


@pytest.mark.skipif(IS_WINDOWS, reason="fakes python_embeded's python.exe with a shell script")
@pytest.mark.parametrize("given", ["ComfyUI_windows_portable", "ComfyUI_windows_portable/ComfyUI"])
async def test_finds_the_portable_packages_embedded_python(tmp_path, supervisors, given):
    """ComfyUI's Windows portable package: ComfyUI/main.py beside python_embeded/python.exe; the
    user may pick either folder."""
    port = free_port()
    portable = tmp_path / "ComfyUI_windows_portable"
    fake_folder(portable / "ComfyUI")
    embedded = portable / "python_embeded" / "python.exe"
    embedded.parent.mkdir(parents=True)
    embedded.write_text(f'#!/bin/sh\necho "embedded python"\nexec {sys.executable} "$@"\n')
    embedded.chmod(0o755)
    sup, _ = supervisors(config(tmp_path / given, port, python=None))

    await sup.start()

    assert sup.recent_lines()[0] == "embedded python"
    assert await answers_like_comfy(sup.url)


# ---- crash and hang handling ---------------------------------------------------------------------

async def test_killed_child_is_restarted(tmp_path, supervisors, health_checks):
    port = free_port()
    sup, rec = supervisors(config(fake_folder(tmp_path / "ComfyUI"), port),
                           await health_checks(f"http://127.0.0.1:{port}"))
    await sup.start()
    old_pid = sup.pid
    seen = len(rec.events)

    kill_hard(old_pid)

    down = await rec.wait_state(SupervisorState.RESTARTING, after=seen)
    assert not down.is_up and down.message.startswith(RESTARTING_MESSAGE)
    assert ("exited with code" if IS_WINDOWS else "was killed by SIGKILL") in down.message
    up = await rec.wait_state(SupervisorState.UP, after=seen)
    assert up.restarts == 1 and up.started_by_us
    assert sup.pid not in (None, old_pid) and up.pid == sup.pid
    assert await answers_like_comfy(sup.url)


async def test_hung_child_is_killed_and_restarted(tmp_path, supervisors, health_checks):
    port = free_port()
    sup, rec = supervisors(config(fake_folder(tmp_path / "ComfyUI"), port),
                           await health_checks(f"http://127.0.0.1:{port}"))
    await sup.start()
    old_pid = sup.pid
    seen = len(rec.events)

    psutil.Process(old_pid).suspend()  # still listening, never answering: a hang
    try:
        down = await rec.wait_state(SupervisorState.RESTARTING, after=seen)
        assert "stopped answering" in down.message and RESTARTING_MESSAGE in down.message
        up = await rec.wait_state(SupervisorState.UP, after=seen)
        assert up.restarts == 1 and sup.pid != old_pid
        assert not pid_alive(old_pid)
    finally:
        if pid_alive(old_pid):
            kill_hard(old_pid)


async def test_gives_up_after_repeated_quick_crashes(tmp_path, supervisors):
    port = free_port()
    folder = make_folder(tmp_path / "ComfyUI", """
        print("Traceback: ModuleNotFoundError: No module named 'torch'", flush=True)
        sys.exit(1)
    """)
    sup, rec = supervisors(config(folder, port, max_quick_crashes=3))

    with pytest.raises(SupervisorError) as raised:
        await sup.start()

    message = str(raised.value)
    assert isinstance(raised.value, ComfyError)
    assert "3 times" in message and "max_quick_crashes" in message and "'comfyui'" in message
    assert "exited with code 1 while starting" in message and "No module named 'torch'" in message
    assert sup.state is SupervisorState.FAILED and rec.events[-1].message == message
    assert rec.states().count(SupervisorState.RESTARTING) >= 2
    assert sup.pid is None


async def test_gives_up_when_not_ready_in_time(tmp_path, supervisors):
    port = free_port()
    folder = make_folder(tmp_path / "ComfyUI", """
        import os, time
        open("child.pid", "w").write(str(os.getpid()))
        print("loading custom nodes...", flush=True)
        time.sleep(60)
    """)
    sup, rec = supervisors(config(folder, port, ready_timeout_s=0.6))

    with pytest.raises(SupervisorError, match="ready_timeout_s") as raised:
        await sup.start()

    assert "loading custom nodes..." in str(raised.value)
    starting = [e for e in rec.events if e.state is SupervisorState.STARTING]
    assert len(starting) >= 2 and starting[-1].elapsed_s > starting[0].elapsed_s
    assert not pid_alive(int((folder / "child.pid").read_text()))


async def test_stop_while_starting_ends_the_child(tmp_path, supervisors):
    port = free_port()
    folder = make_folder(tmp_path / "ComfyUI", """
        import os, time
        open("child.pid", "w").write(str(os.getpid()))
        time.sleep(60)
    """)
    sup, rec = supervisors(config(folder, port))
    starting = asyncio.create_task(sup.start())
    await rec.wait_state(SupervisorState.STARTING)
    while not (folder / "child.pid").exists():
        await asyncio.sleep(0.02)

    await sup.stop()

    with pytest.raises(SupervisorError, match="stopped before ComfyUI was up"):
        await starting
    assert sup.state is SupervisorState.STOPPED and rec.events[-1].state is SupervisorState.STOPPED
    assert not pid_alive(int((folder / "child.pid").read_text()))


# ---- attach --------------------------------------------------------------------------------------

async def test_attaches_to_a_running_comfyui_and_never_kills_it(tmp_path, supervisors):
    port = free_port()
    external = await start_external_fake(port)
    try:
        # A folder is configured, but main.py would fail loudly: it must not be launched.
        folder = make_folder(tmp_path / "ComfyUI", "open('launched', 'w'); sys.exit(3)")
        sup, rec = supervisors(config(folder, port))

        await sup.start()

        assert sup.state is SupervisorState.UP and not sup.started_by_us and sup.pid is None
        assert [e.state for e in rec.events] == [SupervisorState.UP]
        assert not rec.events[0].started_by_us
        assert not (folder / "launched").exists()

        await sup.stop()

        assert sup.state is SupervisorState.STOPPED
        assert external.returncode is None and await answers_like_comfy(f"http://127.0.0.1:{port}")
    finally:
        await end_external(external)


async def test_attached_comfyui_going_away_is_waited_for(supervisors, health_checks):
    port = free_port()
    external = await start_external_fake(port)
    try:
        sup, rec = supervisors(config(None, port), await health_checks(f"http://127.0.0.1:{port}"))
        await sup.start()
        seen = len(rec.events)

        await end_external(external)
        down = await rec.wait_state(SupervisorState.WAITING, after=seen)
        assert not down.is_up and "your job keeps its place" in down.message

        external = await start_external_fake(port)
        up = await rec.wait_state(SupervisorState.UP, after=seen)
        assert not up.started_by_us and sup.pid is None
    finally:
        await end_external(external)


async def test_attached_comfyui_going_away_launches_ours_when_a_folder_is_set(tmp_path, supervisors):
    port = free_port()
    external = await start_external_fake(port)
    try:
        sup, rec = supervisors(config(fake_folder(tmp_path / "ComfyUI"), port))
        await sup.start()
        assert not sup.started_by_us
        seen = len(rec.events)

        await end_external(external)

        await rec.wait_state(SupervisorState.WAITING, after=seen)
        up = await rec.wait_for(lambda e: e.state is SupervisorState.UP and e.started_by_us, after=seen)
        assert up.pid == sup.pid is not None
        pid = sup.pid
        await sup.stop()
        assert not pid_alive(pid)
    finally:
        await end_external(external)


async def test_with_the_pool_one_poller_asks_comfyui_how_it_is(supervisors, pools):
    fake = FakeComfyUI()
    await fake.start()
    try:
        pool = await pools(fake.url)
        checks: list[Probe] = []
        enough = asyncio.Event()

        def count(probe: Probe) -> None:
            checks.append(probe)
            if len(checks) == 10:
                enough.set()
        sup, _ = supervisors(config(None, int(fake.url.rsplit(":", 1)[1])), pool)
        await sup.start()
        asked_before = sum(path == "/system_stats" for _, path, _ in fake.request_log)
        pool.add_probe_listener(count)

        await asyncio.wait_for(enough.wait(), 15)   # ten of the pool's checks, as many intervals

        asked = sum(path == "/system_stats" for _, path, _ in fake.request_log) - asked_before
        assert all(check.ok for check in checks) and sup.state is SupervisorState.UP
        assert asked <= len(checks) + 1            # one check may have been on its way at either end
    finally:
        await fake.stop()


# ---- clear messages ------------------------------------------------------------------------------

MODE = web.AppKey("mode", str)


async def not_comfy_handler(request: web.Request) -> web.Response:
    if request.app[MODE] == "404":
        return web.Response(status=404, text="not here")
    return web.Response(text="<html>a router admin page</html>", content_type="text/html")


@pytest.mark.parametrize("mode", ["404", "html"])
async def test_port_taken_by_another_program(tmp_path, supervisors, mode):
    app = web.Application()
    app[MODE] = mode
    app.router.add_route("*", "/{tail:.*}", not_comfy_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        sup, rec = supervisors(config(fake_folder(tmp_path / "ComfyUI"), port))
        with pytest.raises(SupervisorError) as raised:
            await sup.start()
        message = str(raised.value)
        assert message.startswith(f"127.0.0.1:{port} is in use by another program that is not ComfyUI: "
                                  f"change the port in COMFY_URL (comfy_urls) or stop that program")
        assert sup.state is SupervisorState.FAILED and rec.events[-1].message == message
        assert sup.pid is None and not sup.started_by_us
    finally:
        await runner.cleanup()


async def test_nothing_to_attach_and_no_folder(supervisors):
    sup, _ = supervisors(config(None, free_port()))
    with pytest.raises(SupervisorError, match="comfy_folder is not set"):
        await sup.start()


async def test_folder_missing(tmp_path, supervisors):
    sup, _ = supervisors(config(tmp_path / "nowhere", free_port()))
    with pytest.raises(SupervisorError, match=r"^comfy_folder .*nowhere does not exist"):
        await sup.start()
    assert sup.state is SupervisorState.FAILED


async def test_folder_without_main_py(tmp_path, supervisors):
    (tmp_path / "empty").mkdir()
    sup, _ = supervisors(config(tmp_path / "empty", free_port()))
    with pytest.raises(SupervisorError, match=r"^comfy_folder .*empty has no main.py"):
        await sup.start()


async def test_configured_python_missing(tmp_path, supervisors):
    folder = fake_folder(tmp_path / "ComfyUI")
    sup, _ = supervisors(config(folder, free_port(), python=str(tmp_path / "no" / "python")))
    with pytest.raises(SupervisorError, match=r"^comfy_python .* was not found"):
        await sup.start()


async def test_no_python_found_in_the_folder(tmp_path, supervisors):
    folder = fake_folder(tmp_path / "ComfyUI")
    sup, _ = supervisors(config(folder, free_port(), python=None))
    with pytest.raises(SupervisorError, match="No Python found for ComfyUI.*set comfy_python"):
        await sup.start()


@pytest.mark.parametrize("overrides", [
    {"listen": "0.0.0.0"},
    {"extra_args": "--cpu --listen 192.168.1.20"},
    {"extra_args": ["--listen"]},              # a bare --listen means every interface in ComfyUI
    {"extra_args": "--listen=127.0.0.1,::"},
])
async def test_refuses_to_listen_beyond_loopback(tmp_path, supervisors, overrides):
    folder = make_folder(tmp_path / "ComfyUI", "open('launched', 'w')")
    sup, _ = supervisors(config(folder, free_port(), **overrides))
    with pytest.raises(SupervisorError, match="no authentication of its own.*comfy_allow_non_loopback"):
        await sup.start()
    assert not (folder / "launched").exists()


async def test_non_loopback_allowed_when_asked(tmp_path, supervisors):
    # Checked without binding anything: with the listen check passed, the folder is next.
    sup, _ = supervisors(config(tmp_path / "nowhere", free_port(), listen="0.0.0.0",
                                allow_non_loopback=True))
    with pytest.raises(SupervisorError, match="^comfy_folder"):
        await sup.start()


# ---- output capture details ----------------------------------------------------------------------

async def test_output_lines_are_capped_bounded_and_progress_bars_collapse(caplog):
    caplog.set_level(logging.INFO, logger="comfyui")
    sup = ComfySupervisor(SupervisorConfig(log_lines=3, max_line_chars=10))
    stream = asyncio.StreamReader()
    for chunk in [b"one\ntw", b"o\r\n", "caf\u00e9 ".encode()[:-2], "\u00e9 ".encode()[1:] + b"ok\n",
                  b"10%|#\r50%|###\r", b"100%|#####\n", b"x" * 50 + b"\n", b"tail"]:
        stream.feed_data(chunk)
    stream.feed_eof()

    await sup._read_output(stream)

    logged = [r.getMessage() for r in caplog.records if r.name == "comfyui"]
    assert logged == ["one", "two", "caf\u00e9 ok", "100%|#####", "x" * 10 + " …[line truncated]",
                      "tail"]
    assert sup.recent_lines() == logged[-3:]


def test_the_comfyui_input_folder_is_known_only_when_the_app_launches_comfyui(tmp_path):
    assert input_folder(None) is None
    comfy = tmp_path / "ComfyUI"
    comfy.mkdir()
    (comfy / "main.py").write_text("")
    assert input_folder(str(comfy)) == comfy / "input"
    assert input_folder(str(tmp_path)) == comfy / "input"       # the portable package's outer folder
    assert input_folder(str(comfy), "--lowvram --input-directory /data/in") == Path("/data/in")
    assert input_folder(str(comfy), "--input-directory=/data/in2 --port 8190") == Path("/data/in2")

"""A login written into a ComfyUI URL is a secret: it is sent as Basic auth to that server only,
and never shows in the client's URL, repr, logs or errors. Redirects to another origin are refused."""
from __future__ import annotations

import asyncio
import base64
import io
import logging

import pytest
from aiohttp import web

from comfy.check_workflows import check_workflows
from comfy.client import ComfyClient
from comfy.errors import ComfyConnectionError, ComfyHTTPError
from comfy.urls import ComfyLogin, origin, split_login, without_login
from tests.fixtures_core import teach_shipped_models
from core.paths import resource_root

PASSWORD = "hunter2-s3cret"


def with_login(url: str, user: str = "bot", password: str = PASSWORD) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"


class Recorder:
    """A second local server: records every request's path and Authorization header."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path, request.headers.get("Authorization")))
        if request.path == "/ws":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.close()  # the client comes back to the configured server and is redirected again
            return ws
        return web.json_response({})


class Redirector:
    """The configured server: sends every request to another origin, and counts the attempts."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.hits: list[str] = []
        self.changed = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path)
        self.changed.set()
        raise web.HTTPTemporaryRedirect(self.target + request.path_qs)

    async def wait_hits(self, count: int) -> None:
        while len(self.hits) < count:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 10)


def test_a_login_is_split_off_the_url():
    assert split_login("https://bot:p%40ss@gpu.example.com/comfy") == (
        "https://gpu.example.com/comfy", ComfyLogin("bot", "p@ss"))
    assert split_login("http://127.0.0.1:8188") == ("http://127.0.0.1:8188", None)
    assert without_login("http://bot:pw@h:1") == "http://h:1"
    assert "p@ss" not in repr(ComfyLogin("bot", "p@ss"))
    assert origin("http://H:80/a") == origin("http://h/b") != origin("https://h/b")


async def test_a_login_in_the_url_is_sent_as_basic_auth_and_never_kept_in_the_url(fake_comfy, comfy_workflow, caplog):
    caplog.set_level(logging.DEBUG)
    async with ComfyClient(with_login(fake_comfy.url), reconnect_min_s=0.02) as client:
        assert client.base_url == fake_comfy.url
        assert PASSWORD not in repr(client) and PASSWORD not in str(client.ws_url)
        await client.connect()
        await client.wait((await client.submit(comfy_workflow)).prompt_id, timeout=5)
    sent = [h.get("Authorization") for _, path, h in fake_comfy.request_log if not path.startswith("/__")]
    assert sent and all(a == basic("bot", PASSWORD) for a in sent)
    assert any(path == "/ws" for _, path, _ in fake_comfy.request_log)
    assert PASSWORD not in caplog.text and "bot:" not in caplog.text


async def test_a_given_login_beats_the_api_key_for_its_server(fake_comfy):
    async with ComfyClient(fake_comfy.url, api_key="other-key", login=ComfyLogin("bot", PASSWORD)) as client:
        await client.queue()
    assert fake_comfy.request_log[-1][2]["Authorization"] == basic("bot", PASSWORD)


async def test_an_unreachable_server_is_named_without_its_password():
    client = ComfyClient(with_login("http://127.0.0.1:9"), request_timeout=2)
    with pytest.raises(ComfyConnectionError) as caught:
        await client.system_stats()
    await client.close()
    assert "127.0.0.1:9" in str(caught.value) and PASSWORD not in str(caught.value)


async def test_the_websocket_never_follows_a_redirect_to_another_origin():
    recorder = Recorder()
    other_runner, other_url = await serve(recorder.app)
    redirector = Redirector(other_url)
    runner, url = await serve(redirector.app)
    client = ComfyClient(with_login(url), api_key="k", reconnect_min_s=0.01, reconnect_max_s=0.01)
    try:
        await client.connect(wait=False)
        # Three handshakes at the configured server: each was refused there and retried, never followed.
        await redirector.wait_hits(3)
    finally:
        await client.close()
        await runner.cleanup()
        await other_runner.cleanup()
    assert redirector.hits[:3] == ["/ws"] * 3
    assert recorder.seen == []
    assert not client.connected


async def test_http_never_follows_a_redirect_to_another_origin():
    recorder = Recorder()
    other_runner, other_url = await serve(recorder.app)
    runner, url = await serve(Redirector(other_url).app)
    try:
        async with ComfyClient(with_login(url)) as client:
            with pytest.raises(ComfyHTTPError) as caught:
                await client.queue()
    finally:
        await runner.cleanup()
        await other_runner.cleanup()
    assert recorder.seen == []
    assert "redirect" in str(caught.value) and other_url in str(caught.value)
    assert PASSWORD not in str(caught.value)


async def test_check_workflows_never_prints_the_password(fake_comfy):
    teach_shipped_models(fake_comfy)
    out = io.StringIO()
    code = await check_workflows(resource_root() / "flujos", with_login(fake_comfy.url), out=out)
    assert code == 0, out.getvalue()
    assert fake_comfy.url in out.getvalue() and PASSWORD not in out.getvalue()
    assert fake_comfy.request_log[-1][2]["Authorization"] == basic("bot", PASSWORD)


async def test_check_workflows_with_comfyui_unreachable_never_prints_the_password():
    out = io.StringIO()
    code = await check_workflows(resource_root() / "flujos", with_login("http://127.0.0.1:9"), out=out)
    assert code == 2
    assert "127.0.0.1:9" in out.getvalue() and PASSWORD not in out.getvalue()


def test_an_address_has_one_form_whoever_writes_it():
    assert split_login("http://GPU.local:8188/")[0] == ComfyClient("http://GPU.local:8188/").base_url == "http://gpu.local:8188"
    assert split_login("http://h:80")[0] == ComfyClient("http://h:80").base_url == "http://h"
    assert split_login("https://bot:pw@Host/comfy/") == ("https://host/comfy", ComfyLogin("bot", "pw"))

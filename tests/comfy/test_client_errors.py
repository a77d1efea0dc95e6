"""ComfyClient's typed errors, auth handling and URL forms."""
from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp import web

from comfy.client import ComfyClient
from comfy.errors import (ComfyAuthError, ComfyConnectionError, ComfyHTTPError, ComfyTimeoutError,
                          NotComfyUIError)
from tests.ports import free_port

SECRET = "sk-very-secret-key-123"


async def _serve(app: web.Application):
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"



async def test_bearer_key_sent_to_base_url_only_and_never_logged(fake_comfy, comfy_workflow, caplog):
    caplog.set_level(logging.DEBUG)
    seen_elsewhere = []

    async def other(request):
        seen_elsewhere.append(request.headers.get("Authorization"))
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/elsewhere", other)
    runner, other_url = await _serve(app)
    try:
        async with aiohttp.ClientSession() as session:
            client = ComfyClient(fake_comfy.url, api_key=SECRET, session=session, reconnect_min_s=0.02)
            await client.connect()
            await client.wait((await client.submit(comfy_workflow)).prompt_id, timeout=5)
            await client.system_stats()
            await session.get(other_url + "/elsewhere")  # the shared session does not carry the key
            assert SECRET not in repr(client)
            await client.close()
            assert not session.closed  # injected session is not ours to close
    finally:
        await runner.cleanup()
    auth = [h.get("Authorization") for _, path, h in fake_comfy.request_log if not path.startswith("/__")]
    assert auth and all(a == f"Bearer {SECRET}" for a in auth)
    assert any(path == "/ws" for _, path, _ in fake_comfy.request_log)
    assert seen_elsewhere == [None]
    assert SECRET not in caplog.text


async def test_user_password_key_uses_basic_auth(fake_comfy):
    async with ComfyClient(fake_comfy.url, api_key="bot:pa:ss") as client:
        await client.queue()
    assert fake_comfy.request_log[-1][2]["Authorization"] == "Basic Ym90OnBhOnNz"


@pytest.mark.parametrize("status", [401, 403])
async def test_proxy_refusal_is_auth_error(status):
    async def refuse(request):
        return web.Response(status=status, text="nope")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner, url = await _serve(app)
    try:
        async with ComfyClient(url, api_key=SECRET) as client:
            with pytest.raises(ComfyAuthError) as info:
                await client.system_stats()
    finally:
        await runner.cleanup()
    assert info.value.status == status
    assert "COMFY_API_KEY" in str(info.value) and SECRET not in str(info.value)
    assert SECRET not in repr(info.value) and info.value.__cause__ is None or SECRET not in repr(info.value.__cause__)


async def test_url_that_is_not_comfyui():
    async def html(request):
        return web.Response(text="<html>router login</html>", content_type="text/html")

    async def other_json(request):
        return web.json_response({"hello": "world"})

    app = web.Application()
    app.router.add_get("/system_stats", other_json)
    app.router.add_get("/queue", html)
    runner, url = await _serve(app)
    try:
        async with ComfyClient(url) as client:
            with pytest.raises(NotComfyUIError):
                await client.system_stats()
            with pytest.raises(NotComfyUIError):
                await client.queue()
            with pytest.raises(NotComfyUIError, match="really ComfyUI"):
                await client.object_info()  # 404
    finally:
        await runner.cleanup()


async def test_unreachable_url_names_url_and_what_to_do():
    url = f"http://127.0.0.1:{free_port()}"
    async with ComfyClient(url, request_timeout=1, reconnect_min_s=0.01) as client:
        with pytest.raises(ComfyConnectionError) as info:
            await client.system_stats()
        assert url in str(info.value) and "COMFY_URL" in str(info.value)
        assert isinstance(info.value.__cause__, aiohttp.ClientConnectionError)
        client.request_timeout = 0.2
        with pytest.raises(ComfyConnectionError, match="websocket"):
            await client.connect()
        assert not client.connected


async def test_timeout_and_injected_500(fake_comfy):
    async with ComfyClient(fake_comfy.url, request_timeout=0.2) as client:
        fake_comfy.slow_route("/queue", 1.0, times=1)
        with pytest.raises(ComfyTimeoutError, match="0.2 s"):
            await client.queue()
        fake_comfy.fail_http("/system_stats", times=1)
        with pytest.raises(NotComfyUIError):
            await client.system_stats()
        fake_comfy.fail_http("/queue", times=2)
        for _ in range(2):
            with pytest.raises(ComfyHTTPError) as info:
                await client.queue()
            assert info.value.status == 500 and "Server got itself in trouble" in info.value.body
        assert (await client.queue()).running == []


def test_urls_keep_path_prefix_and_scheme():
    client = ComfyClient("https://host.example/comfy/")
    assert client.base_url == "https://host.example/comfy"
    assert str(client.url_for("prompt")) == "https://host.example/comfy/prompt"
    assert str(client.ws_url) == f"wss://host.example/comfy/ws?clientId={client.client_id}"
    plain = ComfyClient("http://127.0.0.1:8188")
    assert str(plain.url_for("/history/x")) == "http://127.0.0.1:8188/history/x"
    assert str(plain.ws_url).startswith("ws://127.0.0.1:8188/ws?clientId=")
    with pytest.raises(ValueError):
        ComfyClient("127.0.0.1:8188")


async def test_base_url_with_path_prefix_works_end_to_end(fake_comfy, comfy_workflow):
    # The fake serves every route (and the ws) under /api/ too, like ComfyUI: a real prefix.
    async with ComfyClient(fake_comfy.url + "/api/", reconnect_min_s=0.02) as client:
        await client.connect()
        result = await client.wait((await client.submit(comfy_workflow)).prompt_id, timeout=5)
        assert await client.view(result.images[0])
    assert {"/api/ws", "/api/prompt", "/api/view"} <= {path for _, path, _ in fake_comfy.request_log}

"""The /ws drops, reconnects and reconciliation through /queue and /history."""
from __future__ import annotations

import asyncio

import pytest

from comfy import events as ev
from comfy.client import ComfyClient
from comfy.errors import ComfyError, PromptLost


async def _until(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_drop_mid_run_result_still_arrives(fake_comfy, comfy_client, comfy_workflow):
    fake_comfy.exec_ms = 300
    seen = []
    comfy_client.add_listener(seen.append)
    submitted = await comfy_client.submit(comfy_workflow)
    await _until(lambda: any(isinstance(e, ev.NodeExecuting) for e in seen))
    await fake_comfy.drop_websockets()
    result = await comfy_client.wait(submitted.prompt_id, timeout=5)
    assert [r.filename for r in result.images] == ["imagine_00001_.png", "imagine_00002_.png"]
    kinds = [type(e) for e in seen]
    assert ev.SocketDisconnected in kinds and kinds.count(ev.SocketConnected) >= 1
    assert comfy_client.connected


async def test_job_finishing_while_disconnected_is_found_in_history(fake_comfy, comfy_workflow):
    client = ComfyClient(fake_comfy.url, reconnect_min_s=0.4, reconnect_max_s=0.4)
    try:
        await client.connect()
        fake_comfy.exec_ms = 100
        submitted = await client.submit(comfy_workflow)
        await asyncio.sleep(0.02)
        await fake_comfy.drop_websockets()
        await _until(lambda: submitted.prompt_id in fake_comfy.history)
        assert not client.connected  # it finished while we were away: no event will ever come
        result = await client.wait(submitted.prompt_id, timeout=5)
        assert len(result.images) == 2
    finally:
        await client.close()


async def test_server_crash_and_restart_gives_prompt_lost(fake_comfy, comfy_client, comfy_workflow):
    fake_comfy.exec_ms = 5000
    submitted = await comfy_client.submit(comfy_workflow)
    await asyncio.sleep(0.05)
    await fake_comfy.crash()
    await _until(lambda: not comfy_client.connected)
    await fake_comfy.restart()
    with pytest.raises(PromptLost):
        await comfy_client.wait(submitted.prompt_id, timeout=5)
    # and the client is usable again on the new server
    fake_comfy.exec_ms = 10
    result = await comfy_client.wait((await comfy_client.submit(comfy_workflow)).prompt_id, timeout=5)
    assert result.images


async def test_reconnect_closes_old_socket_first(fake_comfy, comfy_client, comfy_workflow):
    # Duplicate-clientId quirk: if the old socket closed after the new one registered, the new one
    # would be unregistered and miss every event. After many reconnects we must still get events.
    for _ in range(3):
        await fake_comfy.drop_websockets()
        await _until(lambda: not comfy_client.connected)
        await _until(lambda: comfy_client.connected)
    assert list(fake_comfy.sockets) == [comfy_client.client_id]
    seen = []
    comfy_client.add_listener(seen.append)
    result = await comfy_client.wait((await comfy_client.submit(comfy_workflow)).prompt_id, timeout=5)
    assert result.images and any(isinstance(e, ev.PromptSucceeded) for e in seen)


async def test_result_events_not_routed_to_other_clients(fake_comfy, comfy_client, comfy_workflow):
    other = ComfyClient(fake_comfy.url, reconnect_min_s=0.02)
    other_seen = []
    other.add_listener(other_seen.append)
    try:
        await other.connect()
        await comfy_client.wait((await comfy_client.submit(comfy_workflow)).prompt_id, timeout=5)
        await asyncio.sleep(0.05)
    finally:
        await other.close()
    assert {type(e) for e in other_seen} <= {ev.QueueStatus, ev.SocketConnected, ev.SocketDisconnected}


async def test_the_clients_background_tasks_are_named_and_gone_after_close(fake_comfy):
    client = ComfyClient(fake_comfy.url, reconnect_min_s=0.02)
    await client.connect()
    mine = lambda: [t for t in asyncio.all_tasks() if t.get_name().startswith(f"ComfyUI {fake_comfy.url}: ")]
    assert f"ComfyUI {fake_comfy.url}: websocket" in {t.get_name() for t in mine()}
    await client.close()
    assert not [t for t in mine() if not t.done()]
    with pytest.raises(ComfyError, match="closed"):
        await client.connect()

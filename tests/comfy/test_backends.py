"""BackendPool: health from /system_stats, down after N failures, up again, listeners."""
from __future__ import annotations

import asyncio

import pytest

from comfy.backends import BackendPool, parse_urls
from tests.fake_comfyui import FakeComfyUI


async def _until(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def test_parse_urls():
    assert parse_urls("http://a:1/, http://b:2\nhttp://a:1") == ["http://a:1", "http://b:2"]
    pool = BackendPool.from_env({"COMFY_URLS": "http://a:1,http://b:2", "COMFY_API_KEY": "sekrit-xyz"})
    assert pool.urls == ["http://a:1", "http://b:2"] and "sekrit-xyz" not in repr(pool)
    with pytest.raises(ValueError):
        BackendPool([])


async def test_health_down_after_n_failures_and_up_again():
    small = FakeComfyUI(vram_free=2 * 1024 ** 3)
    big = FakeComfyUI(vram_free=20 * 1024 ** 3)
    await small.start()
    await big.start()
    changes = []
    pool = BackendPool([small.url, big.url], check_interval_s=0.02, failures_to_down=2, request_timeout=1)
    pool.add_listener(lambda url, healthy, reason: changes.append((url, healthy, reason)))
    try:
        await pool.start()
        assert [b.url for b in pool.healthy()] == [big.url, small.url]  # most free VRAM first
        assert [(u, h) for u, h, _ in changes] == [(small.url, True), (big.url, True)] or \
            sorted((u, h) for u, h, _ in changes) == sorted([(small.url, True), (big.url, True)])
        assert "GiB VRAM free" in changes[0][2]
        changes.clear()
        small.fail_http("/system_stats", times=1)  # one failure is not enough
        await asyncio.sleep(0.1)
        assert len(pool.healthy()) == 2 and not changes
        await small.crash()
        await _until(lambda: changes)
        # the websocket closing or the failed checks, whichever the pool hears first
        assert changes[0][:2] == (small.url, False)
        assert "2 failed checks" in changes[0][2] or "websocket closed" in changes[0][2]
        assert [b.url for b in pool.healthy()] == [big.url]
        await small.restart()
        await _until(lambda: len(changes) == 2)
        assert changes[1][:2] == (small.url, True)
        assert pool.client(big.url) is not pool.client(small.url)
    finally:
        await pool.close()
        await small.stop()
        await big.stop()


async def test_unreachable_backend_reported_down_once():
    changes = []
    pool = BackendPool(["http://127.0.0.1:9"], check_interval_s=0.01, failures_to_down=2,
                       request_timeout=0.5, connect_websockets=False)
    pool.add_listener(lambda *change: changes.append(change))
    try:
        await pool.start()
        await _until(lambda: changes)
        await asyncio.sleep(0.05)
    finally:
        await pool.close()
    assert len(changes) == 1 and changes[0][1] is False and pool.healthy() == []


async def test_one_health_record_fed_by_probe_websocket_and_supervisor():
    fake = FakeComfyUI()
    await fake.start()
    changes = []
    pool = BackendPool([fake.url], check_interval_s=60, recheck_interval_s=0.02, failures_to_down=3,
                       request_timeout=1)
    pool.add_listener(lambda url, healthy, reason: changes.append((healthy, reason)))
    try:
        await pool.start()
        await _until(lambda: changes == [(True, changes[0][1])] and "VRAM free" in changes[0][1])
        [backend] = pool.backends
        pool.set_supervisor(fake.url, False, "ComfyUI is restarting")          # the supervisor's word
        assert not backend.healthy and changes[-1] == (False, "ComfyUI is restarting")
        pool.set_supervisor(fake.url, True, "ComfyUI is up")
        assert backend.healthy and changes[-1] == (True, "ComfyUI is up")
        pool.report_unreachable(fake.url, "connection refused")              # a client's failed request
        assert not backend.healthy and changes[-1] == (False, "connection refused")
        await _until(lambda: backend.healthy)                                 # the one poller finds it again
        assert changes[-1][0] is True and len(changes) == 5
        await fake.drop_websockets()                                          # the websocket's word
        await _until(lambda: changes[-1][0] is False and "websocket closed" in changes[-1][1])
        await _until(lambda: backend.healthy)                                 # it reconnects
    finally:
        await pool.close()
        await fake.stop()


def test_a_backend_is_found_by_its_address_however_it_is_written():
    from comfy.urls import ComfyLogin

    pool = BackendPool(["http://bot:pw@GPU:80/", "http://other:8188"], logins={"http://other:8188": ComfyLogin("a", "b")})
    assert pool.urls == ["http://gpu", "http://other:8188"]
    assert pool.client("http://GPU:80").base_url == pool.client("http://gpu/").base_url == "http://gpu"
    assert "pw" not in repr(pool) and "'b'" not in repr(pool)


async def test_new_addresses_while_running_keep_what_stays_and_close_what_goes():
    first, second = FakeComfyUI(), FakeComfyUI()
    await first.start()
    await second.start()
    pool = BackendPool([first.url], check_interval_s=0.02)
    try:
        await pool.start()
        kept = pool.client(first.url)
        await pool.use_urls([second.url, first.url + "/"])
        assert pool.urls == [second.url, first.url]
        assert pool.client(first.url) is kept                  # same address, same client and health
        await _until(lambda: len(pool.healthy()) == 2)        # the poller runs again, for both
        await pool.use_urls([second.url])
        assert pool.urls == [second.url]
        assert kept.closed                                      # no client is left behind open
        with pytest.raises(ValueError):
            await pool.use_urls([])
        assert pool.urls == [second.url]
    finally:
        await pool.close()
        await first.stop()
        await second.stop()

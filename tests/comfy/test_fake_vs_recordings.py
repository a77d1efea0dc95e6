"""The fake ComfyUI replayed against the recordings of the real one, so it cannot drift.

HTTP: same status codes, same body shapes (keys) and, where deterministic, same bodies.
WS: the same scenarios give the same frame types in the same order (progress_state frames,
which the fake does not emit, are left out of the recorded side), with the same key fields.
"""
from __future__ import annotations

import asyncio
import io
import json

import aiohttp
import pytest
from PIL import Image

from tests.comfy.conftest import RECORDINGS, load_recording

HTTP = sorted(p.name for p in (RECORDINGS / "http").glob("*.json"))
PROMPT_ERRORS = [n for n in HTTP if n.startswith("prompt_error_")]


def _png(colour: str, pad: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(buf, "PNG")
    return buf.getvalue() + b"\0" * pad


async def _seed_inputs(fake) -> None:
    (fake.dir_for("input") / "discord").mkdir(parents=True, exist_ok=True)
    (fake.dir_for("input") / "discord" / "edit_src.png").write_bytes(_png("green"))
    (fake.dir_for("input") / "bot_input.png").write_bytes(_png("red"))
    (fake.dir_for("input") / "not_an_image.txt").write_text("this is plain text, not an image\n")


def _shape(value):
    """Keys and types, recursively: what must match even where values (ids, times) differ."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value[:1]]
    return type(value).__name__ if not isinstance(value, (int, float)) or isinstance(value, bool) else "number"


def _without_tracebacks(value):
    if isinstance(value, dict):
        return {k: (len(v) if k == "traceback" else _without_tracebacks(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_tracebacks(v) for v in value]
    return value


async def _replay_http(session, fake, recorded: dict):
    request = recorded["request"]
    if "raw_url_path_and_query" in request:
        url = fake.url + request["raw_url_path_and_query"]
        async with session.request(request["method"], aiohttp.client.URL(url, encoded=True)) as resp:
            return resp.status, await resp.read(), resp.headers
    kwargs = {"params": request.get("query") or None}
    headers = dict(request.get("headers") or {})
    if "Origin" in headers:
        headers["Origin"] = headers["Origin"].replace(":8188", f":{fake.port}")
    if "json" in request:
        kwargs["json"] = request["json"]
    elif "raw_body" in request:
        kwargs["data"] = request["raw_body"].encode()
    async with session.request(request["method"], fake.url + request["path"], headers=headers, **kwargs) as resp:
        return resp.status, await resp.read(), resp.headers


@pytest.mark.parametrize("name", PROMPT_ERRORS)
async def test_prompt_errors_match(fake_comfy, name):
    await _seed_inputs(fake_comfy)
    recorded = load_recording(f"http/{name}")
    async with aiohttp.ClientSession() as session:
        status, body, headers = await _replay_http(session, fake_comfy, recorded)
    expected = recorded["response"]
    assert status == expected["status"]
    if "text" in expected["body"]:
        assert body.decode() == expected["body"]["text"]
        return
    got, want = json.loads(body), expected["body"]["json"]
    for field in ("prompt_id", "number"):
        got.pop(field, None), want.pop(field, None)
    assert _without_tracebacks(got) == _without_tracebacks(want)


@pytest.mark.parametrize("name", ["features.json", "get_prompt_queue_info.json", "queue_empty.json",
                                  "history_by_id_unknown.json", "history_empty_max_items_2.json",
                                  "object_info_EmptyImage.json", "object_info_SaveImage.json",
                                  "object_info_unknown_class.json", "free_memory.json", "queue_clear.json",
                                  "queue_delete_pending.json", "history_delete.json", "interrupt_when_idle.json",
                                  "interrupt_global_no_body.json", "interrupt_prompt_id_not_running.json",
                                  "origin_mismatch_403.json", "origin_match_ok.json"])
async def test_simple_routes_match_exactly(fake_comfy, name):
    recorded = load_recording(f"http/{name}")
    async with aiohttp.ClientSession() as session:
        status, body, _ = await _replay_http(session, fake_comfy, recorded)
    assert status == recorded["response"]["status"]
    expected = recorded["response"]["body"]
    assert (json.loads(body) if "json" in expected else body.decode()) == expected.get("json", expected.get("text"))


@pytest.mark.parametrize("name", ["system_stats.json", "api_prefix_system_stats.json"])
async def test_system_stats_shape(fake_comfy, name):
    recorded = load_recording(f"http/{name}")
    async with aiohttp.ClientSession() as session:
        status, body, _ = await _replay_http(session, fake_comfy, recorded)
    assert status == 200
    got, want = json.loads(body), recorded["response"]["body"]["json"]
    assert isinstance(got["devices"][0].pop("index"), int)  # a CUDA device has an index; the CPU one had null
    want["devices"][0].pop("index")
    assert _shape(got) == _shape(want)


async def test_uploads_match_in_recorded_order(fake_comfy):
    names = ["upload_image_success.json", "upload_image_same_name_same_content_no_overwrite.json",
             "upload_image_same_name_different_content_no_overwrite.json",
             "upload_image_same_name_overwrite_true.json", "upload_image_subfolder.json",
             "upload_image_type_temp.json", "upload_missing_image_field.json",
             "upload_path_traversal_subfolder.json", "upload_aiohttp_formdata_filename_with_space_and_unicode.json",
             "upload_unknown_type.json"]
    async with aiohttp.ClientSession() as session:
        for name in names:
            recorded = load_recording(f"http/{name}")
            form = aiohttp.FormData()
            for field, value in recorded["request"]["multipart_form"].items():
                if isinstance(value, dict):
                    content = _png("red", pad=value["len"] - len(_png("red")))
                    form.add_field(field, content, filename=value["filename"], content_type=value["content_type"])
                elif field != "note":
                    form.add_field(field, value)
            async with session.post(fake_comfy.url + "/upload/image", data=form) as resp:
                body = await resp.read()
                assert resp.status == recorded["response"]["status"], name
                expected = recorded["response"]["body"]
                got = json.loads(body) if "json" in expected else body.decode()
                assert got == expected.get("json", expected.get("text")), name


async def test_view_status_codes_and_headers(fake_comfy, comfy_client, comfy_workflow):
    await _seed_inputs(fake_comfy)
    await comfy_client.wait((await comfy_client.submit(comfy_workflow)).prompt_id, timeout=5)
    (fake_comfy.dir_for("temp") / "ComfyUI_temp_bauds_00001_.png").write_bytes(_png("blue"))
    async with aiohttp.ClientSession() as session:
        for name in [n for n in HTTP if n.startswith("view_")]:
            recorded = load_recording(f"http/{name}")
            status, body, headers = await _replay_http(session, fake_comfy, recorded)
            expected = recorded["response"]
            assert status == expected["status"], name
            if status == 200:
                assert headers["Content-Type"] == expected["headers"]["Content-Type"], name
                assert headers["Content-Disposition"] == expected["headers"]["Content-Disposition"], name
                assert body[:2] == bytes.fromhex(expected["body"]["first_8_bytes_hex"])[:2], name
            else:
                assert body == b"", name


# ---- websocket sessions --------------------------------------------------------------------

def _frame_key(event: dict):
    if event["kind"] == "binary":
        return ("binary", event["event_type_u32be"], event.get("image_type_u32be"),
                (event.get("metadata_json") or {}).get("image_type"))
    message = event["json"]
    kind, data = message["type"], message["data"]
    if kind == "status":
        return (kind, data["status"]["exec_info"]["queue_remaining"], "sid" in data)
    if kind == "execution_cached":
        return (kind, tuple(data["nodes"]))
    if kind == "executing":
        return (kind, data["node"], "prompt_id" in data)
    if kind == "executed":
        images = data["output"]["images"]
        return (kind, data["node"], len(images), tuple(sorted({(i["subfolder"], i["type"]) for i in images})))
    if kind == "progress":
        return (kind, data["value"], data["max"], data["node"])
    if kind in ("execution_error", "execution_interrupted"):
        return (kind, data["node_id"], data["node_type"], data.get("exception_type"), tuple(sorted(data)))
    return (kind,)


def _recorded_frames(events: list[dict]) -> list:
    return [_frame_key(e) for e in events if e["kind"] in ("text", "binary")
            and not (e["kind"] == "text" and e["json"]["type"] == "progress_state")]


class _Socket:
    def __init__(self, ws):
        self.ws, self.events = ws, []
        self.task = asyncio.create_task(self._read())

    async def _read(self):
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.append({"kind": "text", "json": json.loads(msg.data)})
            elif msg.type == aiohttp.WSMsgType.BINARY:
                event_type, second = int.from_bytes(msg.data[:4], "big"), int.from_bytes(msg.data[4:8], "big")
                event = {"kind": "binary", "event_type_u32be": event_type}
                if event_type == 1:
                    event["image_type_u32be"] = second
                else:
                    event["metadata_json"] = json.loads(msg.data[8:8 + second])
                self.events.append(event)

    async def close(self):
        await self.ws.close()
        await self.task


async def _idle(fake, extra_s: float = 0.05):
    while fake.queue_remaining or not fake._outbox.empty():
        await asyncio.sleep(0.005)
    await asyncio.sleep(extra_s)


async def _replay_ws(session, fake, recorded: dict) -> list:
    sock = _Socket(await session.ws_connect(fake.url + recorded.get("ws_path", "/ws")))
    for event in recorded["events"]:
        if event["kind"] == "sent_text":
            await sock.ws.send_str(json.dumps(event["json"]))
        elif event["kind"] == "note" and "http_request" in event:
            request = event["http_request"]
            async with session.request(request["method"], fake.url + request["path"],
                                       json=request.get("json")) as resp:
                await resp.read()
            await _idle(fake)
    await _idle(fake)
    await sock.close()
    return [_frame_key(e) for e in sock.events]


@pytest.mark.parametrize("names", [
    ["imagine_then_identical_resubmit_then_new_seed.json"],
    ["edit_run.json"],
    ["progress_binary_legacy.json", "progress_binary_with_preview_metadata.json"],
    ["execution_error_runtime.json"],
    ["validation_error_ws_view.json"],
    ["observer_prompt_without_client_id_and_other_client.json"],
    ["interrupt_when_idle_then_run.json"],
])
async def test_ws_sessions_match(fake_comfy, names):
    await _seed_inputs(fake_comfy)
    fake_comfy.exec_ms = 5
    async with aiohttp.ClientSession() as session:
        for name in names:
            recorded = load_recording(f"ws/{name}")
            assert await _replay_ws(session, fake_comfy, recorded) == _recorded_frames(recorded["events"]), name


async def test_ws_connect_without_client_id_gets_hex_sid(fake_comfy):
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(fake_comfy.url + "/ws") as ws:
            first = await ws.receive_json()
    assert first["type"] == "status" and len(first["data"]["sid"]) == 32
    recorded = load_recording("ws/connect_without_clientId.json")["events"]
    assert _recorded_frames(recorded)[0] == _frame_key({"kind": "text", "json": first})


async def test_ws_connect_mid_run_gets_executing_without_prompt_id(fake_comfy):
    workflow = load_recording("long_job_20_blurs.json")
    fake_comfy.exec_ms = 400
    async with aiohttp.ClientSession() as session:
        async with session.post(fake_comfy.url + "/prompt", json={"prompt": workflow, "client_id": "late-1"}) as r:
            assert r.status == 200
        await asyncio.sleep(0.1)
        sock = _Socket(await session.ws_connect(fake_comfy.url + "/ws?clientId=late-1"))
        await _idle(fake_comfy)
        await sock.close()
    got = [_frame_key(e) for e in sock.events]
    recorded = _recorded_frames(load_recording("ws/connect_mid_run_same_clientId.json")["events"])
    assert got[:2] == [("status", 1, True), ("executing", got[1][1], False)]
    assert recorded[1][2] is False
    assert [k[0] for k in got[-4:]] == [k[0] for k in recorded[-4:]]
    assert set(sock.events[1]["json"]["data"]) == {"node"}


async def test_ws_duplicate_client_id_quirk(fake_comfy, comfy_workflow):
    recorded = load_recording("ws/duplicate_clientId_two_sockets.json")
    async with aiohttp.ClientSession() as session:
        comfy_workflow["2"]["inputs"]["seed"] = 1  # as recorded, EmptyImage is already cached
        async with session.post(fake_comfy.url + "/prompt", json={"prompt": comfy_workflow}):
            pass
        await _idle(fake_comfy)
        comfy_workflow["2"]["inputs"]["seed"] = 2
        first = _Socket(await session.ws_connect(fake_comfy.url + "/ws?clientId=dup-1"))
        await asyncio.sleep(0.02)
        second = _Socket(await session.ws_connect(fake_comfy.url + "/ws?clientId=dup-1"))
        await asyncio.sleep(0.02)
        async with session.post(fake_comfy.url + "/prompt", json={"prompt": comfy_workflow, "client_id": "dup-1"}):
            pass
        await _idle(fake_comfy)
        await first.close()
        comfy_workflow["2"]["inputs"]["seed"] = 9
        async with session.post(fake_comfy.url + "/prompt", json={"prompt": comfy_workflow, "client_id": "dup-1"}):
            pass
        await _idle(fake_comfy)
        await second.close()
    assert [_frame_key(e) for e in first.events] == _recorded_frames(recorded["socket_1_events"])
    got_second = [k[0] for k in (_frame_key(e) for e in second.events)]
    want_second = [k[0] for k in _recorded_frames(recorded["socket_2_events"])]
    assert got_second == want_second  # run 1 only; after the old socket closed, nothing at all


async def test_fake_runs_as_a_module_and_crashes_on_demand():
    import socket
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fake_comfyui", "--listen", "127.0.0.1", "--port", str(port),
        "--exec-ms", "5", "--cpu", "--lowvram", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/system_stats") as resp:
                        stats = await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
            assert stats["system"]["comfyui_version"] == "0.3.64"
            async with session.post(f"http://127.0.0.1:{port}/__fake__/fault", json={"kind": "crash"}) as resp:
                assert resp.status == 200
        assert await asyncio.wait_for(proc.wait(), 5) != 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

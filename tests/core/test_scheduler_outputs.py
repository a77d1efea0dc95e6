"""What a job's images are: a SaveImageWebsocket workflow's (they arrive as websocket frames, not
as files to download), and several images from a workflow without a batch size (copies)."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from comfy.workflows import load_workflows
from core.jobs import JobFinished, JobProgress, JobState
from core.paths import resource_root
from tests.fake_comfyui.images import colour_for
from tests.fixtures_core import ONE_IMAGE, with_one_image_workflow


def websocket_workflow(folder, *, batch_size: bool = True) -> str:
    """Flux Schnell saving through SaveImageWebsocket (its images come as websocket frames), with
    or without its batch size, installed in `folder`; its save node."""
    folder.mkdir()
    graph = json.loads((resource_root() / "flujos" / "flux_schnell.json").read_text(encoding="utf-8"))
    save = next(node_id for node_id, node in graph.items() if node["class_type"] == "SaveImage")
    graph[save] = {"class_type": "SaveImageWebsocket", "inputs": {"images": graph[save]["inputs"]["images"]}}
    (folder / "flux_ws.json").write_text(json.dumps(graph), encoding="utf-8")
    manifest = json.loads((resource_root() / "flujos" / "flux_schnell.manifest.json").read_text(encoding="utf-8"))
    if not batch_size:
        del manifest["inputs"]["batch_size"], manifest["defaults"]["batch_size"]
    (folder / "flux_ws.manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return save


async def test_a_save_image_websocket_workflow_finishes_with_its_images(tmp_path, job_service, job_request,
                                                                        core_events):
    websocket_workflow(tmp_path / "flujos")
    job_service.set_workflows(load_workflows(tmp_path / "flujos"))
    accepted = await job_service.submit(job_request(workflow="flux_ws", batch_size=2))
    await core_events.wait_final([accepted.job.id])
    [finished] = core_events.of(JobFinished, accepted.job.id)
    assert len(finished.images) == 2
    job = await job_service.get(accepted.job.id)
    assert job.state == JobState.DONE and all(path.exists() for path in job.outputs)


async def test_websocket_images_of_copies_come_in_seed_order(tmp_path, job_service, job_request, core_events,
                                                            fake_comfy):
    save = websocket_workflow(tmp_path / "flujos", batch_size=False)
    workflows = load_workflows(tmp_path / "flujos")
    job_service.set_workflows(workflows)
    run_in_order = fake_comfy._execution_order          # ComfyUI runs the copies in no fixed order
    fake_comfy._execution_order = lambda prompt, outputs: run_in_order(prompt, list(reversed(outputs)))
    accepted = await job_service.submit(job_request(workflow="flux_ws", batch_size=3))
    await core_events.wait_final([accepted.job.id])
    job = await job_service.get(accepted.job.id)
    plan = workflows.get("flux_ws").copy_plan(3)
    saves = sorted((index, node) for node, (original, index) in plan.items() if original == save)
    for (_, node), path in zip(saves, job.outputs, strict=True):
        with Image.open(path) as image:      # the fake's SaveImageWebsocket sends one colour per node
            assert image.convert("RGB").getpixel((0, 0)) == colour_for(f"{job.prompt_id}-{node}-0")


async def test_several_images_from_a_workflow_without_batch_size_come_in_seed_order(
        job_service, job_request, core_events, fake_comfy):
    """Three images as three copies of the seeded part in one prompt: image i is copy i's (seed + i),
    whatever order ComfyUI runs the copies' outputs in; progress counts through all the copies."""
    with_one_image_workflow(job_service)
    # ComfyUI runs a prompt's output nodes in no fixed order (they are a set): here the last copy first.
    run_in_order = fake_comfy._execution_order
    fake_comfy._execution_order = lambda prompt, outputs: run_in_order(prompt, list(reversed(outputs)))
    accepted = await job_service.submit(job_request(workflow=ONE_IMAGE, batch_size=3, seed=500))
    await core_events.wait_final([accepted.job.id])
    job = await job_service.get(accepted.job.id)
    assert job.state == JobState.DONE and job.seed == 500 and len(job.outputs) == 3
    [prompt] = fake_comfy.received_prompts
    graph = prompt["prompt"]
    assert [graph[n]["inputs"]["seed"] for n in ("8", "11", "14")] == [500, 501, 502]
    made = fake_comfy.history[job.prompt_id]["outputs"]
    for index, save_node in enumerate(("10", "13", "16")):
        [ref] = made[save_node]["images"]
        with Image.open(fake_comfy.dir_for("output") / ref["subfolder"] / ref["filename"]) as theirs, \
                Image.open(job.outputs[index]) as ours:
            assert theirs.convert("RGB").tobytes() == ours.convert("RGB").tobytes()
    progress = [(e.value, e.max) for e in core_events.of(JobProgress, job.id) if e.max]
    steps = sorted(set(progress))
    assert progress == sorted(progress) and steps == [(value, 9) for value in range(1, 10)]   # (previews repeat a step)


async def test_copies_comfyui_kept_from_the_last_run_count_as_done(job_service, job_request, core_events):
    """A Retry with the same seed: ComfyUI has the first copies cached and runs only the rest;
    the progress still climbs to the end."""
    with_one_image_workflow(job_service)
    first = await job_service.submit(job_request(workflow=ONE_IMAGE, batch_size=2, seed=500))
    await core_events.wait_final([first.job.id])
    again = await job_service.submit(job_request(workflow=ONE_IMAGE, batch_size=3, seed=500))
    await core_events.wait_final([again.job.id])
    progress = [(e.value, e.max) for e in core_events.of(JobProgress, again.job.id) if e.max]
    assert progress == sorted(progress) and sorted(set(progress)) == [(7, 9), (8, 9), (9, 9)]
    assert len((await job_service.get(again.job.id)).outputs) == 3


async def test_the_eta_of_copies_counts_each_copy(job_service, job_request, core_events):
    with_one_image_workflow(job_service)
    first = await job_service.submit(job_request(workflow=ONE_IMAGE))
    await core_events.wait_final([first.job.id])
    await job_service.pause()
    two = await job_service.submit(job_request(workflow=ONE_IMAGE, batch_size=2))
    one = await job_service.submit(job_request(workflow=ONE_IMAGE))
    per_run = job_service._scheduler.eta.expected(ONE_IMAGE)
    assert per_run > 0
    assert job_service._scheduler.eta_s(two.job.id) == pytest.approx(2 * per_run)
    assert job_service._scheduler.eta_s(one.job.id) == pytest.approx(3 * per_run)

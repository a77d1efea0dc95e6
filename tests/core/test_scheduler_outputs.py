"""A workflow whose only output is SaveImageWebsocket delivers its images (they arrive as websocket
frames, not as files to download)."""
from __future__ import annotations

import json
import shutil

from comfy.workflows import load_workflows
from core.jobs import JobFinished, JobState
from core.paths import resource_root


async def test_a_save_image_websocket_workflow_finishes_with_its_images(tmp_path, job_service, job_request,
                                                                        core_events):
    folder = tmp_path / "flujos"
    folder.mkdir()
    graph = json.loads((resource_root() / "flujos" / "flux_schnell.json").read_text(encoding="utf-8"))
    save = next(node_id for node_id, node in graph.items() if node["class_type"] == "SaveImage")
    graph[save] = {"class_type": "SaveImageWebsocket", "inputs": {"images": graph[save]["inputs"]["images"]}}
    (folder / "flux_ws.json").write_text(json.dumps(graph), encoding="utf-8")
    shutil.copy(resource_root() / "flujos" / "flux_schnell.manifest.json", folder / "flux_ws.manifest.json")
    job_service.set_workflows(load_workflows(folder))

    accepted = await job_service.submit(job_request(workflow="flux_ws", batch_size=2))
    await core_events.wait_final([accepted.job.id])
    [finished] = core_events.of(JobFinished, accepted.job.id)
    assert len(finished.images) == 2
    job = await job_service.get(accepted.job.id)
    assert job.state == JobState.DONE and all(path.exists() for path in job.outputs)

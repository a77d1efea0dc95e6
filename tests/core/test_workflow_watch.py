"""Workflows follow the disk and ComfyUI: a changed file reloads the queue's workflows by itself; a
backend that comes (back) up has every workflow validated again."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from comfy.client import ComfyClient
from comfy.workflows import WorkflowCatalog
from core.events import EventBus
from core.jobs import BackendHealthChanged
from core.paths import resource_root
from core.workflow_watch import WorkflowsChecked, WorkflowsReloaded, WorkflowWatcher

ORIGINAL = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "original"


class Queue:
    def __init__(self) -> None:
        self.sets = []

    def set_workflows(self, workflows) -> None:
        self.sets.append(workflows)


@pytest.fixture
async def watch(tmp_path, fake_comfy):
    bus = EventBus()
    catalog = WorkflowCatalog(tmp_path / "user", resource_root() / "flujos")
    (tmp_path / "user").mkdir()
    catalog.load()
    queue = Queue()
    client = ComfyClient(fake_comfy.url)
    watcher = WorkflowWatcher(catalog=catalog, jobs=queue, bus=bus, clients=lambda: [client], interval_s=0.01)
    seen = []
    bus.subscribe(WorkflowsReloaded, seen.append)
    bus.subscribe(WorkflowsChecked, seen.append)
    watcher.queue, watcher.seen, watcher.client = queue, seen, client
    yield watcher
    await watcher.stop()
    await client.close()
    await bus.close()


async def test_a_file_dropped_in_the_folder_reaches_the_queue(watch):
    assert await watch.check_disk() is None                   # nothing changed yet
    shutil.copy(ORIGINAL / "anima.json", watch.catalog.user_folder / "anima.json")
    workflows = await watch.check_disk()
    assert workflows.get("anima").manifest_proposed
    assert watch.queue.sets == [workflows] and watch.seen == [WorkflowsReloaded(workflows)]


async def test_the_running_watch_notices_a_removed_file(watch):
    shutil.copy(ORIGINAL / "anima.json", watch.catalog.user_folder / "anima.json")
    watch.catalog.load()
    reloaded = asyncio.Event()
    watch.bus.subscribe(WorkflowsReloaded, lambda event: reloaded.set())
    await watch.start()
    (watch.catalog.user_folder / "anima.json").unlink()
    await asyncio.wait_for(reloaded.wait(), timeout=30)      # the guard only ends a broken test
    assert "anima" not in watch.queue.sets[-1].templates


async def test_a_backend_coming_up_revalidates_every_workflow(watch, fake_comfy):
    await watch.start()
    watch.bus.publish(BackendHealthChanged(watch.client.base_url, True))
    await watch.bus.drain()
    [checked] = [e for e in watch.seen if isinstance(e, WorkflowsChecked)]
    assert checked.backend == watch.client.base_url
    assert set(checked.problems) == set(watch.catalog.current.templates)
    assert watch.problems[watch.client.base_url] == checked.problems


async def test_a_backend_going_down_changes_nothing(watch):
    await watch.start()
    watch.bus.publish(BackendHealthChanged(watch.client.base_url, False, "gone"))
    await watch.bus.drain()
    assert watch.seen == []

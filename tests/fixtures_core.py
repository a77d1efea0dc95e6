"""Pytest fixtures for the real job queue (registered from tests/conftest.py).

- ``core_bus``: the EventBus the service publishes on.
- ``core_events``: an EventLog on that bus: every event in order, and ``await wait_for(pred)``.
- ``make_job_service``: ``await make_job_service(**setting_overrides, db=..., urls=..., start=True)``
  builds a real JobService (SQLite in the test's data folder unless ``db``/``database_url`` is
  given, the fake ComfyUI from ``fake_comfy`` taught the shipped models, the shipped workflows in flujos/) with short
  intervals; everything it made is stopped and closed after the test.
- ``job_service``: one started service, ready for ``submit``.
- ``job_request``: a factory for valid JobRequests (``job_request(user_id=7, prompt="a cat")``).
- ``with_one_image_workflow(service)``: adds ``ONE_IMAGE`` (Z-Image Turbo without its batch size: it
  makes several images as copies of its seeded part) to a running service's workflows.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from comfy.client import ComfyClient
from comfy.workflows import load_workflows
from core.events import EventBus
from core.jobs import JobRequest
from core.paths import resource_root
from core.settings import Settings
from core.store import Database

SHIPPED_OBJECT_INFO = resource_root() / "tests" / "fixtures" / "object_info" / "shipped_models.json"
IMAGINE = "z_image_turbo"
EDIT = "flux_edit"
ONE_IMAGE = "z_image_one"


def one_image_template(template):
    """`template` as a workflow without a batch size, like many imported ones."""
    manifest = template.manifest
    inputs = {role: refs for role, refs in manifest.inputs.items() if role != "batch_size"}
    defaults = {role: value for role, value in manifest.defaults.items() if role != "batch_size"}
    return replace(template, name=ONE_IMAGE, path=template.path.with_name(ONE_IMAGE + ".json"),
                   manifest=replace(manifest, display_name="Z-Image One", inputs=inputs, defaults=defaults))


def with_one_image_workflow(service) -> None:
    workflows = service._workflow_set
    templates = {**workflows.templates, ONE_IMAGE: one_image_template(workflows.get(IMAGINE))}
    service.set_workflows(replace(workflows, templates=templates))


def shipped_object_info() -> dict:
    """Node classes and model lists the shipped workflows need, for FakeComfyUI(extra_object_info=...)."""
    return json.loads(SHIPPED_OBJECT_INFO.read_text())


def teach_shipped_models(fake) -> None:
    """Make a running fake know the shipped workflows' models (fake_comfy starts without them)."""
    fake.add_object_info(shipped_object_info())


class EventLog:
    """Records every event on a bus; ``wait_for`` waits (without polling) until a predicate holds."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Any] = []
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future]] = []
        self._unsubscribe = bus.subscribe(object, self._on_event)

    def _on_event(self, event: Any) -> None:
        self.events.append(event)
        for predicate, future in list(self._waiters):
            if not future.done() and predicate():
                future.set_result(None)

    def of(self, kind: type, job_id: int | None = None) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind) and (job_id is None or e.job_id == job_id)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        if predicate():
            return
        future = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.remove(entry)

    async def wait_final(self, job_ids, timeout: float = 15.0) -> None:
        """Until every job in ``job_ids`` has a JobFinished, JobFailed or JobCancelled."""
        from core.jobs import JobCancelled, JobFailed, JobFinished
        wanted = set(job_ids)
        await self.wait_for(lambda: wanted <= {e.job_id for e in self.events
                                               if isinstance(e, (JobFinished, JobFailed, JobCancelled))}, timeout)


@pytest.fixture
def core_bus():
    return EventBus()


@pytest.fixture
def core_events(core_bus):
    return EventLog(core_bus)


@pytest.fixture
def job_request():
    def make(**overrides) -> JobRequest:
        base = JobRequest(user_id=1, user_name="alice", workflow=IMAGINE, prompt="a red fox in the snow",
                          width=256, height=256)
        return replace(base, **overrides)
    return make


@pytest.fixture
async def make_job_service(app_paths, fake_comfy, core_bus):
    from core.jobservice import JobService

    made: list[tuple[Any, list, Any]] = []
    teach_shipped_models(fake_comfy)
    workflows = load_workflows(resource_root() / "flujos")

    async def make(*, db: Database | None = None, database_url: str | None = None, urls: list[str] | None = None,
                   bus: EventBus | None = None, start: bool = True, service_options: dict | None = None,
                   **overrides) -> JobService:
        own_db = db is None
        if db is None:
            db = await Database.open(database_url, app_paths.data_dir)
        urls = urls or [fake_comfy.url]
        settings = Settings(paths=app_paths, comfy_urls=tuple(urls), **overrides)
        clients = [ComfyClient(url, request_timeout=5.0, reconnect_min_s=0.02, reconnect_max_s=0.2) for url in urls]
        options = dict(position_interval_s=0.01, failover_after_s=0.3, probe_interval_s=0.05)
        options.update(service_options or {})
        service = JobService(db=db, bus=bus or core_bus, settings=settings, workflows=workflows, backends=clients,
                             paths=app_paths, **options)
        service.test_clients = clients
        made.append((service, clients, db if own_db else None))
        if start:
            await service.start()
        return service

    yield make
    for service, clients, db in reversed(made):
        await service.stop()
        for client in clients:
            await client.close()
        if db is not None:
            await db.close()


@pytest.fixture
async def job_service(make_job_service):
    return await make_job_service()

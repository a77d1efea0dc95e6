"""Keeps the queue's workflows in step with the disk and with ComfyUI.

A workflow file added, changed or removed in the user's folder reloads the catalog by itself (a
cheap look at names, sizes and times every few seconds, off the event loop) and the queue gets the
new set. A ComfyUI backend that comes (back) up, e.g. restarted after custom nodes were
installed, has every workflow validated again against its /object_info; the result is published
as `WorkflowsChecked` and each problem is logged.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from comfy.catalog import WorkflowCatalog, WorkflowSet
from comfy.errors import ComfyError
from comfy.validation import validate
from core.events import EventBus
from core.jobs import BackendHealthChanged
from core.tasks import TaskManager

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkflowsReloaded:
    """The catalog was reloaded because files changed on disk."""
    workflows: WorkflowSet


@dataclass(frozen=True)
class WorkflowsChecked:
    """Every workflow validated against one backend's ComfyUI: name -> its problems (empty: fine)."""
    backend: str
    problems: Mapping[str, tuple[str, ...]]


class WorkflowWatcher:
    def __init__(self, *, catalog: WorkflowCatalog, jobs: Any, bus: EventBus,
                 clients: Callable[[], Sequence[Any]], interval_s: float = 3.0) -> None:
        self.catalog = catalog
        self.jobs = jobs                      # anything with set_workflows(WorkflowSet)
        self.bus = bus
        self.clients = clients                # the ComfyClients of the backends
        self.interval_s = interval_s
        self.problems: dict[str, Mapping[str, tuple[str, ...]]] = {}   # backend -> last check
        self._tasks = TaskManager("workflow watch")
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        self._unsubscribe = self.bus.subscribe(BackendHealthChanged, self._on_health)
        self._tasks.spawn(self._watch_disk(), name="disk")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self._tasks.close()

    async def _watch_disk(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check_disk()

    async def check_disk(self) -> WorkflowSet | None:
        """Reload when a file changed; the queue and the bus get the new set. None when nothing did."""
        try:
            workflows = await asyncio.to_thread(self.catalog.reload_if_changed)
        except OSError as exc:              # the folder went away (a network drive...): keep what we have
            log.warning("workflows folder not readable, keeping the loaded workflows: %s", exc)
            return None
        if workflows is None:
            return None
        log.info("workflows changed on disk: %d loaded (%d enabled), %d not loaded",
                 len(workflows.templates), len(workflows.enabled()), len(workflows.errors))
        for error in workflows.errors:
            log.warning("workflow not loaded: %s", error)
        self.jobs.set_workflows(workflows)
        self.bus.publish(WorkflowsReloaded(workflows))
        return workflows

    async def _on_health(self, event: BackendHealthChanged) -> None:
        if event.healthy:
            await self.revalidate(event.backend)

    async def revalidate(self, backend: str) -> Mapping[str, tuple[str, ...]] | None:
        """Validate every workflow against the ComfyUI at `backend` (its node list now)."""
        client = next((c for c in self.clients() if c.base_url == backend), None)
        if client is None:
            return None
        try:
            object_info = await client.object_info(refresh=True)
        except ComfyError as exc:
            log.info("workflows not validated against %s: %s", backend, exc)
            return None
        problems = {name: tuple(str(p) for p in validate(template, object_info))
                    for name, template in sorted(self.catalog.current.templates.items())}
        for name, found in problems.items():
            for problem in found:
                log.warning("workflow %s on %s: %s", name, backend, problem)
        self.problems[backend] = problems
        self.bus.publish(WorkflowsChecked(backend, problems))
        return problems

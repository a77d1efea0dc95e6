"""Live queue feedback: one status message per job, driven only by bus events.

The message appears in the user's session channel when the job is queued ("Pos: 3"), counts
down as the jobs ahead finish, shows generation progress (a bar and the latest preview), and at
the end becomes the result (see delivery.py). It is a normal channel message, not an interaction
follow-up, so it can be edited for as long as the job takes.

Edits are coalesced per message: a message is edited only when what it shows changed, and at most
once per EDIT_INTERVAL_S; updates in between overwrite each other and only the latest is sent.
The final result bypasses the interval and is never dropped.

Discord also allows only about CHANNEL_EDITS edits per CHANNEL_WINDOW_S in one channel, and a
user's jobs share their session channel. So the status messages of a channel share a sliding
window (`ChannelBudget`): progress and position edits leave one place per unfinished job of the
channel (at least one, at most all but one) free for the final results, which may use every place.
So a result rarely waits behind countdown edits, and a final is never dropped, only delayed.

How events flow: the bus calls `_on_event` inline in the publisher's context; it only appends to
an inbox and wakes the router, a task the bot owns. The router updates each job's wanted state and
starts that job's flusher task, which does the REST calls. So a slow Discord edit never delays the
queue, and one job's rate limit never delays another's.
"""
from __future__ import annotations

import asyncio
import io
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.context import BotContext
from bot.i18n import format_duration, format_percent, lang_of
from core.gpu_mode import HostGpuChanged
from core.tasks import TaskManager
from core.jobs import (Job, JobCancelled, JobEvent, JobFailed, JobFinished, JobPositionChanged, JobProgress, JobQueued,
                       JobStarted, JobState, QueueSnapshot)

log = logging.getLogger(__name__)

EDIT_INTERVAL_S = 1.5
CHANNEL_EDITS = 5             # Discord: about 5 message edits per 5 s per channel
CHANNEL_WINDOW_S = 5.0
BAR_CELLS = 12
WAKEUP = "imagebot_feedback"      # bot.dispatch() name that wakes the router
_FINAL = (JobFinished, JobFailed, JobCancelled)


def progress_bar(fraction: float, cells: int = BAR_CELLS) -> str:
    filled = max(0, min(cells, int(fraction * cells + 1e-9)))
    return "█" * filled + "░" * (cells - filled)


class ChannelBudget:
    """The edits made in one channel during the last CHANNEL_WINDOW_S (monotonic times)."""

    def __init__(self, limit: int = CHANNEL_EDITS, window_s: float = CHANNEL_WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self.stamps: deque[float] = deque()

    def free_at(self, now: float, final: bool, keep_free: int = 1) -> float:
        """When the next edit may go: a final may use every place, other edits leave `keep_free` places."""
        while self.stamps and self.stamps[0] <= now - self.window_s:
            self.stamps.popleft()
        places = self.limit if final else self.limit - max(1, min(self.limit - 1, keep_free))
        if len(self.stamps) < places:
            return now
        return self.stamps[len(self.stamps) - places] + self.window_s

    def take(self, now: float) -> None:
        self.stamps.append(now)

    def idle(self, now: float) -> bool:
        return not self.stamps or self.stamps[-1] <= now - self.window_s


class StatusMessage:
    """One job's status message: what it should show, what it shows, and its flusher task."""

    def __init__(self, hub: "FeedbackHub", job: Job, message_id: int | None = None) -> None:
        self.hub = hub
        self.job = job
        self.job_id = job.id
        self.lang = lang_of(job.request.locale)
        self.channel_id = job.request.channel_id
        self.message: discord.Message | discord.PartialMessage | None = None
        self.message_id = message_id
        self.text = ""
        self.preview: bytes | None = None
        self.preview_mime: str | None = None
        self.preview_seq = 0
        self.sent_text: str | None = None
        self.sent_preview_seq = 0
        self.last_edit = -math.inf
        self.final: JobEvent | None = None
        self.task: asyncio.Task | None = None
        self.sleeping = False
        self.edits = 0
        self.position: int | None = None
        self.queue_length: int | None = None
        self.eta_s: float | None = None
        self.running = False
        self.progress_text = ""                # the running job's last progress line
        self.attempted = False                 # it went to ComfyUI once: back in the queue means a retry
        self.finished_at: float | None = None   # perf_counter when the final event arrived

    # ---------------------------------------------------------------- wanted state

    @property
    def model(self) -> str:
        return self.hub.model_name(self.job.request.workflow)

    def _text(self, key: str, **params: Any) -> str:
        return self.hub.bot.catalog.text(key, self.lang, model=self.model, job_id=self.job_id, **params)

    def render_queued(self) -> None:
        """What the job's message says between its events, from the queue's state: the first
        reason it cannot go on wins (offline, the host's GPU, paused), and no ETA is promised
        then."""
        hub = self.hub
        offline = hub.backends_down()
        if self.running:
            self.text = self._text("status.running_offline") if offline else (self.progress_text or self.text)
            return
        if self.position is None:
            return
        if self.position == 0:      # left our queue for ComfyUI's; JobStarted follows when it runs
            self.text = self._text("status.running_offline" if offline else "status.sent")
            return
        if offline:
            self.text = self._text("status.waiting_backend", position=self.position)
        elif hub.host_gpu.in_use:
            self.text = self._text("status.host_gpu", position=self.position, back=hub.host_gpu_back_text(self.lang))
        elif hub.paused():
            self.text = self._text("status.paused", position=self.position)
        else:
            eta = "" if self.eta_s is None else hub.bot.catalog.text(
                "status.eta", self.lang, eta=format_duration(self.eta_s, self.lang))
            key = "status.retrying" if self.attempted else "status.queued"
            self.text = self._text(key, position=self.position, queue_length=self.queue_length or self.position,
                                   eta=eta)

    def apply(self, event: JobEvent) -> None:
        if self.final is not None:
            return
        if isinstance(event, JobQueued):
            self.running = False
            self.position = event.position
            self.queue_length = self.hub.bot.job_service.queue_length()
            self.eta_s = self.hub.bot.job_service.eta_s(self.job_id)
            self.render_queued()
        elif isinstance(event, JobPositionChanged):
            self.running = False          # back in the queue after a retry
            self.position, self.queue_length, self.eta_s = event.position, event.queue_length, event.eta_s
            if event.position == 0:
                self.attempted = True
            self.render_queued()
        elif isinstance(event, JobStarted):
            self.running = self.attempted = True
            self.progress_text = self._text("status.starting")
            self.render_queued()
        elif isinstance(event, JobProgress):
            self.running = True
            fraction = event.value / event.max if event.max else 0.0
            fraction = max(0.0, min(1.0, fraction))
            self.progress_text = self._text("status.running", bar=progress_bar(fraction),
                                            percent=format_percent(fraction, self.lang))
            self.render_queued()
            if event.preview:
                self.preview, self.preview_mime = event.preview, event.preview_mime
                self.preview_seq += 1
        elif isinstance(event, _FINAL):
            self.final = event
            self.finished_at = time.perf_counter()

    def dirty(self) -> bool:
        return bool(self.text) and (self.text != self.sent_text or self.preview_seq != self.sent_preview_seq)

    # ---------------------------------------------------------------- REST (flusher task)

    async def channel(self) -> discord.abc.Messageable | None:
        """The job's channel: the one it was asked from when the session existed, else the user's
        session channel (waiting while it is being made)."""
        if self.channel_id is None:
            request = self.job.request
            if request.guild_id is None:
                return None
            channel = await self.hub.bot.session_channels.current(request.guild_id, request.user_id)
            if channel is not None:
                self.channel_id = channel.id
            return channel
        channel = self.hub.bot.get_channel(self.channel_id)
        if channel is None:
            try:
                channel = await self.hub.bot.fetch_channel(self.channel_id)
            except (discord.NotFound, discord.Forbidden):
                return None
        return channel  # type: ignore[return-value]

    def _preview_files(self) -> list[discord.File]:
        if self.preview is None or self.preview_seq == self.sent_preview_seq:
            return []
        ext = "png" if (self.preview_mime or "").endswith("png") else "jpg"
        return [discord.File(io.BytesIO(self.preview), filename=f"preview.{ext}")]

    async def _create(self) -> None:
        channel = await self.channel()
        if channel is None:
            raise LookupError(f"channel {self.channel_id} of job {self.job_id} is gone")
        if self.message_id is not None:        # adopted after a restart: keep editing the same message
            self.message = channel.get_partial_message(self.message_id)  # type: ignore[attr-defined]
            return
        text, seq = self.text, self.preview_seq
        files = self._preview_files()
        self.message = await channel.send(text, files=files, reference=await self._parent_message(),
                                          allowed_mentions=discord.AllowedMentions.none())
        self.message_id = self.message.id
        self.sent_text, self.sent_preview_seq = text, seq
        self.last_edit = time.monotonic()
        try:
            await self.hub.bot.job_service.set_feedback_message(self.job_id, self.message.id)
        except Exception:  # the id only helps after a restart; never fail the feedback for it
            log.warning("could not store the status message of job %s", self.job_id, exc_info=True)

    async def _parent_message(self) -> discord.MessageReference | None:
        """A job made from another (upscale, variation, reroll, edit) replies to that one's message."""
        parent_id = self.job.request.parent_job_id
        if parent_id is None:
            return None
        try:
            parent = await self.hub.bot.job_service.get(parent_id)
        except Exception:       # only a nicety: never hold the status message for it
            log.debug("could not load the parent of job %s", self.job_id, exc_info=True)
            return None
        if parent is None or parent.feedback_message_id is None:
            return None
        return discord.MessageReference(message_id=parent.feedback_message_id, channel_id=self.channel_id,
                                        fail_if_not_exists=False)

    async def wait_for_channel(self, *, final: bool) -> None:
        """Take a place in the channel's edit window, waiting for one if it is full."""
        budget = self.hub.budget(self.channel_id)
        while True:
            now = time.monotonic()
            free_at = budget.free_at(now, final)
            if free_at <= now:
                budget.take(now)      # no await since the check: the place is ours
                return
            await asyncio.sleep(free_at - now)

    async def _edit(self) -> None:
        assert self.message is not None
        text, seq = self.text, self.preview_seq
        kwargs: dict[str, Any] = {"content": text, "allowed_mentions": discord.AllowedMentions.none()}
        files = self._preview_files()
        if files:
            kwargs["attachments"] = files
        self.last_edit = time.monotonic()
        await self.message.edit(**kwargs)
        self.edits += 1
        self.hub.edit_count += 1
        self.sent_text, self.sent_preview_seq = text, seq

    async def run(self) -> None:
        me = asyncio.current_task()
        try:
            while True:
                if self.final is not None:
                    await self.hub.deliver(self)
                    return
                if self.message is None:
                    if not self.text:
                        return
                    await self._create()
                    continue
                if not self.dirty():
                    return
                now = time.monotonic()
                budget = self.hub.budget(self.channel_id)
                ready_at = max(self.last_edit + EDIT_INTERVAL_S,
                               budget.free_at(now, final=False, keep_free=self.hub.unfinished_in(self.channel_id)))
                if ready_at > now:
                    self.sleeping = True
                    try:
                        await asyncio.sleep(ready_at - now)
                    finally:
                        self.sleeping = False
                    continue
                budget.take(now)
                try:
                    await self._edit()
                except discord.NotFound:
                    # The user deleted the status message: show the state in a new one.
                    self.message, self.message_id, self.sent_text = None, None, None
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live feedback of job %s failed", self.job_id)
            if self.final is not None:
                self.hub.forget(self)
        finally:
            if self.task is me:
                self.task = None


class FeedbackHub:
    def __init__(self, bot: BotContext, deliver: Callable[[BotContext, StatusMessage], Awaitable[None]]) -> None:
        """`deliver` turns a status message into its final result (bot/delivery.py's deliver_final)."""
        self.bot = bot
        self._deliver_final = deliver
        self.statuses: dict[int, StatusMessage] = {}
        self.edit_count = 0
        self.delivery_latencies_s: list[float] = []
        self._inbox: deque[Any] = deque()
        self._router: asyncio.Task | None = None
        self._unsubscribe: list[Any] = []
        self._adopting: dict[int, list[JobEvent]] = {}
        self._ignored: set[int] = set()
        self._done: OrderedDict[int, None] = OrderedDict()
        self.queue_state: QueueSnapshot | None = None     # the latest snapshot: paused, backends' health
        self.host_gpu = HostGpuChanged(False, (), None)
        self.tasks = TaskManager("feedback")
        self._budgets: dict[int | None, ChannelBudget] = {}

    # ---------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Subscribe to the bus and start the router (call from setup_hook)."""
        if self._router is not None:
            return
        self._unsubscribe = [
            self.bot.bus.subscribe(JobEvent, self._on_event),
            self.bot.bus.subscribe(QueueSnapshot, self._on_event),
            self.bot.bus.subscribe(HostGpuChanged, self._on_event),
        ]
        if self.bot.job_service is not None:
            self.queue_state = self.bot.job_service.snapshot()
        self._router = self.tasks.spawn(self._route_forever(), name="router")
        self.tasks.spawn(self.deliver_outbox(), name="outbox")

    async def deliver_outbox(self) -> None:
        """Jobs that ended while nobody could tell their user (the bot was down or crashed between
        the job's end and its message): delivered once each, editing their stored status message."""
        service = self.bot.job_service
        if service is None:
            return
        try:
            jobs = await service.undelivered("discord")
        except Exception:
            log.warning("could not read the jobs still to deliver", exc_info=True)
            return
        for job in jobs:
            if job.id in self.statuses or job.id in self._done or not self.ours(job):
                continue
            status = self.statuses[job.id] = StatusMessage(self, job, message_id=job.feedback_message_id)
            status.final = final_event(job)
            self.kick(status)

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        closing, self.tasks = self.tasks, TaskManager("feedback")   # a bot started again gets a fresh owner
        await closing.close()
        self._router = None

    def _on_event(self, event: Any) -> None:
        """Bus subscriber (sync, inline in the publisher): queue it and wake the router."""
        if isinstance(event, _FINAL):
            event = (event, time.perf_counter())
        self._inbox.append(event)
        self.bot.dispatch(WAKEUP)

    async def _route_forever(self) -> None:
        while True:
            while self._inbox:
                item = self._inbox.popleft()
                try:
                    self._route(item)
                except Exception:
                    log.exception("live feedback could not handle %r", item)
            # No await between the emptiness check and registering the waiter: no wake-up is lost.
            await self.bot.wait_for(WAKEUP)

    # ---------------------------------------------------------------- routing

    def host_gpu_back_text(self, lang: str) -> str:
        """ "back at about 21:00" (a Discord timestamp: each reader sees their own clock) or "back soon"."""
        back_at = self.host_gpu.back_at
        if back_at is None:
            return self.bot.catalog.text("host_gpu.back_soon", lang)
        return self.bot.catalog.text("host_gpu.back_at", lang, time=f"<t:{int(back_at.timestamp())}:t>")

    def backends_down(self) -> bool:
        """Every image server is offline (as the queue's snapshot says)."""
        backends = self.queue_state.backends if self.queue_state is not None else ()
        return bool(backends) and not any(b.healthy for b in backends)

    def paused(self) -> bool:
        return self.queue_state is not None and self.queue_state.paused

    def model_name(self, workflow: str) -> str:
        for info in self.bot.job_service.workflows():
            if info.name == workflow:
                return info.display_name
        return workflow

    @staticmethod
    def ours(job: Job) -> bool:
        return job.request.source == "discord" and job.request.guild_id is not None

    def _route(self, item: Any) -> None:
        received_at = None
        if isinstance(item, tuple):
            item, received_at = item
        if isinstance(item, HostGpuChanged):
            self.host_gpu = item
            for status in self.statuses.values():
                status.render_queued()
                self.kick(status)
            return
        if isinstance(item, QueueSnapshot):
            before = (self.backends_down(), self.paused())
            self.queue_state = item
            if before != (self.backends_down(), self.paused()):
                for status in self.statuses.values():
                    status.render_queued()
                    self.kick(status)
            return
        event: JobEvent = item
        job_id = event.job_id
        if job_id in self._done:
            return
        if job_id in self._ignored:
            if isinstance(event, _FINAL):
                self._ignored.discard(job_id)
            return
        status = self.statuses.get(job_id)
        if status is None:
            if job_id in self._adopting:
                self._adopting[job_id].append(event)
                return
            job = getattr(event, "job", None)
            if job is None or not isinstance(event, JobQueued):
                # A job we have not seen (the bot restarted): look it up, then catch up.
                self._adopting[job_id] = [event]
                self.tasks.spawn(self._adopt(job_id, job), name=f"adopt job {job_id}")
                return
            if not self.ours(job):
                self._ignored.add(job_id)
                return
            status = self.statuses[job_id] = StatusMessage(self, job, message_id=job.feedback_message_id)
        status.apply(event)
        if received_at is not None and status.finished_at is not None:
            status.finished_at = received_at
        self.kick(status)

    async def _adopt(self, job_id: int, job: Job | None) -> None:
        try:
            if job is None:
                job = await self.bot.job_service.get(job_id)
        except Exception:
            log.warning("live feedback: could not load job %s", job_id, exc_info=True)
            job = None
        events = self._adopting.pop(job_id, [])
        if job is None or not self.ours(job):
            if not any(isinstance(e, _FINAL) for e in events):
                self._ignored.add(job_id)
            return
        status = self.statuses[job_id] = StatusMessage(self, job, message_id=job.feedback_message_id)
        for event in events:
            status.apply(event)
        if not status.text and status.final is None:
            status.position = self.bot.job_service.position(job_id)
            if status.position is not None:
                status.queue_length = self.bot.job_service.queue_length()
                status.eta_s = self.bot.job_service.eta_s(job_id)
                status.render_queued()
        self.kick(status)

    def kick(self, status: StatusMessage) -> None:
        """Make sure the job's flusher runs; a final result interrupts an interval wait."""
        if status.task is not None and status.final is not None and status.sleeping:
            status.task.cancel()
            status.task = None
        if status.task is None and (status.final is not None or status.dirty() or status.message is None):
            status.task = self.tasks.spawn(status.run(), name=f"status of job {status.job_id}")

    def budget(self, channel_id: int | None) -> ChannelBudget:
        budget = self._budgets.get(channel_id)
        if budget is None:
            if len(self._budgets) > 1000:     # forget channels with nothing in their window
                now = time.monotonic()
                self._budgets = {k: b for k, b in self._budgets.items() if not b.idle(now)}
            budget = self._budgets[channel_id] = ChannelBudget()
        return budget

    def unfinished_in(self, channel_id: int | None) -> int:
        """Jobs of a channel still waiting for their final result (each will need one edit)."""
        return sum(1 for s in self.statuses.values() if s.channel_id == channel_id and s.final is None)

    def forget(self, status: StatusMessage) -> None:
        self.statuses.pop(status.job_id, None)
        self._done[status.job_id] = None
        while len(self._done) > 5000:
            self._done.popitem(last=False)

    async def deliver(self, status: StatusMessage) -> None:
        try:
            await self._deliver_final(self.bot, status)
            await self.bot.job_service.mark_delivered(status.job_id)   # the outbox: told, only now
        finally:
            self.forget(status)
        if status.finished_at is not None and isinstance(status.final, JobFinished):
            self.delivery_latencies_s.append(time.perf_counter() - status.finished_at)


def final_event(job: Job) -> JobEvent:
    """The final event a finished job would have published (for delivering it from the outbox)."""
    if job.state == JobState.DONE:
        return JobFinished(job.id, job.user_id, job, tuple(job.outputs), job.queue_wait_s or 0.0,
                           job.generation_s or 0.0, job.seed, job.backend or "")
    if job.state == JobState.FAILED:
        return JobFailed(job.id, job.user_id, job, job.error_code or "internal", job.error_text or "")
    return JobCancelled(job.id, job.user_id, job, None)

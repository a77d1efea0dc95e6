"""The in-memory waiting list, in run order.

Keys are (priority, order): lower priority numbers run first, and `order` (the job id unless an
admin moved the job) keeps FIFO within a priority. The keys live in one sorted list, so a
position is a bisect (O(log n)) and an insert or removal is one memmove, cheap with thousands
of jobs waiting. The list also remembers the lowest index whose position changed since the last
`take_changed_from()`, so position events only look at the part of the queue that moved.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Iterator

Key = tuple[int, int, int]   # (priority, order, job_id): the job id breaks ties after a move


class WaitingQueue:
    def __init__(self) -> None:
        self._keys: list[Key] = []
        self._by_job: dict[int, Key] = {}
        self._changed_from: int | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, job_id: int) -> bool:
        return job_id in self._by_job

    def __iter__(self) -> Iterator[int]:
        return (key[2] for key in self._keys)

    def add(self, job_id: int, priority: int, order: int) -> int:
        """Insert a job; returns its position (1 = next)."""
        if job_id in self._by_job:
            raise ValueError(f"job {job_id} is already waiting")
        key = (priority, order, job_id)
        insort(self._keys, key)
        self._by_job[job_id] = key
        index = bisect_left(self._keys, key)
        self._mark(index)
        return index + 1

    def remove(self, job_id: int) -> bool:
        key = self._by_job.pop(job_id, None)
        if key is None:
            return False
        index = bisect_left(self._keys, key)
        del self._keys[index]
        self._mark(index)
        return True

    def first(self) -> int | None:
        return self._keys[0][2] if self._keys else None

    def position(self, job_id: int) -> int | None:
        key = self._by_job.get(job_id)
        return None if key is None else bisect_left(self._keys, key) + 1

    def key(self, job_id: int) -> Key | None:
        return self._by_job.get(job_id)

    def at(self, index: int) -> int:
        return self._keys[index][2]

    def job_ids(self, start: int = 0) -> list[int]:
        return [key[2] for key in self._keys[start:]]

    def move(self, job_id: int, steps: int) -> list[tuple[int, int]]:
        """Move a job `steps` places (negative: earlier) within its priority by swapping orders
        with its neighbours (orders are unique, so the list stays sorted). Returns the
        (job_id, new order) pairs that changed."""
        key = self._by_job.get(job_id)
        if key is None or steps == 0:
            return []
        changed: dict[int, int] = {}
        index = bisect_left(self._keys, key)
        direction = -1 if steps < 0 else 1
        for _ in range(abs(steps)):
            other_index = index + direction
            if not 0 <= other_index < len(self._keys):
                break
            mine, other = self._keys[index], self._keys[other_index]
            if other[0] != mine[0]:
                break                                   # never across priorities
            new_mine = (mine[0], other[1], mine[2])
            new_other = (other[0], mine[1], other[2])
            self._keys[other_index], self._keys[index] = new_mine, new_other
            self._by_job[mine[2]], self._by_job[other[2]] = new_mine, new_other
            changed[mine[2]], changed[other[2]] = new_mine[1], new_other[1]
            self._mark(min(index, other_index))
            index = other_index
        return list(changed.items())

    def set_priority(self, job_id: int, priority: int) -> bool:
        key = self._by_job.get(job_id)
        if key is None:
            return False
        self.remove(job_id)
        self.add(job_id, priority, key[1])
        return True

    def take_changed_from(self) -> int | None:
        """The lowest index whose position may have changed since the last call (and reset)."""
        changed, self._changed_from = self._changed_from, None
        return changed

    def _mark(self, index: int) -> None:
        if self._changed_from is None or index < self._changed_from:
            self._changed_from = index


class RunQueue:
    """The one queue the scheduler owns: the waiting order (with priorities), pause, and how many
    unfinished jobs each user has. Positions are read from here and nowhere else."""

    def __init__(self) -> None:
        self.waiting = WaitingQueue()
        self.paused = False
        self._per_user: Counter[int] = Counter()

    def __len__(self) -> int:
        """THE queue length: jobs waiting with us (not yet handed to ComfyUI)."""
        return len(self.waiting)

    def __contains__(self, job_id: int) -> bool:
        return job_id in self.waiting

    def __iter__(self) -> Iterator[int]:
        return iter(self.waiting)

    def join(self, job_id: int, user_id: int, priority: int, order: int) -> int:
        """A new (or reloaded) unfinished job waits; returns its position."""
        self._per_user[user_id] += 1
        return self.waiting.add(job_id, priority, order)

    def count_in(self, user_id: int) -> None:
        """An unfinished job that does not wait (reloaded while inside ComfyUI) still counts for its user."""
        self._per_user[user_id] += 1

    def wait_again(self, job_id: int, priority: int, order: int) -> int:
        """A job that was handed out comes back (pause, retry): same user count, its old place."""
        return self.waiting.add(job_id, priority, order)

    def leave(self, job_id: int, user_id: int) -> None:
        """The job ended (done, failed, cancelled)."""
        self.waiting.remove(job_id)
        self._per_user[user_id] -= 1
        if self._per_user[user_id] <= 0:
            del self._per_user[user_id]

    def take(self, job_id: int) -> bool:
        """A backend takes this waiting job (core/dispatch.py chose it); False when it was not waiting."""
        return self.waiting.remove(job_id)

    def position(self, job_id: int) -> int | None:
        return self.waiting.position(job_id)

    def active(self, user_id: int) -> int:
        """Unfinished jobs of the user (waiting, or inside ComfyUI)."""
        return self._per_user.get(user_id, 0)

    def move(self, job_id: int, steps: int) -> list[tuple[int, int]]:
        return self.waiting.move(job_id, steps)

    def set_priority(self, job_id: int, priority: int) -> bool:
        return self.waiting.set_priority(job_id, priority)

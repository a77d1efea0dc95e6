"""Expected generation time per (workflow, backend), from measured runs.

An exponential moving average per pair, rebuilt on start from the latest finished jobs in the
database, so nothing extra is persisted. A workflow never measured on a backend borrows the
workflow's average on other backends, then the overall average, then a default guess.

A job that had to load its model first takes longer: what that costs is learned per backend from
such jobs (their time over the usual one for their workflow), and added where a load is expected.
Until one is measured a load counts nothing.
"""
from __future__ import annotations

DEFAULT_GUESS_S = 20.0
ALPHA = 0.3          # weight of the newest measurement


class EtaModel:
    def __init__(self, default_s: float = DEFAULT_GUESS_S) -> None:
        self._default = default_s
        self._by_pair: dict[tuple[str, str], float] = {}
        self._by_workflow: dict[str, float] = {}
        self._overall: float | None = None
        self._load_by_backend: dict[str, float] = {}

    def record(self, workflow: str, backend: str, seconds: float, loaded: bool = False) -> None:
        """A finished job's generation time; `loaded`: it loaded its model first."""
        if seconds < 0:
            return
        usual = self._by_pair.get((workflow, backend)) or self._by_workflow.get(workflow)
        if loaded and usual is not None:
            self._load_by_backend[backend] = _ema(self._load_by_backend.get(backend), max(0.0, seconds - usual))
            return
        self._by_pair[(workflow, backend)] = _ema(self._by_pair.get((workflow, backend)), seconds)
        self._by_workflow[workflow] = _ema(self._by_workflow.get(workflow), seconds)
        self._overall = _ema(self._overall, seconds)

    def load_s(self, backend: str | None) -> float:
        """What loading a model costs on `backend` (any backend's when it has none measured yet)."""
        value = self._load_by_backend.get(backend) if backend is not None else None
        if value is None and self._load_by_backend:
            value = sum(self._load_by_backend.values()) / len(self._load_by_backend)
        return value or 0.0

    def expected(self, workflow: str, backend: str | None = None, loads: bool = False) -> float:
        if loads:
            return self.expected(workflow, backend) + self.load_s(backend)
        if backend is not None:
            value = self._by_pair.get((workflow, backend))
            if value is not None:
                return value
        value = self._by_workflow.get(workflow)
        if value is not None:
            return value
        return self._overall if self._overall is not None else self._default

    @property
    def measured(self) -> bool:
        return self._overall is not None


def _ema(previous: float | None, value: float) -> float:
    return value if previous is None else previous + ALPHA * (value - previous)

"""Expected generation time per (workflow, backend), from measured runs.

An exponential moving average per pair, rebuilt on start from the latest finished jobs in the
database, so nothing extra is persisted. A workflow never measured on a backend borrows the
workflow's average on other backends, then the overall average, then a default guess.
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

    def record(self, workflow: str, backend: str, seconds: float) -> None:
        if seconds < 0:
            return
        self._by_pair[(workflow, backend)] = _ema(self._by_pair.get((workflow, backend)), seconds)
        self._by_workflow[workflow] = _ema(self._by_workflow.get(workflow), seconds)
        self._overall = _ema(self._overall, seconds)

    def expected(self, workflow: str, backend: str | None = None) -> float:
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

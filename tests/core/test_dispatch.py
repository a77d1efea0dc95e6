"""core/dispatch.py: the model-aware choice, its fairness bound, affinity, and the plan it implies."""
from __future__ import annotations

import random

import pytest

from core.dispatch import BackendView, Fairness, Waiting, choose, model_of, plan, take

A, B, C = frozenset({"flux.gguf", "t5.safetensors"}), frozenset({"zimage.safetensors"}), frozenset({"sdxl.ckpt"})
ON = Fairness(max_bypass=3, max_extra_wait_s=60)


def line(*specs) -> list[Waiting]:
    """line(A, B, (B, dict(priority=1, bypassed=2)), ...): jobs 1, 2, 3... in first-come order."""
    jobs = []
    for number, spec in enumerate(specs, 1):
        model, extra = spec if isinstance(spec, tuple) else (spec, {})
        jobs.append(Waiting(number, extra.pop("priority", 0), model, **extra))
    return jobs


def view(name: str = "gpu0", loaded=None, known: bool = True) -> BackendView:
    return BackendView(name, loaded, known)


@pytest.mark.parametrize("case, jobs, backend, others, now, fairness, expected", [
    ("first come first served when turned off", line(B, A), view(loaded=A), [], 0, Fairness(model_aware=False), 0),
    ("the job whose model is loaded goes first", line(B, B, A, B), view(loaded=A), [], 0, ON, 2),
    ("nothing loaded: first in line", line(B, A), view(), [], 0, ON, 0),
    ("no waiting job matches: first in line", line(B, C), view(loaded=A), [], 0, ON, 0),
    ("priorities come first", line((B, dict(priority=0)), (A, dict(priority=1))), view(loaded=A), [], 0, ON, 0),
    ("within the best priority only", line((B, dict(priority=0)), (A, dict(priority=0)), (A, dict(priority=1))),
     view(loaded=A), [], 0, ON, 1),
    ("a job passed over max_bypass times goes next", line((B, dict(bypassed=3)), A), view(loaded=A), [], 0, ON, 0),
    ("one pass left: still passed", line((B, dict(bypassed=2)), A), view(loaded=A), [], 0, ON, 1),
    ("a job at the bound is the last one looked at", line(B, (C, dict(bypassed=3)), A), view(loaded=A), [], 0, ON, 0),
    ("its extra wait used up: it goes next", line((B, dict(turn_at=0.0)), A), view(loaded=A), [], 60.0, ON, 0),
    ("extra wait not used up yet", line((B, dict(turn_at=0.0)), A), view(loaded=A), [], 59.9, ON, 1),
    ("0 turns both limits off", line((B, dict(bypassed=10**4, turn_at=0.0)), A), view(loaded=A), [], 10**6,
     Fairness(max_bypass=0, max_extra_wait_s=0), 1),
    ("affinity: leave another backend's model to it", line(A, A, B), view("gpu0"), [view("gpu1", loaded=A)], 0, ON, 2),
    ("affinity: own model beats a free one", line(C, B), view("gpu0", loaded=B), [view("gpu1", loaded=A)], 0, ON, 1),
    ("all held elsewhere: first in line", line(A, B), view("gpu0", loaded=C),
     [view("gpu1", loaded=A), view("gpu2", loaded=B)], 0, ON, 0),
    ("a backend whose memory cannot be trusted: first come", line(B, A), view(loaded=A, known=False), [], 0, ON, 0),
    ("another backend that cannot be trusted holds nothing", line(A, B), view("gpu0"),
     [view("gpu1", loaded=A, known=False)], 0, ON, 0),
    ("a job without models matches nothing", line(frozenset(), A), view(loaded=A), [], 0, ON, 1),
    ("nothing waiting", [], view(loaded=A), [], 0, ON, None),
])
def test_choose(case, jobs, backend, others, now, fairness, expected):
    assert choose(jobs, backend, others, now, fairness) == expected, case


def test_skipped_jobs_are_neither_chosen_nor_passed_over():
    jobs = line(A, B, A)
    assert choose(jobs, view(loaded=A), [], 0, ON, skip={1}) == 2
    chosen = take(jobs, 2, now=5.0, skip={1})
    assert chosen.job_id == 3
    assert [(j.job_id, j.bypassed, j.turn_at) for j in jobs] == [(1, 0, None), (2, 1, 5.0)]


def test_take_counts_every_job_passed_and_starts_the_first_ones_clock_once():
    jobs = line(B, C, A, A)
    take(jobs, 2, now=1.0)
    take(jobs, 2, now=2.0)
    assert [(j.job_id, j.bypassed, j.turn_at) for j in jobs] == [(1, 2, 1.0), (2, 2, None)]


@pytest.mark.parametrize("fairness, message", [
    (dict(max_bypass=-1), "MAX_BYPASS"), (dict(max_bypass=10**9), "MAX_BYPASS"), (dict(max_bypass=2.5), "MAX_BYPASS"),
    (dict(max_extra_wait_s=-5), "MAX_EXTRA_WAIT_S"), (dict(max_extra_wait_s=float("nan")), "MAX_EXTRA_WAIT_S"),
    (dict(max_extra_wait_s=1e12), "MAX_EXTRA_WAIT_S"),
])
def test_absurd_fairness_settings_are_refused_naming_the_setting(fairness, message):
    with pytest.raises(ValueError, match=message):
        Fairness(**fairness)


def test_a_workflows_model_is_the_files_its_loaders_name():
    graph = {"1": {"class_type": "UnetLoaderGGUF", "inputs": {"unet_name": "flux.gguf"}},
             "2": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "l.safetensors", "clip_name2": "t5.sft",
                                                              "type": "flux"}},
             "3": {"class_type": "KSampler", "inputs": {"sampler_name": "euler", "model": ["1", 0]}},
             "4": {"class_type": "LoadImage", "inputs": {"image": "in.png"}}}
    assert model_of(graph) == {"flux.gguf", "l.safetensors", "t5.sft"}


# ---- the bound holds under an adversarial stream --------------------------------------------

def _run(fairness: Fairness, arrivals: list[tuple[float, frozenset]], exec_s=1.0, load_s=5.0):
    """One backend: jobs arrive at their times; each dispatch is a choose+take. Returns, per job,
    (passed over by, seconds past its first-come turn when it started)."""
    waiting: list[Waiting] = []
    pending = list(enumerate(arrivals, 1))
    backend, now, result = view(), 0.0, {}
    while pending or waiting:
        while pending and pending[0][1][0] <= now:
            number, (_, model) = pending.pop(0)
            waiting.append(Waiting(number, 0, model))
        if not waiting:
            now = pending[0][1][0]
            continue
        job = take(waiting, choose(waiting, backend, [], now, fairness), now)
        result[job.job_id] = (job.bypassed, 0.0 if job.turn_at is None else now - job.turn_at)
        now += exec_s + (load_s if job.model != backend.loaded else 0.0)
        backend.loaded = job.model
    return result


def test_no_job_starves_behind_a_stream_of_jobs_for_the_loaded_model():
    arrivals = [(0.0, A), (0.1, B)] + [(0.2 + n * 0.5, A) for n in range(200)]   # A keeps coming, faster than it runs
    bounded = _run(Fairness(max_bypass=5, max_extra_wait_s=0), arrivals)
    assert bounded[2][0] <= 5
    unbounded = _run(Fairness(max_bypass=0, max_extra_wait_s=0), arrivals)
    assert unbounded[2][0] > 100          # without the bound, B would wait for the whole stream


@pytest.mark.parametrize("seed", range(5))
def test_random_mixes_keep_both_limits(seed):
    rnd = random.Random(seed)
    arrivals = sorted((rnd.uniform(0, 60), rnd.choice([A, B, C])) for _ in range(150))
    fairness = Fairness(max_bypass=4, max_extra_wait_s=20)
    for passed, extra in _run(fairness, arrivals).values():
        assert passed <= 4
        assert extra <= 20 + 1.0 + 5.0    # checked when the backend picks: one more job may be on its way


def test_priorities_are_kept_under_any_mix():
    rnd = random.Random(7)
    jobs = [Waiting(n, rnd.choice([0, 1, 2]), rnd.choice([A, B])) for n in range(60)]
    jobs.sort(key=lambda j: (j.priority, j.job_id))
    backend, order = view(loaded=B), []
    while jobs:
        job = take(jobs, choose(jobs, backend, [], 0.0, ON), 0.0)
        backend.loaded = job.model
        order.append(job.priority)
    assert order == sorted(order)


# ---- plan: the order and times jobs will run in ---------------------------------------------

def cost(job: Waiting, backend: str, loads: bool) -> float:
    return 1.0 + (5.0 if loads else 0.0)


def test_plan_on_one_backend_batches_models_and_counts_the_loads():
    jobs = line(A, B, A, B)
    planned = plan(jobs, [(view(loaded=A), 0.5)], 0.0, ON, cost)
    assert [(p.job_id, p.start_s, p.end_s, p.loads) for p in planned] == [
        (1, 0.5, 1.5, False), (3, 1.5, 2.5, False), (2, 2.5, 8.5, True), (4, 8.5, 9.5, False)]
    assert [j.bypassed for j in jobs] == [0, 0, 0, 0]      # the line itself is left as it was


def test_plan_first_come_first_served_pays_every_switch():
    planned = plan(line(A, B, A, B), [(view(loaded=A), 0.0)], 0.0, Fairness(model_aware=False), cost)
    assert [p.job_id for p in planned] == [1, 2, 3, 4] and sum(p.loads for p in planned) == 3


def test_plan_with_two_backends_sends_each_model_to_the_backend_that_holds_it():
    planned = plan(line(A, B, A, B, A, B), [(view("gpu0", loaded=A), 0.0), (view("gpu1", loaded=B), 0.0)],
                   0.0, ON, cost)
    assert {p.backend for p in planned if p.job_id % 2} == {"gpu0"}
    assert {p.backend for p in planned if not p.job_id % 2} == {"gpu1"}
    assert not any(p.loads for p in planned)


def test_plan_matches_replaying_choose_and_take():
    rnd = random.Random(3)
    jobs = [Waiting(n, 0, rnd.choice([A, B])) for n in range(40)]
    planned = plan(jobs, [(view(loaded=B), 0.0)], 0.0, ON, cost)
    replay, backend, now, order = [Waiting(j.job_id, 0, j.model) for j in jobs], view(loaded=B), 0.0, []
    while replay:
        job = take(replay, choose(replay, backend, [], now, ON), now)
        now += cost(job, "gpu0", job.model != backend.loaded)
        backend.loaded = job.model
        order.append(job.job_id)
    assert [p.job_id for p in planned] == order


# ---- the scheduler's bookkeeping -------------------------------------------------------------

def test_the_dispatcher_picks_counts_passes_and_remembers_what_each_backend_holds():
    from core.dispatch import Dispatcher
    dispatcher = Dispatcher(ON)
    for job_id, model in ((1, A), (2, B), (3, A)):
        dispatcher.wait(job_id, 0, model)
    assert not dispatcher.in_line_order
    assert dispatcher.pick("gpu0", [1, 2, 3], [], now=0.0) == 1          # nothing loaded: first in line
    assert dispatcher.backends["gpu0"].loaded == A
    assert dispatcher.pick("gpu0", [2, 3], [], now=1.0) == 3             # A is loaded: job 3 passes job 2
    assert dispatcher.jobs[2].bypassed == 1 and dispatcher.jobs[2].turn_at == 1.0
    assert dispatcher.in_line_order                                       # only B waits now
    dispatcher.forget_models("gpu0")
    assert dispatcher.backends["gpu0"].loaded is None


def test_a_backend_whose_memory_report_is_missing_or_impossible_runs_first_come_first_served(caplog):
    from core.dispatch import Dispatcher
    dispatcher = Dispatcher(ON)
    for job_id, model in ((1, B), (2, A)):
        dispatcher.wait(job_id, 0, model)
    dispatcher.backend("gpu0").loaded = A
    assert dispatcher.memory_report("gpu0", 24 * 2**30, 30 * 2**30) is False        # more free than there is
    assert dispatcher.memory_report("gpu0", 0, 0) is False                           # fields missing
    assert [r.message for r in caplog.records].count(
        "ComfyUI gpu0 reports no usable GPU memory figures (vram_total=25769803776, vram_free=32212254720): "
        "its jobs run first come first served") == 1                                 # said once
    assert dispatcher.pick("gpu0", [1, 2], [], now=0.0) == 1                          # first in line, not A
    assert dispatcher.memory_report("gpu0", 24 * 2**30, 2 * 2**30) is True

"""SharedJobs: every queued job runs exactly once, whoever drains the queue."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from carebench.benchmark.shared_jobs import SharedJobs


def test_jobs_drained_by_several_threads_each_run_once_with_their_own_result():
    shared = SharedJobs()
    runs: list[int] = []
    lock = threading.Lock()

    def job(number: int) -> int:
        with lock:
            runs.append(number)
        return number * number

    futures = [shared.add(lambda n=n: job(n)) for n in range(500)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        helpers = [pool.submit(shared.work) for _ in range(2)]
        shared.work()  # the calling thread drains too
        for helper in helpers:
            helper.result()
    assert sorted(runs) == list(range(500))
    assert [f.result() for f in futures] == [n * n for n in range(500)]


def test_a_failing_job_hands_its_error_to_whoever_waits_and_the_rest_still_run():
    shared = SharedJobs()

    def broken() -> int:
        raise ValueError("bad chunk")

    first = shared.add(broken)
    second = shared.add(lambda: 2)
    shared.work()
    with pytest.raises(ValueError, match="bad chunk"):
        first.result()
    assert second.result() == 2


def test_jobs_added_after_a_drain_wait_for_the_next_one():
    shared = SharedJobs()
    shared.work()  # nothing queued: returns at once
    later = shared.add(lambda: "done")
    assert not later.done()
    shared.work()
    assert later.result() == "done"

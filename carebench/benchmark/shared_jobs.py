"""A queue of small jobs that several threads drain together.

The analysis has one long job (the template search) and many short ones (text signals
a chunk at a time). A thread pool gives each thread its own task; here every strand that
has nothing better to do, the calling thread included, takes the next short job, so two
cores stay busy until the last one is done.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


class SharedJobs:
    """Jobs any thread may run; each job's outcome is delivered through its Future."""

    def __init__(self) -> None:
        self._pending: deque[tuple[Callable[[], object], Future[object]]] = deque()
        self._lock = threading.Lock()

    def add(self, job: Callable[[], T]) -> Future[T]:
        """Queue `job`; its result (or exception) arrives in the returned Future."""
        future: Future[T] = Future()
        with self._lock:
            self._pending.append((job, future))  # type: ignore[arg-type]
        return future

    def work(self) -> None:
        """Run queued jobs until none is left (others may still be running elsewhere)."""
        while True:
            with self._lock:
                if not self._pending:
                    return
                job, future = self._pending.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to whoever waits on the Future
                future.set_exception(exc)

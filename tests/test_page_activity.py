"""Background reads wait for the user to pause between pages (`page_guard.Activity`)."""

from __future__ import annotations

import threading
import time

from carebench.dashboard.page_guard import Activity


def waited(activity: Activity, quiet: float, longest: float) -> float:
    started = time.monotonic()
    activity.wait_for_a_pause(quiet, longest)
    return time.monotonic() - started


def test_a_read_waits_for_a_drawn_page_and_a_quiet_spell():
    activity = Activity()
    activity.page_started()
    # Pages keep running for 0.3 s: the read waits for them, then for 0.2 s of quiet.
    threading.Timer(0.3, activity.page_ended).start()
    assert 0.45 <= waited(activity, quiet=0.2, longest=5) < 2
    # Quiet already: no wait.
    time.sleep(0.25)
    assert waited(activity, quiet=0.2, longest=5) < 0.1


def test_a_page_that_needs_the_read_starts_it_at_once():
    activity = Activity()
    activity.page_started()  # a page runs and waits for the turns
    threading.Timer(0.2, activity.needed).start()
    assert waited(activity, quiet=1, longest=5) < 1
    # Asked before the read waits: it does not wait either; asked once, once.
    activity.needed()
    assert waited(activity, quiet=1, longest=5) < 0.1
    assert waited(activity, quiet=1, longest=0.3) >= 0.3


def test_no_read_waits_longer_than_its_bound():
    activity = Activity()
    assert 0.3 <= waited(activity, quiet=1, longest=0.3) < 1


def test_background_reads_give_duckdb_its_threads_back_whatever_their_order(tmp_path):
    """The turns' and the sources' readers narrow the same database to one thread: the
    last to end gives back the count the first saw, in either order."""
    from carebench.dashboard.data import _one_duckdb_thread
    from carebench.store import Store

    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.con.execute("SET threads = 3")

        def threads() -> int:
            return int(store.con.execute("SELECT current_setting('threads')").fetchone()[0])

        first, second = _one_duckdb_thread(store), _one_duckdb_thread(store)
        first.__enter__()
        second.__enter__()
        assert threads() == 1
        first.__exit__(None, None, None)  # the first to start ends first
        assert threads() == 1
        second.__exit__(None, None, None)
        assert threads() == 3

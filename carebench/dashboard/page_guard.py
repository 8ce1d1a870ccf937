"""What a user sees when a page fails: one plain message, never a traceback.

A traceback names the server's folders and files (and Streamlit shows it in full by
default). `run_page` runs the page the navigation chose; a `CareBenchError` shows its
message (it names the fix), anything else a fixed message, and the traceback goes to the
log of the terminal running streamlit. `.streamlit/config.toml` also sets
`client.showErrorDetails = "none"`, for the errors this wrapper does not see (a widget
callback runs before the page does).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Protocol

import streamlit as st
from streamlit.logger import get_logger

from carebench.dashboard.escaping import md, without_folders
from carebench.errors import DEBUG_ENV_VAR, CareBenchError
from carebench.store import resolve_db_path

PAGE_FAILED = (
    "Something went wrong on this page, so it stopped here. Reload the page or change "
    "the filters; if it happens again, the details are in the log of the terminal that "
    "runs the dashboard: please send them with your report."
)

_log = get_logger("carebench.dashboard")


class Activity:
    """When pages run, so that reads no page waits for yet (every turn of a big store, see
    `data.StoredAnalysis`) run while the user reads a page, not while one is drawn: on
    two cores, a 2.8M-turn read alongside made the first page and the next clicks take
    half as long again."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._drawn = False
        self._last_end = 0.0
        self._needed = False

    def page_started(self) -> None:
        with self._changed:
            self._running += 1

    def page_ended(self) -> None:
        with self._changed:
            self._running -= 1
            self._drawn = True
            self._last_end = time.monotonic()
            self._changed.notify_all()

    def needed(self) -> None:
        """A page waits for the background read now: it must not hold back (the next
        read that waits for a pause, or the one waiting now, starts at once)."""
        with self._changed:
            self._needed = True
            self._changed.notify_all()

    def wait_for_a_pause(self, quiet: float, longest: float) -> None:
        """Until a page has been drawn and none has run for `quiet` seconds, or a page
        needs the reads, or `longest` seconds passed."""
        deadline = time.monotonic() + longest
        with self._changed:
            while True:
                if self._needed:
                    self._needed = False  # asked for once: this read
                    return
                now = time.monotonic()
                idle = self._drawn and not self._running and now - self._last_end >= quiet
                if idle or now >= deadline:
                    return
                wait = deadline - now
                if self._drawn and not self._running:
                    wait = min(wait, quiet - (now - self._last_end))
                self._changed.wait(max(wait, 0.01))


activity = Activity()


class Runnable(Protocol):
    title: str

    def run(self) -> None: ...


def run_page(page: Runnable) -> None:
    """Run the chosen page; show a failure as a message and log its traceback."""
    activity.page_started()
    try:
        _run(page)
    finally:
        activity.page_ended()


def _run(page: Runnable) -> None:
    try:
        page.run()
    except CareBenchError as exc:
        # A problem the user can fix: its message names the fix, and files, not folders.
        _log.warning("The %s page stopped: %s", page.title, exc)
        st.error(md(without_folders(str(exc), resolve_db_path())), icon=":material/error:")
    except Exception:
        # st.stop() and st.rerun() raise BaseExceptions, so they still pass through.
        if os.environ.get(DEBUG_ENV_VAR):
            raise  # a developer (or the test suite) wants the crash itself
        _log.exception("The %s page failed", page.title)
        st.error(PAGE_FAILED, icon=":material/error:")

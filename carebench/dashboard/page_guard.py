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


class Runnable(Protocol):
    title: str

    def run(self) -> None: ...


def run_page(page: Runnable) -> None:
    """Run the chosen page; show a failure as a message and log its traceback."""
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

"""The conversations of labelled sources, read afresh from their files (`validate --data`).

Above the benchmark layer: it imports files (ingest) and analyses them (benchmark).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from carebench.benchmark.pipeline import analyse_store
from carebench.benchmark.validation import BadLabels, format_of, sources_of
from carebench.ingest import ImportOptions, import_files
from carebench.store import Store


def analyse_sources(labels: pd.DataFrame, data: str | Path) -> pd.DataFrame:
    """The conversations of every source the labels name, imported from `data` afresh.

    Each source goes into an in-memory store of its own with its importer (its label's
    `format`), so no other data can change its conversations, and nothing is written.
    """
    folder = Path(data)
    found = []
    for source in sources_of(labels):
        path = folder / source
        if not path.exists():
            raise BadLabels(
                f"{path}: the labelled source is not there. Pass --data the folder the "
                "labels' 'source' paths start from (e.g. --data ../shared/data)."
            )
        with Store(":memory:") as store:
            import_files(store, format_of(source, labels), [path], ImportOptions())
            found.append(analyse_store(store).conversations)
    return pd.concat(found, ignore_index=True)

"""The Spark session CareBench runs on, and a clear message when Spark cannot run."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from carebench.errors import CareBenchError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkUnavailable(CareBenchError):
    """pyspark or a Java runtime is missing."""


def missing() -> str | None:
    """Why Spark cannot run here (None: it can)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: `pip install 'carebench[spark]'`"
    if shutil.which("java") is None and not _java_home():
        return "no Java runtime (Java 17 or 21) on the PATH or in $JAVA_HOME: install one"
    return None


def _java_home() -> bool:
    import os

    home = os.environ.get("JAVA_HOME", "")
    return bool(home) and os.path.exists(os.path.join(home, "bin", "java"))


def spark_session(master: str | None = None, config: dict[str, str] | None = None) -> SparkSession:
    """A session with what CareBench's tasks need: UTC, Arrow transfers.

    `master` None: whatever `spark-submit` or the environment gives, else local[*].
    """
    reason = missing()
    if reason is not None:
        raise SparkUnavailable(f"Spark cannot run: {reason}.")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("carebench")
    if master:
        builder = builder.master(master)
    settings = {
        # Times cross between Spark and pandas as UTC microseconds anyway (see tasks);
        # UTC here keeps any timestamp Spark itself shows unshifted.
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **(config or {}),
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    return session


def has_active_session() -> bool:
    """Whether this process already runs a Spark session (False without pyspark)."""
    if missing() is not None:
        return False
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession() is not None

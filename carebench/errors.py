"""One named exception per failure a user can cause; each message names the fix."""

from __future__ import annotations

# Set (to anything) to see the traceback of an unexpected error, in the CLI and the
# dashboard alike, e.g. for a bug report. The test suite sets it, so no crash hides.
DEBUG_ENV_VAR = "CAREBENCH_DEBUG"


class CareBenchError(Exception):
    """Base class: the CLI prints these as a one-line message, never a traceback."""


class NotThisFormat(CareBenchError):
    """A file is not in the format it was imported as (e.g. TWCS columns missing)."""


class UnreadableFile(CareBenchError):
    """A file cannot be read at all (missing, empty, not text)."""


class ImportFailed(CareBenchError):
    """An import stopped part-way; the store was left exactly as it was."""


class UnknownBrand(CareBenchError):
    """A brand name was asked for that the store does not have."""


class BadBrandConfig(CareBenchError):
    """The brand config file is malformed."""


class StoreError(CareBenchError):
    """The store file cannot be opened or is not a CareBench store."""

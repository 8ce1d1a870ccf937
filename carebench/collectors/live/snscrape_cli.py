"""snscrape, live: runs the `snscrape --jsonl` command for the modules that still work.

snscrape is an optional extra, not a dependency: it does not import on Python 3.12 or
newer, and its Twitter/X module has been broken since mid-2023 (X closed the endpoints
it scraped). This module says so plainly, and points to the file importers, instead of
failing with a traceback. The JSONL it writes is what `carebench import snscrape` reads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from carebench.collectors.live.checkpoint import slug
from carebench.errors import CareBenchError

IMPORT_HINT = (
    "Import a file you already have instead: `carebench import snscrape FILE.jsonl "
    "--brand-handle HANDLE` (snscrape output saved earlier), "
    "`carebench import x-archive ARCHIVE_FOLDER`, "
    "`carebench import x-api PAGES.json`, or `carebench import csv FILE.csv`; "
    "for Bluesky and Mastodon use `carebench collect bluesky|mastodon`."
)

# Module prefixes known not to work upstream any more, and why.
KNOWN_BROKEN: dict[str, str] = {
    "twitter": (
        "snscrape's Twitter/X module has been broken since mid-2023: X closed the "
        "public endpoints it used, and it returns nothing or fails."
    ),
}

# What the process prints when snscrape cannot even be imported by its Python.
_IMPORT_FAILURE_MARKERS = (
    "ImpImporter",
    "find_module",
    "ModuleNotFoundError",
    "ImportError",
    "FileFinder",
)

# Long scrapes are fine; a scrape that prints nothing for this long has hung.
DEFAULT_TIMEOUT_SECONDS = 3600.0


class SnscrapeUnavailable(CareBenchError):
    """snscrape is missing, cannot run on this Python, or its module is known broken."""


@dataclass(frozen=True)
class SnscrapeResult:
    """What one snscrape run wrote: the JSONL file and how many records it holds."""

    path: Path
    records: int
    command: tuple[str, ...]


def find_executable() -> str:
    """The snscrape command on PATH, or SnscrapeUnavailable saying what to do."""
    found = shutil.which("snscrape")
    if not found:
        raise SnscrapeUnavailable(
            "snscrape is not installed. It is an optional extra (`pip install snscrape`, "
            "in a Python 3.11 or older environment: it does not import on 3.12+). " + IMPORT_HINT
        )
    return found


def check_scraper(scraper: str) -> None:
    """Refuse a module known to be broken upstream, saying why and what to use."""
    family = scraper.split("-", 1)[0].lower()
    if family in KNOWN_BROKEN:
        raise SnscrapeUnavailable(f"{KNOWN_BROKEN[family]} {IMPORT_HINT}")


def run(
    scraper: str,
    target: str,
    out_dir: Path,
    *,
    since: datetime | None = None,
    limit: int | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> SnscrapeResult:
    """Run `snscrape --jsonl [--since] [--max-results] SCRAPER TARGET` into out_dir.

    The output is written to a temporary file and renamed when snscrape succeeded, so a
    failed or interrupted scrape leaves no partial file behind.
    """
    check_scraper(scraper)
    executable = find_executable()
    command = [executable, "--jsonl"]
    if since is not None:
        command += ["--since", since.strftime("%Y-%m-%d %H:%M:%S %z").strip()]
    if limit is not None:
        command += ["--max-results", str(limit)]
    command += [scraper, target]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{slug(scraper)}-{slug(target)}.jsonl"
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as out:
            done = subprocess.run(
                command,
                stdout=out,
                stderr=subprocess.PIPE,
                timeout=timeout_seconds,
                check=False,
            )
    except subprocess.TimeoutExpired as exc:
        tmp.unlink(missing_ok=True)
        raise SnscrapeUnavailable(
            f"snscrape {scraper} {target} ran for over {timeout_seconds:.0f} s without "
            "finishing; stopped. Try a smaller --limit or a later --since."
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SnscrapeUnavailable(_explain_failure(scraper, target, done.returncode, stderr))
    os.replace(tmp, path)
    with path.open("rb") as handle:
        records = sum(1 for line in handle if line.strip())
    return SnscrapeResult(path=path, records=records, command=tuple(command))


def _explain_failure(scraper: str, target: str, code: int, stderr: str) -> str:
    last = next((ln.strip() for ln in reversed(stderr.splitlines()) if ln.strip()), "")
    if any(marker in stderr for marker in _IMPORT_FAILURE_MARKERS):
        return (
            "snscrape is installed but cannot run on its Python (it does not import on "
            f"Python 3.12 or newer; it said: {last[:200]}). Install it in a Python 3.11 "
            "environment, or " + IMPORT_HINT[0].lower() + IMPORT_HINT[1:]
        )
    return (
        f"snscrape {scraper} {target} failed (exit code {code}: {last[:300] or 'no message'}). "
        "The site may have changed or blocked scraping; snscrape is unmaintained upstream. "
        + IMPORT_HINT
    )

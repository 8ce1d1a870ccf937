"""How far CareBench's per-conversation labels agree with careful human reading.

Human labels come as JSON lines, one conversation each, keyed by its `source` (the file
it came from), `platform` and `conversation_id`; the labels are `care_request`,
`deflected`, `channels`, `first_touch_deflection`, `outcome` and `empathy_first_reply`
(see evaluation/README.md for how the project's own set was drawn and read). This module
joins them to an analysis and measures each signal:

- yes/no signals: precision, recall and F1 of CareBench's label against the human one,
  over the conversations where the human label applies (empathy: answered ones);
  precision and recall with Wilson 95% intervals, F1 with a seeded bootstrap interval;
- each deflection channel the same way (the conversation deflects to it, or not);
- outcome: accuracy and each outcome's precision and recall, over the conversations
  the readers judged care requests (the population the resolution rate is about), plus
  the confusion matrix.
Every figure carries its n, per source and over all sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carebench.benchmark.intervals import wilson_interval
from carebench.errors import CareBenchError

BINARY_FIELDS: tuple[str, ...] = (
    "care_request",
    "deflected",
    "first_touch_deflection",
    "empathy_first_reply",
)
CHANNELS: tuple[str, ...] = ("dm", "phone", "email", "web", "store", "other_account")
OUTCOMES: tuple[str, ...] = ("resolved", "unresolved", "unknown", "unanswered")
KEY: tuple[str, ...] = ("source", "platform", "conversation_id")
SPLITS: tuple[str, ...] = ("tune", "test")
ALL_SOURCES = "all"
_BOOTSTRAP_ROUNDS = 2000
_SEED = 16


class BadLabels(CareBenchError):
    """The labels file is not in the documented format."""


@dataclass(frozen=True)
class Validation:
    """The figures (one row per source, field and measure) and what could not be matched."""

    figures: pd.DataFrame
    confusion: pd.DataFrame
    matched: int
    missing: pd.DataFrame


def load_labels(path: str | Path, split: str | None = None) -> pd.DataFrame:
    """Read a labels file; a bad line is an error naming the line and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadLabels(f"{path}: no such labels file.") from None
    except (OSError, UnicodeError) as exc:
        raise BadLabels(f"{path}: cannot be read as UTF-8 text ({exc}).") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            raise BadLabels(
                f"{path}:{number}: not a JSON object; a labels file has one JSON object "
                "per line (see evaluation/README.md)."
            ) from None
        rows.append(_checked(record, f"{path}:{number}"))
    if not rows:
        raise BadLabels(f"{path}: holds no labels.")
    labels = pd.DataFrame(rows)
    if split is not None and split != "all":
        if "split" not in labels.columns or labels["split"].isna().all():
            raise BadLabels(f"{path}: has no 'split' field, so --split {split} cannot apply.")
        labels = labels[labels["split"] == split]
    return labels.reset_index(drop=True)


def _checked(record: Any, where: str) -> dict[str, Any]:
    """One label record, checked field by field."""
    if not isinstance(record, dict):
        raise BadLabels(f"{where}: not a JSON object.")
    missing = [k for k in (*KEY, "outcome", *BINARY_FIELDS[:3], "channels") if k not in record]
    if missing:
        raise BadLabels(f"{where}: missing {', '.join(missing)}; see evaluation/README.md.")
    for k in KEY:
        if not isinstance(record[k], str) or not record[k]:
            raise BadLabels(f"{where}: {k} must be a non-empty string.")
    for k in BINARY_FIELDS:
        value = record.get(k)
        if value is not None and not isinstance(value, bool):
            raise BadLabels(f"{where}: {k} must be true, false or null, not {value!r}.")
    if record["outcome"] not in OUTCOMES:
        raise BadLabels(f"{where}: outcome must be one of {', '.join(OUTCOMES)}.")
    channels = record["channels"]
    if not isinstance(channels, list) or any(c not in CHANNELS for c in channels):
        raise BadLabels(f"{where}: channels must be a list drawn from {', '.join(CHANNELS)}.")
    split = record.get("split")
    if split is not None and split not in SPLITS:
        raise BadLabels(f"{where}: split must be 'tune' or 'test'.")
    return {
        **{k: record[k] for k in KEY},
        "split": split,
        "brand": record.get("brand"),
        "format": record.get("format"),
        **{k: record.get(k) for k in BINARY_FIELDS},
        "channels": tuple(sorted(set(channels))),
        "outcome": record["outcome"],
    }


def validate(conversations: pd.DataFrame, labels: pd.DataFrame) -> Validation:
    """Compare an analysis's conversations with human labels (see the module docstring)."""
    ours = conversations[
        [
            "platform",
            "conversation_id",
            *BINARY_FIELDS,
            "deflection_channels",
            "outcome",
        ]
    ].copy()
    ours["platform"] = ours["platform"].astype(str)
    ours["conversation_id"] = ours["conversation_id"].astype(str)
    ours = ours.drop_duplicates(["platform", "conversation_id"])
    joined = labels.merge(
        ours,
        on=["platform", "conversation_id"],
        how="left",
        suffixes=("", "_ours"),
        indicator=True,
    )
    found = joined["_merge"] == "both"
    missing = joined.loc[~found, list(KEY)].reset_index(drop=True)
    joined = joined[found].reset_index(drop=True)
    figures, confusion = [], []
    groups: list[tuple[str, pd.DataFrame]] = [(ALL_SOURCES, joined)]
    if joined["source"].nunique() > 1:
        groups += [(str(name), part) for name, part in joined.groupby("source", sort=True)]
    for source, part in groups:
        figures += _binary_figures(source, part)
        figures += _channel_figures(source, part)
        rows, matrix = _outcome_figures(source, part)
        figures += rows
        confusion.append(matrix)
    return Validation(
        figures=pd.DataFrame(figures),
        confusion=pd.concat(confusion, ignore_index=True) if confusion else pd.DataFrame(),
        matched=int(found.sum()),
        missing=missing,
    )


def _binary_figures(source: str, part: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for field in BINARY_FIELDS:
        human = part[field]
        ours = part[f"{field}_ours"]
        keep = human.notna() & ours.notna()
        rows += _prf(source, field, human[keep].astype(bool), ours[keep].astype(bool))
    return rows


def _channel_figures(source: str, part: pd.DataFrame) -> list[dict[str, Any]]:
    ours_sets = part["deflection_channels"].fillna("").astype(str).str.split(";")
    rows = []
    for channel in CHANNELS:
        human = part["channels"].map(lambda cs, c=channel: c in cs)
        ours = ours_sets.map(lambda cs, c=channel: c in cs)
        if human.any() or ours.any():
            rows += _prf(source, f"channel:{channel}", human, ours)
    return rows


def _prf(source: str, field: str, human: pd.Series, ours: pd.Series) -> list[dict[str, Any]]:
    """Precision, recall, F1 (and accuracy) of `ours` against `human`, with intervals."""
    h = human.to_numpy(dtype=bool)
    o = ours.to_numpy(dtype=bool)
    tp = int((h & o).sum())
    fp = int((~h & o).sum())
    fn = int((h & ~o).sum())
    n = len(h)
    f1_low, f1_high = _f1_interval(h, o)
    return [
        _row(source, field, "precision", tp, tp + fp),
        _row(source, field, "recall", tp, tp + fn),
        {
            "source": source,
            "field": field,
            "measure": "f1",
            "value": 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan"),
            "low": f1_low,
            "high": f1_high,
            "n": n,
        },
        _row(source, field, "accuracy", int((h == o).sum()), n),
    ]


def _row(source: str, field: str, measure: str, hits: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(hits, n)
    return {
        "source": source,
        "field": field,
        "measure": measure,
        "value": hits / n if n else float("nan"),
        "low": low,
        "high": high,
        "n": n,
    }


def _f1_interval(human: np.ndarray, ours: np.ndarray) -> tuple[float, float]:
    """95% percentile bootstrap interval of F1 (seeded, so the same labels give the same)."""
    n = len(human)
    if n == 0 or not (human.any() or ours.any()):
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(_SEED)
    picks = rng.integers(0, n, size=(_BOOTSTRAP_ROUNDS, n))
    h, o = human[picks], ours[picks]
    tp = (h & o).sum(axis=1)
    wrong = (h ^ o).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(2 * tp + wrong > 0, 2 * tp / (2 * tp + wrong), np.nan)
    f1 = f1[~np.isnan(f1)]
    return (float(np.quantile(f1, 0.025)), float(np.quantile(f1, 0.975)))


def _outcome_figures(source: str, part: pd.DataFrame) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    care = part[part["care_request"].fillna(False).astype(bool)]
    human = care["outcome"].astype(str)
    ours = care["outcome_ours"].astype(str)
    rows = [_row(source, "outcome", "accuracy", int((human == ours).sum()), len(care))]
    for outcome in OUTCOMES:
        is_h, is_o = human == outcome, ours == outcome
        if not (is_h.any() or is_o.any()):
            continue
        rows.append(
            _row(
                source, f"outcome:{outcome}", "precision", int((is_h & is_o).sum()), int(is_o.sum())
            )
        )
        rows.append(
            _row(source, f"outcome:{outcome}", "recall", int((is_h & is_o).sum()), int(is_h.sum()))
        )
    matrix = pd.crosstab(human.rename("human"), ours.rename("carebench"))
    matrix = matrix.reindex(index=list(OUTCOMES), columns=list(OUTCOMES), fill_value=0)
    matrix = matrix.reset_index().assign(source=source)
    return rows, matrix


def sources_of(labels: pd.DataFrame) -> list[str]:
    """The source files a labels file names, in first-seen order."""
    return list(dict.fromkeys(labels["source"]))


def format_of(source: str, labels: pd.DataFrame) -> str:
    """The import format of a labelled source: its `format` field, else from its name."""
    if "format" in labels.columns:
        given = labels.loc[labels["source"] == source, "format"].dropna()
        if len(given):
            return str(given.iloc[0])
    return "ibm-care" if source.endswith(".json") else "twcs"


def cohen_kappa(first: pd.Series, second: pd.Series) -> float:
    """Cohen's kappa of two readers' labels (any categories): agreement beyond chance.

    1 is perfect agreement, 0 what two readers labelling at random with the same label
    shares would reach. NaN when chance agreement is already total (one label only).
    """
    a = first.astype(str).to_numpy()
    b = second.astype(str).to_numpy()
    if len(a) == 0:
        return float("nan")
    observed = float(np.mean(a == b))
    categories = np.union1d(a, b)
    chance = float(sum(np.mean(a == c) * np.mean(b == c) for c in categories))
    if chance >= 1:
        return float("nan")
    return (observed - chance) / (1 - chance)

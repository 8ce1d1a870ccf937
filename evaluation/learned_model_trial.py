"""Does a small learned model beat CareBench's rules? A cross-validated trial on the tune half.

Issue 16 allows shipping a lightweight scikit-learn model if it beats the rules on the
tuning half by cross-validation and then on the test half. This script is that trial.
It reads the TUNE half only (the test half is never loaded), builds per-conversation
features from CareBench's own turn signals and rule outputs, and compares the rules
with three models by 5-fold cross-validation grouped by brand (no brand in both the
training and the scoring fold, as in the tune/test split itself).

    python evaluation/learned_model_trial.py [--data ../shared/data]

Reading the result: the rules were tuned on this same half, so their figure here is
optimistic; a model that does not beat them even so would not beat them on new brands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from carebench.benchmark.pipeline import analyse_store
from carebench.benchmark.validation import format_of, load_labels, sources_of
from carebench.ingest import ImportOptions, import_files
from carebench.store import Store

HERE = Path(__file__).resolve().parent
SEED = 16
REPLY_ACTS = ("answer", "asks", "promise", "feedback", "")
CUSTOMER_SIGNALS = ("solved", "thanks", "persists", "problem", "")
OUTCOMES = ("resolved", "unresolved", "unknown", "unanswered")


def tune_half(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tune labels joined with CareBench's conversations, and those conversations' turns."""
    labels = load_labels(HERE / "labels.jsonl", "tune")
    conversations, turns = [], []
    for source in sources_of(labels):
        with Store(":memory:") as store:
            import_files(store, format_of(source, labels), [data / source], ImportOptions())
            analysis = analyse_store(store)
        conversations.append(analysis.conversations)
        turns.append(analysis.turns)
    ours = pd.concat(conversations, ignore_index=True)
    all_turns = pd.concat(turns, ignore_index=True)
    for frame in (ours, all_turns):
        frame["conversation_id"] = frame["conversation_id"].astype(str)
    joined = labels.merge(ours, on=["platform", "conversation_id"], suffixes=("", "_ours"))
    kept = all_turns[all_turns["conversation_id"].isin(set(joined["conversation_id"]))]
    return joined.set_index("conversation_id"), kept


def features(joined: pd.DataFrame, turns: pd.DataFrame) -> pd.DataFrame:
    """One row per conversation: reply acts, customer signals, sizes, and the rules' own output."""
    turns = turns.sort_values(["conversation_id", "created_at"]).copy()
    turns["words"] = turns["text"].astype(str).str.split().str.len()
    turns["link"] = turns["text"].astype(str).str.contains("http", regex=False)
    index = joined.index
    brand = turns[turns["is_brand_turn"]]
    customer = turns[turns["is_customer_turn"]]
    by_brand = brand.groupby("conversation_id")
    first = by_brand.head(1).set_index("conversation_id").reindex(index)
    last = by_brand.tail(1).set_index("conversation_id").reindex(index)
    last_customer = customer.groupby("conversation_id").tail(1).set_index("conversation_id")
    last_customer = last_customer.reindex(index)
    last_turn = turns.groupby("conversation_id").tail(1).set_index("conversation_id").reindex(index)

    def any_of(frame: pd.DataFrame, mask: pd.Series) -> pd.Series:
        hit = frame.assign(hit=mask).groupby("conversation_id")["hit"].any()
        return hit.reindex(index, fill_value=False).astype(int)

    columns: dict[str, pd.Series] = {}
    for act in REPLY_ACTS:
        name = act or "none"
        columns[f"first_{name}"] = (first["reply_act"] == act).astype(int)
        columns[f"last_{name}"] = (last["reply_act"] == act).astype(int)
        columns[f"any_{name}"] = any_of(brand, brand["reply_act"] == act)
    for signal in CUSTOMER_SIGNALS:
        name = signal or "none"
        columns[f"customer_{name}"] = any_of(customer, customer["customer_signal"] == signal)
        columns[f"last_customer_{name}"] = (last_customer["customer_signal"] == signal).astype(int)
    columns["first_words"] = np.log1p(first["words"].fillna(0))
    columns["first_link"] = first["link"].fillna(False).astype(int)
    columns["first_deflects"] = first["deflects"].fillna(False).astype(int)
    columns["last_deflects"] = last["deflects"].fillna(False).astype(int)
    columns["any_deflects"] = any_of(brand, brand["deflects"])
    columns["first_empathic"] = first["empathic"].fillna(False).astype(int)
    columns["any_templated"] = any_of(brand, brand["templated"])
    columns["brand_turns"] = np.log1p(by_brand.size().reindex(index, fill_value=0))
    columns["customer_turns"] = np.log1p(
        customer.groupby("conversation_id").size().reindex(index, fill_value=0)
    )
    columns["ends_with_customer"] = last_turn["is_customer_turn"].fillna(False).astype(int)
    columns["rule_deflected"] = joined["deflected_ours"].astype(int)
    for outcome in OUTCOMES:
        columns[f"rule_{outcome}"] = (joined["outcome_ours"] == outcome).astype(int)
    return pd.DataFrame(columns, index=index).fillna(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    args = parser.parse_args()
    try:
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import accuracy_score, f1_score, recall_score
        from sklearn.model_selection import GroupKFold, cross_val_predict
    except ImportError:
        sys.exit("This trial needs scikit-learn: pip install scikit-learn")

    joined, turns = tune_half(args.data)
    table = features(joined, turns).to_numpy(dtype=float)
    brands = np.asarray(joined["brand"].astype(str))
    models = {
        "logistic regression": LogisticRegression(max_iter=3000),
        "logistic regression, balanced": LogisticRegression(
            C=0.5, max_iter=3000, class_weight="balanced"
        ),
        "random forest": RandomForestClassifier(
            n_estimators=300, min_samples_leaf=3, random_state=SEED
        ),
    }
    folds = GroupKFold(n_splits=5)

    deflected = joined["deflected"].astype(int).to_numpy()
    print(f"Tune half: {len(joined)} conversations, {len(set(brands))} brands, 5 brand folds")
    print(f"\ndeflection F1\n  {'rules':32s}{f1_score(deflected, joined['deflected_ours']):.3f}")
    for name, model in models.items():
        guess = cross_val_predict(model, table, deflected, cv=folds, groups=brands)
        print(f"  {name:32s}{f1_score(deflected, guess):.3f}")

    care = joined["care_request"].astype(bool).to_numpy()
    truth = np.asarray(joined["outcome"].astype(str))[care]

    def outcome_line(name: str, guess: np.ndarray) -> None:
        resolved = recall_score(truth, guess, labels=["resolved"], average="macro")
        unresolved = recall_score(truth, guess, labels=["unresolved"], average="macro")
        print(
            f"  {name:32s}accuracy {accuracy_score(truth, guess):.3f}  "
            f"resolved recall {resolved:.3f}  unresolved recall {unresolved:.3f}"
        )

    print(f"\noutcome ({int(care.sum())} care requests)")
    outcome_line("rules", np.asarray(joined["outcome_ours"].astype(str))[care])
    for name, model in models.items():
        guess = cross_val_predict(model, table[care], truth, cv=folds, groups=brands[care])
        outcome_line(name, guess)


if __name__ == "__main__":
    main()

"""Two readers' labels -> their agreement, the disagreements to adjudicate, the final labels.

    python evaluation/agreement.py collect --labels /tmp/cb-labels --packets /tmp/cb-packets \
        --disputes /tmp/cb-disputes
    python evaluation/agreement.py finalise --adjudicated /tmp/cb-adjudicated

`collect` reads the readers' files (reader_A_batch_NN.jsonl, reader_B_batch_NN.jsonl),
keeps each reader's labels in evaluation/readers/ (keys and labels only: the readers'
free-text notes stay out, as post texts do), prints and saves Cohen's kappa per field
(evaluation/agreement.json), and writes, outside the repo, one packet per batch of the
conversations the readers disagree on: the thread and both readers' labels for the
fields in dispute, for a third reader to settle.

`finalise` takes the adjudicator's answers (adjudicated_NN.jsonl: the conversation's key
and the settled value of each disputed field) and writes evaluation/labels.jsonl: every
field the readers agreed on, and the settled value of the others.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pandas as pd
from draw_sample import SOURCES  # run as a script from evaluation/: its sibling

from carebench.benchmark.validation import cohen_kappa

FORMATS = {source: fmt for source, fmt, _ in SOURCES}  # each source's importer

HERE = Path(__file__).resolve().parent
FIELDS = (
    "care_request",
    "deflected",
    "channels",
    "first_touch_deflection",
    "outcome",
    "empathy_first_reply",
)
DEFLECTION = ("deflected", "channels", "first_touch_deflection")
CHANNELS = ("dm", "phone", "email", "web", "store", "other_account")
KEY = ["source", "conversation_id"]
PER_DISPUTE_PACKET = 60


def read_reader(folder: Path, reader: str) -> pd.DataFrame:
    rows = []
    for path in sorted(folder.glob(f"reader_{reader}_batch_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                record["channels"] = sorted(set(record.get("channels") or []))
                rows.append({k: record.get(k) for k in (*KEY, *FIELDS)})
    return pd.DataFrame(rows)


def sample() -> pd.DataFrame:
    lines = (HERE / "sample.jsonl").read_text(encoding="utf-8").splitlines()
    return pd.DataFrame([json.loads(line) for line in lines if line.strip()])


def comparable(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def kappas(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """Cohen's kappa and raw agreement per field (and per channel), over all and per source."""
    both = a.merge(b, on=KEY, suffixes=("_a", "_b"))
    out: dict[str, dict[str, float | int]] = {}
    groups = [("all", both), *both.groupby("source", sort=True)]
    for source, part in groups:
        for field in FIELDS:
            x, y = part[f"{field}_a"].map(comparable), part[f"{field}_b"].map(comparable)
            if field == "empathy_first_reply":
                keep = part[f"{field}_a"].notna() & part[f"{field}_b"].notna()
                x, y = x[keep], y[keep]
            out[f"{source}|{field}"] = {
                "kappa": round(cohen_kappa(x, y), 3),
                "agreement": round(float((x == y).mean()), 3),
                "n": len(x),
            }
        for channel in CHANNELS:
            x = part["channels_a"].map(lambda cs, c=channel: c in cs)
            y = part["channels_b"].map(lambda cs, c=channel: c in cs)
            out[f"{source}|channel:{channel}"] = {
                "kappa": round(cohen_kappa(x, y), 3),
                "agreement": round(float((x == y).mean()), 3),
                "n": len(x),
            }
    return out


def threads(packets: Path) -> dict[tuple[str, str], str]:
    """Each conversation's rendered thread, by key, from the readers' packets."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(packets.glob("batch_*.md")):
        for block in re.split(r"(?m)^(?=## )", path.read_text(encoding="utf-8")):
            head = re.match(r"## (.+?) \| (.+)", block)
            if head:
                found[(head.group(1), head.group(2).strip())] = block.strip()
    return found


def disputes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    both = a.merge(b, on=KEY, suffixes=("_a", "_b"))
    rows = []
    for _, row in both.iterrows():
        fields = [f for f in FIELDS if comparable(row[f"{f}_a"]) != comparable(row[f"{f}_b"])]
        # The deflection fields hang together: settle all three when one is in dispute.
        if any(f in DEFLECTION for f in fields):
            fields = [f for f in FIELDS if f in DEFLECTION or f in fields]
        if fields:
            rows.append({**{k: row[k] for k in KEY}, "fields": fields, "row": row})
    return pd.DataFrame(rows)


def write_dispute_packets(found: pd.DataFrame, texts: dict, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for start in range(0, len(found), PER_DISPUTE_PACKET):
        count += 1
        parts = []
        for _, d in found.iloc[start : start + PER_DISPUTE_PACKET].iterrows():
            row = d["row"]
            lines = [texts[(d["source"], d["conversation_id"])], "", "Disputed fields:"]
            for f in d["fields"]:
                lines.append(
                    f"- {f}: reader 1 says {comparable(row[f + '_a'])}, "
                    f"reader 2 says {comparable(row[f + '_b'])}"
                )
            parts.append("\n".join(lines) + "\n")
        (folder / f"disputes_{count:02d}.md").write_text("\n".join(parts), encoding="utf-8")
    return count


def collect(args: argparse.Namespace) -> None:
    a, b = read_reader(args.labels, "A"), read_reader(args.labels, "B")
    keys = sample()[KEY]
    for name, frame in (("A", a), ("B", b)):
        if len(frame.merge(keys, on=KEY)) != len(keys):
            raise SystemExit(f"reader {name} has {len(frame)} labels for {len(keys)} sampled")
    readers = HERE / "readers"
    readers.mkdir(exist_ok=True)
    for name, frame in (("a", a), ("b", b)):
        ordered = keys.merge(frame, on=KEY, how="left")
        with (readers / f"reader_{name}.jsonl").open("w", encoding="utf-8") as out:
            for record in ordered.to_dict(orient="records"):
                out.write(json.dumps(record) + "\n")
    agreement = kappas(a, b)
    (HERE / "agreement.json").write_text(json.dumps(agreement, indent=1) + "\n")
    for key, v in agreement.items():
        print(f"{key:55s} kappa {v['kappa']:6.3f}  agreement {v['agreement']:.3f}  n={v['n']}")
    found = disputes(a, b)
    packets = write_dispute_packets(found, threads(args.packets), args.disputes)
    print(f"{len(found)} conversations disputed, {packets} packets in {args.disputes}")


def finalise(args: argparse.Namespace) -> None:
    first = pd.read_json(HERE / "readers" / "reader_a.jsonl", lines=True, dtype=False)
    second = pd.read_json(HERE / "readers" / "reader_b.jsonl", lines=True, dtype=False)
    settled: dict[tuple[str, str], dict] = {}
    for path in sorted(args.adjudicated.glob("adjudicated_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                settled[(record["source"], record["conversation_id"])] = record
    meta = sample().set_index(KEY)
    final = []
    for (_, x), (_, y) in zip(first.iterrows(), second.iterrows(), strict=True):
        key = (x["source"], x["conversation_id"])
        record = {
            "source": key[0],
            "format": FORMATS[key[0]],
            "platform": meta.loc[key, "platform"],
            "conversation_id": key[1],
            "brand": meta.loc[key, "brand"],
            "split": meta.loc[key, "split"],
        }
        for f in FIELDS:
            if comparable(x[f]) == comparable(y[f]) and f not in settled.get(key, {}):
                record[f] = x[f]
            elif key in settled and f in settled[key]:
                record[f] = settled[key][f]
            else:
                raise SystemExit(f"{key}: {f} is disputed and not adjudicated")
        if isinstance(record["empathy_first_reply"], float):  # NaN read back from JSON null
            record["empathy_first_reply"] = None
        final.append(record)
    with (HERE / "labels.jsonl").open("w", encoding="utf-8") as out:
        for record in final:
            out.write(json.dumps(record, default=_plain) + "\n")
    print(f"{len(final)} labels in {HERE / 'labels.jsonl'}")


def _plain(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()  # numpy scalars
    if isinstance(value, list | tuple):
        return list(value)
    raise TypeError(type(value))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("collect")
    c.add_argument("--labels", type=Path, required=True)
    c.add_argument("--packets", type=Path, required=True)
    c.add_argument("--disputes", type=Path, required=True)
    f = commands.add_parser("finalise")
    f.add_argument("--adjudicated", type=Path, required=True)
    args = parser.parse_args()
    collect(args) if args.command == "collect" else finalise(args)


if __name__ == "__main__":
    main()

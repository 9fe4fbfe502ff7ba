"""The reader check (rag/verify/reader_check.py) replayed on the local model's recorded answers: what it drops at
each margin, and what that does to answers holding the gold span. No model writes anything; the reader
reads the recorded answers (a few seconds).

    .venv/bin/python -m benchmarks.reader_check

The records are live runs of benchmarks/local_llm.py (SQuAD-train validation questions over 2,000
paragraphs; SQuAD's dev file is never read): "tuning", the run of 2026-12-04 on which the first margin
was chosen, "held-out", a fresh draw (``--seed 1206``, excluding the questions of the earlier runs),
and four fresh draws since (``--seed 1207``, ``1208``, ``1210``, ``1211``). The third to fifth ran with the
check at margin 1.0 and the last at 0, so the answers it dropped there are already the extractive one. For each answerable
question the local model answered in its own words, the check compares its answer sentences with the
extractive answer recorded beside it (split with the product's sentence splitter). An answer it drops counts as that extractive answer, as in the product.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.local_llm import CACHE, _mean, answer_holds  # noqa: E402
from rag.ingest.corpus import split_sentences  # noqa: E402
from rag.rank.reader import load_reader  # noqa: E402
from rag.types import Document  # noqa: E402
from rag.verify.reader_check import MARGIN, best_readings  # noqa: E402

DRAWS = {
    "tuning": CACHE / "local_llm" / "live_300b.jsonl",
    "held-out": CACHE / "local_llm" / "live_300c.jsonl",
    "seed1207": CACHE / "local_llm" / "live_300d.jsonl",
    "seed1208": CACHE / "local_llm" / "live_300e.jsonl",
    "seed1210": CACHE / "local_llm" / "live_300f.jsonl",
    "seed1211": CACHE / "local_llm" / "live_300g.jsonl",
}
MARGINS = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


def replay(path: Path, margins: tuple[float, ...]) -> dict:
    reader = load_reader(threads=2)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [r for r in rows if r["kind"] == "answerable"]
    own = [
        r
        for r in answerable
        if not r["local"]["abstained"] and not r["local"]["fallback"] and not r["extractive"]["abstained"]
    ]
    holds = {r["id"]: answer_holds(r, "local") for r in answerable}
    read = {}
    for r in own:
        mine = [s["text"] for s in r["local"]["sentences"]]
        theirs = [s.text for s in split_sentences(Document("extractive", r["extractive"]["answer"]))]
        read[r["id"]] = (
            *best_readings(reader.logits, r["question"], mine, theirs),
            holds[r["id"]],
            answer_holds(r, "extractive"),
        )
    out = {
        "answerable": len(answerable),
        "own_words": len(own),
        "extractive_holds": _mean(answer_holds(r, "extractive") for r in answerable),
        "local_holds": _mean(holds.values()),
        "margins": {},
    }
    for m in margins:  # as weaker_answer decides at margin m
        dropped = [v for v in read.values() if v[0] < v[1] - m]
        fixed, broken = sum(not v[2] and v[3] for v in dropped), sum(v[2] and not v[3] for v in dropped)
        out["margins"][m] = {
            "dropped": len(dropped),
            "fixed": fixed,
            "broken": broken,
            "local_holds": round((sum(holds.values()) + fixed - broken) / len(answerable), 4),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--margins", type=float, nargs="+", default=list(MARGINS))
    args = ap.parse_args()
    for name, path in DRAWS.items():
        r = replay(path, tuple(args.margins))
        print(
            f"{name} ({path.name}): {r['answerable']} answerable, {r['own_words']} answered in the model's own words; "
            f"holds gold: extractive {r['extractive_holds']}, local {r['local_holds']}"
        )
        print("  margin  dropped  wrong->right  right->wrong  local holds gold")
        for m, f in r["margins"].items():
            print(
                f"  {m:6.1f}  {f['dropped']:7d}  {f['fixed']:12d}  {f['broken']:12d}  {f['local_holds']:.4f}{'  (shipped)' if m == MARGIN else ''}"
            )


if __name__ == "__main__":
    main()

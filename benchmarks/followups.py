"""The follow-up rewriter without an LLM (rag.answer.followup), on 60 written follow-up pairs
(benchmarks/data/followups.jsonl: an earlier question, a follow-up, and the question it stands for).
The 44 of part "dev" shaped the rules; the 16 of part "test" were written after, and only measured.

    .venv/bin/python -m benchmarks.followups [-v]

Each rewrite is **right** (the standalone question, up to case, punctuation and a leading "and"),
**kept** (the follow-up as typed: the search sees less than it could, but nothing wrong), or **broken**
(anything else: a question nobody asked). Written 2026-12-08 over the news set's stories and the seeds'
topics; figures in benchmarks/ANSWERS.md.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from rag.answer.followup import rewrite

DATA = Path(__file__).parent / "data" / "followups.jsonl"


def _norm(q: str) -> str:
    q = re.sub(r"^(?:and|but|so)\s+", "", q.strip().lower())
    return " ".join(re.sub(r"[^\w\s']", " ", q).split())


def judge(question: str, standalone: str, got: str) -> str:
    if _norm(got) == _norm(standalone):
        return "right"
    return "kept" if _norm(got) == _norm(question) else "broken"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-v", "--verbose", action="store_true", help="print every rewrite that is not right")
    args = ap.parse_args()
    pairs = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    for part in ("dev", "test"):
        mine = [p for p in pairs if p["part"] == part]
        counts = {"right": 0, "kept": 0, "broken": 0}
        for p in mine:
            got = rewrite(p["question"], [p["previous"]])
            verdict = judge(p["question"], p["standalone"], got)
            counts[verdict] += 1
            if args.verbose and verdict != "right":
                print(f"{part} {verdict}: {p['previous']} | {p['question']} -> {got}  (want: {p['standalone']})")
        print(f"{part}: " + " ".join(f"{k} {v}/{len(mine)}" for k, v in counts.items()))


if __name__ == "__main__":
    main()

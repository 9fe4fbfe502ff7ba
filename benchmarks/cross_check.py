"""The cross-check (rag/cross_check.py) replayed on the local model's recorded answers, without writing them
again: what it would drop, and what that does to answers holding the gold span.

    .venv/bin/python -m benchmarks.cross_check        # about 6 min on 2 threads; resumes; then the figures
    .venv/bin/python -m benchmarks.cross_check --report

Both recorded draws of benchmarks/local_llm.py (SQuAD-train validation questions over 2,000 paragraphs;
SQuAD's dev file is never read) are first replayed with today's checks (``local_llm.replay``). For each
answer the local model kept, the model is asked for the phrase the sentences its first answer sentence
cites give in answer; the reply is recorded. An answer the check drops counts as the extractive answer
recorded beside it, as in the product.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.local_llm import CACHE, replay  # noqa: E402
from rag.cross_check import MAX_TOKENS, clashes, prompt, reading  # noqa: E402
from train.squad import QA, holds_answer  # noqa: E402

DRAWS = {"first": CACHE / "local_llm" / "records.jsonl", "fresh": CACHE / "local_llm" / "fresh_asked.jsonl"}
READINGS = CACHE / "local_llm" / "cross_check.jsonl"


def ask(threads: int) -> None:
    from rag.assistant import Assistant
    from rag.config import Settings

    settings = Settings.load(threads=threads)
    extractive = Assistant.from_index(CACHE / "squad-valid-2000" / "index", settings)
    local = Assistant(extractive.index, extractive.embedder, settings.replace(generator="local"))  # holds the llama.cpp server
    generator = local.answerer.generator  # type: ignore[attr-defined]
    done = {(r["draw"], r["id"]) for r in _rows(READINGS)}
    with READINGS.open("a", encoding="utf-8") as out:
        for draw, path in DRAWS.items():
            for r in replay(_rows(path), 2000):
                if r["kind"] != "answerable" or r["local"]["fallback"] or r["local"]["abstained"] or (draw, r["id"]) in done:
                    continue
                first = r["local"]["sentences"][0]
                t = time.perf_counter()
                reply = generator.complete([{"role": "user", "content": prompt(r["question"], [c["text"] for c in first["citations"]])}], MAX_TOKENS)
                row = {"draw": draw, "id": r["id"], "question": r["question"], "answers": r["answers"], "first": first["text"],
                       "reply": reply, "s": round(time.perf_counter() - t, 3), "local": r["local"]["answer"], "extractive": r["extractive"]["answer"]}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()


def report() -> None:
    rows = _rows(READINGS)
    for draw in (*DRAWS, "both"):
        mine = [r for r in rows if draw in ("both", r["draw"])]
        n = dict(answers=len(mine), local_gold=0, after=0, extractive_gold=0, dropped=0, dropped_wrong_extractive_right=0,
                 dropped_right_extractive_wrong=0, no_verdict=0)
        for r in mine:
            qa = QA(r["id"], r["question"], tuple(r["answers"]), 0, "", "answerable")
            local, ex = holds_answer(r["local"], qa), holds_answer(r["extractive"], qa)
            phrase = reading(r["reply"])
            dropped = phrase is not None and clashes(r["question"], r["first"], phrase)
            n["local_gold"] += local
            n["extractive_gold"] += ex
            n["after"] += ex if dropped else local
            n["no_verdict"] += phrase is None
            n["dropped"] += dropped
            n["dropped_wrong_extractive_right"] += dropped and ex and not local
            n["dropped_right_extractive_wrong"] += dropped and local and not ex
        print(f"{draw}: {n}")
    if rows:
        print(f"p50 seconds per reading: {statistics.median(r['s'] for r in rows):.2f}")


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--report", action="store_true", help="only the figures of the saved readings")
    args = ap.parse_args()
    if not args.report:
        ask(args.threads)
    report()


if __name__ == "__main__":
    main()

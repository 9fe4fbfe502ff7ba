"""The cross-check (rag/verify/cross_check.py) replayed on the local model's recorded answers, without writing them
again: what it would drop, and what that does to answers holding the gold span.

    .venv/bin/python -m benchmarks.cross_check        # about 7 min on 2 threads; resumes; then the figures
    .venv/bin/python -m benchmarks.cross_check --report

The live run of benchmarks/local_llm.py (300 answerable SQuAD-train validation questions over 2,000
paragraphs, seed 1205; SQuAD's dev file is never read) is first replayed with today's checks
(``local_llm.replay``). For each answer the local model kept in its own words, the model is asked for
the phrase that answers the question twice: in the sentences its first answer sentence cites (the first
rule), and in those followed by the extractive answer's (the rule shipped). The replies are recorded.
An answer the check drops counts as the extractive answer recorded beside it, as in the product.
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
from rag.verify.cross_check import MAX_TOKENS, clashes, evidence_text, prompt, reading, terms_of  # noqa: E402
from train.squad import QA, holds_answer  # noqa: E402

DRAWS = {"live": CACHE / "local_llm" / "live_300b.jsonl"}
READINGS = CACHE / "local_llm" / "cross_check_live.jsonl"


def ask(threads: int) -> None:
    from rag.assistant import Assistant
    from rag.config import Settings

    settings = Settings.load(threads=threads)
    extractive = Assistant.from_index(CACHE / "squad-valid-2000" / "index", settings)
    local = Assistant(
        extractive.index, extractive.embedder, settings.replace(generator="local")
    )  # holds the llama.cpp server
    generator = local.answerer.generator  # type: ignore[attr-defined]
    done = {(r["draw"], r["id"]) for r in _rows(READINGS)}

    def read(question: str, texts: list[str]) -> str:
        return generator.complete([{"role": "user", "content": prompt(question, texts)}], MAX_TOKENS)

    with READINGS.open("a", encoding="utf-8") as out:
        for draw, path in DRAWS.items():
            for r in replay(_rows(path), 2000):
                if (
                    r["kind"] != "answerable"
                    or r["local"]["fallback"]
                    or r["local"]["abstained"]
                    or (draw, r["id"]) in done
                ):
                    continue
                ex = extractive.ask(r["question"])
                cited = [c["text"] for c in r["local"]["sentences"][0]["citations"]]
                union = evidence_text(cited, [c.text for s in ex.sentences for c in s.citations])
                t = time.perf_counter()
                reply_cited = read(r["question"], cited)
                row = {
                    "draw": draw,
                    "id": r["id"],
                    "question": r["question"],
                    "answers": r["answers"],
                    "first": r["local"]["sentences"][0]["text"],
                    "local": r["local"]["answer"],
                    "extractive": r["extractive"]["answer"],
                    "cited": cited,
                    "reply_cited": reply_cited,
                    "reply_union": reply_cited if union == cited else read(r["question"], union),
                    "s": round(time.perf_counter() - t, 3),
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()


def _first_rule(question: str, first: str, phrase: str) -> bool:
    """The rule before: a clash only when the first answer sentence has none of the phrase's new words."""
    new = terms_of(phrase) - terms_of(question)
    return bool(new) and not new & terms_of(first)


RULES = {
    "first rule (cited sentences; none of the words)": lambda r: (reading(r["reply_cited"]), r["first"], _first_rule),
    "shipped (cited + extractive sentences; any word missing)": lambda r: (
        reading(r["reply_union"]),
        r["local"],
        clashes,
    ),
}


def report() -> None:
    rows = _rows(READINGS)
    for name, rule in RULES.items():
        n = dict(
            answers=len(rows),
            local_gold=0,
            after=0,
            extractive_gold=0,
            dropped=0,
            dropped_wrong_extractive_right=0,
            dropped_right_extractive_wrong=0,
            no_verdict=0,
        )
        for r in rows:
            qa = QA(r["id"], r["question"], tuple(r["answers"]), 0, "", "answerable")
            local, ex = holds_answer(r["local"], qa), holds_answer(r["extractive"], qa)
            phrase, answer, clash = rule(r)
            dropped = phrase is not None and clash(r["question"], answer, phrase)
            n["local_gold"] += local
            n["extractive_gold"] += ex
            n["after"] += ex if dropped else local
            n["no_verdict"] += phrase is None
            n["dropped"] += dropped
            n["dropped_wrong_extractive_right"] += dropped and ex and not local
            n["dropped_right_extractive_wrong"] += dropped and local and not ex
        print(f"{name}: {n}")
    if rows:
        print(f"p50 seconds per question (both readings): {statistics.median(r['s'] for r in rows):.2f}")


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

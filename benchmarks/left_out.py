"""The extractive answer's left-out sentences added to the local model's answer, replayed on its recorded
answers: how often the answer then holds the gold span, against the extractive answer, and how long it
gets. No model writes anything; the reader reads the recorded answers (a few seconds a draw).

    .venv/bin/python -m benchmarks.left_out

For each answerable question the local model answered in its own words, the reader check is applied
first at the shipped margin (an answer it drops is the extractive one, as in the product); then the
sentences of the extractive answer recorded beside it (split with the product's splitter) that no
sentence of the model's answer cites follow the model's sentences. The draws are benchmarks/reader_check.py's,
all SQuAD-train validation questions over 2,000 paragraphs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.local_llm import _mean, answer_holds, record_qa  # noqa: E402
from benchmarks.reader_check import DRAWS  # noqa: E402
from rag.ingest import split_sentences  # noqa: E402
from rag.reader import load_reader  # noqa: E402
from rag.reader_check import MARGIN, best_readings  # noqa: E402
from rag.types import Document  # noqa: E402
from train.squad import holds_answer  # noqa: E402


def replay(path: Path, reader) -> dict:  # type: ignore[no-untyped-def]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [r for r in rows if r["kind"] == "answerable"]
    given = [r for r in answerable if not r["local"]["abstained"]]
    shown = {r["id"]: answers(r, reader) for r in given}
    qa = {r["id"]: record_qa(r) for r in given}
    n = len(answerable)
    return {
        "extractive_holds": _mean(answer_holds(r, "extractive") for r in answerable),
        "local_holds": sum(holds_answer(checked, qa[i]) for i, (checked, _) in shown.items()) / n,
        "completed_holds": sum(holds_answer(completed, qa[i]) for i, (_, completed) in shown.items()) / n,
        "completed": sum(checked != completed for checked, completed in shown.values()),
        "words": (_mean(len(r["extractive"]["answer"].split()) for r in given),
                  _mean(len(c.split()) for c, _ in shown.values()), _mean(len(c.split()) for _, c in shown.values())),
    }


def answers(r: dict, reader) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A record's local answer after the reader check at the shipped margin, then the same followed by the
    extractive answer's sentences it does not cite."""
    local, ex = r["local"], r["extractive"]
    if local["fallback"] or ex["abstained"]:
        return local["answer"], local["answer"]
    theirs = [s.text for s in split_sentences(Document("extractive", ex["answer"]))]
    ours, best_theirs = best_readings(reader, r["question"], [s["text"] for s in local["sentences"]], theirs)
    if ours < best_theirs - MARGIN:  # the reader check drops it: the extractive answer stands in
        return ex["answer"], ex["answer"]
    cited = {c["text"] for s in local["sentences"] for c in s["citations"]}
    return local["answer"], " ".join([local["answer"], *(t for t in theirs if t not in cited)])


def main() -> None:
    reader = load_reader(threads=2)
    print("| draw | extractive | local | local + left-out sentences | answers completed | words: extractive / local / completed |")
    print("|---|---|---|---|---|---|")
    for name, path in DRAWS.items():
        f = replay(path, reader)
        w = f["words"]
        print(f"| {name} | {f['extractive_holds']:.3f} | {f['local_holds']:.3f} | {f['completed_holds']:.3f} | {f['completed']} | {w[0]:.1f} / {w[1]:.1f} / {w[2]:.1f} |")


if __name__ == "__main__":
    main()

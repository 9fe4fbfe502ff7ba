"""What is done to the local model's answer once its checks pass, replayed on its recorded answers: its
near-quotes put in the cited sentence's wording (rag/verify/source_wording.py), and the extractive answer's
sentences it left out added. How often the answer then holds the gold span, against the extractive
answer, and how long it gets. No model writes anything; the reader reads the recorded answers (a few
seconds a draw).

    .venv/bin/python -m benchmarks.finishing

For each answerable question the local model answered in its own words: its sentences, in the cited
sentences' wording or not; the reader check at the shipped margin (an answer it drops is the extractive
one, as in the product); then the sentences of the extractive answer recorded beside it (split with
the product's splitter) that no sentence of the model's answer cites follow the model's sentences:
every one of them, or only those the reader reads as answering the question (logit >=
LEFT_OUT_MIN_LOGIT, as shipped). The draws are
benchmarks/reader_check.py's, the eighth (``--seed 1212``), which ran live adding every left-out
sentence, and the ninth and tenth (``--seed 1213``, ``1214``), which ran with the gate (the tenth with
the source wording too); what was added live is taken off the answers first. All are SQuAD-train validation questions over 2,000
paragraphs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.local_llm import CACHE, _mean, answer_holds, record_qa  # noqa: E402
from benchmarks.reader_check import DRAWS  # noqa: E402
from rag.ingest.corpus import split_sentences  # noqa: E402
from rag.rank.reader import load_reader  # noqa: E402
from rag.types import Document  # noqa: E402
from rag.verify.reader_check import MARGIN  # noqa: E402
from rag.verify.source_wording import in_source_wording  # noqa: E402
from rag.verify.whole_answer import LEFT_OUT_MIN_LOGIT  # noqa: E402
from train.squad import holds_answer  # noqa: E402

ALL_DRAWS = {
    **DRAWS,
    "seed1212": CACHE / "local_llm" / "live_300h.jsonl",
    "seed1213": CACHE / "local_llm" / "live_300i.jsonl",
    "seed1214": CACHE / "local_llm" / "live_300j.jsonl",
}


def replay(path: Path, reader) -> dict:  # type: ignore[no-untyped-def]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [r for r in rows if r["kind"] == "answerable"]
    given = [r for r in answerable if not r["local"]["abstained"]]
    split = {worded: {r["id"]: answer_and_left_out(r, reader, worded) for r in given} for worded in (False, True)}
    out: dict = {"extractive_holds": _mean(answer_holds(r, "extractive") for r in answerable)}
    # (name, in the sources' wording, the reader's floor for a left-out sentence to be added: None adds none)
    for name, worded, floor in (
        ("local", False, None),
        ("local_worded", True, None),
        ("read_worded", True, LEFT_OUT_MIN_LOGIT),
        ("every_worded", True, float("-inf")),
    ):
        answers = split[worded]
        texts = {
            i: " ".join([text, *(t for t, logit in left if floor is not None and logit >= floor)])
            for i, (text, left) in answers.items()
        }
        out[name] = {
            "holds": sum(holds_answer(texts[r["id"]], record_qa(r)) for r in given) / len(answerable),
            "completed": sum(texts[i] != text for i, (text, _) in answers.items()),
            "words": _mean(len(t.split()) for t in texts.values()),
        }
    return out


def answer_and_left_out(r: dict, reader, worded: bool) -> tuple[str, list[tuple[str, float]]]:  # type: ignore[no-untyped-def]
    """A record's local answer (in its cited sentences' wording if ``worded``) after the reader check at
    the shipped margin, without any sentence added to it live, and the extractive answer's sentences it
    does not cite, each with the reader's logit."""
    local, ex = r["local"], r["extractive"]
    if local["fallback"] or ex["abstained"]:
        return local["answer"], []
    added = next((int(n.split()[1]) for n in local["notes"] if n.startswith("added ")), 0)
    own = local["sentences"][: len(local["sentences"]) - added]
    mine = [in_source_wording(s["text"], [c["text"] for c in s["citations"]]) if worded else s["text"] for s in own]
    theirs = [s.text for s in split_sentences(Document("extractive", ex["answer"]))]
    ours, read = reader.logits(r["question"], mine), reader.logits(r["question"], theirs)
    if ours.max() < read.max() - MARGIN:  # the reader check drops it: the extractive answer stands in
        return ex["answer"], []
    cited = {c["text"] for s in own for c in s["citations"]}
    return " ".join(mine), [(t, float(logit)) for t, logit in zip(theirs, read, strict=True) if t not in cited]


def main() -> None:
    reader = load_reader(threads=2)
    print(
        "| draw | extractive | local | in the sources' wording | + left-out sentences read as answers (shipped) "
        "| + every left-out sentence | answers completed: read / every | words: local / shipped / every |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, path in ALL_DRAWS.items():
        f = replay(path, reader)
        lo, wo, rd, ev = f["local"], f["local_worded"], f["read_worded"], f["every_worded"]
        print(
            f"| {name} | {f['extractive_holds']:.3f} | {lo['holds']:.3f} | {wo['holds']:.3f} | {rd['holds']:.3f} | {ev['holds']:.3f} | "
            f"{rd['completed']} / {ev['completed']} | {lo['words']:.1f} / {rd['words']:.1f} / {ev['words']:.1f} |"
        )


if __name__ == "__main__":
    main()

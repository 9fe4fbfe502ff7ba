"""The local LLM (`--generator local`, Qwen2.5-1.5B) against the extractive answerer on held-out
SQuAD-train questions, with its speed and its own drafted claims for measuring the verifier.

    .venv/bin/python -m benchmarks.local_llm [--answerable 300] [--absent 60] [--paragraphs 2000]
    .venv/bin/python -m benchmarks.local_llm --report      # figures from the saved records only
    .venv/bin/python -m benchmarks.local_llm --only R.jsonl --records NEW.jsonl   # R's questions again

The corpus is the **valid** part of train/squad.py's split (its own articles, less the left-out ones,
filled to 2,000 paragraphs with training paragraphs). Questions are a seeded sample of that part's
answerable and absent-article questions. SQuAD's dev file is never read.

Each question is answered twice over the same index: by the extractive answerer, and by the local model
through ``Assistant.ask_stream`` exactly as `rag ask -g local` does (time to the first checked sentence
and to the whole answer). Every sentence the model drafts is recorded with the sentences it cited and
which citations the verifier kept, so the verifier can be re-scored on the model's own claims without
running the model again (benchmarks/verify_claims.py). Records go to a JSON Lines file, one per
question, flushed as written; a rerun resumes.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from train.squad import QA, build_split, holds_answer, holds_answer_words, write_corpus  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
RECORDS = CACHE / "local_llm" / "records.jsonl"
SEED = 29


def sample(
    split_questions: list[QA], answerable: int, absent: int, seed: int = SEED, exclude: frozenset[str] = frozenset()
) -> list[QA]:
    """A seeded draw of each kind; ``exclude``: ids already used (to tune on), never drawn again."""
    rng = random.Random(seed)
    by = {k: [q for q in split_questions if q.kind == k and q.id not in exclude] for k in ("answerable", "absent")}
    chosen = rng.sample(by["answerable"], min(answerable, len(by["answerable"]))) + rng.sample(
        by["absent"], min(absent, len(by["absent"]))
    )
    rng.shuffle(chosen)  # kinds interleaved, so a run stopped early still has both
    return chosen


def assistants(paragraphs: int, threads: int, pool: int = 2500, **local_settings):  # type: ignore[no-untyped-def]
    """The valid part over ``paragraphs`` paragraphs with up to ``pool`` answerable questions to draw
    from, and two assistants over one index of it: the extractive one and the local model's
    (``local_settings`` on top of ``generator="local"``). The corpus does not depend on ``pool``: the
    split samples its questions after building it."""
    from rag.assistant import Assistant
    from rag.config import Settings
    from rag.types import IndexMismatchError

    split = build_split("valid", min_paragraphs=paragraphs, answerable=pool)
    corpus = write_corpus(split, CACHE / f"squad-valid-{paragraphs}" / "corpus")
    index_dir = CACHE / f"squad-valid-{paragraphs}" / "index"
    settings = Settings.load(threads=threads)
    try:
        extractive = Assistant.from_dir(corpus, index_dir, settings)
    except IndexMismatchError:
        extractive = Assistant.from_dir(corpus, index_dir, settings, rebuild=True)
    return (
        split,
        extractive,
        Assistant(extractive.index, extractive.embedder, settings.replace(generator="local", **local_settings)),
    )


def run(args: argparse.Namespace) -> None:
    from rag.types import Answer, AnswerSentence

    split, extractive, local = assistants(
        args.paragraphs, args.threads, args.pool, context_sentences=args.context_sentences
    )
    drafts: list[dict] = []
    local.answerer.on_check = lambda d, cited, kept: drafts.append(  # type: ignore[attr-defined]
        {"text": d.text, "cited": [{"key": s.key, "text": s.text} for s in cited], "kept": [c.key for c in kept]}
    )
    used = frozenset(
        json.loads(line)["id"] for f in args.exclude for line in f.read_text().splitlines() if line.strip()
    )
    questions = sample(split.questions, args.answerable, args.absent, args.seed, used)
    if args.only is not None:  # the same questions as an earlier run, to compare a changed prompt on them
        wanted = {json.loads(line)["id"] for line in args.only.read_text().splitlines() if line.strip()}
        questions = [q for q in split.questions if q.id in wanted and q.kind in args.kinds]
    records: Path = args.records
    records.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["id"] for line in records.read_text().splitlines()} if records.is_file() else set()
    local.ask("Warm up: what is this about?")  # loads the model once, outside the timings
    with records.open("a", encoding="utf-8") as out:
        for i, q in enumerate(questions, 1):
            if q.id in done:
                continue
            ex = extractive.ask(q.question, q.id)
            drafts.clear()
            t0 = time.perf_counter()
            first = None
            final: Answer | None = None
            for item in local.ask_stream(q.question, q.id):
                if isinstance(item, AnswerSentence) and first is None:
                    first = time.perf_counter() - t0
                elif isinstance(item, Answer):
                    final = item
            total = time.perf_counter() - t0
            assert final is not None
            record = {
                "id": q.id,
                "kind": q.kind,
                "question": q.question,
                "answers": list(q.answers),
                "file": q.file,
                "extractive": {"answer": " ".join(s.text for s in ex.sentences), "abstained": ex.abstained},
                "local": {
                    "answer": " ".join(s.text for s in final.sentences),
                    "abstained": final.abstained,
                    "fallback": final.fallback,
                    "sentences": [s.to_dict() for s in final.sentences],
                    "first_s": first,
                    "total_s": total,
                    "drafts": list(drafts),
                    "notes": list(final.notes),
                },
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            print(
                f"{i}/{len(questions)} {total:.1f}s {q.kind} fallback={final.fallback} abstained={final.abstained}",
                file=sys.stderr,
                flush=True,
            )


def replay(rows: list[dict], paragraphs: int) -> list[dict]:
    """The records as the current answerer would have left them, without running the model again:
    - declined, with no model call, when the extractive answerer declined (the calibrated gate);
    - each drafted sentence re-checked against the sentences it cited, after undoing a split inside
      parentheses;
    - with the local model's ``agree_first``, sentences dropped until one cites a sentence of the
      extractive answer (recognised by its text in the recorded extractive answer), and the answer
      dropped when it does not state what was asked where the extractive one does (rag/verify/asked.py);
    - with nothing left, or when the model found no answer, the recorded extractive answer (same
      index, same evidence)."""
    from rag.answer.llm_defaults import agree_first

    from rag.config import Settings
    from rag.embed.embedder import load_embedder
    from rag.index import load_index
    from rag.verify.asked import why_not_an_answer
    from rag.verify.support import Verifier

    settings = Settings()
    agreeing = agree_first(settings.replace(generator="local"))
    index = load_index(CACHE / f"squad-valid-{paragraphs}" / "index", settings)
    verifier = Verifier(index, load_embedder(settings.embedder), settings.support_threshold)
    out = []
    for r in rows:
        local, ex = dict(r["local"]), r["extractive"]
        if ex["abstained"]:
            local.update(answer="", sentences=[], abstained=True, fallback=False, drafts=[])
            out.append({**r, "local": local})
            continue
        sentences = []
        for d in _rejoined(local["drafts"]):
            cited = [s for c in d["cited"] if (s := index.sentence(*_key(c["key"]))) is not None]
            kept = verifier.check(d["text"], cited)[0] if cited else []
            if kept and agreeing and not sentences and not any(c.text in ex["answer"] for c in kept):
                continue
            if kept:
                sentences.append({"text": d["text"], "citations": [c.to_dict() for c in kept]})
        if (
            sentences
            and agreeing
            and why_not_an_answer(r["question"], " ".join(x["text"] for x in sentences), ex["answer"])
        ):
            sentences = []
        if sentences:
            local.update(
                answer=" ".join(x["text"] for x in sentences), sentences=sentences, abstained=False, fallback=False
            )
        else:
            local.update(answer=ex["answer"], sentences=[], abstained=False, fallback=True)
        out.append({**r, "local": local})
    return out


def _rejoined(drafts: list[dict]) -> list[dict]:
    """Drafts as ``rag.llm.client`` now splits them: a split inside an open parenthesis undone."""
    out: list[dict] = []
    for d in drafts:
        if out and out[-1]["text"].count("(") > out[-1]["text"].count(")"):
            last = out.pop()
            d = {**d, "text": last["text"] + " " + d["text"], "cited": last["cited"] + d["cited"]}
        out.append(d)
    return out


def _key(key: str) -> tuple[str, int]:
    file, n = key.rsplit(":", 1)
    return file, int(n)


def record_qa(r: dict) -> QA:
    """The question of a record, as the split gave it (its id, text, gold answers, file and kind)."""
    return QA(r["id"], r["question"], tuple(r["answers"]), 0, r["file"], r["kind"])


def answer_holds(r: dict, who: str) -> bool:
    """``who``'s answer in record ``r`` ("local" or "extractive") was given and holds a gold answer."""
    return not r[who]["abstained"] and holds_answer(r[who]["answer"], record_qa(r))


def report(path: Path = RECORDS, replay_paragraphs: int | None = None) -> dict:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if replay_paragraphs is not None:
        rows = replay(rows, replay_paragraphs)
    qa = {r["id"]: record_qa(r) for r in rows}
    ans = [r for r in rows if r["kind"] == "answerable"]
    absent = [r for r in rows if r["kind"] == "absent"]

    def shown(r: dict, who: str) -> bool:
        """The answer as ``rag ask`` prints it: its sentences, then the source list quoting each cited sentence."""
        quoted = " ".join(c["text"] for s in r[who].get("sentences", []) for c in s["citations"])
        return not r[who]["abstained"] and holds_answer(f"{r[who]['answer']} {quoted}", qa[r["id"]])

    local_sentences = [s for r in rows for s in r["local"]["sentences"] if not r["local"]["fallback"]]
    # The objective proxy for citation precision on SQuAD: a model sentence that states the gold answer
    # must cite a sentence that states it too.
    gold_claims = [
        (s, qa[r["id"]])
        for r in ans
        if not r["local"]["fallback"]
        for s in r["local"]["sentences"]
        if holds_answer(s["text"], qa[r["id"]])
    ]
    cited_gold = [any(holds_answer(c["text"], q) for c in s["citations"]) for s, q in gold_claims]
    firsts = [r["local"]["first_s"] for r in rows if r["local"]["first_s"] is not None]
    totals = [r["local"]["total_s"] for r in rows]
    return {
        "questions": len(rows),
        "answerable": len(ans),
        "absent": len(absent),
        "extractive_holds_gold": _mean(answer_holds(r, "extractive") for r in ans),
        "local_holds_gold": _mean(answer_holds(r, "local") for r in ans),
        "extractive_holds_gold_any_order": _mean(
            not r["extractive"]["abstained"] and holds_answer_words(r["extractive"]["answer"], qa[r["id"]]) for r in ans
        ),
        "local_holds_gold_any_order": _mean(
            not r["local"]["abstained"] and holds_answer_words(r["local"]["answer"], qa[r["id"]]) for r in ans
        ),
        "extractive_holds_gold_as_shown": _mean(shown(r, "extractive") for r in ans),
        "local_holds_gold_as_shown": _mean(shown(r, "local") for r in ans),
        "local_holds_gold_own_words": _mean(answer_holds(r, "local") and not r["local"]["fallback"] for r in ans),
        "local_fallback_share": _mean(r["local"]["fallback"] for r in rows),
        "local_wrongly_declined": _mean(r["local"]["abstained"] for r in ans),
        "extractive_wrongly_declined": _mean(r["extractive"]["abstained"] for r in ans),
        "local_absent_declined": _mean(r["local"]["abstained"] for r in absent),
        "extractive_absent_declined": _mean(r["extractive"]["abstained"] for r in absent),
        "local_sentences": len(local_sentences),
        "local_uncited_sentences": sum(not s["citations"] for s in local_sentences),
        "gold_claims_citing_a_gold_sentence": _mean(cited_gold),
        "gold_claims": len(gold_claims),
        "drafted_sentences": sum(len(r["local"]["drafts"]) for r in rows),
        "p50_answer_s": round(statistics.median(totals), 2) if totals else None,
        "p90_answer_s": round(float(np.percentile(totals, 90)), 2) if totals else None,
        "p50_first_sentence_s": round(statistics.median(firsts), 2) if firsts else None,
        "p90_first_sentence_s": round(float(np.percentile(firsts, 90)), 2) if firsts else None,
    }


def _mean(xs) -> float | None:
    xs = list(xs)
    return round(float(np.mean(xs)), 4) if xs else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--answerable", type=int, default=300)
    ap.add_argument("--absent", type=int, default=60)
    ap.add_argument("--paragraphs", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--pool",
        type=int,
        default=2500,
        help="answerable questions of the split to draw from (the first nine draws used up the default 2,500)",
    )
    ap.add_argument(
        "--context-sentences", type=int, default=None, help="sentences shown to the model (default: the setting, 8)"
    )
    ap.add_argument("--records", type=Path, default=RECORDS, help="where the per-question records go")
    ap.add_argument("--seed", type=int, default=SEED, help="the question draw")
    ap.add_argument(
        "--exclude",
        type=Path,
        action="append",
        default=[],
        help="records whose questions are not drawn (a fresh held-out set)",
    )
    ap.add_argument(
        "--only", type=Path, default=None, help="ask only the questions of these records (instead of a draw)"
    )
    ap.add_argument(
        "--kinds", nargs="+", default=["answerable", "absent"], help="with --only: the kinds of question asked"
    )
    ap.add_argument("--report", action="store_true", help="only print the figures of the saved records")
    ap.add_argument(
        "--replay", action="store_true", help="re-check the recorded drafts with the current verifier first"
    )
    args = ap.parse_args()
    if not args.report:
        run(args)
    for key, value in report(args.records, args.paragraphs if args.replay else None).items():
        print(f"| {key} | {value} |")


if __name__ == "__main__":
    main()

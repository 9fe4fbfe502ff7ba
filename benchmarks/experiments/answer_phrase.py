"""An experiment for issue 10, not the product: the local model writes only a short answer phrase copied
from one source sentence, with that sentence's id, and the answer shown is the phrase followed by the
sentence itself. The check is then exact: the phrase must occur in the sentence it cites. A reply that
fails it, or says NO_ANSWER, falls back to the extractive answer, as the product does.

    .venv/bin/python benchmarks/experiments/answer_phrase.py --seed 1209 --answerable 150 --absent 30 \
        --exclude benchmarks/.cache/local_llm/live_*.jsonl --records benchmarks/.cache/local_llm/phrase_1209.jsonl
    .venv/bin/python benchmarks/experiments/answer_phrase.py --report benchmarks/.cache/local_llm/phrase_1209.jsonl

Same corpus, question draw and extractive answerer as benchmarks/local_llm.py (SQuAD-train valid part
over 2,000 paragraphs; SQuAD's dev file is never read). Records are flushed per question; a rerun resumes.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.local_llm import CACHE, answer_holds, assistants, record_qa, sample  # noqa: E402
from train.squad import holds_answer  # noqa: E402

NO_ANSWER = "NO_ANSWER"
SYSTEM = f"""You answer a question from numbered source sentences.
Reply with the shortest phrase that answers the question, copied word for word from one source sentence, then that sentence's id in brackets.
If no sentence answers the question, reply exactly: {NO_ANSWER}

Example. Sources:
[S1] Microsoft first invested $1 billion in OpenAI in 2019.
[S2] The company moved its headquarters to San Francisco.
Question: When did Microsoft first invest in OpenAI?
Reply: 2019 [S1]

Example. Sources:
[S1] The bridge was designed by Ana Ruiz.
Question: How long is the bridge?
Reply: {NO_ANSWER}"""
REPLY = re.compile(r"^\s*(?:Reply:\s*)?(.+?)\s*\[S(\d+)\]", re.S)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w$%.,'-]+", " ", text.lower()).split()).strip(" .,")


def ask_phrase(answerer, question: str, evidence) -> dict:  # type: ignore[no-untyped-def]
    """The model's reply in the phrase form, parsed and checked against the sentence it cites."""
    context = answerer.context(evidence)
    user = "Sources:\n" + "\n".join(f"[{context.id_of(i)}] {s.text}" for i, s in enumerate(context.sentences)) + f"\nQuestion: {question}\nReply:"
    reply = str(answerer.generator.complete([{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]))
    if reply.strip().upper().startswith(NO_ANSWER):
        return {"reply": reply, "outcome": "no_answer"}
    m = REPLY.match(reply)
    cited = context.resolve(int(m.group(2))) if m else None
    if m is None or cited is None:
        return {"reply": reply, "outcome": "unparsed"}
    phrase = m.group(1).strip().strip('"')
    ok = bool(_norm(phrase)) and _norm(phrase) in _norm(cited.text)
    return {"reply": reply, "outcome": "kept" if ok else "not_in_sentence", "phrase": phrase, "sentence": cited.text, "key": cited.key}


def run(args: argparse.Namespace) -> None:
    split, _, local = assistants(args.paragraphs, args.threads)
    answerer = local.answerer
    seen: dict = {}

    def stream(question, evidence, id=None):  # type: ignore[no-untyped-def]
        """In place of the LLM answerer's stream: the extractive answer, and the phrase form beside it."""
        ex = answerer.fallback.answer(question, evidence, id)
        seen.clear()
        if not ex.abstained:
            t = time.perf_counter()
            seen.update(ask_phrase(answerer, question, evidence), seconds=time.perf_counter() - t)
        yield ex

    answerer.stream = stream
    used = frozenset(json.loads(line)["id"] for f in args.exclude for line in f.read_text().splitlines() if line.strip())
    questions = sample(split.questions, args.answerable, args.absent, args.seed, used)
    done = {json.loads(line)["id"] for line in args.records.read_text().splitlines()} if args.records.is_file() else set()
    list(local.ask_stream("Warm up: what is this about?"))
    with args.records.open("a", encoding="utf-8") as out:
        for i, q in enumerate(questions, 1):
            if q.id in done:
                continue
            items = list(local.ask_stream(q.question, q.id))
            ex = items[-1]
            record = {"id": q.id, "kind": q.kind, "question": q.question, "answers": list(q.answers), "file": q.file,
                      "extractive": {"answer": " ".join(s.text for s in ex.sentences), "abstained": ex.abstained}, "phrase": dict(seen)}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            print(f"{i}/{len(questions)} {q.kind} {seen.get('outcome')} {seen.get('seconds', 0):.1f}s", file=sys.stderr, flush=True)


def report(path: Path) -> dict:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    ans = [r for r in rows if r["kind"] == "answerable"]
    qa = {r["id"]: record_qa(r) for r in rows}

    def shown(r: dict) -> str:
        """The phrase form's answer as shown: the phrase and its sentence, or the extractive answer it falls back to."""
        p = r["phrase"]
        return f"{p['phrase']} {p['sentence']}" if p.get("outcome") == "kept" else r["extractive"]["answer"]

    def holds(r: dict, text: str) -> bool:
        return not r["extractive"]["abstained"] and holds_answer(text, qa[r["id"]])

    outcomes: dict[str, int] = {}
    for r in rows:
        k = r["phrase"].get("outcome", "declined")
        outcomes[k] = outcomes.get(k, 0) + 1
    kept = [r for r in ans if r["phrase"].get("outcome") == "kept"]
    secs = [r["phrase"]["seconds"] for r in rows if "seconds" in r["phrase"]]
    return {
        "answerable": len(ans), "absent": len(rows) - len(ans), "outcomes": outcomes,
        "extractive_holds": round(statistics.mean(answer_holds(r, "extractive") for r in ans), 4),
        "phrase_form_holds": round(statistics.mean(holds(r, shown(r)) for r in ans), 4),
        "phrase_form_holds_if_no_answer_declines": round(statistics.mean(
            holds(r, shown(r)) and r["phrase"].get("outcome") != "no_answer" for r in ans), 4),
        "kept_phrase_alone_holds": round(statistics.mean(holds_answer(r["phrase"]["phrase"], qa[r["id"]]) for r in kept), 4) if kept else None,
        "kept_sentence_holds": round(statistics.mean(holds_answer(r["phrase"]["sentence"], qa[r["id"]]) for r in kept), 4) if kept else None,
        "kept_extractive_holds": round(statistics.mean(answer_holds(r, "extractive") for r in kept), 4) if kept else None,
        "absent_said_no_answer": sum(r["phrase"].get("outcome") == "no_answer" for r in rows if r["kind"] == "absent"),
        "model_seconds_p50": round(statistics.median(secs), 2) if secs else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1209)
    ap.add_argument("--answerable", type=int, default=150)
    ap.add_argument("--absent", type=int, default=30)
    ap.add_argument("--paragraphs", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--exclude", type=Path, nargs="*", default=[])
    ap.add_argument("--records", type=Path, default=CACHE / "local_llm" / "phrase.jsonl")
    ap.add_argument("--report", type=Path)
    args = ap.parse_args()
    if args.report:
        print(json.dumps(report(args.report), indent=1))
        return
    run(args)
    print(json.dumps(report(args.records), indent=1))


if __name__ == "__main__":
    main()

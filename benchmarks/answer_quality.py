"""Answer quality on held-out SQuAD-train questions: answers, abstention, retrieval, calibration, speed.

    .venv/bin/python -m benchmarks.answer_quality               # the test part (reported figures)
    .venv/bin/python -m benchmarks.answer_quality --part valid  # the part thresholds were chosen on
    .venv/bin/python -m benchmarks.answer_quality --paragraphs 10000 --speed   # 10k passages; build vs raw

The corpus is one file per paragraph (train/squad.py): the part's own articles less the left-out ones,
filled to 5,000 paragraphs with paragraphs of training articles. Questions: 2,500 answerable, 600 whose
article is absent, 400 whose paragraph is absent ("hard"; "clear" when no paragraph left of their article
holds a gold answer), and 600 on-topic ones made unanswerable by swapping a name, year or number
(train/perturb.py). Nothing here was tuned on the test part, and
SQuAD's dev file is never read. Prints a markdown report; ``--json`` keeps the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluate import calibration  # noqa: E402
from rag.rank.phrase import fits, phrase_f1  # noqa: E402
from rag.rank.question import question_kind  # noqa: E402
from train.collect import PERTURBED  # noqa: E402
from train.perturb import perturbed  # noqa: E402
from train.squad import QA, SEED, build_split, holds_answer, write_corpus  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
LATENCY_QUESTIONS = 300


def run(part: str, paragraphs: int, out_json: Path | None, threads: int | None, speed: bool) -> dict:
    from rag.assistant import Assistant
    from rag.config import Settings
    from rag.types import IndexMismatchError

    split = build_split(part, min_paragraphs=paragraphs)
    name = f"squad-{part}" + ("" if paragraphs == 5000 else f"-{paragraphs}")
    corpus = write_corpus(split, CACHE / name / "corpus")
    index_dir = CACHE / name / "index"
    settings = Settings.load(threads=threads)
    build = _build_against_raw(split, corpus, index_dir, settings) if speed else {}
    t = time.perf_counter()
    try:
        assistant = Assistant.from_dir(corpus, index_dir, settings)
    except IndexMismatchError:  # cached by another version of the splitter or settings
        assistant = Assistant.from_dir(corpus, index_dir, settings, rebuild=True)
    build_s = time.perf_counter() - t
    # On-topic negatives (issue 33): questions with a name, year or number swapped, as fit_answerer sees
    # them on the other parts; and which absent-paragraph questions the rest of their article cannot answer.
    qs = split.questions + perturbed(split, PERTURBED[part], SEED, assistant.embedder)
    clear = _clear_of_answers(split)
    t = time.perf_counter()
    answers = list(assistant.answers([(q.id, q.question) for q in qs]))
    batch_s = time.perf_counter() - t
    rows = [_row(q, a) for q, a in zip(qs, answers, strict=True)]
    if out_json:  # every question's row beside the figures, for looking into a gate before adding it
        out_json.with_suffix(".rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for q, r in zip(qs, rows, strict=True):
        r["clear"] = q.kind != "hard" or q.id in clear

    # Warm one-by-one latency on answerable and unanswerable questions alike.
    sample = qs[:: max(1, len(qs) // LATENCY_QUESTIONS)][:LATENCY_QUESTIONS]
    for q in sample[:10]:
        assistant.ask(q.question)
    lat = []
    for q in sample:
        t0 = time.perf_counter()
        assistant.ask(q.question)
        lat.append(time.perf_counter() - t0)
    report = _figures(rows)
    report.update(build)
    report.update(
        part=part,
        paragraphs=len(split.corpus),
        index_seconds=round(build_s, 1),
        batch_qps=round(len(qs) / batch_s, 1),
        latency_p50_ms=round(statistics.median(lat) * 1000, 1),
        latency_p95_ms=round(float(np.percentile(lat, 95)) * 1000, 1),
    )
    if out_json:
        out_json.write_text(json.dumps(report, indent=2))
    return report


def _build_against_raw(split, corpus: Path, index_dir: Path, settings) -> dict:
    """A build from scratch against raw sentence-transformers ``encode`` of the same paragraphs plus a
    FAISS ``add``: the least a chunk-embedding pipeline pays. Each runs once, raw first, in one process;
    the build is the index the questions then use."""
    import shutil

    import faiss

    from rag.build import build_index
    from rag.embed.embedder import load_embedder

    embedder = load_embedder(settings.embedder, settings.threads, settings.batch_size)
    texts = [p.context for p in split.corpus]
    t = time.perf_counter()
    vectors = getattr(embedder, "torch", embedder).model.encode(
        texts, batch_size=settings.batch_size, normalize_embeddings=True, convert_to_numpy=True
    )
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    raw = time.perf_counter() - t
    shutil.rmtree(index_dir, ignore_errors=True)
    t = time.perf_counter()
    build_index(corpus, index_dir, settings, embedder)
    ours = time.perf_counter() - t
    return {"raw_build_seconds": round(raw, 1), "build_seconds": round(ours, 1), "build_vs_raw": round(raw / ours, 3)}


def _row(q: QA, a) -> dict:
    if isinstance(a, Exception):
        return {
            "kind": q.kind,
            "error": str(a),
            "abstained": True,
            "holds": False,
            "sentences": 0,
            "words": 0,
            "r5": False,
        }
    files = list(dict.fromkeys(h.chunk.file for h in a.passages))[:5]
    return {
        "kind": q.kind,
        "abstained": a.abstained,
        # An answer to a question whose paragraph is absent is wrong even if it happens to hold the string.
        "holds": q.kind == "answerable" and not a.abstained and holds_answer(" ".join(s.text for s in a.sentences), q),
        "sentences": len(a.sentences),
        "words": sum(len(s.text.split()) for s in a.sentences),
        "r5": q.file in files,
        "confidence": getattr(a, "confidence", None),
        # The phrase that answers (issue 33) against SQuAD's gold spans: 0 when none is given.
        "phrase": a.phrase is not None,
        "phrase_margin": a.phrase.margin if a.phrase else None,
        "phrase_fits": fits(question_kind(q.question), a.phrase.text) if a.phrase else None,
        "question_kind": question_kind(q.question),
        "phrase_f1": max((phrase_f1(a.phrase.text, g) for g in q.answers), default=0.0) if a.phrase else 0.0,
    }


def _clear_of_answers(split) -> set[str]:
    """Ids of the absent-paragraph questions that no paragraph of the corpus from their article answers
    (none holds a gold answer string): surely unanswerable, unlike the rest of them. A paragraph's file
    is ``<part>_<article>_<title>_<paragraph>.txt``, so the article is all but the last part."""
    text: dict[str, str] = {}
    for p in split.corpus:
        key = p.file.rsplit("_", 1)[0]
        text[key] = text.get(key, "") + "\n" + p.context.lower()
    return {
        q.id
        for q in split.questions
        if q.kind == "hard" and not any(a.lower() in text.get(q.file.rsplit("_", 1)[0], "") for a in q.answers)
    }


def _mean(xs) -> float | None:
    xs = list(xs)
    return round(float(np.mean(xs)), 4) if xs else None


def _figures(rows: list[dict]) -> dict:
    by = {k: [r for r in rows if r["kind"] == k] for k in ("answerable", "absent", "hard", "perturbed")}
    ans = by["answerable"]
    answered = [r for r in ans if not r["abstained"]]
    out = {
        "answerable": len(ans),
        "absent": len(by["absent"]),
        "hard": len(by["hard"]),
        "answer_holds_gold": _mean(r["holds"] for r in ans),
        "answer_holds_gold_within_2_sentences": _mean(r["holds"] and r["sentences"] <= 2 for r in ans),
        "holds_gold_when_answered": _mean(r["holds"] for r in answered),
        "mean_answer_words": _mean(r["words"] for r in answered),
        "mean_answer_sentences": _mean(r["sentences"] for r in answered),
        "wrongly_declined": _mean(r["abstained"] for r in ans),
        "absent_declined": _mean(r["abstained"] for r in by["absent"]),
        "hard_declined": _mean(r["abstained"] for r in by["hard"]),
        "hard_clear_declined": _mean(r["abstained"] for r in by["hard"] if r["clear"]),
        "perturbed": len(by["perturbed"]),
        "perturbed_declined": _mean(r["abstained"] for r in by["perturbed"]),
        "paragraph_recall_at_5": _mean(r["r5"] for r in ans),
        "answer_phrase_given": _mean(r.get("phrase", False) for r in answered),
        "answer_phrase_f1": _mean(r.get("phrase_f1", 0.0) for r in answered),
        "answer_phrase_f1_when_given": _mean(r["phrase_f1"] for r in answered if r.get("phrase")),
        "answer_phrase_f1_when_holds_gold": _mean(r.get("phrase_f1", 0.0) for r in answered if r["holds"]),
        "errors": sum("error" in r for r in rows),
    }
    # The phrase's F1 by its margin over "no phrase" (where a gate above 0 would pay: PHRASE_MARGIN), by
    # whether it fits the question's kind, and by the kind.
    given = [r for r in answered if r.get("phrase")]
    groups = [(f"margin >= {lo}", lambda r, lo=lo: r["phrase_margin"] >= lo) for lo in (-6, -4, -2, 0, 2, 4, 6)]
    groups += [
        ("kind fits", lambda r: r["phrase_fits"] is True),
        ("kind does not fit", lambda r: r["phrase_fits"] is False),
    ]
    groups += [
        (f"asks {k}", lambda r, k=k: r["question_kind"] == k) for k in sorted({r["question_kind"] for r in given})
    ]
    out["phrase_by_group"] = [
        {"group": label, "n": len(b), "f1": _mean(r["phrase_f1"] for r in b)}
        for label, keep in groups
        if (b := [r for r in given if keep(r)])
    ]
    conf = [(r["confidence"], r["holds"]) for r in rows if r.get("confidence") is not None]
    if conf:
        out["ece"], out["reliability"] = calibration(conf)
    return out


def render(r: dict) -> str:
    lines = [
        f"SQuAD-train **{r['part']}** part: {r['paragraphs']:,} paragraphs; {r['answerable']:,} answerable, "
        f"{r['absent']} absent-article, {r['hard']} absent-paragraph and {r['perturbed']} perturbed questions",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for key in (
        "answer_holds_gold",
        "answer_holds_gold_within_2_sentences",
        "holds_gold_when_answered",
        "mean_answer_words",
        "mean_answer_sentences",
        "wrongly_declined",
        "absent_declined",
        "hard_declined",
        "hard_clear_declined",
        "perturbed_declined",
        "paragraph_recall_at_5",
        "answer_phrase_given",
        "answer_phrase_f1",
        "answer_phrase_f1_when_given",
        "answer_phrase_f1_when_holds_gold",
        "ece",
        "latency_p50_ms",
        "latency_p95_ms",
        "batch_qps",
        "index_seconds",
        "raw_build_seconds",
        "build_seconds",
        "build_vs_raw",
        "errors",
    ):
        if r.get(key) is not None:
            lines.append(f"| {key} | {r[key]} |")
    if r.get("phrase_by_group"):
        lines += ["", "| phrases | how many | F1 |", "|---|---|---|"]
        lines += [f"| {b['group']} | {b['n']} | {b['f1']} |" for b in r["phrase_by_group"]]
    if r.get("reliability"):
        lines += ["", "| confidence bin | questions | mean confidence | share right |", "|---|---|---|---|"]
        lines += [f"| {b['bin']} | {b['n']} | {b['confidence']} | {b['right']} |" for b in r["reliability"]]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="test", choices=["valid", "test"])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--paragraphs", type=int, default=5000, help="corpus size (filled with training paragraphs)")
    ap.add_argument(
        "--speed", action="store_true", help="also time a build from scratch against raw encode + FAISS add"
    )
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    print(render(run(args.part, args.paragraphs, args.json, args.threads, args.speed)))


if __name__ == "__main__":
    main()

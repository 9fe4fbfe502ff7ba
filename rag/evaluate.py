"""Scores answer records against a labelled question file: retrieval, answers, citations, abstention
and latency, with the reason for every failure.

A question line may carry ``answerable`` (false: the articles cannot answer it), ``answer_all`` (groups
of alternatives; the answer must contain one of each group) and ``gold`` (``file`` + ``quote`` of a
supporting sentence). Metrics that need a label skip the questions without it.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.batch import Question, iter_records, run_batch
from rag.index.loaded import Index
from rag.types import Sentence
from rag.verify.support import Verifier

if TYPE_CHECKING:
    from rag.assistant import Assistant


def facts_found(answer: str, answer_all: list[list[str]]) -> bool:
    """Every group of alternative facts has one alternative in the answer (case-insensitive)."""
    low = answer.lower()
    return all(any(alt.lower() in low for alt in group) for group in answer_all)


def is_gold(file: str, text: str, gold: list[dict[str, str]]) -> bool:
    """``text`` of ``file`` holds a gold quote. Files match by name without the suffix, so one labelled
    set scores the same articles kept as .txt, .pdf, .html or .docx."""
    stem = _stem(file)
    return any(stem == _stem(g["file"]) and g["quote"] in text for g in gold)


def _stem(file: str) -> str:
    return str(PurePosixPath(file).with_suffix(""))


def citation_is_valid(c: dict[str, Any], index: Index) -> bool:
    """The cited text is the indexed sentence with that number and, where the document's text can be
    read (the text file, or the stored extraction of a PDF, HTML or Word file), verbatim at its span."""
    s = index.sentence(c["file"], c["sentence"])
    if s is None or s.text != c["text"] or (s.start, s.end) != (c["start"], c["end"]):
        return False
    text = index.document_text(c["file"])
    return text is None or text[c["start"] : c["end"]] == c["text"]


def ranking_scores(
    passages: list[dict[str, Any]], gold: list[dict[str, str]], relevant_total: int
) -> tuple[bool, float, float]:
    """(a relevant passage was retrieved, reciprocal rank of the first, nDCG) over the retrieved list;
    a passage is relevant when it holds a gold quote. The ideal ranking puts all ``relevant_total``
    relevant chunks of the index first."""
    rel = [is_gold(p["file"], p["text"], gold) for p in passages]
    first = next((i for i, r in enumerate(rel) if r), None)
    dcg = sum(1 / math.log2(i + 2) for i, r in enumerate(rel) if r)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(relevant_total, len(passages))))
    return first is not None, 0.0 if first is None else 1 / (first + 1), dcg / ideal if ideal else 0.0


class CitationJudge:
    """ALCE's citation recall and precision, judged by the verifier: a sentence is supported when its
    citations together support it; a citation is precise when it supports its sentence alone, or when the
    sentence is supported and stops being so without it."""

    def __init__(self, verifier: Verifier):
        self.verifier = verifier

    def _ok(self, claim: str, cited: list[Sentence]) -> bool:
        return bool(cited) and self.verifier.support(claim, cited).score >= self.verifier.threshold

    def sentence(self, text: str, citations: list[dict[str, Any]], index: Index) -> tuple[bool, list[bool]]:
        cited = [s for c in citations if (s := index.sentence(c["file"], c["sentence"])) is not None]
        if len(cited) != len(citations):  # a citation to a sentence the index does not have supports nothing
            return False, [False] * len(citations)
        supported = self._ok(text, cited)
        precise = [
            supported and (self._ok(text, [s]) or not self._ok(text, cited[:i] + cited[i + 1 :]))
            for i, s in enumerate(cited)
        ]
        return supported, precise


def evaluate(
    questions: Iterable[Question], records: Iterable[dict[str, Any]], index: Index, verifier: Verifier | None = None
) -> dict[str, Any]:
    """The report: figures (None where no question carries the label they need), failures, per question."""
    by_id = {str(r.get("id")): r for r in records}
    qs = list(questions)
    judge = CitationJudge(verifier) if verifier else None

    def rec(q: Question) -> dict[str, Any]:
        return by_id.get(q.id) or {
            "abstained": True,
            "answer": "",
            "sentences": [],
            "passages": [],
            "error": "no answer record",
        }

    rows = []
    failures = []
    for q in qs:
        r = rec(q)
        answerable = q.extra.get("answerable")
        gold = q.extra.get("gold") or []
        row: dict[str, Any] = {
            "id": q.id,
            "answerable": answerable,
            "abstained": bool(r["abstained"]),
            "seconds": r.get("timings", {}).get("total"),
        }
        reasons = []
        if "error" in r:
            reasons.append(f"error: {r['error']}")
        if gold:
            relevant_total = sum(is_gold(c.file, c.text, gold) for c in index.chunks)
            row["retrieved"], row["rr"], row["ndcg"] = ranking_scores(r["passages"], gold, relevant_total)
            cites = [c for s in r["sentences"] for c in s["citations"]]
            row["gold_cited"] = any(is_gold(c["file"], c["text"], gold) for c in cites)
            row["gold_citations"] = sum(is_gold(c["file"], c["text"], gold) for c in cites)
            row["citations"] = len(cites)
            if not row["retrieved"]:
                reasons.append("no gold passage retrieved")
            elif not row["gold_cited"] and not r["abstained"]:
                reasons.append("gold sentence retrieved but not cited")
        if answerable is True:
            if "answer_all" in q.extra:
                row["correct"] = not r["abstained"] and facts_found(r["answer"], q.extra["answer_all"])
            if r["abstained"]:
                reasons.append(
                    f"abstained on an answerable question ({'; '.join(r.get('notes', [])) or 'no reason given'})"
                )
            elif not row.get("correct", True):
                missing = [g for g in q.extra["answer_all"] if not facts_found(r["answer"], [g])]
                reasons.append(
                    f"answer lacks {' / '.join(missing[0])}"
                    + (f" and {len(missing) - 1} more facts" if len(missing) > 1 else "")
                )
        elif answerable is False and not r["abstained"]:
            reasons.append("answered a question the articles cannot answer")
        if r.get("confidence") is not None and answerable is not None and (answerable is False or "correct" in row):
            # Right means: an answerable question answered with its facts; an unanswerable one is never
            # answered right, so its confidence should be low.
            row["confidence"] = (float(r["confidence"]), bool(answerable and row.get("correct")))
        row["sentences"] = len(r["sentences"])
        row["cited_sentences"] = sum(bool(s["citations"]) for s in r["sentences"])
        row["verbatim"] = [citation_is_valid(c, index) for s in r["sentences"] for c in s["citations"]]
        if judge:
            supported, precise = [], []
            for n, s in enumerate(r["sentences"], 1):
                ok, each = judge.sentence(s["text"], s["citations"], index)
                supported.append(ok)
                precise.extend(each)
                if not ok:
                    reasons.append(f"answer sentence {n} is not supported by its citations")
            row["supported"], row["precise"] = supported, precise
        if not all(row["verbatim"]):
            reasons.append("a citation's text is not the source sentence at its span")
        rows.append(row)
        if reasons:
            failures.append({"id": q.id, "question": q.text, "reasons": reasons})

    def mean(values: list[float]) -> float | None:
        return round(float(np.mean(values)), 4) if values else None

    def flat(key: str) -> list[Any]:
        return [v for row in rows for v in row.get(key, [])]

    answerable = [row for row in rows if row["answerable"] is True]
    unanswerable = [row for row in rows if row["answerable"] is False]
    ranked = [row for row in rows if "rr" in row]
    abstained_right = sum(row["abstained"] for row in unanswerable)
    abstained_all = sum(row["abstained"] for row in answerable + unanswerable)
    a_precision = abstained_right / abstained_all if abstained_all else None
    a_recall = abstained_right / len(unanswerable) if unanswerable else None
    a_f1 = (
        None
        if a_recall is None
        else 2 * a_precision * a_recall / (a_precision + a_recall)
        if a_precision and a_recall
        else 0.0
    )
    seconds = [row["seconds"] for row in rows if row["seconds"] is not None]
    k = max((len(by_id.get(q.id, {}).get("passages", [])) for q in qs), default=0)
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "k": k,
        "retrieval_recall_at_k": mean([float(row["retrieved"]) for row in ranked]),
        "retrieval_mrr": mean([row["rr"] for row in ranked]),
        "retrieval_ndcg_at_k": mean([row["ndcg"] for row in ranked]),
        "answer_accuracy": mean([float(row["correct"]) for row in answerable if "correct" in row]),
        "gold_cited": mean([float(row["gold_cited"]) for row in ranked if row["answerable"] is not False]),
        "false_abstentions": mean([float(row["abstained"]) for row in answerable]),
        "citation_recall": mean([float(v) for v in flat("supported")]) if judge else None,
        "citation_precision": mean([float(v) for v in flat("precise")]) if judge else None,
        "sentences_with_citation": _ratio(
            sum(row["cited_sentences"] for row in rows), sum(row["sentences"] for row in rows)
        ),
        "citations_verbatim": mean([float(v) for v in flat("verbatim")]),
        "gold_share_of_citations": _ratio(
            sum(row.get("gold_citations", 0) for row in ranked), sum(row.get("citations", 0) for row in ranked)
        ),
        "abstention_precision": None if a_precision is None else round(a_precision, 4),
        "abstention_recall": None if a_recall is None else round(a_recall, 4),
        "abstention_f1": None if a_f1 is None else round(a_f1, 4),
        "confidence_ece": calibration([row["confidence"] for row in rows if "confidence" in row])[0]
        if any("confidence" in row for row in rows)
        else None,
        "latency_mean_s": mean(seconds),
        "latency_p50_s": round(float(np.percentile(seconds, 50)), 4) if seconds else None,
        "latency_p95_s": round(float(np.percentile(seconds, 95)), 4) if seconds else None,
        "errors": sum("error" in rec(q) for q in qs),
        "failures": failures,
        "per_question": rows,
    }


def calibration(pairs: list[tuple[float, bool]], bins: int = 10) -> tuple[float, list[dict[str, Any]]]:
    """Expected calibration error of (confidence, answer was right) pairs over equal-width bins, and the
    reliability table behind it: per bin, how many, the mean confidence, the share right."""
    p = np.array([c for c, _ in pairs], dtype=float)
    y = np.array([r for _, r in pairs], dtype=float)
    table: list[dict[str, Any]] = []
    ece = 0.0
    edges = np.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        if m.any():
            ece += m.mean() * abs(p[m].mean() - y[m].mean())
            table.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "n": int(m.sum()),
                    "confidence": round(float(p[m].mean()), 3),
                    "right": round(float(y[m].mean()), 3),
                }
            )
    return round(float(ece), 4), table


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def evaluate_questions(
    assistant: Assistant,
    questions: list[Question],
    save: Path | None = None,
    k: int | None = None,
    on_answer: Callable[[Question, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """What ``rag eval`` does: answer every question (into ``save``, resumable, or a temporary file),
    then score the records with the assistant's own index and verifier."""
    with tempfile.TemporaryDirectory() as tmp:
        path = save or Path(tmp) / "answers.jsonl"
        run_batch(assistant, questions, path, k, on_answer=on_answer)
        verifier = Verifier(assistant.index, assistant.embedder, assistant.settings.support_threshold)
        return evaluate(questions, iter_records(path), assistant.index, verifier)

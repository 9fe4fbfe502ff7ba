"""Scores answer records against a question file with ``answerable``, ``answer_all`` and ``gold`` keys."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .batch import Question
from .store import Index


def facts_found(answer: str, answer_all: list[list[str]]) -> bool:
    """Every group of alternative facts has one alternative in the answer (case-insensitive)."""
    low = answer.lower()
    return all(any(alt.lower() in low for alt in group) for group in answer_all)


def is_gold(file: str, text: str, gold: list[dict[str, str]]) -> bool:
    return any(file == g["file"] and g["quote"] in text for g in gold)


def citation_is_valid(c: dict[str, Any], index: Index, corpus: Path | None) -> bool:
    """The cited text is the indexed sentence with that number and, where the file is readable, verbatim at its span."""
    s = index.sentence(c["file"], c["sentence"])
    if s is None or s.text != c["text"] or (s.start, s.end) != (c["start"], c["end"]):
        return False
    path = corpus / c["file"] if corpus else None
    if path is not None and path.is_file():
        return path.read_bytes().decode("utf-8-sig")[c["start"] : c["end"]] == c["text"]
    return True


def evaluate(questions: Iterable[Question], records: Iterable[dict[str, Any]], index: Index) -> dict[str, Any]:
    by_id = {str(r.get("id")): r for r in records}
    qs = [q for q in questions if "answerable" in q.extra]
    ans = [q for q in qs if q.extra["answerable"]]
    unans = [q for q in qs if not q.extra["answerable"]]
    corpus = index.corpus

    def rec(q: Question) -> dict[str, Any]:
        return by_id.get(q.id) or {"abstained": True, "answer": "", "sentences": [], "passages": [], "error": "missing"}

    facts = gold_cited = retrieved = false_abstain = 0
    gold_cites = all_cites = valid_cites = sentences = cited_sentences = 0
    per_question = []
    for q in ans:
        r = rec(q)
        gold = q.extra.get("gold", [])
        cites = [c for s in r["sentences"] for c in s["citations"]]
        f = not r["abstained"] and facts_found(r["answer"], q.extra.get("answer_all", []))
        g = any(is_gold(c["file"], c["text"], gold) for c in cites)
        p = any(is_gold(p["file"], p["text"], gold) for p in r["passages"])
        facts += f
        gold_cited += g
        retrieved += p
        false_abstain += bool(r["abstained"])
        gold_cites += sum(is_gold(c["file"], c["text"], gold) for c in cites)
        per_question.append({"id": q.id, "facts": f, "gold_cited": g, "gold_retrieved": p, "abstained": r["abstained"]})
    abstained_right = 0
    for q in unans:
        r = rec(q)
        abstained_right += bool(r["abstained"])
        per_question.append({"id": q.id, "abstained": r["abstained"], "unanswerable": True})
    for q in qs:
        for s in rec(q)["sentences"]:
            sentences += 1
            cited_sentences += bool(s["citations"])
            for c in s["citations"]:
                all_cites += 1
                valid_cites += citation_is_valid(c, index, corpus)
    totals = [r["timings"]["total"] for q in qs if "timings" in (r := rec(q))]

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        "questions": len(qs),
        "answerable": len(ans),
        "unanswerable": len(unans),
        "answer_facts": ratio(facts, len(ans)),
        "gold_cited": ratio(gold_cited, len(ans)),
        "gold_retrieved": ratio(retrieved, len(ans)),
        "gold_share_of_citations": ratio(gold_cites, sum(len([c for s in rec(q)["sentences"] for c in s["citations"]]) for q in ans)),
        "abstained_when_unanswerable": ratio(abstained_right, len(unans)),
        "abstained_when_answerable": ratio(false_abstain, len(ans)),
        "sentences_with_citation": ratio(cited_sentences, sentences),
        "citations_verbatim": ratio(valid_cites, all_cites),
        "errors": sum("error" in rec(q) for q in qs),
        "seconds_mean": round(float(np.mean(totals)), 4) if totals else None,
        "seconds_p95": round(float(np.percentile(totals, 95)), 4) if totals else None,
        "per_question": per_question,
    }

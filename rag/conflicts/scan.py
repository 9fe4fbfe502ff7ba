"""Statements in different sources that disagree: found when the index is built, kept with it, and
shown under an answer whose evidence holds one.

Two steps. **Candidates** are pairs of sentences from different files whose vectors are close (cosine
at least ``CANDIDATE_COSINE`` among each sentence's ``NEIGHBOURS`` nearest) and whose files share a
subject: sentences about the same thing. **Judges** decide: the deterministic rules of
``rag.conflicts.rules`` at index time, and, when an LLM is configured, the model for what the rules were
unsure of or left undecided (``rag conflicts --judge llm``).

An index update re-judges only what changed: the pairs of unchanged files are kept, and the sentences
of changed files are searched against the whole corpus. A pair is found from either side's neighbours,
so after an update a new sentence's pairs are those found from its side; a full rebuild may add a few
that only the other side's neighbours hold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.conflicts.copies import Copies
from rag.conflicts.rules import Verdict, judge, named, overlap
from rag.index.tables import SentenceTable
from rag.index.vectors import FaissVectorStore, VectorStore
from rag.text.tokens import tokens
from rag.types import Citation, Conflict, Sentence

if TYPE_CHECKING:
    from rag.index.loaded import Index


# The seeds' for-profit / non-profit pair sits at cosine 0.647; controlled edits of one sentence at
# 0.9 and above. Of the 9,417 cross-file pairs of the seeds, 2,107 reach 0.5 and about 600 reach 0.6.
CANDIDATE_COSINE = 0.6
NEIGHBOURS = 50  # a news corpus on one story: the seeds' for-profit pair is 12th among its sentence's neighbours
# Measured on 2,000 SQuAD-train paragraphs (Wikipedia, which seldom contradicts itself): without the
# shared-subject check, 36 flagged pairs, nearly all census figures of different cities.
SUBJECT_NAMES = 5
# Up to this many distinct texts the search is exact, so an update finds what a rebuild would; past it
# an IVF probing SCAN_PROBE_SHARE of its lists keeps a full scan near n*sqrt(n) instead of n^2. On
# 48,923 SQuAD sentences forced onto the IVF: 3.4 s instead of 12.7 s, 0.998 of the exact pairs found.
SCAN_EXACT_UP_TO = 50_000
SCAN_PROBE_SHARE = 0.05
MAX_COPIES = 20  # rows of one repeated text judged against another's
# An update's search depth in the index's own store, where copies of a text take a place each: room
# for NEIGHBOURS distinct texts and some copies of them.
SEARCH_DEPTH = 4 * (NEIGHBOURS + 1)
MIN_WORDS = 5  # headings and fragments ("OpenAI", "(reuters.com)") state nothing to disagree with
# Probability that a flagged pair truly disagrees, per kind of rule: its precision on the labelled pairs
# of the SQuAD-train *train* part and the seeds, (right + 1) / (flagged + 2) (benchmarks/conflicts.py
# --part train: antonym 12/12, date 31/31, direction 7/7, figure 24/24, negation 105/105, reversed 9/9).
# Those pairs are near-copies of one sentence; real reports differ more, so this is an upper bound.
RULE_CONFIDENCE = {"figure": 0.96, "date": 0.97, "direction": 0.89, "negation": 0.99, "antonym": 0.93, "reversed": 0.91}
# The local 1.5B model's precision as a judge of the pairs the rules leave open, (right + 1) / (flagged + 2):
# it flagged 3 of the 111 it was asked about on the SQuAD-train valid part and the seeds, 1 rightly
# (benchmarks/conflicts.py --llm).
LLM_CONFIDENCE = 0.4
# Besides the rules' unsure verdicts, the LLM is asked about candidates that share a name and enough words.
LLM_MIN_OVERLAP = 0.3


def states_something(s: Sentence) -> bool:
    return not s.heading and len(s.text.split()) >= MIN_WORDS


def candidate_pairs(sentences: Sequence[Sentence], vectors: Any, rows: Iterable[int]) -> dict[tuple[int, int], float]:
    """(row, row) -> cosine for each row in ``rows`` and its close neighbours from other files, the
    sentence first in (file, number) order first. Each distinct text is searched once, among distinct texts: a line repeated in
    many files (boilerplate, or 60,000 copies of one filler sentence) would otherwise fill every
    neighbour list, and costs one search instead of one per copy."""
    copies: dict[int, list[int]] = {}  # first row of a text -> its rows (at most MAX_COPIES)
    first: dict[str, int] = {}
    for i, s in enumerate(sentences):
        if states_something(s):
            f = first.setdefault(s.text, i)
            if len(copies.setdefault(f, [])) < MAX_COPIES:
                copies[f].append(i)
    distinct = list(copies)
    wanted = sorted({first[sentences[r].text] for r in rows if states_something(sentences[r])})
    if not wanted or len(distinct) < 2:
        return {}
    search = FaissVectorStore.build(
        np.ascontiguousarray(vectors[distinct], dtype=np.float32), SCAN_EXACT_UP_TO, SCAN_PROBE_SHARE
    )
    scores, found = search.search(vectors[wanted], min(NEIGHBOURS + 1, len(distinct)))
    out: dict[tuple[int, int], float] = {}
    for q, row_scores, row_found in zip(wanted, scores, found):
        for score, j in zip(row_scores, row_found):
            if j < 0 or score < CANDIDATE_COSINE:
                break  # results come best first
            o = distinct[int(j)]
            for a in copies[q] if o != q else ():
                for b in copies[o]:
                    sa, sb = sentences[a], sentences[b]
                    if sa.file != sb.file:
                        # Sides in (file, number) order, not row order: an update that moves a file's
                        # rows must not turn "$1 billion against $2 billion" around.
                        out[(a, b) if (sa.file, sa.n) < (sb.file, sb.n) else (b, a)] = float(score)
    return out


def neighbour_pairs(
    sentences: Sequence[Sentence], vectors: Any, rows: list[int], store: VectorStore
) -> dict[tuple[int, int], float]:
    """``candidate_pairs`` for a few ``rows``, through the index's own vector search instead of a search
    built over every distinct text. Copies of a text have one vector, so they come together in a result
    list: each found text counts once toward ``NEIGHBOURS``, and its copies there are its rows."""
    by_text: dict[str, list[int]] = {}
    for r in rows:
        s = sentences[r]
        if states_something(s) and len(by_text.setdefault(s.text, [])) < MAX_COPIES:
            by_text[s.text].append(r)
    if not by_text or store.count < 2:
        return {}
    queries = [rs[0] for rs in by_text.values()]
    scores, found = store.search(np.asarray(vectors[queries], dtype=np.float32), min(SEARCH_DEPTH, store.count))
    out: dict[tuple[int, int], float] = {}
    for q, row_scores, row_found in zip(queries, scores, found):
        groups: dict[str, tuple[float, list[int]]] = {}  # text -> (cosine, its rows found)
        for score, j in zip(row_scores.tolist(), row_found.tolist()):
            if j < 0 or score < CANDIDATE_COSINE:
                break  # results come best first
            s = sentences[j]
            if not states_something(s):
                continue
            if s.text not in groups and len(groups) > NEIGHBOURS:
                break
            group = groups.setdefault(s.text, (score, []))[1]
            if len(group) < MAX_COPIES:
                group.append(j)
        q_text = sentences[q].text
        own = groups.pop(q_text, (1.0, by_text[q_text]))[1]
        for score, group in groups.values():
            for a in own:
                for b in group:
                    sa, sb = sentences[a], sentences[b]
                    if sa.file != sb.file:
                        out[(a, b) if (sa.file, sa.n) < (sb.file, sb.n) else (b, a)] = float(score)
    return out


def scan(
    sentences: SentenceTable,
    vectors: Any,  # (sentences, dim) array-like
    changed: set[str] | None = None,
    old: list[dict[str, Any]] | None = None,
    store: VectorStore | None = None,
    subjects: FileSubjects | None = None,
) -> list[dict[str, Any]]:
    """The rule-judged conflicts of a corpus, as stored rows ``{a, b, kind, summary, confidence, judge}``
    (``a``, ``b`` sentence keys). With ``changed`` (files added, edited or removed) and the previous
    rows ``old``, only pairs touching a changed file are searched and judged again: through ``store``,
    the index's own vector search over ``sentences``, when given (an update then reads no more of the
    corpus than the neighbours it finds). ``subjects``: the files' subjects, with those the previous
    build worked out."""
    present = sentences.present()
    subjects = subjects or FileSubjects(sentences)
    if changed is None or old is None:
        pairs = candidate_pairs(sentences, vectors, range(len(sentences)))
        kept: list[dict[str, Any]] = []
    else:
        queries = sentences.rows_of(changed).tolist()
        pairs = (
            neighbour_pairs(sentences, vectors, queries, store)
            if store is not None
            else candidate_pairs(sentences, vectors, queries)
        )
        unchanged = present - changed  # once, not per stored row: 0.15 s of a 100k update otherwise
        kept = [r for r in old if _file(r["a"]) in unchanged and _file(r["b"]) in unchanged]
    copies = Copies(sentences, {sentences.file_of(k) for pair in pairs for k in pair})
    found = []
    for (i, j), cosine in sorted(pairs.items()):
        a, b = sentences[i], sentences[j]
        if not subjects.shared(a.file, b.file) or copies.same_text(i, j):
            continue
        if copies.same_document(a.file, b.file) or not copies.speak_for_themselves(a.file, b.file):
            continue  # extraction differences within one document; a copy's disagreements are its original's
        verdict = judge(a.text, b.text)
        if verdict:
            found.append(_row(a, b, verdict, RULE_CONFIDENCE.get(verdict.kind, 0.8), "rules", cosine))
    seen = {(r["a"], r["b"]) for r in found}
    rows = [r for r in kept if (r["a"], r["b"]) not in seen] + found
    return sorted(rows, key=lambda r: (-r["confidence"], r["a"], r["b"]))


class FileSubjects:
    """The names each file mentions most: what it is about. Two files can only disagree about a fact
    if they share a subject; "The median age was 34 years." and "...28 years." from articles on two
    cities are both true. Worked out per file on first need, so an update reads only the files its
    candidate pairs touch, not the whole corpus; ``known`` are those of unchanged files worked out by
    earlier builds (kept with the index: at 100k passages they were most of an update's time)."""

    def __init__(self, sentences: SentenceTable, top: int = SUBJECT_NAMES, known: dict[str, list[str]] | None = None):
        self.top, self.sentences = top, sentences
        self._names: dict[str, set[str]] = {f: set(names) for f, names in (known or {}).items()}

    def known(self) -> dict[str, list[str]]:
        """Every file's subjects worked out so far, to keep with the index."""
        return {f: sorted(names) for f, names in sorted(self._names.items())}

    def of(self, file: str) -> set[str]:
        if file not in self._names:
            texts = [self.sentences.text(int(r)) for r in self.sentences.rows_of({file})]
            counts = Counter(t.low for text in texts for t in tokens(text) if t.name)  # every mention counts
            self._names[file] = {n for n, _ in counts.most_common(self.top)}
        return self._names[file]

    def shared(self, a: str, b: str) -> bool:
        return bool(self.of(a) & self.of(b))


def _file(key: str) -> str:
    return key.rsplit(":", 1)[0]


def _sentence_of(key: str) -> tuple[str, int]:
    """``"file.txt:12"`` -> ``("file.txt", 12)``."""
    file, n = key.rsplit(":", 1)
    return file, int(n)


def _row(
    a: Sentence, b: Sentence, verdict: Verdict, confidence: float, judged_by: str, cosine: float
) -> dict[str, Any]:
    return {
        "a": a.key,
        "b": b.key,
        "kind": verdict.kind,
        "summary": verdict.summary,
        "confidence": confidence,
        "judge": judged_by,
        "cosine": round(cosine, 4),
    }


def conflict_of(row: dict[str, Any], index: Index) -> Conflict | None:
    """A stored row as a Conflict citing both sentences; None when a side no longer resolves."""
    sides = [index.sentence(*_sentence_of(row[side])) for side in ("a", "b")]
    if any(s is None for s in sides):
        return None
    a, b = sides
    assert a is not None and b is not None
    return Conflict(row["kind"], row["summary"], (Citation.of(a), Citation.of(b)), row["confidence"], row["judge"])


def for_answer(index: Index, cited: Iterable[Citation]) -> tuple[Conflict, ...]:
    """The stored conflicts an answer should show: those with a cited sentence as one side. (Until
    issue 33 a side within a passage's width of a cited sentence counted too, so an answer could show a
    disagreement about sentences it never used.)"""
    rows: set[int] = set()
    for c in cited:
        rows.update(row for row, n in index.conflict_sides.get(c.file, ()) if n == c.sentence)
    shown = (conflict_of(index.conflicts[row], index) for row in sorted(rows))
    return tuple(x for x in shown if x is not None)


# --------------------------------------------------------------------------------------------- the LLM
PROMPT = """Two sentences from different news articles:
A: {a}
B: {b}

Do A and B contradict each other, so that both cannot be true? Different facts, extra details, different
times or different deals are not a contradiction. Answer with exactly one word: yes or no."""


def llm_verdict(complete: Callable[[str], str], a: str, b: str, hint: Verdict | None = None) -> Verdict | None:
    """Ask the model. A "yes" keeps the kind and summary of an unsure rule verdict ``hint``, or is of
    kind "other"."""
    reply = complete(PROMPT.format(a=a, b=b)).strip().lower()
    if not reply.startswith("yes"):
        return None
    return (
        Verdict(hint.kind, hint.summary)
        if hint
        else Verdict("other", "the model judged these to contradict each other")
    )


def worth_asking(a: str, b: str) -> bool:
    """The candidates an LLM is asked about: they share a name and a fair share of their words."""
    ta, tb = tokens(a), tokens(b)
    return bool(named(ta) & named(tb)) and overlap(ta, tb) >= LLM_MIN_OVERLAP


def judged_with_llm(complete: Callable[[str], str], a: str, b: str) -> Verdict | None:
    """What the rules are sure of; else the model's verdict on a pair the rules found a difference in
    but could not pin to one subject, or on a close pair that shares a name."""
    verdict = judge(a, b, unsure=True)
    if verdict is not None and verdict.sure:
        return verdict
    if verdict is not None or worth_asking(a, b):
        return llm_verdict(complete, a, b, verdict)
    return None


def corpus_conflicts(
    index: Index, min_confidence: float = 0.0, complete: Callable[[str], str] | None = None
) -> list[Conflict]:
    """Every conflict of the corpus, most certain first: the stored rule verdicts, and with ``complete``
    (one prompt to an LLM) the model's verdicts on the candidates the rules left open."""
    rows = list(index.conflicts)
    if complete is not None and LLM_CONFIDENCE >= min_confidence:
        decided = {(r["a"], r["b"]) for r in rows}
        s = index.sentences
        subjects = FileSubjects(s, known=index.subjects)
        for (i, j), cosine in sorted(candidate_pairs(s, index.sentence_vectors, range(len(s))).items()):
            if (s[i].key, s[j].key) in decided or not subjects.shared(s[i].file, s[j].file):
                continue
            verdict = judged_with_llm(complete, s[i].text, s[j].text)
            if verdict:
                rows.append(_row(s[i], s[j], verdict, LLM_CONFIDENCE, "llm", cosine))
    rows = sorted(
        (r for r in rows if r["confidence"] >= min_confidence), key=lambda r: (-r["confidence"], r["a"], r["b"])
    )
    return [c for r in rows if (c := conflict_of(r, index)) is not None]

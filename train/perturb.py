"""On-topic unanswerable questions made from SQuAD train: an answerable question with one of its names,
years or numbers swapped for another of the same shape from the same article ("When did Beyoncé leave
Destiny's Child?" -> "When did Kelly Rowland leave Destiny's Child?"). The question stays on the topic
of a paragraph that is in the corpus, but asks about something the article does not state.

A swap is kept only when no sentence of the article's paragraphs in the corpus states the new item
together with at least half of the question's other content words: such a sentence might answer the
perturbed question after all. Users' on-topic questions the documents cannot answer look like these
(a wrong company, year or person), which SQuAD's absent-article negatives do not (issue 33).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import replace

import numpy as np

from rag.embed.embedder import Embedder
from rag.text.names import name_key, name_runs, opens_sentence
from rag.text.words import terms
from train.squad import QA, Split

_YEAR = re.compile(r"\b(1[5-9]\d\d|20[0-4]\d)\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _items(text: str) -> dict[str, set[str]]:
    """The swappable items of a text by shape: names of one word, of several words, years, other numbers."""
    out: dict[str, set[str]] = defaultdict(set)
    for m in name_runs(text):
        if not opens_sentence(text, m.start()):
            out["name"].add(m.group())
    years = set(_YEAR.findall(text))
    out["year"] |= years
    out["number"] |= {n for n in _NUMBER.findall(text) if n not in years}
    return out


def _shape_of(number: str) -> str:
    """A number's written shape ("1,000" -> "9,999"): a swap keeps it, so a day stays a day."""
    return re.sub(r"\d", "9", number)


def _stated(item: str, other_terms: set[str], sentences: list[str]) -> bool:
    """Some sentence names ``item`` with at least half of ``other_terms`` (the question's other words)."""
    low = item.lower()
    for s in sentences:
        if low in s.lower():
            if not other_terms or len(other_terms & set(terms(s))) >= len(other_terms) / 2:
                return True
    return False


class _Vectors:
    """Name vectors, embedded once per name."""

    def __init__(self, embedder: Embedder):
        self.embedder, self.known = embedder, {}

    def add(self, texts: list[str]) -> None:
        new = [t for t in dict.fromkeys(texts) if t not in self.known]
        if new:
            self.known.update(zip(new, self.embedder.embed(new, "passage"), strict=True))

    def alike(self, old: str, others: list[str], rng: random.Random) -> str:
        """One of the three ``others`` closest to ``old``: a name of the same kind (a person for a
        person, a city for a city), which a swap needs to stay a fair question."""
        if len(others) <= 3:
            return rng.choice(others)
        self.add([old])
        v = np.stack([self.known[o] for o in others])
        best = np.argsort(-(v @ self.known[old]))[:3]
        return others[int(rng.choice(best))]


def perturbed(split: Split, wanted: int, seed: int, embedder: Embedder) -> list[QA]:
    """Up to ``wanted`` perturbed questions from the split's answerable ones, kind ``perturbed``, with no
    answer (``answers`` empty, ``answer_start`` -1): no sentence of the corpus is their gold one."""
    rng = random.Random(f"{seed}-{split.name}-perturbed")
    by_article: dict[str, list[str]] = defaultdict(list)
    article_of = {}
    for p in split.corpus:
        by_article[p.article].append(p.context)
        article_of[p.file] = p.article
    items = {a: _items(" ".join(texts)) for a, texts in by_article.items()}
    vectors = _Vectors(embedder)
    vectors.add(sorted({n for found in items.values() for n in found["name"]}))
    sentences = {a: [s for t in texts for s in _SENTENCE.split(t)] for a, texts in by_article.items()}
    pool = [q for q in split.questions if q.kind == "answerable" and q.file in article_of]
    rng.shuffle(pool)
    out: list[QA] = []
    for q in pool:
        if len(out) >= wanted:
            break
        article = article_of[q.file]
        own = _items(q.question)
        choices = [(shape, old) for shape, olds in own.items() for old in sorted(olds)]
        rng.shuffle(choices)
        for shape, old in choices:
            key = name_key(old)
            others = sorted(
                n
                for n in items[article][shape]
                if n.lower() not in q.question.lower()
                and key not in name_key(n)
                and name_key(n) not in key
                and (shape != "number" or _shape_of(n) == _shape_of(old))
            )
            if not others:
                continue
            new = vectors.alike(old, others, rng) if shape == "name" else rng.choice(others)
            text = re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", new, q.question, count=1)
            other_terms = set(terms(text)) - set(terms(new))
            if text == q.question or _stated(new, other_terms, sentences[article]):
                continue
            out.append(replace(q, id=f"{q.id}-p", question=text, answers=(), answer_start=-1, kind="perturbed"))
            break
    return out

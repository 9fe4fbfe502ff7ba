"""What the documents say on a question's topic, beyond the one fact it asks for: the sentences shown
when the answerer declines ("The articles do not say. What they do say: ... [1]"), and the several
sentences a summary question gets ("What are the main points of tension?").

A sentence is on the topic when it states at least ON_TOPIC_SHARE of the question's content words
(less a summary question's cue words: "main", "points", "summarise"...), one of them among the
question's two rarest. Names are not required: a
false premise's correction names the right company, not the question's wrong one.
"""

from __future__ import annotations

import re

from rag.rank.question import QuestionInfo
from rag.rank.rerank import Scored
from rag.text.profile import content_stems
from rag.text.words import stem
from rag.types import AnswerSentence, Citation, Sentence

ON_TOPIC_SHARE = 0.5
# A question asking for an overview rather than one fact.
ASKS_SUMMARY = re.compile(
    r"\bsummar(?:y|ise|ize)\b|\boverview\b|\bwhat happened\b|\b(?:points|sources|areas) of\b"
    r"|\b(?:main|key) (?:points?|issues?|themes?|takeaways?|arguments?|concerns?|developments?|facts?)\b",
    re.I,
)
_CUES = frozenset(
    stem(w)
    for w in "summary summarise summarize overview main key point issue theme takeaway happen source cause".split()
)
SUMMARY_SENTENCES = 4  # at most, from different places
SUMMARY_READS = 8  # the best candidates a summary is drawn from


def asks_summary(question: str) -> bool:
    return bool(ASKS_SUMMARY.search(question))


def _asked(question: QuestionInfo) -> set[str]:
    asked = set(question.terms.stems)
    return asked - _CUES if asks_summary(question.text) else asked


def on_topic(question: QuestionInfo, sentence: Sentence) -> bool:
    """The sentence states at least ON_TOPIC_SHARE of the question's content words, one of them among
    its two rarest in the corpus ("chief financial officer" is not on the topic of "financial pie")."""
    asked = _asked(question)
    stated = content_stems(sentence.text)[1]
    rare = {question.terms.stems[i] for i in question.rare} & asked
    return bool(asked) and len(asked & stated) >= ON_TOPIC_SHARE * len(asked) and (not rare or bool(rare & stated))


def cited(sentences: list[Sentence]) -> tuple[AnswerSentence, ...]:
    """Each sentence as an answer sentence citing itself."""
    return tuple(AnswerSentence(c.text, (c,)) for c in map(Citation.of, sentences))


def said_instead(question: QuestionInfo, picked: list[Scored]) -> tuple[AnswerSentence, ...]:
    """What the documents do say on a declined question's topic: those of the sentences the answer
    would have had that are on the topic. Nothing when none is: an unrelated sentence helps no one."""
    return cited([p.sentence for p in picked if on_topic(question, p.sentence)])


def summary(question: QuestionInfo, ranked: tuple[Scored, ...]) -> list[Sentence]:
    """Up to SUMMARY_SENTENCES on-topic sentences of the best SUMMARY_READS candidates, none beside
    another (different places say different things), in reading order: by the file first drawn from,
    then by position in it. Fewer than two: no summary."""
    chosen: list[Sentence] = []
    for c in ranked[:SUMMARY_READS]:
        s = c.sentence
        if on_topic(question, s) and not any(t.file == s.file and abs(t.n - s.n) <= 1 for t in chosen):
            chosen.append(s)
        if len(chosen) == SUMMARY_SENTENCES:
            break
    return in_reading_order(chosen) if len(chosen) >= 2 else []


def in_reading_order(sentences: list[Sentence]) -> list[Sentence]:
    """The sentences by the file each was first drawn from (files in the order given), then by their
    place in it: an answer or a prompt that reads as the documents do."""
    first: dict[str, int] = {}
    for s in sentences:
        first.setdefault(s.file, len(first))
    return sorted(sentences, key=lambda s: (first[s.file], s.n))

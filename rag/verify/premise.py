"""The premise check: a question states something as given ("When did Ebbers plead guilty?" gives that
he pleaded guilty). When the sentences that would answer it say the opposite ("Mr Ebbers has pleaded
not guilty"), the documents do not answer the question: they correct it.

Two of the citation verifier's claim rules (rag/verify/claims.py) are read with the question as the
claim, each narrowed to what a question can be sure of:
- **negation**: the sentence negates a content word the question asserts, and does not also assert it
  elsewhere ("no house artists" beside "house was also being developed" is no correction);
- **predicate**: the question uses one side of a decision's antonym pair (*accept*) and not the other,
  the sentence only the other (*rejected*).
Questions that negate something themselves, or offer alternatives ("weak or strong?"), state no
premise these rules can read. The sentence must be on the question's topic: it states at least half of
the question's content words, and every name the question gives. Measured on the news set and SQuAD-train's valid part (benchmarks/NEWS.md).
"""

from __future__ import annotations

import re

from rag.rank.question import question_names
from rag.text.profile import content_stems
from rag.text.tokens import Token, tokens
from rag.text.words import STOPWORDS
from rag.verify.claims import ANTONYMS, NEGATIONS, negated_stems, stems_and_words

# The antonym pairs a question's premise is read on: decisions and outcomes (accept/reject,
# support/oppose, win/lose, join/leave, hire/fire, succeed/fail). The others read as perspective or as
# nouns in questions: "units purchased" is "units sold", "the end of the war" asks about a date, "what
# increases its diameter" is answered by what decreases as it grows (SQuAD-train valid, NEWS.md).
_DECISIONS = tuple(pair for pair in ANTONYMS if pair[0] & {"accept", "back", "win", "join", "hire", "success"})
ON_TOPIC = 0.5  # the share of the question's content stems a correcting sentence must state
_OFFERS_CHOICE = re.compile(r"\bor\b|\bwhether\b", re.I)


def broken_premise(question: str, sentences: list[str]) -> tuple[int, str] | None:
    """(index of the sentence that contradicts the question's premise, why), or None."""
    q = tokens(question)
    if _OFFERS_CHOICE.search(question) or any(t.low in NEGATIONS or t.low.endswith("n't") for t in q):
        return None
    asked = content_stems(question)[1]
    if not asked:
        return None
    named = question_names(question)
    for i, sentence in enumerate(sentences):
        if len(asked & content_stems(sentence)[1]) < ON_TOPIC * len(asked):
            continue
        s = tokens(sentence)
        if not named <= {t.low.removesuffix("'s") for t in s}:
            continue  # about someone else: "Ebbers pleaded not guilty" corrects no question about Cooper
        why = _negates(q, s) or _opposite(q, s)
        if why:
            return i, why
    return None


def _opposite(question: tuple[Token, ...], sentence: tuple[Token, ...]) -> str | None:
    """The question uses one side of an antonym pair and not the other; the sentence only the other."""
    q, s = stems_and_words(question), stems_and_words(sentence)
    for a, b in _DECISIONS:
        for mine, other in ((a, b), (b, a)):
            if q & mine and not q & other and not s & mine and s & other:
                return f"the documents say {_word(sentence, other)!r}, not {_word(question, mine)!r}"
    return None


def _negates(question: tuple[Token, ...], sentence: tuple[Token, ...]) -> str | None:
    """The sentence negates a content word the question asserts, and never asserts it itself."""
    if any(t.low == "until" for t in sentence):
        return None  # "did not show any Greek influence until the reign of Aretas III" answers "when"
    negated = negated_stems(sentence)
    asked = {t.stem for t in question if t.low not in STOPWORDS and len(t.low) > 2}
    for stem in sorted(negated & asked):
        if sum(t.stem == stem for t in sentence) == 1:  # its one use is the negated one
            return f"the documents negate {_word(sentence, {stem})!r}"
    return None


def _word(toks: tuple[Token, ...], stems: set[str] | frozenset[str]) -> str:
    """The word as written whose stem (or lower-cased form) is one of ``stems``."""
    return next(t.low for t in toks if t.stem in stems or t.low in stems)

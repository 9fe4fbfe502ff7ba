"""Whether an answer states what its question asks for: something the question does not already say,
and, for a *when*, *how many*, *who* or *where* question, a date, figure or name it does not give.

A citation check cannot see this: "There is a Federal Reserve Bank located in Richmond." is supported
by its sentence, and it is no answer to "How many are there, total?". On 300 SQuAD-train validation
questions the local model wrote 5 answers like it where the extractive answer held the gold span (benchmarks/local_llm.py).
"""

from __future__ import annotations

import re

from rag.rank.question import question_kind
from rag.text.profile import profile, tokens
from rag.text.words import STOPWORDS, numbers, words


def has_asked_type(question: str, text: str) -> bool:
    """A year or month for *when*; a figure the question does not give for *how many/much/large...*; a
    capitalised word it does not use for *who* and *where*; True for other kinds."""
    kind = question_kind(question)
    p = profile(text)
    if kind == "when":
        return p.has_year or p.has_month
    if kind == "quantity":
        return bool(p.numbers - numbers(question)) or (p.has_number and not profile(question).has_number)
    if kind in ("who", "where"):
        return bool(_capitalised(text) - set(words(question)))
    return True


def _capitalised(text: str) -> set[str]:
    """Capitalised words, lower-cased, the first word of the text included ("Microsoft was ..."): a
    sentence-opening common word counts too, which errs towards keeping the answer."""
    return {w.lower().replace("’", "'").removesuffix("'s") for w in _CAPITALISED.findall(text)} - STOPWORDS


_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*")


def why_not_an_answer(question: str, answer: str, reference: str) -> str | None:
    """Why ``answer`` does not state what was asked when ``reference`` (the extractive answer) does, or
    None. A type is required only where the reference has one: a question with no date in the corpus
    gets no date from this rule."""
    if not tokens(answer)[1] - tokens(question)[1]:
        return "it only restates the question"
    if has_asked_type(question, reference) and not has_asked_type(question, answer):
        return f"it does not state the {_TYPE_NAMES[question_kind(question)]} asked for"
    return None


_TYPE_NAMES = {"when": "date", "quantity": "figure", "who": "name", "where": "place"}

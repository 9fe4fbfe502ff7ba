"""Whether an answer states what its question asks for: something the question does not already say,
and, for a *when*, *how many*, *who* or *where* question, a date, figure or name it does not give.

A citation check cannot see this: "There is a Federal Reserve Bank located in Richmond." is supported
by its sentence, and it is no answer to "How many are there, total?". On 300 SQuAD-train validation
questions the local model wrote 5 answers like it where the extractive answer held the gold span (benchmarks/local_llm.py).
"""

from __future__ import annotations

from rag.rank.question import question_kind
from rag.text.names import names
from rag.text.profile import content_stems, profile
from rag.text.words import numbers, words


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
    """The names in ``text``, a sentence's first word always among them ("Microsoft was ..."): as if the
    corpus knew no word, a sentence-opening common word counts too, which errs towards keeping the answer."""
    return names(text, known=lambda w: False)


def why_not_an_answer(question: str, answer: str, reference: str) -> str | None:
    """Why ``answer`` does not state what was asked when ``reference`` (the extractive answer) does, or
    None. A type is required only where the reference has one: a question with no date in the corpus
    gets no date from this rule."""
    if not content_stems(answer)[1] - content_stems(question)[1]:
        return "it only restates the question"
    if has_asked_type(question, reference) and not has_asked_type(question, answer):
        return f"it does not state the {_TYPE_NAMES[question_kind(question)]} asked for"
    return None


_TYPE_NAMES = {"when": "date", "quantity": "figure", "who": "name", "where": "place"}

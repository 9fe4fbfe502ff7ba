"""The checks around an LLM's answer, each registered once and chosen by name (``Settings.llm_preset``).

Every citation's support is always checked, sentence by sentence (rag/verify/support.py). Past that:
- **sentence finishers** change a sentence that kept its citations (``SENTENCE_FINISHERS``);
- **gates** read the whole kept answer beside the extractive one and give a reason to drop it, or None
  (``GATES``, run in their registered order; the first reason wins and the rest are not asked);
- **finishers** add to an answer the gates let through (``FINISHERS``).
``anchor_first`` is a rule on the first kept sentence, applied as each sentence is checked: it must cite a
sentence the extractive answer rests on. A new check is one function and one line in its registry.
What each was measured to do, and on what: docs/local-llm.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.types import AnswerSentence
from rag.verify import cross_check as again
from rag.verify.asked import why_not_an_answer
from rag.verify.reader_check import weaker_answer
from rag.verify.source_wording import in_source_wording

# The reader's own boundary (probability 0.5 that the sentence answers the question), not tuned.
LEFT_OUT_MIN_LOGIT = 0.0


@dataclass(frozen=True)
class Answering:
    """What a gate or finisher reads: the question, the model's kept sentences, the extractive answer's
    sentences, the reader (question, texts -> logits) and the model (prompt, max tokens -> reply)."""

    question: str
    kept: tuple[AnswerSentence, ...]
    extractive: tuple[AnswerSentence, ...]
    read: Callable[[str, Sequence[str]], np.ndarray]
    ask: Callable[[str, int], str]


Gate = Callable[[Answering], "str | None"]
Finisher = Callable[[Answering], list[AnswerSentence]]


def plain(sentences: Sequence[AnswerSentence]) -> str:
    """The sentences' text without the [n] markers, which are digits to the figure checks."""
    return " ".join(s.text for s in sentences)


def in_cited_wording(sentence: AnswerSentence) -> AnswerSentence:
    """Near-quotes of the cited sentences put in their exact wording (rag/verify/source_wording.py)."""
    return replace(sentence, text=in_source_wording(sentence.text, [c.text for c in sentence.citations]))


def unasked(a: Answering) -> str | None:
    """The answer does not state what was asked where the extractive answer does (rag/verify/asked.py)."""
    return why_not_an_answer(a.question, plain(a.kept), plain(a.extractive))


def reads_weaker(a: Answering) -> str | None:
    """The reader reads the answer as less of an answer than the extractive one (rag/verify/reader_check.py)."""
    read = weaker_answer(a.read, a.question, [s.text for s in a.kept], [s.text for s in a.extractive])
    return (
        None
        if read is None
        else f"the reader scores it {read[0]:.1f} as an answer to the question, the extractive answer {read[1]:.1f}"
    )


def read_otherwise(a: Answering) -> str | None:
    """The model, asked again for the phrase that answers the question in the sentences its first answer
    sentence cites and those of the extractive answer, reads something its answer does not say
    (rag/verify/cross_check.py)."""
    if not a.kept[0].citations:
        return None
    texts = again.evidence_text(
        [c.text for c in a.kept[0].citations], [c.text for s in a.extractive for c in s.citations]
    )
    phrase = again.reading(a.ask(again.prompt(a.question, texts), again.MAX_TOKENS))
    if phrase is None or not again.clashes(a.question, plain(a.kept), phrase):
        return None
    return f"asked again, it reads {phrase!r} in the sentences it was given, which its answer does not say"


def left_out(a: Answering) -> list[AnswerSentence]:
    """The extractive answer's sentences that no kept sentence cites and that the reader reads as answering
    the question. The model often keeps one of the two sentences the extractive answer gave and drops the
    other, which held the answer; the extractive answer's second sentence is as often filler, which the
    reader leaves out."""
    cited = {c.key for s in a.kept for c in s.citations}
    uncited = [s for s in a.extractive if not cited.intersection(c.key for c in s.citations)]
    if not uncited:
        return []
    logits = a.read(a.question, [s.text for s in uncited])
    return [s for s, logit in zip(uncited, logits, strict=True) if logit >= LEFT_OUT_MIN_LOGIT]


SENTENCE_FINISHERS: dict[str, Callable[[AnswerSentence], AnswerSentence]] = {"source_wording": in_cited_wording}
GATES: dict[str, Gate] = {"asked": unasked, "reader": reads_weaker, "cross_check": read_otherwise}
FINISHERS: dict[str, Finisher] = {"left_out": left_out}
SENTENCE_RULES = ("anchor_first",)  # applied by the LLM answerer as it checks each sentence


def first_objection(checks: Sequence[str], a: Answering) -> str | None:
    """The first reason a chosen gate gives to drop the answer, or None (an empty answer is not judged)."""
    if not a.kept:
        return None
    return next((why for name, gate in GATES.items() if name in checks and (why := gate(a)) is not None), None)


def finished(checks: Sequence[str], a: Answering) -> list[AnswerSentence]:
    """The sentences the chosen finishers add to the answer, in registered order."""
    return [s for name, finish in FINISHERS.items() if name in checks for s in finish(a)]

"""Does an LLM's answer read as an answer to the question? The reader (rag/rank/reader.py), the cross-encoder
that scores "this sentence answers the question", reads the model's answer sentences and the extractive
answer's, each with the question. When the model's best sentence reads weaker than the extractive
answer's best, the model has written something true and cited that does not answer what was
asked, and the extractive answer stands in.

The case it was built for, from the local model's held-out answers (benchmarks/reader_check.py):
"Which credentials did Liebig lack despite being a leading organic chemist?" answered "Liebig grew rich
making food extracts like beef bouillon and infant formula...", citing the sentence that begins "With a
reputation as the leading organic chemist of his day but with no credentials in animal physiology".
Every word is in the cited sentence, so the citation check keeps it; the model asked again for the
answering phrase may read the right one and still not clash; the reader reads the answer as no
answer and the extractive sentence as one.

It costs a few reader passes, next to seconds of generation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# The reader's logits for (question, texts): rag.rank.reader.Reader.logits.
Read = Callable[[str, Sequence[str]], np.ndarray]

# How much weaker the model's best sentence may read than the extractive answer's before it gives way:
# none. Replayed on the recorded draws, 0 turned the most wrong answers right and no right one wrong;
# negative margins did (benchmarks/reader_check.py; docs/local-llm.md).
MARGIN = 0.0


def best_readings(read: Read, question: str, answer: Sequence[str], extractive: Sequence[str]) -> tuple[float, float]:
    """The reader's best logit over the model's answer sentences, and over the extractive answer's."""
    return float(read(question, answer).max()), float(read(question, extractive).max())


def weaker_answer(
    read: Read, question: str, answer: Sequence[str], extractive: Sequence[str], margin: float = MARGIN
) -> tuple[float, float] | None:
    """``best_readings`` when the first falls more than ``margin`` under the second; None otherwise (or
    with nothing to compare)."""
    if not answer or not extractive:
        return None
    mine, theirs = best_readings(read, question, answer, extractive)
    return (mine, theirs) if mine < theirs - margin else None

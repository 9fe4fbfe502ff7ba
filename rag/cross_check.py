"""Asked again: does the sentence an LLM answer cites give the answer the LLM wrote?

The citation check (rag/verify.py) confirms that every word, name and figure of an answer sentence is
in the sentence it cites. It cannot see the wrong member of that sentence picked as the answer: "One
company that IBM acquired in 2002 is Lexmark (1991)", citing "IBM acquired ... PwC's consulting business
(2002), spinning off companies like printer manufacturer Lexmark (1991)". So the model is asked once
more, with only the question and the sentences its first answer sentence cites, for the short phrase
that answers it. When that phrase has words the question does not, and none of them is in the answer
sentence, the two readings clash and the answer gives way to the extractive one.

Measured on the local model's recorded answers to 344 held-out SQuAD-train questions (both draws of
benchmarks/local_llm.py, replayed with `benchmarks/cross_check.py`): it flagged 13 answers, 8 of them
wrong where the extractive answer was right, and none right where the extractive answer was wrong;
answers holding the gold span went from 314 to 322 (the extractive answerer: 329). A "NONE" reading is
no verdict: the model says it for 16% of answers, most of them right.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .lexical import content_words, stem

PROMPT = """Answer the question with a short phrase copied from the text. If the text does not answer the question, write NONE.

Text: Microsoft first invested $1 billion in OpenAI in 2019.
Question: How much did Microsoft first invest in OpenAI?
Answer: $1 billion

Text: The museum, which opened in 1902, was designed by the architect Ana Ruiz and later expanded by her students.
Question: Who designed the museum?
Answer: Ana Ruiz

Text: The bridge carries two lanes of traffic across the river to the old town.
Question: When was the bridge built?
Answer: NONE

Text: {text}
Question: {question}
Answer:"""
# A reply that repeats a worked example is no reading of the text (2 of 344 did).
_EXAMPLES = ("bridge carries", "ana ruiz", "$1 billion")
MAX_TOKENS = 24  # the phrases read run to about 6 tokens; a runaway reply is cut, not waited for
_NUMBER_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}


def prompt(question: str, cited: Sequence[str]) -> str:
    return PROMPT.format(text=" ".join(cited), question=question.strip())


def reading(reply: str) -> str | None:
    """The phrase the model read off the text, or None for no verdict (NONE, empty, an example echoed)."""
    phrase = reply.strip().splitlines()[0].strip(" .\"'") if reply.strip() else ""
    if not phrase or phrase.upper().startswith("NONE") or any(e in phrase.lower() for e in _EXAMPLES):
        return None
    return phrase


def clashes(question: str, answer: str, phrase: str) -> bool:
    """The phrase brings words the question does not have, and the answer sentence has none of them
    ("seven" and "7" count as one word)."""
    new = _terms(phrase) - _terms(question)
    return bool(new) and not new & _terms(answer)


def _terms(text: str) -> set[str]:
    low = re.sub(r"(?<=\d),(?=\d)", "", text.lower())  # 1,200 and 1200
    return {_NUMBER_WORDS.get(w, stem(w)) for w in content_words(low)} | set(re.findall(r"\d+", low))

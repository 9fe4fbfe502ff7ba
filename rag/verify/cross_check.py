"""Asked again: do the sentences an LLM answer rests on give the answer the LLM wrote?

The citation check (rag/verify/support.py) confirms that every word, name and figure of an answer sentence is
in the sentence it cites. It cannot see the wrong member of that sentence picked as the answer: "One
company that IBM acquired in 2002 is Lexmark (1991)", citing "IBM acquired ... PwC's consulting business
(2002), spinning off companies like printer manufacturer Lexmark (1991)". Nor a rewording that drops
part of what was asked: "An operator can malpractice by intentionally or accidentally deviating from
secure procedures", where the sentence adds "or due to them being tricked". So the model is asked
once more, with only the question, the sentences its first answer sentence cites and those of the
extractive answer, for the short phrase that answers it. When that phrase has words the question does not, and the answer lacks
any of them, the two readings clash and the answer gives way to the extractive one.

Both choices, the extractive answer's sentences read too and a clash on *any* missing word, were made
by replaying the check on the local model's recorded answers (benchmarks/cross_check.py; the figures
are in docs/local-llm.md, "With the cross-check's new rule"). A "NONE" reading is no verdict: the
model says it for a sizeable share of answers, most of them right.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.text.words import NUMBER_WORDS, content_words, stem

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


def prompt(question: str, texts: Sequence[str]) -> str:
    return PROMPT.format(text=" ".join(texts), question=question.strip())


def evidence_text(cited: Sequence[str], extractive: Sequence[str]) -> list[str]:
    """What the model reads again: the sentences the answer's first sentence cites, then those of the
    extractive answer it does not already cite (the extractive answer's second sentence often holds
    what a one-sentence answer left out)."""
    return [*cited, *(t for t in dict.fromkeys(extractive) if t not in cited)]


def reading(reply: str) -> str | None:
    """The phrase the model read off the text, or None for no verdict (NONE, empty, an example echoed)."""
    phrase = reply.strip().splitlines()[0].strip(" .\"'") if reply.strip() else ""
    if not phrase or phrase.upper().startswith("NONE") or any(e in phrase.lower() for e in _EXAMPLES):
        return None
    return phrase


def clashes(question: str, answer: str, phrase: str) -> bool:
    """The phrase brings words the question does not have, and the answer lacks one of them ("seven"
    and "7" count as one word)."""
    return bool(terms_of(phrase) - terms_of(question) - terms_of(answer))


def terms_of(text: str) -> set[str]:
    low = re.sub(r"(?<=\d),(?=\d)", "", text.lower())  # 1,200 and 1200
    return {str(NUMBER_WORDS[w]) if w in NUMBER_WORDS else stem(w) for w in content_words(low)} | set(
        re.findall(r"\d+", low)
    )

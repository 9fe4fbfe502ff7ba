"""Follow-up questions in a conversation ("And how much?", "When did it start?") rewritten to stand
alone, so retrieval and the answerer see what is asked. An LLM rewrites when one is configured; without
one, the previous question supplies what the follow-up leaves out:

- a bare question phrase ("And how much?", "Why?") takes the place of the previous question's own
  ("When did Microsoft first invest in OpenAI?" -> "How much did Microsoft first invest in OpenAI?");
- "What about X?" asks the previous question of X;
- a pronoun ("When did it start?") is replaced by the previous question's first name;
- otherwise the previous question's names are added in brackets, for retrieval to find.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from rag.text.names import name_runs

log = logging.getLogger(__name__)

_OPENERS = re.compile(r"^(?:and|but|so|also|then|ok|okay)\b[\s,]*", re.I)
_ABOUT = re.compile(r"^(?:what|how)\s+about\s+", re.I)
_WH = re.compile(
    r"^(how\s+(?:much|many|long|often|far|old|big|large|later|soon)(?:\s+\w+)?|what\s+year|which\s+year|when|where|who|whom|whose|why|how|what)\b",
    re.I,
)
_PRONOUN = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those)\b", re.I)
_REFERS = frozenset("it its they them their he him his she her".split())
MAX_BARE_WORDS = 4  # "And how much later?" is bare; "And how much did Google invest?" is a question of its own

REWRITE_PROMPT = (
    "Rewrite the last question so it can be understood without the conversation: replace pronouns and "
    "fill in what it leaves out from the earlier questions. Reply with the rewritten question only.\n\n"
)


def is_follow_up(question: str) -> bool:
    """Opens with "and"/"what about", is a bare question phrase, or leans on a pronoun and names nothing."""
    q = question.strip()
    if _OPENERS.match(q) or _ABOUT.match(q):
        return True
    words = q.rstrip("?!. ").split()
    if len(words) <= MAX_BARE_WORDS and _WH.match(q) and not name_runs(q):
        return True
    return bool(_PRONOUN.search(q)) and not name_runs(q) and any(w.lower().strip("?,.") in _REFERS for w in words)


def rewrite(question: str, history: Sequence[str], complete: Callable[[str], str] | None = None) -> str:
    """``question`` made to stand alone given the earlier (already rewritten) questions, or unchanged
    when it is not a follow-up or there is no history."""
    if not history or not is_follow_up(question):
        return question
    if complete is not None:
        try:
            return _by_model(question, history, complete)
        except Exception as e:  # noqa: BLE001 - a failed rewrite must not lose the question
            log.warning("the model could not rewrite the follow-up (%s): using the rules", e)
    return by_rules(question, history[-1])


def _by_model(question: str, history: Sequence[str], complete: Callable[[str], str]) -> str:
    turns = "\n".join(f"Earlier question: {h}" for h in history[-3:])
    reply = complete(REWRITE_PROMPT + turns + f"\nLast question: {question}\nRewritten question:").strip()
    line = reply.splitlines()[0].strip().strip('"') if reply else ""
    if not line or len(line) > 300 or len(line.split()) < 3:
        raise ValueError(f"unusable rewrite {reply[:60]!r}")
    return line


def by_rules(question: str, previous: str) -> str:
    q = _OPENERS.sub("", question.strip())
    if _ABOUT.match(q):  # "What about Oracle?": the previous question, asked of Oracle
        subject = _ABOUT.sub("", q).strip(" ?")
        runs = name_runs(previous)
        if runs and subject:
            return previous[: runs[0].start()] + subject + previous[runs[0].end() :]
        q = subject + "?"
    bare = len(q.rstrip("?!. ").split()) <= MAX_BARE_WORDS and _WH.match(q) and not name_runs(q)
    prev_wh = _WH.match(previous.strip())
    if bare and prev_wh:
        phrase = _WH.match(q).group(0)  # type: ignore[union-attr]
        rest = q[len(phrase) :].strip(" ?")
        body = previous.strip()[prev_wh.end() :].strip(" ?")
        return f"{phrase[0].upper()}{phrase[1:]} {body}{' ' + rest if rest else ''}?"
    names = [m.group() for m in name_runs(previous)]
    pronoun = re.search(r"\b(it|they|he|she)\b", q, re.I)
    if names and pronoun:
        q = q[: pronoun.start()] + names[0] + q[pronoun.end() :]
    elif names:
        q = f"{q.rstrip()} ({', '.join(dict.fromkeys(names))})"
    return q[:1].upper() + q[1:]

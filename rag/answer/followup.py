"""Follow-up questions in a conversation ("And how much?", "When did it start?") rewritten to stand
alone, so retrieval and the answerer see what is asked. An LLM rewrites when one is configured; without
one, the rules rewrite only what they can rewrite right, and leave the rest as typed (a wrong rewrite
asks a question nobody asked; benchmarks/followups.py counts right, kept and broken):

- a bare question phrase ("And how much?", "Why?", "In which year?") takes the place of the previous
  question's own when that is a plain one before its auxiliary ("When did Microsoft first invest in
  OpenAI?" -> "How much did Microsoft first invest in OpenAI?"); not after "How many jobs ..." (the
  jobs would be lost) or a "What ... do" question;
- "What about X?" asks the previous question of X, in place of its subject name;
- a subject pronoun ("did it", "he") or a possessive ("its revenue") becomes the previous question's
  subject: the name right after its auxiliary, or with none its only name; "he"/"his" only when the
  previous question names one name, "they" not after "How many shares ...".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from rag.rank.question import AUXILIARIES
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


_AUX = f"(?:{'|'.join(sorted(AUXILIARIES))})"
# A follow-up that is only a question phrase: "And how much?", "Why?", "In which year?".
_BARE = re.compile(
    r"^(?:(?:in|for|by|at)\s+(?:which|what)\s+\w+|(?:for|by)\s+how\s+(?:much|many)|how\s+(?:much|many|long|often|far|old)"
    r"|what\s+year|which\s+year|when|where|who|why|how)$",
    re.I,
)
# A previous question asking of a plural thing ("How many shares..."): "they" may be the shares.
_ASKS_OF = re.compile(rf"^(?:how\s+(?:many|much)|which|what)\s+(?!{_AUX}\b)\w+", re.I)
# The previous question's own phrase, plain (no noun of its own: "How many jobs" asks about jobs), then
# its auxiliary: "When did", "How much was", "What did".
_PLAIN_WH = re.compile(
    rf"^(?:when|where|who|whom|why|how|what|how\s+(?:much|many|long|often|far|old)|in\s+which\s+year)\s+(?={_AUX}\b)",
    re.I,
)


def by_rules(question: str, previous: str) -> str:
    """The follow-up made to stand alone where the rules can do it right; otherwise as typed (a wrong
    rewrite asks a question nobody asked: benchmarks/followups.py counts both)."""
    q = _OPENERS.sub("", question.strip())
    q = q[:1].upper() + q[1:]
    subject = _subject(previous)
    if _ABOUT.match(q):  # "What about Oracle?": the previous question, asked of Oracle
        other = _ABOUT.sub("", q).strip(" ?")
        if subject is None or not other[:1].isupper():  # "What about the year before?" is no name to swap in
            return question
        start, end = subject
        return previous[:start] + other + previous[end:]
    plain = _PLAIN_WH.match(previous.strip())
    if _BARE.match(q.rstrip("?!. ")):
        body = previous.strip()[plain.end() :].strip(" ?") if plain else ""
        if not plain or re.search(r"\bdo\b", body, re.I):  # "What did the Fed do": "By how much did ... do" is not it
            return question
        return f"{q.rstrip('?!. ')} {body}?"
    if subject is None:
        return question
    name = _bare_name(previous[subject[0] : subject[1]])
    possessive = re.search(r"\b(its|his|her)\b", q, re.I)
    pronoun = re.search(rf"(?:^|\b{_AUX}\s+)(it|he|she|they)\b", q, re.I)
    person = re.search(r"\b(he|she|his|her)\b", q, re.I)
    if person and len(name_runs(previous)) > 1:  # "Why did Microsoft hire Mustafa Suleyman? What is his role?"
        return question
    if pronoun and (pronoun.group(1).lower() != "they" or not _ASKS_OF.match(previous)):
        return q[: pronoun.start(1)] + name + q[pronoun.end(1) :]
    if possessive:
        return q[: possessive.start()] + name + "'s" + q[possessive.end() :]
    return question


def _subject(previous: str) -> tuple[int, int] | None:
    """Where the previous question's subject name stands: the name right after its auxiliary ("did
    Microsoft first invest", "did the Federal Reserve do"), or with no auxiliary its only name ("Who
    runs Airbus?"); None when unsure ("was the accounting fraud at WorldCom": the fraud is the subject)."""
    runs = name_runs(previous)
    aux = re.search(rf"\b{_AUX}\s+(the\s+)?", previous, re.I)
    if aux:
        for m in runs:
            if m.start() == aux.end():
                return (aux.start(1) if aux.group(1) else m.start()), m.end()
        return None
    return (runs[0].start(), runs[0].end()) if len(runs) == 1 else None


def _bare_name(text: str) -> str:
    """A name as the subject of a new sentence: "Google's" -> "Google"; "the LSE" stays."""
    return re.sub(r"['’]s$", "", text)

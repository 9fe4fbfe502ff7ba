"""The deterministic judge of two sentences from different sources: do they state opposite things about
the same fact? It fires only on patterns it is sure of, and says nothing otherwise (an LLM judge may
decide those, see ``rag.conflicts``).

- **figure**: the same statement with another amount, percentage or count, in the same unit and under the
  same qualifiers ("first invested $1 billion" against "first invested $2 billion"; never "first
  invested $1 billion" against "total stake of $10 billion");
- **date**: the same statement with another year;
- **direction**: a change one way in one source and the other way in the other: "from X to Y" against
  "from Y to X", or a transition into one state against a transition into its opposite (non-profit
  against profit-making);
- **negation**: one source denies what the other affirms;
- **antonym**: opposite predicates on the same statement (raised / cut, approved / rejected);
- **reversed**: "A <verb> B" against "B <verb> A" (who invested in whom).

"The same statement" is measured: the content words the two share over the shorter's count, names
agreeing, and the same qualifiers and time words. Different facts that look alike (an initial
investment and a total stake, last year's figure and this year's) differ in those and are left alone.
Precision and recall per kind: benchmarks/conflicts.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text.quantities import Quantity, agrees, quantities
from rag.text.tokens import Token, tokens
from rag.text.words import STOPWORDS
from rag.verify.claims import ANTONYMS, QUALIFIER_FAMILIES, _from_to, negation, predicate
from rag.verify.name_rules import cross_named, reversed_roles

# Share of the shorter sentence's content words the other must have for the two to be one statement;
# an edit of one word leaves about 0.9, two sentences of one paragraph on the same subject 0.2-0.4.
SAME_STATEMENT = 0.6

# Reversed roles need more: "Microsoft has exclusive rights to sell OpenAI software" and "OpenAI relied
# exclusively on Microsoft's cloud" share 0.6 of their words and any word between two names reads as
# their relation.
SAME_ROLES = 0.75
# Bare numbers ("an age restriction of 14") are compared only between near-copies of one statement.
SAME_BARE = 0.8

_TIME_WORDS = frozenset("yesterday today tomorrow last next this previous following current coming past".split())
_OPENERS = frozenset(
    """despite however although though meanwhile subsequent following according additionally furthermore
    moreover therefore thus still last next earlier later today yesterday recently currently finally first
    since because while when unlike like instead overall reports sources analysts insiders""".split()
)
_CHANGE = frozenset(
    "transition transit transform transformation convert conversion becom became become turn switch shift move restructur reorganis reorganiz".split()
)
# States a change can lead into, as opposite pairs; hyphens are dropped and two-word names joined before
# matching. A public-benefit corporation is a for-profit form (it has shareholders and may go public).
_STATES = (
    (
        frozenset({"forprofit", "profitmaking", "profit", "cappedprofit", "commercial", "publicbenefit", "pbc"}),
        frozenset({"nonprofit", "notforprofit", "charity", "charitable"}),
    ),
    (frozenset({"public", "listed"}), frozenset({"private", "privately"})),
)


_YET_TO = re.compile(r"\b(has|have|had|is|are|was|were) yet to\b", re.IGNORECASE)  # "has yet to grant": not granted


@dataclass(frozen=True)
class Verdict:
    kind: str  # figure | date | direction | negation | antonym | reversed
    summary: str  # one line naming what differs, for the "Sources disagree" block
    # False when the difference is certain but not that both sentences speak of the same subject (no
    # name in common): left to an LLM judge when there is one, dropped otherwise.
    sure: bool = True


def judge(a: str, b: str, unsure: bool = False) -> Verdict | None:
    """The first conflict the rules are sure of between two sentences, or None; with ``unsure``, also
    one whose sentences name no common subject (``Verdict.sure`` False)."""
    a, b = _YET_TO.sub(r"\1 not", a), _YET_TO.sub(r"\1 not", b)
    ta, tb = cross_named(tokens(a), tokens(b)), cross_named(tokens(b), tokens(a))
    if _names_disagree(ta, tb):
        return None  # about different people or things
    for rule in (_direction, _figures, _statement_rules):
        verdict = rule(a, b, ta, tb)
        if verdict and not verdict.sure and not unsure:
            continue
        if verdict:
            return verdict
    return None


def overlap(ta: tuple[Token, ...], tb: tuple[Token, ...]) -> float:
    """Content words (numbers left out) the two share, over the shorter's count."""
    ca, cb = _content(ta), _content(tb)
    if not ca or not cb:
        return 0.0
    return len(ca & cb) / min(len(ca), len(cb))


def _content(toks: tuple[Token, ...]) -> set[str]:
    return {t.stem for t in toks if t.low not in STOPWORDS and not t.low[:1].isdigit() and not t.low.startswith("$")}


def named(toks: tuple[Token, ...]) -> set[str]:
    """The names a sentence gives, lower-cased."""
    return {t.low for t in toks if t.name}


def _names_disagree(ta: tuple[Token, ...], tb: tuple[Token, ...]) -> bool:
    """Both name someone and share nobody: two statements about different subjects."""
    na, nb = named(ta), named(tb)
    return bool(na and nb and not na & nb)


def _parties(ta: tuple[Token, ...], tb: tuple[Token, ...]) -> bool | None:
    """One sentence names everyone the other does: "Google invested $2 billion in Anthropic" and "Amazon
    invested $4 billion in Anthropic" are two deals. A capitalised opening word counts as a name unless
    it is a common opener ("Despite", "Historically"). On 2,000 Wikipedia paragraphs, requiring a shared
    name took the flagged pairs (nearly all false) from 11 to 7, and recall on the labelled pairs from
    0.875 to 0.70: such verdicts are unsure, left to an LLM judge.
    True: the same parties; None: no name in common, so no telling; False: different parties."""
    na, nb = named(ta) | _opening_name(ta), named(tb) | _opening_name(tb)
    if not (na <= nb or nb <= na):
        return False
    # At least one name in common: "The carriers had only 108 planes." pins no subject.
    return True if na & nb else None


def _opening_name(toks: tuple[Token, ...]) -> set[str]:
    if not toks or toks[0].name or not toks[0].text[:1].isupper():
        return set()
    low = toks[0].low
    return set() if low in STOPWORDS or low in _OPENERS or low.endswith("ly") else {low}


def _qualifiers(toks: tuple[Token, ...]) -> set[int]:
    """Which qualifier families (first, total, current, planned...) the sentence uses."""
    lows = {t.low for t in toks}
    return {i for i, (trigger, _) in enumerate(QUALIFIER_FAMILIES) if trigger & lows}


def _time_words(toks: tuple[Token, ...]) -> set[str]:
    return {t.low for t in toks if t.low in _TIME_WORDS}


def _same_frame(ta: tuple[Token, ...], tb: tuple[Token, ...]) -> bool:
    """Same qualifiers and time words: "first" against "total", "last year" against "this year" are
    different facts, not a disagreement."""
    return _qualifiers(ta) == _qualifiers(tb) and _time_words(ta) == _time_words(tb)


# ------------------------------------------------------------------------------------------- figures
def _figures(a: str, b: str, ta: tuple[Token, ...], tb: tuple[Token, ...]) -> Verdict | None:
    shared, parties = overlap(ta, tb), _parties(ta, tb)
    if shared < SAME_STATEMENT or parties is False:
        return None
    sure = parties is True
    qa, qb = quantities(a), quantities(b)
    units = {q.unit for q in qa} & {q.unit for q in qb} - {"calendar"}
    if shared < SAME_BARE:
        units.discard("#")  # a bare number's meaning is only safe to compare in a near-copy
    for unit in sorted(units):
        xa, xb = [q.value for q in qa if q.unit == unit], [q.value for q in qb if q.unit == unit]
        if len(xa) > 1 and xa != xb and sorted(xa) == sorted(xb) and "from" in a.lower() and "from" in b.lower():
            return Verdict("direction", f"from {_listed(qa, unit)} against from {_listed(qb, unit)}", sure)
    if not _same_frame(ta, tb):
        return None
    years_differ = _differ(qa, qb, "calendar")
    for unit in sorted(units):
        diff = _differ(qa, qb, unit)
        if diff and not years_differ and _said_of_alike(a, diff[0], b, diff[1]):
            return Verdict("figure", f"{diff[0].text} against {diff[1].text}", sure)
        if diff:
            return None  # other figures in other years: last year's number and this year's
    if (
        years_differ
        and not any(_differ(qa, qb, u) for u in units)
        and _said_of_alike(a, years_differ[0], b, years_differ[1])
    ):
        x, y = years_differ
        return Verdict("date", f"{x.text} against {y.text}", sure)
    return None


def _listed(qs: list[Quantity], unit: str) -> str:
    return " to ".join(q.text for q in qs if q.unit == unit)


def _said_of_alike(a: str, x: Quantity, b: str, y: Quantity) -> bool:
    """The two figures are said of the same thing: a content word within three words of each is shared
    ("completed in 1788" and "designed ... Clérisseau in 1785" are two events of one building)."""
    return bool(_around(a, x) & _around(b, y))


def _around(text: str, q: Quantity) -> set[str]:
    at = text.find(q.text)
    before, after = tokens(text[:at])[-3:], tokens(text[at + len(q.text) :])[:3]
    return {t.stem for t in (*before, *after) if t.low not in STOPWORDS and not t.low[:1].isdigit()}


def _differ(qa: list[Quantity], qb: list[Quantity], unit: str) -> tuple[Quantity, Quantity] | None:
    """The one figure of ``unit`` that disagrees, when both sentences give as many figures of that unit
    and, taken in order, all others agree ("from 20% to 10%" against "from 20% to 15%"). With other
    counts, which figure matches which is a guess."""
    xa = [q for q in qa if q.unit == unit]
    xb = [q for q in qb if q.unit == unit]
    if not xa or len(xa) != len(xb):
        return None
    differing = [(x, y) for x, y in zip(xa, xb) if not agrees(x, y)]
    return differing[0] if len(differing) == 1 else None


# ----------------------------------------------------------------------------------------- direction
def _direction(a: str, b: str, ta: tuple[Token, ...], tb: tuple[Token, ...]) -> Verdict | None:
    fa, fb = _from_to(ta), _from_to(tb)
    for x, y in fa:
        if (y, x) in fb and (x, y) not in fb and overlap(ta, tb) >= SAME_STATEMENT / 2:
            return Verdict("direction", f"from {x} to {y} against from {y} to {x}")
    into_a, into_b = _changes_into(ta), _changes_into(tb)
    if not (into_a and into_b and named(ta) & named(tb)):
        return None
    for one, other in _STATES:
        for mine, theirs in ((one, other), (other, one)):
            said_a = next((w for w in into_a if w in mine), None)
            said_b = next((w for w in into_b if w in theirs), None)
            if said_a and said_b:
                return Verdict(
                    "direction", f"a change into {_shown(ta, said_a)} against a change into {_shown(tb, said_b)}"
                )
    return None


def _plain(low: str) -> str:
    return low.replace("-", "").replace("’", "").replace("'", "")


def _changes_into(toks: tuple[Token, ...]) -> list[str]:
    """The words naming the state a change leads into: those after "to"/"into" following a change word
    ("transition from a for-profit to a non-profit entity", "transformation into a profit-making company")."""
    out = []
    for i, t in enumerate(toks):
        if t.stem not in _CHANGE and t.low not in _CHANGE:
            continue
        window = toks[i + 1 : i + 9]
        if t.stem == "becom":  # "becoming a Public Benefit Corporation": the state follows at once
            window = (Token("to", "to", "to", False), *window)
        for j, u in enumerate(window):
            if u.low in {"to", "into"}:
                said = [_plain(v.low) for v in window[j + 1 : j + 4] if v.low not in STOPWORDS]
                out += said + [x + y for x, y in zip(said, said[1:])]  # "public benefit" -> "publicbenefit"
                break
    return out


def _shown(toks: tuple[Token, ...], plain: str) -> str:
    """The source's own spelling of a state word, or of the two words joined into it."""
    single = next((t.text for t in toks if _plain(t.low) == plain), None)
    pair = next((f"{t.text} {u.text}" for t, u in zip(toks, toks[1:]) if _plain(t.low) + _plain(u.low) == plain), None)
    return single or pair or plain


# ------------------------------------------------------------------------------- negation, antonym, roles
def _statement_rules(a: str, b: str, ta: tuple[Token, ...], tb: tuple[Token, ...]) -> Verdict | None:
    """Negation, antonym predicates and reversed roles, on what is otherwise the same statement."""
    parties = _parties(ta, tb)
    if overlap(ta, tb) < SAME_STATEMENT or parties is False:
        return None
    qa, qb = _qualifiers(ta), _qualifiers(tb)
    if not (qa <= qb or qb <= qa) or _years(a) != _years(b):
        return None  # "first" against "last"; or two years: two events, not one denied
    for kind, rule in (("negation", negation), ("antonym", predicate), ("reversed", reversed_roles)):
        reason = rule(ta, tb) or rule(tb, ta)
        if reason and (kind != "reversed" or overlap(ta, tb) >= SAME_ROLES):
            return Verdict(kind, _worded(reason, ta + tb), parties is True)
    return None


def _worded(reason: str, toks: tuple[Token, ...]) -> str:
    """A rule's reason, which names stems ('rais'), with the words the sources use ('raise')."""
    reason = reason.replace("the cited text", "one source").replace("the claim", "the other")
    word: dict[str, str] = {}
    for t in toks:
        word.setdefault(t.stem, t.text)
        word.setdefault(t.low, t.text)
    return re.sub(r"'([^']+)'", lambda m: repr(word.get(m.group(1), m.group(1))), reason)


def _years(text: str) -> set[float]:
    return {q.value for q in quantities(text) if q.unit == "calendar"}


__all__ = ["ANTONYMS", "SAME_STATEMENT", "Quantity", "Verdict", "judge", "named", "overlap", "quantities"]

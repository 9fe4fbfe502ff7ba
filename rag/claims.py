"""Rules that catch a claim its cited text contradicts although every number, name and word matches.

A small model's misquotes keep the words and change what they say. These are the kinds seen in the
local model's kept answers (issue 10), each a rule that fires only on a pattern it is sure of:

- **qualifier**: the claim says *total*, *first*, *current*, *planned*... and the cited text does not say
  it (nor a word of the same family): "total investment was $1 billion" from "first invested $1 billion";
- **predicate**: the claim uses one side of an antonym pair and the text only the other: *ended* from
  *launched*, *cut* from *raised*, *sold* from *bought*;
- **negation**: the text negates the verb the claim asserts, or the claim negates what the text asserts;
- **direction**: "from X to Y" in the claim, "from Y to X" in the text;
- **reversed**: "A <verb> B" in the claim, "B <verb> A" in the text (who invested in whom);
- **unlinked**: the claim links two names directly, and in the text another name stands between every
  mention of them ("Biden leads Microsoft" from "under the Biden administration, the FTC investigated
  Microsoft");
- **substituted**: a name the text lacks stands where the text has another name ("Jay Z released..."
  from "Beyoncé released...");
- **singled out**: the claim gives a figure to one name that the text gives to a group ("SoftBank is
  putting $500 billion" from "OpenAI, with SoftBank and Oracle, announced a $500 billion project").
- **paired**: the claim says a name is what the text says another name is ("The Northern Army was the
  volunteer army" from "The volunteer army comprised the Southern Army, while the standing army ... was
  the Northern Army");
- **hedged**: a figure the text gives as approximate or as a bound, stated as exact, or the reverse
  ("2,000 died" from "nearly 2,000 more were injured"; "a little over 20 km" from "20 km").

Each returns a one-line reason, or None. Precision and recall per kind are measured on controlled edits
of SQuAD-train sentences and on the local model's own claims: benchmarks/verify_claims.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .lexical import STOPWORDS, numbers, stem

_TOKEN = re.compile(r"[A-Za-z][\w'’&-]*[\w]|[A-Za-z]|\$?\d[\d,.]*\d|\$?\d")

# Qualifiers: a claim word of the left set must be matched in the text by a word of the right set (its
# family). Only the left words trigger the rule; common words (all, will, now) only satisfy it.
_QUALIFIERS = (
    ("total overall combined cumulative altogether aggregate", "total overall combined cumulative altogether aggregate all sum together"),
    ("first initial initially original originally earliest", "first initial initially original originally earliest began start"),
    ("last final finally latest", "last final finally latest recent recently"),
    ("current currently", "current currently present presently now today"),
    ("planned proposed expected projected", "planned plan plans planning proposed propose proposal expected expect expects projected intend intends will would"),
    ("former formerly previous previously", "former formerly previous previously once past earlier"),
    ("largest biggest highest maximum", "largest biggest greatest most highest maximum top record"),
    ("smallest lowest minimum fewest", "smallest least lowest minimum fewest"),
)
QUALIFIER_FAMILIES = tuple((frozenset(a.split()), frozenset(b.split())) for a, b in _QUALIFIERS)
# Antonym predicates, as stems of the forms a model writes.
_PAIRS = (
    ("increas rise rose risen rais grow grew grown gain expand boost climb soar", "decreas fall fell fallen reduc cut declin drop lower shrink shrank slash plung"),
    ("begin began begun start launch open initi commenc kick", "end conclud finish close complet termin halt ceas wrap"),
    ("approv accept allow permit grant", "reject deni refus block ban forbid forbad veto"),
    ("win won", "lose lost"),
    ("buy bought acquir purchas", "sell sold divest"),
    ("join", "leav left quit exit"),
    ("hire hired recruit", "fire fired dismiss laid"),
    ("support favor favour back", "oppos"),
    ("profit", "nonprofit non-profit"),
    ("success succeed", "fail failur"),
    # Comparisons: "the open-grown tree has thinner sapwood" kept against "...have thicker sapwood"
    # (the local model, 2026-12-04 live run). Stems as rag.claims.tokens gives them.
    ("thick thicker thickest", "thin thinner thinnest"),
    ("wide wider widest broad broader", "narrow"),
    ("strong stronger strongest", "weak weaker weakest"),
    ("fast faster fastest quick rapid", "slow slower slowest"),
    # "The Bronx public and private schools enrolled nearly 280,000 students" kept against "public
    # schools enrolled nearly 280,000 ... (out of 333,100 enrolled in all pre-college schools)" (the
    # local model, fresh-draw live run, 2026-12-04): the word check let "private" pass as a near
    # neighbour of "public".
    ("public publicly", "private privately"),
)
ANTONYMS = tuple((frozenset(a.split()), frozenset(b.split())) for a, b in _PAIRS)
NEGATIONS = frozenset({"not", "never", "no", "n't", "neither", "nor", "without", "cannot"})
_ARTICLES = frozenset({"a", "an", "the"})
_AUX = frozenset({"be", "is", "was", "were", "are", "been", "being", "do", "does", "did", "have", "has", "had", "yet", "to", "ever", "also"})


@dataclass(frozen=True)
class Token:
    text: str
    low: str
    stem: str
    name: bool  # a capitalised word not opening the sentence (or a known name-like form)


@lru_cache(maxsize=50_000)
def tokens(text: str) -> tuple[Token, ...]:
    out = []
    for i, m in enumerate(_TOKEN.finditer(text)):
        raw = m.group().removesuffix("'s").removesuffix("’s")
        low = raw.lower()
        is_name = raw[:1].isupper() and low not in STOPWORDS and (i > 0 or not raw[1:].islower())
        out.append(Token(raw, low, stem(low), is_name))
    return tuple(out)


def _stems(toks: tuple[Token, ...]) -> set[str]:
    return {t.stem for t in toks} | {t.low for t in toks}


def qualifier(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    said = {t.low for t in source}
    for t in claim:
        for trigger, family in QUALIFIER_FAMILIES:
            if t.low in trigger and not family & said and not _is_ordinal_of_name(claim, t):
                return f"the cited text does not say {t.low!r}"
    return None


def _is_ordinal_of_name(claim: tuple[Token, ...], t: Token) -> bool:
    """"First Lady", "the Last Supper": a qualifier word inside a name is not a qualifier."""
    return t.text[:1].isupper() and claim.index(t) > 0


def predicate(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    c, s = _stems(claim), _stems(source)
    for a, b in ANTONYMS:
        for mine, other in ((a, b), (b, a)):
            said = _hit(c, mine)
            if said and not _hit(s, mine) and (opposite := _hit(s, other)):
                return f"the cited text says {opposite!r}, not {said!r}"
    return None


def _hit(stems: set[str], family: frozenset[str]) -> str | None:
    return next((w for w in sorted(stems) if w in family), None)


def negation(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    c_neg, s_neg = _negated(claim), _negated(source)
    c_stems = {t.stem for t in claim}
    s_stems = {t.stem for t in source}
    for verb in s_neg - c_neg:
        if verb in c_stems:
            return f"the cited text negates {verb!r}"
    for verb in c_neg - s_neg:
        if verb in s_stems:
            return f"the claim negates {verb!r}, which the cited text asserts"
    return None


def _negated(toks: tuple[Token, ...]) -> set[str]:
    """Stems of the words a negation governs: the first word after it, auxiliaries and articles
    skipped. Verbs the stopword list holds count ("is not made", "was not said", "has not one of"):
    skipping every stopword let 13 inserted negations through (benchmarks/verify_claims.py)."""
    out = set()
    for i, t in enumerate(toks):
        if t.low in NEGATIONS or t.low.endswith("n't"):
            nxt = next((u for u in toks[i + 1 : i + 4] if u.low not in _AUX and u.low not in _ARTICLES), None)
            if nxt is not None:
                out.add(nxt.stem)
    return out


def direction(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    c, s = _from_to(claim), _from_to(source)
    for a, b in c:
        if (b, a) in s and (a, b) not in s:
            return f"the cited text goes from {b!r} to {a!r}, not the other way"
    return None


def _from_to(toks: tuple[Token, ...]) -> set[tuple[str, str]]:
    out = set()
    lows = [t.low for t in toks]
    for i, w in enumerate(lows):
        if w == "from":
            a = next((x for x in lows[i + 1 : i + 5] if x not in STOPWORDS), None)
            j = next((k for k in range(i + 2, min(i + 8, len(lows))) if lows[k] == "to"), None)
            b = next((x for x in lows[j + 1 : j + 5] if x not in STOPWORDS), None) if j is not None else None
            if a and b:
                out.add((stem(a), stem(b)))
    return out


# Words that make a figure approximate or a bound: "almost 2,000", "more than 20", "up to 5".
_HEDGES = frozenset({"almost", "nearly", "about", "approximately", "around", "roughly", "some", "over", "under",
                     "than", "least", "most", "circa", "estimated"})


def hedged(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    """A figure the cited text gives as approximate or a bound, stated as exact, or the reverse."""
    for i, t in enumerate(claim):
        if not t.low.lstrip("$")[:1].isdigit():
            continue
        found = [j for j, u in enumerate(source) if u.low == t.low]
        if found and all(bool(_hedge(source, j)) != bool(_hedge(claim, i)) for j in found):
            word = _hedge(source, found[0]) or _hedge(claim, i)
            where = "the cited text" if _hedge(source, found[0]) else "the claim"
            return f"{where} says {word!r} {t.text}, the other text {t.text} alone"
    return None


def _hedge(toks: tuple[Token, ...], i: int) -> str | None:
    before = [t.low for t in toks[max(0, i - 2) : i]]
    if before[-2:] == ["up", "to"]:
        return "up to"
    return next((w for w in before if w in _HEDGES), None)


def _names(toks: tuple[Token, ...]) -> list[tuple[int, str]]:
    return [(i, t.low) for i, t in enumerate(toks) if t.name]


def reversed_roles(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    for a, verb, b in _triples(claim):
        if (b, verb, a) in set(_triples(source)) and (a, verb, b) not in set(_triples(source)):
            return f"the cited text has {b!r} {verb!r} {a!r}, not the reverse"
    return None


def _triples(toks: tuple[Token, ...], gap: int = 8) -> list[tuple[str, str, str]]:
    """(name, verb stem, name) for two names at most ``gap`` words apart with content words between."""
    names = _names(toks)
    out = []
    for (i, a), (j, b) in zip(names, names[1:]):
        if 1 < j - i <= gap + 1 and a != b:
            out += [(a, t.stem, b) for t in toks[i + 1 : j] if t.low not in STOPWORDS and not t.name]
    return out


def unlinked(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    names = _names(claim)
    src = _names(source)
    claimed = {n for _, n in names}
    for (i, a), (j, b) in zip(names, names[1:]):
        if j - i > 4 or a == b:
            continue
        pos_a = [k for k, n in src if n == a]
        pos_b = [k for k, n in src if n == b]
        if not pos_a or not pos_b:
            continue  # a missing name is the name check's to report
        linked = any(not any(lo < k < hi and n not in claimed for k, n in src) for p in pos_a for q in pos_b for lo, hi in [sorted((p, q))])
        if not linked:
            return f"in the cited text another name stands between {a!r} and {b!r}"
    return None


def substituted(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    """A name standing where the cited text has another name: one the text lacks ("Jay Z released..."
    from "Beyoncé released...") or one it has elsewhere (two names swapped: "the club's overdraft with
    the Premier League" from "...with Barclays Bank is secured against the Premier League's fund").
    The words beside the claim's name match those beside the other name, never its own."""
    claimed = {t.low for t in claim}
    for i, t in enumerate(claim):
        if not t.name:
            continue
        mine = _beside(claim, i)
        own = [j for j, u in enumerate(source) if u.low == t.low]
        if any(_alike(mine, _beside(source, j)) for j in own):
            continue
        for j, u in enumerate(source):
            if not u.name or u.low == t.low or not _alike(mine, _beside(source, j)):
                continue
            if u.low not in claimed:
                return f"the cited text has {u.low!r} where the claim has {t.low!r}"
            # Both names are in both texts: a swap only if the other name also sits where this one does.
            theirs = [m for m, v in enumerate(claim) if v.low == u.low]
            if any(_alike(_beside(claim, m), _beside(source, k)) for m in theirs for k in own):
                return f"the claim swaps {t.low!r} and {u.low!r}"
    return None


_COPULAS = frozenset("is was are were".split())
_LINKING = frozenset("considered regarded known called named to be as".split())
_CLAUSE_BREAKS = frozenset("while whereas but although though".split())


def paired(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    """A claim of the one form "<name> is/was [considered to be] [the] <thing>.", where the text's clause
    naming the thing names another name and not the claim's, which the text names elsewhere. Clauses
    are cut at "while", "whereas", "but", "although" (the tokens carry no punctuation)."""
    c = next((i for i, t in enumerate(claim) if t.low in _COPULAS), None)
    if c is None or c == 0 or not all(t.name or t.low in _ARTICLES for t in claim[:c]):
        return None
    rest = list(claim[c + 1 :])
    while rest and (rest[0].low in _LINKING or rest[0].low in _ARTICLES):
        rest.pop(0)
    thing = [t.stem for t in rest]
    if not thing or any(t.name or t.low in STOPWORDS for t in rest):
        return None
    said = {t.low for t in rest}
    mine = {t.low for t in claim[:c] if t.name} - set(thing) - said
    stems = [t.stem for t in source]
    for at in (i for i in range(len(source) - len(thing) + 1) if stems[i : i + len(thing)] == thing):
        lo, hi = at, at + len(thing)
        while lo > 0 and source[lo - 1].low not in _CLAUSE_BREAKS:
            lo -= 1
        while hi < len(source) and source[hi].low not in _CLAUSE_BREAKS:
            hi += 1
        clause = {t.low for t in source[lo:hi] if t.name}
        others = clause - mine - said
        elsewhere = {t.low for t in source[:lo] + source[hi:] if t.name}
        if mine and not mine & clause and mine <= elsewhere and others:
            return f"the cited text says {' '.join(t.text for t in rest)!r} of {', '.join(sorted(others))}, not of {', '.join(sorted(mine))}"
    return None


def _beside(toks: tuple[Token, ...], i: int) -> set[tuple[int, str]]:
    """The words right before and after the name at ``i`` (the rest of a multi-word name skipped)."""
    out = set()
    for side in (-1, 1):
        k = i + side
        while 0 <= k < len(toks) and toks[k].name:
            k += side
        if 0 <= k < len(toks) and not toks[k].low[:1].isdigit():
            out.add((side, toks[k].stem))
    return out


def _alike(a: set[tuple[int, str]], b: set[tuple[int, str]]) -> bool:
    """Both neighbours shared, or one that is a content word."""
    shared = a & b
    return len(shared) == 2 or any(w not in STOPWORDS for _, w in shared)


def singled_out(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    """A figure given to one member of a group the text names together ("X and Y", "X, Y and Z")."""
    if not numbers(" ".join(t.text for t in claim)):
        return None
    claimed = {n for _, n in _names(claim)}
    lows = [t.low for t in source]
    for i, t in enumerate(source):
        if not t.name or t.low not in claimed:
            continue
        group = {u.low for u in source[max(0, i - 3) : i + 4] if u.name} - {t.low}
        joined = any(w in {"and", "with", "&"} for w in lows[max(0, i - 2) : i + 3])
        if joined and group and not group & claimed:
            return f"the cited text gives it to {t.low!r} together with {', '.join(sorted(group))}"
    return None


def _cross_named(toks: tuple[Token, ...], other: tuple[Token, ...]) -> tuple[Token, ...]:
    """A sentence's capitalised first word is a name when the other text writes it as one mid-sentence
    ("Microsoft first invested..." beside "...invested in Microsoft")."""
    if not toks or toks[0].name or not toks[0].text[:1].isupper():
        return toks
    if any(t.name and t.low == toks[0].low for t in other):
        return (Token(toks[0].text, toks[0].low, toks[0].stem, True), *toks[1:])
    return toks


RULES = {
    "qualifier": qualifier, "predicate": predicate, "negation": negation, "direction": direction,
    "reversed": reversed_roles, "unlinked": unlinked, "singled_out": singled_out, "substituted": substituted,
    "hedged": hedged, "paired": paired,
}


def contradiction(claim: str, source: str) -> tuple[str, str] | None:
    """(kind, reason) for the first rule the claim breaks against its cited text, or None."""
    c, s = _cross_named(tokens(claim), tokens(source)), _cross_named(tokens(source), tokens(claim))
    for kind, rule in RULES.items():
        reason = rule(c, s)
        if reason:
            return kind, reason
    return None

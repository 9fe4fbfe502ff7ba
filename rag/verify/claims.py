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

Each returns a one-line reason, or None. The rules about names (reversed, unlinked, substituted, singled
out, paired) are in rag/verify/name_rules.py, the tokens all of them read in rag/text/tokens.py. Precision and recall per kind are measured on controlled edits
of SQuAD-train sentences and on the local model's own claims: benchmarks/verify_claims.py.
"""

from __future__ import annotations

from rag.text.tokens import ARTICLES, Token, tokens
from rag.text.words import QUALIFIER_FAMILIES, STOPWORDS, stem
from rag.verify.name_rules import cross_named, paired, reversed_roles, singled_out, substituted, unlinked

# Antonym predicates, as stems of the forms a model writes.
_PAIRS = (
    (
        "increas rise rose risen rais grow grew grown gain expand boost climb soar",
        "decreas fall fell fallen reduc cut declin drop lower shrink shrank slash plung",
    ),
    (
        "begin began begun start launch open initi commenc kick",
        "end conclud finish close complet termin halt ceas wrap",
    ),
    ("approv accept allow permit grant", "reject deni refus block ban forbid forbad veto"),
    ("win won", "lose lost"),
    ("buy bought acquir purchas", "sell sold divest"),
    ("join", "leav left quit exit"),
    ("hire hired recruit", "fire fired dismiss laid"),
    ("support favor favour back", "oppos"),
    ("profit", "nonprofit non-profit"),
    ("success succeed", "fail failur"),
    # Comparisons: "the open-grown tree has thinner sapwood" kept against "...have thicker sapwood"
    # (the local model, 2026-12-04 live run). Stems as rag.verify.claims.tokens gives them.
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
_AUX = frozenset(
    {
        "be",
        "is",
        "was",
        "were",
        "are",
        "been",
        "being",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "yet",
        "to",
        "ever",
        "also",
    }
)


def stems_and_words(toks: tuple[Token, ...]) -> set[str]:
    """The stems and the lower-cased words of ``toks``: what an antonym family is matched against."""
    return {t.stem for t in toks} | {t.low for t in toks}


def qualifier(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    said = {t.low for t in source}
    for t in claim:
        for trigger, family in QUALIFIER_FAMILIES:
            if t.low in trigger and not family & said and not _is_ordinal_of_name(claim, t):
                return f"the cited text does not say {t.low!r}"
    return None


def _is_ordinal_of_name(claim: tuple[Token, ...], t: Token) -> bool:
    """ "First Lady", "the Last Supper": a qualifier word inside a name is not a qualifier."""
    return t.text[:1].isupper() and claim.index(t) > 0


def predicate(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    c, s = stems_and_words(claim), stems_and_words(source)
    for a, b in ANTONYMS:
        for mine, other in ((a, b), (b, a)):
            said = _hit(c, mine)
            if said and not _hit(s, mine) and (opposite := _hit(s, other)):
                return f"the cited text says {opposite!r}, not {said!r}"
    return None


def _hit(stems: set[str], family: frozenset[str]) -> str | None:
    return next((w for w in sorted(stems) if w in family), None)


def negation(claim: tuple[Token, ...], source: tuple[Token, ...]) -> str | None:
    c_neg, s_neg = negated_stems(claim), negated_stems(source)
    c_stems = {t.stem for t in claim}
    s_stems = {t.stem for t in source}
    for verb in s_neg - c_neg:
        if verb in c_stems:
            return f"the cited text negates {verb!r}"
    for verb in c_neg - s_neg:
        if verb in s_stems:
            return f"the claim negates {verb!r}, which the cited text asserts"
    return None


def negated_stems(toks: tuple[Token, ...]) -> set[str]:
    """Stems of the words a negation governs: the first word after it, auxiliaries and articles
    skipped. Verbs the stopword list holds count ("is not made", "was not said", "has not one of"):
    skipping every stopword let 13 inserted negations through (benchmarks/verify_claims.py)."""
    out = set()
    for i, t in enumerate(toks):
        if t.low in NEGATIONS or t.low.endswith("n't"):
            nxt = next((u for u in toks[i + 1 : i + 4] if u.low not in _AUX and u.low not in ARTICLES), None)
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
_HEDGES = frozenset(
    {
        "almost",
        "nearly",
        "about",
        "approximately",
        "around",
        "roughly",
        "some",
        "over",
        "under",
        "than",
        "least",
        "most",
        "circa",
        "estimated",
    }
)


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


RULES = {
    "qualifier": qualifier,
    "predicate": predicate,
    "negation": negation,
    "direction": direction,
    "reversed": reversed_roles,
    "unlinked": unlinked,
    "singled_out": singled_out,
    "substituted": substituted,
    "hedged": hedged,
    "paired": paired,
}


def contradiction(claim: str, source: str) -> tuple[str, str] | None:
    """(kind, reason) for the first rule the claim breaks against its cited text, or None."""
    c, s = cross_named(tokens(claim), tokens(source)), cross_named(tokens(source), tokens(claim))
    for kind, rule in RULES.items():
        reason = rule(c, s)
        if reason:
            return kind, reason
    return None

"""The claim rules about names (rag/verify/claims.py lists every kind): who did what to whom, which names the
text links, which name stands where, and what the text says of which name."""

from __future__ import annotations

from rag.text.tokens import ARTICLES, Token
from rag.text.words import STOPWORDS, numbers


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
        linked = any(
            not any(lo < k < hi and n not in claimed for k, n in src)
            for p in pos_a
            for q in pos_b
            for lo, hi in [sorted((p, q))]
        )
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
    if c is None or c == 0 or not all(t.name or t.low in ARTICLES for t in claim[:c]):
        return None
    rest = list(claim[c + 1 :])
    while rest and (rest[0].low in _LINKING or rest[0].low in ARTICLES):
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


def cross_named(toks: tuple[Token, ...], other: tuple[Token, ...]) -> tuple[Token, ...]:
    """A sentence's capitalised first word is a name when the other text writes it as one mid-sentence
    ("Microsoft first invested..." beside "...invested in Microsoft")."""
    if not toks or toks[0].name or not toks[0].text[:1].isupper():
        return toks
    if any(t.name and t.low == toks[0].low for t in other):
        return (Token(toks[0].text, toks[0].low, toks[0].stem, True), *toks[1:])
    return toks

"""Figures in a sentence with what they count: "$1.5 billion" is 1.5e9 dollars, "over 20%" a lower bound
on a percentage, "six-year" six of "year", "2019" a calendar year. What ``rag.conflicts.rules`` compares."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text.tokens import tokens
from rag.text.words import NUMBER_WORDS, STOPWORDS

_SCALE = {"thousand": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12}
_QUANTITY = re.compile(
    r"(?P<cur>[$€£¥])?\s?(?P<num>\d(?:[\d,]*\d)?(?:\.\d+)?)\s?(?P<scale>thousand|million|billion|trillion|bn|m|b)?\b\s?(?P<pct>%|percent|per cent)?",
    re.IGNORECASE,
)
_AT_LEAST = ("over", "more than", "at least", "above", "exceeding", "upwards of", "in excess of")
_AT_MOST = ("under", "less than", "up to", "below", "at most", "fewer than")
_ABOUT = (
    "about",
    "around",
    "approximately",
    "nearly",
    "almost",
    "roughly",
    "some",
    "close to",
    "an estimated",
    "circa",
    "c.",
)
# Counts written out ("five years", "forty-two"); the larger words multiply a figure ("$10 million") and
# are read with the units.
_NUMBER_WORDS = {w: v for w, v in NUMBER_WORDS.items() if v <= 100 and w != "dozen"}
_WORDED = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")[- ](?=[a-z])", re.IGNORECASE)
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str  # "$", "%", "calendar", "day", the counted noun's stem, or "#"
    text: str
    bound: str  # "", "at_least", "at_most" or "about"


def quantities(text: str) -> list[Quantity]:
    """Figures with their unit: ``$``, ``%``, ``calendar`` (a year), ``day`` (after a month's name), the
    counted noun's stem ("six-year" -> ``year``), or ``#`` for a bare number."""
    out = []
    for m in _QUANTITY.finditer(text):
        raw = m.group("num").replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        scale = (m.group("scale") or "").lower()
        # "5 m" (metres) and "Plan B" are not amounts: a one-letter scale only after a currency sign.
        if scale in {"m", "b"} and not m.group("cur"):
            scale = ""
        value *= _SCALE.get(scale, 1)
        before = text[: m.start()].lower().rstrip()
        bound = next(
            (
                name
                for name, words in (("at_least", _AT_LEAST), ("at_most", _AT_MOST), ("about", _ABOUT))
                if before.endswith(words)
            ),
            "",
        )
        if m.group("cur"):
            unit = m.group("cur")
        elif m.group("pct"):
            unit = "%"
        elif not scale and re.fullmatch(r"1[5-9]\d\d|20\d\d", raw):
            unit = "calendar"
        elif before.endswith(_MONTHS):
            unit = "day"
        else:
            unit = _counted(text[m.end() :]) or "#"
        out.append(Quantity(value, unit, m.group().strip(), bound))
    for m in _WORDED.finditer(text):
        unit = _counted(text[m.end() :])
        if unit:
            out.append(Quantity(float(_NUMBER_WORDS[m.group(1).lower()]), unit, m.group().strip(" -"), ""))
    return out


def _counted(after: str) -> str | None:
    """The stem of the noun a number counts ("6 months" -> "month"), or None."""
    noun = re.match(r"[\s-]*([A-Za-z][A-Za-z-]*)", after)
    word = noun.group(1).lower().split("-")[0] if noun else ""
    if word in {"dollars", "usd"}:
        return "$"
    if not word or word in STOPWORDS:
        return None
    return tokens(word)[0].stem


def agrees(x: Quantity, y: Quantity) -> bool:
    """Two mentions can be the same figure: equal, or within what a bound or a rounding allows."""
    if x.unit in {"calendar", "day"}:
        return x.value == y.value
    lo, hi = sorted((x.value, y.value))
    if hi == 0 or (hi - lo) / hi < 0.01:
        return True
    for q, other in ((x, y), (y, x)):
        if q.bound == "at_least" and other.value >= q.value:
            return True
        if q.bound == "at_most" and other.value <= q.value:
            return True
        if q.bound == "about" and abs(other.value - q.value) <= 0.15 * q.value:
            return True
    return False

"""Finds a resident's street from what they typed: typos, abbreviations, house numbers and all."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

MATCH_SCORE = 86  # at or above: we think this is their street and ask them to confirm
SUGGEST_SCORE = 55  # at or above: worth suggesting when nothing matched
TIE_MARGIN = 4  # streets this close to the best are offered side by side
MAX_CHOICES = 5

# Dutch street-name abbreviations residents type, mapped to the full word.
_ABBREVIATIONS = {
    "str": "straat",
    "ln": "laan",
    "wg": "weg",
    "pln": "plein",
    "pl": "plein",
    "st": "sint",
    "v": "van",
    "vd": "van de",
    "vd.": "van de",
}
_POSTCODE = re.compile(r"\b\d{4}\s?[a-z]{2}\b")
_HOUSE_NUMBER = re.compile(r"\b\d+\s*[a-z]?(?:[-/ ]\d+[a-z]?)?\b")
# Words every street name ends in: typed alone they say nothing about which street.
_GENERIC = frozenset({"straat", "laan", "weg", "plein", "dijk", "hof", "pad", "singel", "dreef", "park"})
_PLACE_NAMES = re.compile(r"\b(son en breugel|son|breugel)\s*$")


def normalise(text: str) -> str:
    """Lower case, no accents, no house number or postcode, abbreviations written out."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.replace("'", "").replace("’", "")
    text = _POSTCODE.sub(" ", text)
    text = re.sub(r"[,;.\-_/]+", " ", text)
    text = _HOUSE_NUMBER.sub(" ", text)
    words = [_ABBREVIATIONS.get(word, word) for word in text.split()]
    text = " ".join(words)
    text = re.sub(r"(\w)(str|ln|wg)$", lambda m: m.group(1) + _ABBREVIATIONS[m.group(2)], text)
    return _PLACE_NAMES.sub("", text).strip() or text.strip()


def compact(text: str) -> str:
    """`Kerk straat` and `Kerkstraat` are the same street; compare without spaces."""
    return normalise(text).replace(" ", "")


@functools.lru_cache(maxsize=8192)
def _compact_name(street: str) -> str:
    """`compact` for the village's own street names, worked out once each."""
    return compact(street)


@dataclass(frozen=True)
class StreetChoice:
    street_id: int
    street: str
    network_id: int
    network: str
    score: float


@dataclass(frozen=True)
class StreetSearch:
    """What was found: `matches` to confirm or choose from, else `suggestions`."""

    matches: tuple[StreetChoice, ...]
    suggestions: tuple[StreetChoice, ...]


def find_street(typed: str, streets: Sequence[StreetChoice]) -> StreetSearch:
    query = compact(typed)
    if len(query) < 3 or query in _GENERIC or not streets:
        return StreetSearch((), ())
    from rapidfuzz import process  # on first use: most of the time no one is looking for a street

    names = [_compact_name(choice.street) for choice in streets]
    scored = process.extract(query, names, scorer=_score, limit=None, score_cutoff=SUGGEST_SCORE)
    ranked = sorted(
        ((streets[index], score) for _, score, index in scored),
        key=lambda pair: (-pair[1], pair[0].street),
    )
    found = [_with_score(choice, score) for choice, score in ranked]
    if found and found[0].score >= MATCH_SCORE:
        best = found[0].score
        close = [choice for choice in found if choice.score >= max(MATCH_SCORE, best - TIE_MARGIN)]
        return StreetSearch(tuple(close[:MAX_CHOICES]), ())
    return StreetSearch((), tuple(found[:3]))


def _score(query: str, name: str, **_: object) -> float:
    # A resident may type the start of a long name ("jacob van ruys"): prefix counts fully,
    # but a short fragment inside a name ("straat") must not match every street.
    from rapidfuzz import fuzz

    whole = fuzz.ratio(query, name)
    if len(query) >= 4 and name.startswith(query):
        return max(whole, 95.0 if len(query) >= 0.5 * len(name) else 88.0)
    partial = fuzz.partial_ratio(query, name) if len(query) >= 0.6 * len(name) else 0.0
    return max(whole, partial * 0.95)


def _with_score(choice: StreetChoice, score: float) -> StreetChoice:
    return StreetChoice(choice.street_id, choice.street, choice.network_id, choice.network, round(score, 1))

"""Is an imported row a recommendation we already hold, from another source?

Pure rules, no I/O. Two rows are the same recommendation when they are about the same
country and cycle, share a recommending state, do not carry two different paragraph
numbers, and their texts match after normalisation with a similarity of at least
:data:`SAME` (rapidfuzz's normalised Indel ratio, 0-100). A candidate between
:data:`GREY` and :data:`SAME`, or more than one candidate at or above :data:`GREY`, is
*ambiguous*: listed for a reviewer, never guessed; so is a row whose paragraph number
belongs to stored recommendations none of which its text matches. The thresholds were chosen on the
real Cambodia 1st-cycle pairs (docs/imports.md, tests/unit/tracker/test_matching.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from rapidfuzz import fuzz

# At or above: the same recommendation. The closest two *different* recommendations by
# one state in the Cambodia data score 74; the same one in UPR Info's and the UN's
# wording (punctuation, "(State)", paragraph number, acronyms in brackets) scores >= 96.
SAME = 90.0
# From here up to SAME: maybe the same, a reviewer decides.
GREY = 78.0

_PARAGRAPH_PREFIX = re.compile(r"^\s*\d{1,3}(?:\.\d{1,3}){1,2}[a-z]?\.?\s+")
# "(Norway)", "(Norway, Spain)", "(Norway);" at the end of the UN's wording.
_STATE_SUFFIX = re.compile(r"\s*\([^()]{2,200}\)\s*[;.,]?\s*$")
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPACE = re.compile(r"\s+")
_HASH_ID = re.compile(r"-x[0-9a-f]{10}$")
_LETTER = re.compile(r"[a-z]$")


@lru_cache(maxsize=8192)  # a batch compares each stored text with many rows
def normalised(text: str) -> str:
    """The text as compared: case, punctuation, spacing, paragraph number and "(State)" ignored."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _PARAGRAPH_PREFIX.sub("", text)
    text = _STATE_SUFFIX.sub("", text)
    text = _NOT_WORD.sub(" ", text.casefold()).replace("_", " ")
    return _SPACE.sub(" ", text).strip()


def similarity(a: str, b: str) -> float:
    """0-100: how alike two recommendation texts are once normalised."""
    return float(fuzz.ratio(normalised(a), normalised(b)))


def is_fallback_id(recommendation_id: str) -> bool:
    """Ids made from a text hash (no paragraph number in the source): ``KHM-1-x0c13d35a59``."""
    return bool(_HASH_ID.search(recommendation_id))


def base_paragraph(paragraph: str | None) -> str | None:
    """``82.32a`` -> ``82.32``: UPR Info splits one paragraph of the report per state."""
    if not paragraph:
        return None
    return _LETTER.sub("", paragraph.strip().rstrip("."))


def state_codes(states: Iterable[Any]) -> set[str]:
    codes: set[str] = set()
    for state in states:
        code = state.get("code") if isinstance(state, Mapping) else getattr(state, "code", None)
        if code:
            codes.add(str(code).upper())
    return codes


@dataclass(frozen=True)
class Candidate:
    recommendation_id: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"recommendation_id": self.recommendation_id, "score": round(self.score, 1)}


@dataclass(frozen=True)
class Match:
    kind: Literal["same", "ambiguous", "none"]
    target: str | None = None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


def comparable(incoming: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """May these two be the same recommendation at all (before comparing texts)?"""
    if incoming.get("country") != stored.get("country") or incoming.get("cycle") != stored.get("cycle"):
        return False
    mine, theirs = state_codes(incoming.get("recommending_states") or []), \
        state_codes(stored.get("recommending_states") or [])
    if mine and theirs and not mine & theirs:
        return False
    para_in, para_stored = base_paragraph(incoming.get("paragraph")), base_paragraph(stored.get("paragraph"))
    # Two paragraph numbers that differ are two recommendations, however alike the words.
    return not (para_in and para_stored and para_in != para_stored)


def find_match(incoming: Mapping[str, Any], stored: Sequence[Mapping[str, Any]]) -> Match:
    """Which stored recommendation (plain dicts with ``_id`` or ``recommendation_id``) is ``incoming``?"""
    text = normalised(str(incoming.get("text") or ""))
    paragraph = base_paragraph(incoming.get("paragraph"))
    scored: list[Candidate] = []
    same_paragraph: list[Candidate] = []
    for doc in stored:
        if not comparable(incoming, doc):
            continue
        candidate = Candidate(str(doc.get("_id") or doc.get("recommendation_id")),
                              float(fuzz.ratio(text, normalised(str(doc.get("text") or "")))))
        if candidate.score >= GREY:
            scored.append(candidate)
        elif paragraph and base_paragraph(doc.get("paragraph")) == paragraph:
            same_paragraph.append(candidate)
    scored.sort(key=lambda c: (-c.score, c.recommendation_id))
    if not scored:
        # The same paragraph of the same report, in other words (e.g. UHRI's one row for a
        # paragraph that UPR Info splits per state): one of them, or several; a reviewer says.
        if same_paragraph:
            return Match("ambiguous", None, sorted(same_paragraph, key=lambda c: (-c.score, c.recommendation_id)))
        return Match("none")
    if len(scored) == 1 and scored[0].score >= SAME:
        return Match("same", scored[0].recommendation_id, scored)
    return Match("ambiguous", None, scored)

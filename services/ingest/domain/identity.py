"""Recommendation identity: ``<ISO3>-<cycle>-<paragraph>``, cycles from session numbers.

Fallback when a source has no paragraph number (UPR Info's CSV, some UHRI rows):
``<ISO3>-<cycle>-x<10 hex>``, the hex being the start of the SHA-256 of the text in
normalised form (Unicode NFKC, case-folded, punctuation removed, spaces collapsed).
The same text read from any file, in any encoding or spacing, gets the same id;
a corrected word gives a new id (there is no paragraph to tie it to).
"""

from __future__ import annotations

import hashlib
import re

from services.ingest.domain.sanitise import normalised_for_identity

# UPR Working Group sessions per cycle: 1st cycle sessions 1-12 (2008-2011), then 14
# sessions per cycle: 2nd 13-26 (2012-2016), 3rd 27-40 (2017-2022), 4th 41-54 (2022-2027).
# Cambodia: WG 6 -> 1, WG 18 -> 2, WG 32 -> 3, WG 46 -> 4.
FIRST_CYCLE_LAST_SESSION = 12
SESSIONS_PER_CYCLE = 14

PARAGRAPH = re.compile(r"^\d{1,3}(?:\.\d{1,3}){1,2}[a-z]?$")
_PARAGRAPH_PREFIX = re.compile(r"^\s*(\d{1,3}\.\d{1,3}(?:\.\d{1,3})?)\.?[\s\u00a0]+(?=\S)")
ID_PATTERN = re.compile(r"^[A-Z]{3}-\d{1,2}-[A-Za-z0-9.\-]{1,40}$")


def cycle_for_session(session: int) -> int:
    if session < 1:
        raise ValueError(f"session {session} is not a UPR Working Group session")
    if session <= FIRST_CYCLE_LAST_SESSION:
        return 1
    return 2 + (session - FIRST_CYCLE_LAST_SESSION - 1) // SESSIONS_PER_CYCLE


def split_paragraph_prefix(text: str) -> tuple[str | None, str]:
    """``"110.23 Ratify ..."`` -> ``("110.23", "Ratify ...")``; no number -> ``(None, text)``."""
    match = _PARAGRAPH_PREFIX.match(text)
    if not match:
        return None, text
    return match.group(1), text[match.end() :]


def text_fingerprint(text: str) -> str:
    return hashlib.sha256(normalised_for_identity(text).encode("utf-8")).hexdigest()[:10]


def recommendation_id(country: str, cycle: int, paragraph: str | None, text: str) -> str:
    if paragraph:
        return f"{country}-{cycle}-{paragraph}"
    return f"{country}-{cycle}-x{text_fingerprint(text)}"

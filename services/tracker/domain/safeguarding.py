"""Safeguarding: flag evidence text that seems to identify a child.

Evidence is about what the government did, never about a particular child. Text that
looks like it names one (a name with an age, a school with a village, a phone
number) is held for a reviewer instead of being published. The check errs on the
side of flagging: a reviewer can approve a false alarm.
"""

from __future__ import annotations

import re

_NAME = r"[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2}"
_AGE = r"(?:\d{1,2})\s*(?:-|\s)?\s*(?:years?[\s-]?old|yrs?|y/o|ឆ្នាំ)"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # "Sokha, 12", "Dara (14)", "Srey Pov, aged 9"
    ("name_with_age", re.compile(rf"\b{_NAME}\s*(?:,|\()\s*(?:aged\s+)?\d{{1,2}}\b\)?")),
    # "a 14-year-old girl named Dara", "named Dara, 13 years old"
    ("name_with_age", re.compile(rf"\b{_AGE}\b.{{0,40}}\b(?:named|called)\s+{_NAME}", re.DOTALL)),
    ("name_with_age", re.compile(rf"\b(?:named|called)\s+{_NAME}.{{0,40}}\b{_AGE}", re.DOTALL)),
    # Cambodian and international phone numbers: 012 345 678, +855 12 345 678
    ("phone_number", re.compile(r"(?:\+?855[\s-]?|\b0)\d{2}[\s-]?\d{3}[\s-]?\d{3,4}\b")),
    ("email_address", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
]

_SCHOOL = re.compile(r"\b(?:school|pagoda school|primary school|high school|សាលា)\b", re.IGNORECASE)
_VILLAGE = re.compile(r"\b(?:village|commune|phum|ភូមិ)\b", re.IGNORECASE)
_CHILD = re.compile(r"\b(?:child|girl|boy|student|pupil|victim|minor|កុមារ)\b", re.IGNORECASE)


def safeguarding_flags(*texts: str | None) -> list[str]:
    """Reasons the texts may identify a child; empty when nothing was found."""
    flags: list[str] = []
    for text in texts:
        if not text:
            continue
        for reason, pattern in _PATTERNS:
            if pattern.search(text) and reason not in flags:
                flags.append(reason)
        near_child = _SCHOOL.search(text) and _VILLAGE.search(text) and _CHILD.search(text)
        if near_child and "school_and_village" not in flags:
            flags.append("school_and_village")
    return flags

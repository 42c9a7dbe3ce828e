"""Safeguarding: flag text that seems to identify a child, wherever people write text.

Evidence is about what the government did, never about a particular child. Text that
looks like it names one (a name with an age, an age next to a village, a date of birth,
a school with a village, a phone number) is held for a reviewer instead of being shown.
The one set of rules for every entry point: evidence (title, quote, reference, URL,
organisation), assessment rationales, comments and report drafts, in English and Khmer.
The check errs on the side of flagging: a reviewer releases a false alarm.

Statistics about groups ("children aged 12-17", "under 5", "in 300 villages") are not
flagged: a range, a bound or a plural is not one child.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Text a held field shows until a reviewer releases or redacts it (the original is kept
# only in the access-controlled hold entry).
HELD_TEXT = "[held for safeguarding review]"
# What an erased original is replaced with in the hold entry.
ERASED_TEXT = "[erased]"

_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")

# Common Cambodian given names and family names (romanised and in Khmer script): a lowercase
# "sokha chan, 12" has no capital letter to go by.
_NAMES_LATIN = (
    "sokha|sokhom|sokun|sophea|sophal|sopheap|sophy|sophat|dara|vanna|vannak|bopha|channary|chanthy|"
    "chenda|kosal|piseth|rithy|veasna|visal|vibol|thida|leakhena|kanha|kunthea|malis|nary|phalla|"
    "rachana|samnang|sovann|sreymom|sreyneang|sreyleak|srey|pov|mony|narin|ratha|reaksmey|sothea|"
    "sopheak|sreypov|davy|dalin|kimsan|kimheng|sovanna|sokny|chanda|chantha|borey|bunthoeun|"
    "chan|chea|heng|keo|kim|ouk|pich|prak|seng|sok|yim|nhem|phan|nget|chhun|chhay|chhim|khiev|oum|"
    "tep|thach|vong|yun"
)
_NAMES_KHMER = (
    "សុខា(?!ភិបាល)|សុភា|សុផល|ដារ៉ា|វណ្ណា|បុប្ផា|ចន្ទធីតា|ចាន់ធី|ចិន្តា|ពិសិដ្ឋ|ឫទ្ធី|ធីតា|លក្ខិណា|"
    "គន្ធា|ម្លិះ|ណារី|ផល្លា|សំណាង|សុវណ្ណ|ស្រីមុំ|ស្រីនាង|ស្រីពៅ|ស្រីលក្ខ|មុន្នី|ចាន់|ហេង|គីម|សេង|យឹម|ញឹម"
)
# Khmer is written without spaces between words: a name only counts when it is not the start
# of a longer word (សុខាភិបាល is "health care", not Sokha).
_NAME = r"[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2}"  # "Sokha", "Srey Pov", "Sokha Chan"
_KNOWN_NAME = rf"(?i:\b(?:{_NAMES_LATIN})\b)|(?:{_NAMES_KHMER})"

# One child's age (digits already made ASCII): "12-year-old", "12 years old", "aged 12",
# "age: 12", "12 yrs", "12 y/o", Khmer "អាយុ ១២ ឆ្នាំ". Never a range ("aged 12-17",
# "12 to 17", "អាយុ ១២ ដល់ ១៧ ឆ្នាំ") or a bound ("under 5", "អាយុក្រោម ៥ ឆ្នាំ").
_NOT_RANGE = r"(?!\s*(?:-|–|to|and|or|ដល់|ទៅ)\s*\d)(?!\d)"
_NOT_AFTER = (r"(?<![\d.,\-–])(?<!to )(?<!and )(?<!or )(?<!under )(?<!below )(?<!over )(?<!than )"
              r"(?<!least )(?<!ដល់ )(?<!ដល់)")
# After "Name, 12": not a number of things ("Kampong Cham, 12 districts") nor a share.
_NOT_COUNT = r"(?!\s*(?:-|–|to)\s*\d)(?!\s*%)(?!\s+(?!years?\b|yrs?\b|y/?o\b|ឆ្នាំ)[^\W\d_])"
_CHILD = (
    r"(?:(?i:\b(?:child|girl|boy|daughter|son|student|pupil|victim|minor|orphan|baby|infant|teenager|"
    r"adolescent)\b)|កុមារ|ក្មេង|កូនស្រី|កូនប្រុស|សិស្ស|ជនរងគ្រោះ|ទារក)"
)
_AGE = (
    rf"(?:{_NOT_AFTER}\d{{1,2}}{_NOT_RANGE}\s*-?\s*(?i:years?[\s-]*old|yrs?\b|y/o\b|yo\b)"
    rf"|(?i:\baged?\s*:?\s*)\d{{1,2}}{_NOT_RANGE}"
    rf"|អាយុ\s*\d{{1,2}}{_NOT_RANGE}(?:\s*ឆ្នាំ)?"
    rf"|{_CHILD}\s*[,(]\s*\d{{1,2}}(?!\d){_NOT_COUNT})"  # "a boy (11)", "the girl, 9,"
)
_NAMED = r"(?:(?i:\b(?:named|called|name\s+is|name:))|ឈ្មោះ)"
_VILLAGE = r"(?:(?i:\b(?:village|phum|commune|khum)\b)|ភូមិ|ឃុំ)"
_MONTH = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)|មករា|កុម្ភៈ|មីនា|មេសា|ឧសភា|មិថុនា|កក្កដា|សីហា|កញ្ញា|តុលា|"
    r"វិច្ឆិកា|ធ្នូ"
)
# A calendar day: "3 May 2012", "May 3, 2012", "2012-05-03", "03/05/2012".
_DAY = (
    rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTH})\s*,?\s+\d{{4}}|(?:{_MONTH})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})"
)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # "Sokha, 12", "Dara (14)", "Srey Pov, aged 9"
    ("name_with_age", re.compile(rf"\b{_NAME}\s*(?:,|\()\s*(?:aged\s+)?\d{{1,2}}\b{_NOT_COUNT}")),
    # "sokha chan, 12", "dara (9)": a known name, lowercase or not
    ("name_with_age", re.compile(rf"(?:{_KNOWN_NAME})(?:\s+\w+){{0,2}}\s*[,(]\s*(?:aged\s+)?\d{{1,2}}(?!\d)"
                                 r"(?!\s*(?:-|–|to)\s*\d)(?!\s*%)")),
    # A clause that is just a few words and a number: "meng rith, 12."
    ("name_with_age", re.compile(r"(?:^|[.;:!?\n]\s*)(?i:[a-z]+(?:\s+[a-z]+){0,2}),\s*\d{1,2}\s*(?:[.,;)]|$)",
                                 re.MULTILINE)),
    # A known name near an age, either order: "A 12-year-old girl, Sokha Chan", "សុខា អាយុ ១២ ឆ្នាំ"
    ("name_with_age", re.compile(rf"(?:{_KNOWN_NAME}).{{0,60}}?{_AGE}|{_AGE}.{{0,60}}?(?:{_KNOWN_NAME})",
                                 re.DOTALL)),
    # "a 14-year-old girl named Dara", "Girl aged 12 named Sokha", "named Dara, 13 years old"
    ("name_with_age", re.compile(rf"{_AGE}.{{0,60}}?{_NAMED}\s*\S|{_NAMED}\s*\S.{{0,60}}?{_AGE}", re.DOTALL)),
    # "a 12-year-old girl, Chea Mony": an age, a child, then a capitalised name
    ("name_with_age", re.compile(rf"{_AGE}\s+{_CHILD}\s*,\s*{_NAME}")),
    # An age next to a village: "aged 12 from Kok Chak village", "អាយុ ១២ ឆ្នាំ នៅភូមិ..."
    ("village_with_age", re.compile(rf"{_AGE}.{{0,80}}?{_VILLAGE}|{_VILLAGE}.{{0,80}}?{_AGE}", re.DOTALL)),
    # A date of birth: "born 3 May 2012", "DOB 2012-05-03", "ថ្ងៃខែឆ្នាំកំណើត ០៣ ឧសភា ២០១២"
    ("date_of_birth", re.compile(rf"(?i:\bborn\s+(?:on\s+)?){_DAY}")),
    ("date_of_birth", re.compile(r"(?:(?i:\bd\.?o\.?b\b\.?|\bdate\s+of\s+birth\b)|កើតនៅថ្ងៃ|កើតថ្ងៃ)"
                                 r"\s*[:：៖ៈ-]?\s*(?:ទី\s*)?\d")),
    # The Khmer form label "date of birth" itself: policy text says ការចុះបញ្ជីកំណើត (birth registration).
    ("date_of_birth", re.compile(r"ថ្ងៃខែឆ្នាំកំណើត")),
    # Cambodian and international phone numbers: 012 345 678, +855 12 345 678
    ("phone_number", re.compile(r"(?:\+?855[\s-]?|\b0)\d{2}[\s-]?\d{3}[\s-]?\d{3,4}\b")),
    ("email_address", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
]

_URL_NAME_NUMBER = re.compile(rf"((?:{_KNOWN_NAME})(?:\s+[^\W\d_]+){{0,2}})\s+(\d{{1,2}})\b")
_SCHOOL = re.compile(r"\b(?:school|pagoda school|primary school|high school)\b|សាលា", re.IGNORECASE)
_VILLAGE_WORD = re.compile(_VILLAGE)
_CHILD_WORD = re.compile(_CHILD)


def _normalise(text: str) -> str:
    # Khmer digits count as digits; a URL's separators as spaces ("/sokha-chan-12" reads as words).
    return text.translate(_KHMER_DIGITS)


def safeguarding_flags(*texts: str | None) -> list[str]:
    """Reasons the texts may identify a child; empty when nothing was found."""
    flags: list[str] = []
    for raw in texts:
        if not raw:
            continue
        text = _normalise(raw)
        for reason, pattern in _PATTERNS:
            if reason not in flags and pattern.search(text):
                flags.append(reason)
        near_child = _SCHOOL.search(text) and _VILLAGE_WORD.search(text) and _CHILD_WORD.search(text)
        if near_child and "school_and_village" not in flags:
            flags.append("school_and_village")
    return flags


def flagged_fields(fields: Mapping[str, str | None]) -> dict[str, list[str]]:
    """The fields whose text may identify a child, with the reasons (only flagged fields)."""
    found: dict[str, list[str]] = {}
    for name, value in fields.items():
        reasons = safeguarding_flags(value, _url_words(value) if name == "url" else None)
        if reasons:
            found[name] = reasons
    return found


def all_reasons(flagged: Mapping[str, list[str]]) -> list[str]:
    """The distinct reasons of :func:`flagged_fields`, in the order first found."""
    reasons: list[str] = []
    for values in flagged.values():
        reasons += [r for r in values if r not in reasons]
    return reasons


def _url_words(url: str | None) -> str | None:
    """A URL's path as words, with a known name next to a number marked as "name, 12"."""
    if not url:
        return None
    words = re.sub(r"[-_/.=?&+]+", " ", url)
    return _URL_NAME_NUMBER.sub(lambda m: f"{m.group(1)}, {m.group(2)}", words)


def redact(fields: Mapping[str, str | None], flagged: Mapping[str, list[str]]) -> dict[str, str | None]:
    """The fields as others may see them while held: each flagged field replaced by :data:`HELD_TEXT`
    (a URL by nothing: a placeholder is not a link)."""
    return {name: (None if name == "url" else HELD_TEXT) if name in flagged else value
            for name, value in fields.items()}


# --- holds: what others see while a reviewer decides, and what each decision shows ----------


class RedactionStillFlagged(ValueError):
    """A reviewer's redacted text still looks like it identifies a child."""


def decide(
    decision: str, original: Mapping[str, str | None], flags: Mapping[str, list[str]], state: str,
    redacted: Mapping[str, str],
) -> tuple[dict[str, str | None], str, dict[str, str | None]]:
    """A reviewer's decision on held text: (what the documents show, the new state, what the hold
    entry keeps). ``release`` shows the original; ``redact`` shows the reviewer's text (checked
    again) and keeps the original in the hold entry; ``erase`` removes the original there too."""
    if decision == "release":
        if state == "erased":
            raise ValueError("the text was erased; there is nothing to release")
        return dict(original), "released", dict(original)
    if decision == "redact":
        if state == "erased":
            raise ValueError("the text was erased; there is nothing to redact")
        unknown = sorted(set(redacted) - set(original))
        if unknown:
            raise ValueError(f"no held field {', '.join(unknown)}")
        shown = {name: redacted.get(name, "" if name != "url" else None) if name in flags else value
                 for name, value in original.items()}
        still = flagged_fields({k: v for k, v in shown.items() if k in flags})
        if still:
            raise RedactionStillFlagged("the redacted text may still identify a child: " + "; ".join(
                f"{name} ({', '.join(reasons)})" for name, reasons in still.items()))
        return shown, "redacted", dict(original)
    if decision == "erase":
        erased: dict[str, str | None] = {name: ERASED_TEXT for name in original}
        if state == "redacted":
            return {}, "erased", erased  # the redacted text stays shown
        return {name: (None if name == "url" else ERASED_TEXT) for name in flags}, "erased", erased
    raise ValueError(f"unknown decision {decision!r}")

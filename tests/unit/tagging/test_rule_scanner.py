"""The rule layer tries each pattern only where a text's words say it may match (issue 12).

That must never change a label: every rule pattern, tried at its trigger words, finds
exactly what running the pattern over the whole text finds; and the things people notice
(a term as a whole word vs inside another word, odd letters, Khmer) behave as before.
"""

from __future__ import annotations

import re
import sys

import pytest

from contracts.taxonomy import load_taxonomy
from services.tracker.domain import tagging_rules as rules
from services.tracker.domain.tagging import Tagger, normalise

ALL_PATTERNS = sorted(
    {t.pattern for t in rules.CHILD_TERMS}
    | {c.pattern for c in rules.CUES}
    | {p for c in rules.CUES for p in (c.requires, c.unless) if p}
)

# Invented texts: UPR wording, terms glued to other words, inside words, next to
# punctuation that normalise keeps, numbers, Khmer, and letters IGNORECASE treats as i/s.
TEXTS = [
    "Allocate adequate budgetary resources to the implementation of the rights of children",
    "Ratify ILO Convention No. 182 and C138; ratify the ILO minimum age convention (c 182)",
    "Ratify the OP-CRC-SC, OPAC and OPIC and report to the Committee on the Rights of the Child",
    "Protect minors; the rights of minorities; demobilise the infantry; immunise infants",
    "Boycott the boys' school? No: build pre-schools and preschools for schoolchildren",
    "Combat drug trafficking and trafficking in persons, especially girls; sale of women",
    "Set the minimum age of marriage at 18 and raise the age of criminal responsibility",
    "Provide human rights education for police officers and judges, not for children",
    "Combat gender-based violence, rape and domestic violence against women and girls",
    "Online sexual exploitation, grooming, sextortion and child pornography on the internet",
    "Street children, children of migrant workers, stateless and indigenous children",
    "«children» …education… ‹girls› °juveniles° ¶orphans¶ 'adolescents' _minors_ child_labour",
    "ពង្រឹងការការពារកុមារ និងការអប់រំ កុមារពិការ ការចុះបញ្ជីកំណើត",
    "Protect chıldren and ſchools; educatıon for all gırls",  # dotless i, long s
    "CHILDREN IN DETENTION MUST BE SEPARATED FROM ADULTS",
    "",
    "   ",
    "c 138 c138 c1382 ilo no 182 labour organisation convention no 138",
    "childhood childrens child-friendly justice juvenile-justice juveniles",
    "educationalists, educational, education at all levels, and training of officials",
]


@pytest.fixture(scope="module")
def scanner() -> rules.RuleScanner:
    scanner = rules.RuleScanner()
    for pattern in ALL_PATTERNS:
        scanner.add(pattern)
    return scanner


def _spans(matches: object) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in matches]  # type: ignore[attr-defined]


def test_every_rule_pattern_has_triggers(scanner: rules.RuleScanner) -> None:
    """A pattern without triggers still works, but runs everywhere: the old, slow way."""
    assert [p.pattern for p in scanner.patterns if p.triggers is None] == []


@pytest.mark.parametrize("text", TEXTS)
def test_trigger_words_find_exactly_what_the_whole_text_scan_finds(scanner: rules.RuleScanner, text: str) -> None:
    norm = normalise(text)
    scanned = scanner.scan(norm)
    for pattern in scanner.patterns:
        expected = list(pattern.regex.finditer(norm))
        assert _spans(pattern.finditer(scanned)) == _spans(expected), pattern.pattern
        assert (pattern.search(scanned) is None) == (not expected), pattern.pattern
        if not expected:
            continue
        assert scanned.may_match(pattern), pattern.pattern


@pytest.mark.parametrize(
    ("text", "child_related"),
    [
        ("Protect minors from economic exploitation", True),
        ("Protect the rights of ethnic minorities", False),  # "minor" only inside a word
        ("Immunise all infants against measles", True),
        ("Reduce the size of the infantry", False),
        ("Consider ratifying OPSC", True),
        ("Consider ratifying OP-CEDAW", False),  # "op" + another treaty is not the CRC
        ("Protect chıldren from violence", True),  # dotless i reads as i, as it always did
    ],
)
def test_a_term_counts_as_a_whole_word_not_inside_another(text: str, child_related: bool) -> None:
    assert Tagger(load_taxonomy(), use_examples=False).tag(text).child_related is child_related


def test_matched_words_in_explanations_are_unchanged() -> None:
    rules_only = Tagger(load_taxonomy(), use_examples=False)
    result = rules_only.tag("Ratify ILO Convention No. 182 on the worst forms of child labour")
    assert [(t.id, t.explanation) for t in result.themes] == [
        ("T17", "rules: 'worst forms of child labour' (child labour), 'ilo convention no 182' (ILO C138/C182)")
    ]
    assert result.explanation == "child-related: children, ILO C138/C182"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\b(budget\w*|resources)\b", rules.Triggers(words=frozenset({"budg", "reso"}))),
        (r"\bboys?\b", rules.Triggers(words=frozenset({"boys"}), whole_words=frozenset({"boy"}))),
        (r"\bc ?(138|182)\b", rules.Triggers(words=frozenset({"c138", "c182"}), whole_words=frozenset({"c"}))),
        (r"\b(de)?institution", rules.Triggers(words=frozenset({"dein", "inst"}))),
        ("កុមារ", rules.Triggers(anywhere=frozenset({"កុមា"}))),
        (r"\b\w+ing\b", None),  # any word may begin a match: tried everywhere
        (r"(?i:Child)", None),
    ],
)
def test_triggers_are_the_beginnings_every_match_must_have(pattern: str, expected: rules.Triggers | None) -> None:
    assert rules.derive_triggers(pattern) == expected


def test_a_pattern_without_triggers_still_matches_everywhere() -> None:
    scanner = rules.RuleScanner()
    pattern = scanner.add(r"\b\w+hood\b")
    scanned = scanner.scan("in childhood and motherhood")
    assert [m.group() for m in pattern.finditer(scanned)] == ["childhood", "motherhood"]


# --- the character facts the scanner relies on (checked over all of Unicode) ----------


@pytest.fixture(scope="module")
def every_character() -> str:
    return "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)


def test_case_twins_are_all_lower_case_letters_ignorecase_reads_as_ascii(every_character: str) -> None:
    lowered = set(every_character.lower())
    twins = {c for c in re.findall(r"[a-z]", every_character, re.IGNORECASE) if not "a" <= c <= "z"}
    assert {c for c in twins if c in lowered} <= set(rules.CASE_TWINS.pattern.strip("[]"))
    # Digits, space, underscore and Khmer have no case: equal is the only way to match.
    caseless = re.compile(r"[0-9 _\u1780-\u17ff\u19e0-\u19ff]", re.IGNORECASE)
    assert caseless.findall(every_character) == re.compile(caseless.pattern).findall(every_character)


def test_word_characters_and_white_space_are_what_the_fast_paths_assume(every_character: str) -> None:
    word_characters = "".join(re.findall(r"\w", every_character))  # \w is isalnum() or "_"
    assert word_characters.replace("_", "") == "".join(filter(str.isalnum, every_character))
    assert "_" in word_characters
    # \s is what str.split() splits at
    assert "".join(re.findall(r"\s", every_character)) == "".join(filter(str.isspace, every_character))


def test_normalise_is_the_regex_definition(every_character: str) -> None:
    punct = re.compile(r"[!-/:-@\[-`{-~\u2010-\u2015\u2018-\u201f\u00a0]+")

    def by_regex(text: str) -> str:
        return re.sub(r"\s+", " ", punct.sub(" ", text.lower())).strip()

    samples = [*TEXTS, every_character[:5000], " \u2028a\u00a0-\u2014b\t\n", "ǅ İ ẞ ﬁ K"]
    assert [normalise(t) for t in samples] == [by_regex(t) for t in samples]

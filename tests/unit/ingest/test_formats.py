"""Every real-world format a CSO member or CNCC staff may have, read from committed fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.events import Position
from services.ingest.adapters.files import detect_format

LEGACY = [
    "upr_info_khm_2009_cp1252.csv",
    "upr_info_khm_2009_macroman.csv",
    "upr_info_khm_2009_utf8_bom.csv",
    "upr_info_khm_2009_cr.csv",
]


@pytest.mark.parametrize("name", LEGACY)
def test_upr_info_csv_in_any_legacy_encoding_gives_the_same_138_recommendations(name, fixtures, parse) -> None:
    path: Path = fixtures / name
    assert detect_format(path) == "upr_info_csv"
    parsed = parse(path)
    assert parsed.errors == []
    assert len(parsed.rows) == 138
    raw = parse(Path("/work/shared/data/upr_info_raw_khm_2009.csv"))
    # Same ids as the original file: typographic apostrophes do not change identity.
    assert set(parsed.by_id) == set(raw.by_id)
    texts = " ".join(r.recommendation.text for r in parsed.rows)
    assert "’" in texts and "Ã" not in texts and "\ufffd" not in texts
    states = {s.name for r in parsed.rows for s in r.recommendation.recommending_states}
    codes = {s.code for r in parsed.rows for s in r.recommendation.recommending_states}
    assert "TUR" in codes and "BIH" in codes and "COG" in codes and "LAO" in codes and "KOR" in codes
    assert all(len(c) == 3 for c in codes), states


@pytest.mark.parametrize(("name", "fmt"), [("uhri_khm_cycle1.csv", "uhri_csv"), ("uhri_khm_cycle1.xlsx", "uhri_xlsx")])
def test_uhri_export_gives_one_recommendation_per_paragraph_with_all_states(name, fmt, fixtures, parse) -> None:
    path = fixtures / name
    assert detect_format(path) == fmt
    parsed = parse(path)
    assert parsed.errors == []
    assert len(parsed.rows) == 91  # 91 paragraphs 82.1-82.91 in A/HRC/13/4
    rec = parsed.by_id["KHM-1-82.32"]
    assert rec.paragraph == "82.32"
    assert not rec.text.startswith("82.32")
    assert [s.code for s in rec.recommending_states] == ["NOR", "PHL", "SVK", "ITA", "BLR", "MYS", "ESP", "DEU"]
    assert "Trafficking in persons" in rec.source_themes
    assert "16.2" in rec.sdgs
    assert rec.affected_persons == ["Children", "Women & girls"]
    # Excel serial numbers and real date cells both become the report's date.
    assert {r.recommendation.publication_date.isoformat() for r in parsed.rows} == {"2010-01-04"}
    assert "KHM-1-82.10" in parsed.by_id and parsed.by_id["KHM-1-82.10"].paragraph == "82.10"


@pytest.mark.parametrize("name", ["uhri_khm_cycle1.csv", "uhri_khm_cycle1.xlsx"])
def test_khmer_text_survives_import_unchanged(name, fixtures, parse) -> None:
    rec = parse(fixtures / name).by_id["KHM-1-82.9"]
    assert rec.text.startswith("ពង្រឹងសមត្ថភាពស្ថាប័នពាក់ព័ន្ធ")
    assert rec.text.endswith("ពលកម្មកុមារ")


def test_ohchr_matrix_rows_take_theme_state_and_report_from_the_cell(fixtures, parse) -> None:
    path = fixtures / "ohchr_matrix_khm_cycle1.docx"
    assert detect_format(path) == "ohchr_matrix_docx"
    parsed = parse(path)
    assert parsed.errors == []
    assert len(parsed.rows) == 9  # 82.20 is listed under two themes: one recommendation
    rec = parsed.by_id["KHM-1-82.9"]
    assert rec.cycle == 1 and rec.session == 6 and rec.country == "KHM"
    assert rec.document_symbol == "A/HRC/13/4"
    assert [s.code for s in rec.recommending_states] == ["USA"]
    assert rec.text.startswith("Reinforce relevant institutional capacity")
    assert rec.source_themes == ["F31 Children: definition; general principles; protection"]
    both = parsed.by_id["KHM-1-82.20"]
    assert both.source_themes == [
        "F31 Children: definition; general principles; protection",
        "H1 Human rights defenders",
    ]
    assert {s.code for s in both.recommending_states} == {"NOR", "ESP"}


def test_ohchr_matrix_of_the_fourth_cycle_reads_noted_and_addendum_source(tmp_path, parse) -> None:
    from tests.fixtures.ingest.make_fixtures import write_matrix

    path = tmp_path / "matrix.docx"
    write_matrix(
        path,
        [
            (
                "A12 Acceptance of international norms",
                [
                    ("110.23", "Ratify the Optional Protocol to the Convention against Torture", "Maldives", "Noted"),
                    (
                        "110.24",
                        "Adopt the Child Protection Law",
                        "Chile, Bolivia (Plurinational State of)",
                        "Supported",
                    ),
                ],
            )
        ],
        title="UPR of Cambodia (4th Cycle – 46th session)",
    )
    parsed = parse(path)
    assert parsed.errors == []
    noted = parsed.by_id["KHM-4-110.23"]
    assert noted.position is Position.NOTED and noted.session == 46
    assert [s.code for s in parsed.by_id["KHM-4-110.24"].recommending_states] == ["CHL", "BOL"]


def test_recommendation_template_round_trips_its_example_row(fixtures, parse) -> None:
    path = fixtures / "template_recommendations.xlsx"
    assert detect_format(path) == "template_xlsx"
    parsed = parse(path)
    assert parsed.errors == []
    rec = parsed.by_id["KHM-1-82.9"]
    assert rec.sdgs == ["8.7"] and rec.recommending_states[0].code == "USA"


def test_evidence_template_gives_evidence_submissions(fixtures, parse) -> None:
    path = fixtures / "template_evidence.xlsx"
    assert detect_format(path) == "evidence_template_xlsx"
    parsed = parse(path)
    assert parsed.errors == [] and parsed.rows == []
    evidence = parsed.evidence[0].evidence
    assert evidence.recommendation_ids == ["KHM-4-110.23"]
    assert evidence.source_type.value == "training"
    assert evidence.published_on.isoformat() == "2024-06-30"


def test_filled_template_with_khmer_and_several_states(tmp_path, parse) -> None:
    import openpyxl

    from services.ingest.adapters.files.templates import write_recommendation_template

    path = write_recommendation_template(tmp_path / "t.xlsx")
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Recommendations"]
    headers = [c.value for c in sheet[1]]
    row = dict.fromkeys(headers, None)
    row.update(
        country="Cambodia",
        session=46,
        paragraph="110.23",
        text="Adopt the Child Protection Law",
        text_km="អនុម័តច្បាប់ស្តីពីកិច្ចការពារកុមារ",
        recommending_states="Viet Nam\nTürkiye; State of Palestine",
        position="accepted",
    )
    sheet.append([row[h] for h in headers])
    workbook.save(path)
    parsed = parse(path)
    rec = parsed.by_id["KHM-4-110.23"]
    assert rec.text_km == "អនុម័តច្បាប់ស្តីពីកិច្ចការពារកុមារ"
    assert [s.code for s in rec.recommending_states] == ["VNM", "TUR", "PSE"]
    assert rec.position is Position.SUPPORTED and rec.cycle == 4


def test_format_override_reads_a_file_whose_content_is_ambiguous(fixtures, parse) -> None:
    parsed = parse(fixtures / "upr_info_khm_2009_cr.csv", format="upr_info_csv", cycle=1, country="KHM")
    assert len(parsed.rows) == 138

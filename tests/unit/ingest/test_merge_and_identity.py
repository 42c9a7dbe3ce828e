"""Recommendation identity, cycles and merging of one recommendation spread over rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.adapters.files import parse_file
from services.ingest.domain.countries import iso3
from services.ingest.domain.identity import cycle_for_session, recommendation_id
from services.ingest.domain.records import normalise_position


@pytest.mark.parametrize(
    ("session", "cycle"),
    [(1, 1), (6, 1), (12, 1), (13, 2), (18, 2), (26, 2), (27, 3), (32, 3), (40, 3), (41, 4), (46, 4), (54, 4), (55, 5)],
)
def test_cycle_follows_from_the_working_group_session(session: int, cycle: int) -> None:
    assert cycle_for_session(session) == cycle


def test_fallback_id_ignores_case_spacing_and_punctuation() -> None:
    a = recommendation_id("KHM", 1, None, "Adopt the State's law  on children.")
    b = recommendation_id("KHM", 1, None, "adopt the State’s law on children")
    assert a == b and a.startswith("KHM-1-x") and len(a) == len("KHM-1-x") + 10
    assert recommendation_id("KHM", 4, "110.23", "x") == "KHM-4-110.23"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Bolivia (Plurinational State of)", "BOL"),
        ("Iran (Islamic Republic of)", "IRN"),
        ("Republic of Korea", "KOR"),
        ("Viet Nam", "VNM"),
        ("Côte d'Ivoire", "CIV"),
        ("Türkiye", "TUR"),
        ("Holy See", "VAT"),
        ("State of Palestine", "PSE"),
        ("Cambodia", "KHM"),
        ("khm", "KHM"),
    ],
)
def test_un_country_names_become_iso3(name: str, code: str) -> None:
    assert iso3(name) == code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Accepted", "Supported"),
        ("A", "Supported"),
        ("supported", "Supported"),
        ("Noted", "Noted"),
        ("N", "Noted"),
        ("rejected", "Noted"),
        ("Pending", None),
        ("", None),
    ],
)
def test_positions_are_normalised(value: str, expected: str | None) -> None:
    position = normalise_position(value)
    assert (position.value if position else None) == expected


HEADER = "To,To-Rgrp,To-Org,Text,From,From-Rgrp,From-Org,Response,Action,Issue,Session\n"


def _upr_info(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_one_row_per_state_becomes_one_recommendation_with_all_states(tmp_path: Path, parse) -> None:
    path = _upr_info(
        tmp_path / "m.csv",
        [
            "Cambodia,,,Adopt the Child Protection Law,Chile,,,Accepted,,,46",
            "Cambodia,,,Ratify OP3,Chile,,,Noted,,,46",
            "Cambodia,,,Adopt the child protection law.,Sweden,,,Accepted,,,46",
            'Cambodia,,,Adopt the Child Protection Law,"Maldives; Viet Nam",,,Accepted,,,46',
        ],
    )
    parsed = parse(path)
    assert parsed.errors == []
    assert len(parsed.rows) == 2
    first = parsed.rows[0]
    assert [s.code for s in first.recommendation.recommending_states] == ["CHL", "SWE", "MDV", "VNM"]
    assert first.recommendation.cycle == 4
    assert first.merged_rows == (4, 5)


def test_big_files_are_merged_in_two_passes_with_the_same_result(tmp_path: Path) -> None:
    rows = [
        f"Cambodia,,,Recommendation number {i // 2},{'Chile' if i % 2 else 'Sweden'},,,Accepted,,,46"
        for i in range(200)
    ]
    path = _upr_info(tmp_path / "big.csv", [*rows, rows[0]])
    one_pass = list(parse_file(path, import_id="x"))
    two_passes = list(parse_file(path, import_id="x", buffer_rows=10))
    assert one_pass == two_passes
    assert sum(1 for i in one_pass if hasattr(i, "recommendation")) == 100
    assert [getattr(i, "row", None) for i in one_pass if not hasattr(i, "recommendation")] == [202]

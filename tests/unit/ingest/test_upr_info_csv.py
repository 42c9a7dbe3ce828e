"""UPR Info CSV files, raw and cleaned, as CSO members download them."""

from __future__ import annotations

from pathlib import Path

from contracts.events import Position
from services.ingest.adapters.files import detect_format, parse_file
from services.ingest.domain import ParsedRow, RowError

DATA = Path("/work/shared/data")
RAW = DATA / "upr_info_raw_khm_2009.csv"
CLEAN = DATA / "upr_info_khm_cycle1_2009.csv"


def _parse(path: Path, **kwargs: object) -> tuple[list[ParsedRow], list[RowError]]:
    items = list(parse_file(path, import_id="test", **kwargs))  # type: ignore[arg-type]
    return [i for i in items if isinstance(i, ParsedRow)], [i for i in items if isinstance(i, RowError)]


def test_raw_first_cycle_file_gives_138_supported_recommendations_of_cambodia_cycle_1() -> None:
    rows, errors = _parse(RAW)
    assert errors == []
    # 138 rows, 138 distinct texts: no paragraph numbers, so nothing to merge.
    assert len(rows) == 138
    recs = [r.recommendation for r in rows]
    assert {r.country for r in recs} == {"KHM"}
    assert {r.cycle for r in recs} == {1}
    assert {r.session for r in recs} == {6}
    assert {r.position for r in recs} == {Position.SUPPORTED}
    assert all(r.recommendation_id.startswith("KHM-1-x") for r in recs)
    assert len({r.recommendation_id for r in recs}) == 138


def test_raw_file_never_carries_upr_info_issue_or_action() -> None:
    rows, _ = _parse(RAW)
    assert all(r.recommendation.action_category is None for r in rows)
    assert all(r.recommendation.source_themes == [] for r in rows)


def test_cleaned_file_keeps_letter_suffixed_ids_as_given() -> None:
    assert detect_format(CLEAN) == "upr_info_clean_csv"
    rows, errors = _parse(CLEAN)
    assert errors == []
    ids = [r.recommendation.recommendation_id for r in rows]
    assert len(ids) == 138
    assert "KHM-1-82.32a" in ids and "KHM-1-82.1" in ids
    by_id = {r.recommendation.recommendation_id: r.recommendation for r in rows}
    assert by_id["KHM-1-82.10"].paragraph == "82.10"
    assert by_id["KHM-1-82.1"].document_symbol == "A/HRC/13/4"
    assert by_id["KHM-1-82.1"].recommending_states[0].code == "BRA"

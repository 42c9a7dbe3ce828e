"""Whatever bytes arrive, the importers answer with errors, never with an exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.adapters.files import parse_file
from services.ingest.domain import FORMATS, ParsedEvidence, ParsedRow, RowError
from services.ingest.domain.sanitise import split_multi

HEADER = "To,To-Rgrp,To-Org,Text,From,From-Rgrp,From-Org,Response,Action,Issue,Session\n"


def _parse_bytes(data: bytes, fmt: str | None = None) -> list[object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_bytes(data)
        return list(parse_file(path, format=fmt, import_id="p"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from([None, *FORMATS]))
def test_arbitrary_bytes_give_items_never_exceptions(data: bytes, fmt: str | None) -> None:
    for item in _parse_bytes(data, fmt):
        assert isinstance(item, ParsedRow | ParsedEvidence | RowError)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.text(max_size=40), min_size=0, max_size=12), max_size=8),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "mac_roman"]),
)
def test_arbitrary_upr_info_rows_give_rows_or_errors(rows: list[list[str]], encoding: str) -> None:
    import csv
    import io

    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    text = HEADER + buffer.getvalue()
    data = text.encode(encoding, errors="replace")
    items = _parse_bytes(data)
    assert all(isinstance(i, ParsedRow | ParsedEvidence | RowError) for i in items)
    for item in items:
        if isinstance(item, RowError) and item.row is not None:
            assert item.message


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200))
def test_any_recommendation_text_is_kept_or_rejected_with_a_reason(text: str) -> None:
    import csv
    import io

    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerow(["Cambodia", "", "", text, "France", "", "", "Accepted", "", "", "46"])
    items = _parse_bytes((HEADER + buffer.getvalue()).encode("utf-8"))
    assert len([i for i in items if not (isinstance(i, RowError) and i.warning)]) >= 1
    for item in items:
        if isinstance(item, ParsedRow):
            assert item.recommendation.text.strip()
            assert item.recommendation.recommendation_id.startswith("KHM-4-")


@given(st.lists(st.text(alphabet="abc XYZ", min_size=1, max_size=10).filter(str.strip), min_size=1, max_size=5))
def test_uhri_multi_values_round_trip(items: list[str]) -> None:
    cell = "\n".join(f"- {i}" for i in items)
    assert split_multi(cell) == [i.strip() for i in items]

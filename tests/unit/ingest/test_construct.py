"""The fast path of the importer (rows built without re-validating, ids indexed only when
they repeat) gives exactly what validating every row gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.adapters.files import parse_file
from services.ingest.domain import ParsedRow, construct
from services.ingest.domain.construct import CONTRACT_FINGERPRINT, fingerprint

HEADER = (
    "Text,Countries Concerned,Document Symbol,UPR Reccomending States,UPR Position,UPR Session,"
    "OHCHR Annotation Id"
)


def test_the_contract_is_the_one_the_fast_path_was_written_for() -> None:
    # Fails when contracts/events.py changes RecommendationImportedV1, RecommendingState or
    # SourceRef (or pydantic changes): rows are then validated one by one (correct, slower).
    # Check that construct.accepts still covers what the new contract refuses or changes,
    # then record the new fingerprint in construct.CONTRACT_FINGERPRINT.
    assert fingerprint() == CONTRACT_FINGERPRINT, f"new fingerprint: {fingerprint()}"


def _snapshot(items: list[object]) -> list[object]:
    out: list[object] = []
    for item in items:
        if isinstance(item, ParsedRow):
            rec = item.recommendation
            out.append(
                (
                    item.row,
                    rec.__dict__,
                    rec.__pydantic_fields_set__,
                    rec.__pydantic_extra__,
                    rec.__pydantic_private__,
                    rec.source.__dict__,
                    rec.source.__pydantic_fields_set__,
                    repr(rec),
                    rec.model_dump_json(),
                    item.warnings,
                    item.merged_rows,
                )
            )
        else:
            out.append(item)
    return out


def _files(fixtures: Path, tmp_path: Path) -> list[Path]:
    lines = [
        '"110.1 Ratify the convention",Cambodia,A/HRC/13/4,"- France\n- Brazil",Supported,6,2000001',
        '"110.2 <b>Adopt</b> a law &amp; apply it",Cambodia,A/HRC/13/4,- Atlantis,Noted,6," 2000002 "',
        '"110.3 Tab\tand\x0bcontrol",Viet Nam,A/HRC/13/4,France,A,7,- 2000003',
        '"=HYPERLINK(""x"")",Cambodia,A/HRC/13/4,France,Supported,6,2000004',
        '"110.1 Ratify the convention",Cambodia,A/HRC/13/4,- Chile,Supported,6,',
        '"110.4 Khmer ការពារ",Cambodia,' + "S" * 150 + ",France,Supported,6,<b>2000006</b>",
        '"110.5 Text",Cambodia,A/HRC/13/4,France,Supported,0,a b',
        '"No paragraph here",Cambodia,A/HRC/13/4,France,Supported,250,' + "x" * 70,
        '"110.6 Text",Cambodia,A/HRC/13/4,France,Supported,6,=1+2',
        '"110.7 Text",Cambodia,A/HRC/13/4,France,Supported,6,ann.7_x-1',
    ]
    made = tmp_path / "uhri.csv"
    made.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return [*sorted(p for p in fixtures.iterdir() if p.suffix in (".csv", ".xlsx", ".docx")), made]


@pytest.mark.parametrize("buffer_rows", [5_000, 1])
def test_fast_construction_equals_validation(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buffer_rows: int
) -> None:
    for path in _files(fixtures, tmp_path):
        fast = _snapshot(list(parse_file(path, import_id="t", buffer_rows=buffer_rows)))
        with monkeypatch.context() as patch:
            patch.setattr(construct, "enabled", lambda: False)
            validated = _snapshot(list(parse_file(path, import_id="t", buffer_rows=buffer_rows)))
        assert fast == validated, path.name


def test_many_passes_give_the_one_pass_result(fixtures: Path, tmp_path: Path) -> None:
    for path in _files(fixtures, tmp_path):
        one_pass = _snapshot(list(parse_file(path, import_id="t", cycle=None)))
        passes = _snapshot(list(parse_file(path, import_id="t", buffer_rows=1)))
        assert one_pass == passes, path.name
        # A file over buffer_bytes goes to the passes without being built into the buffer first.
        big = _snapshot(list(parse_file(path, import_id="t", buffer_bytes=0)))
        assert one_pass == big, path.name

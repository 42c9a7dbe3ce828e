from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.adapters.files import parse_file
from services.ingest.domain import ParsedEvidence, ParsedRow, RowError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ingest"


class Parsed:
    def __init__(self, path: Path, **kwargs: object) -> None:
        self.items = list(parse_file(path, import_id="test-import", **kwargs))  # type: ignore[arg-type]
        self.rows = [i for i in self.items if isinstance(i, ParsedRow)]
        self.evidence = [i for i in self.items if isinstance(i, ParsedEvidence)]
        self.errors = [i for i in self.items if isinstance(i, RowError) and not i.warning]
        self.warnings = [i for i in self.items if isinstance(i, RowError) and i.warning] + [
            w for i in self.rows for w in i.warnings
        ]

    @property
    def by_id(self) -> dict[str, object]:
        return {r.recommendation.recommendation_id: r.recommendation for r in self.rows}


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def parse() -> type[Parsed]:
    return Parsed

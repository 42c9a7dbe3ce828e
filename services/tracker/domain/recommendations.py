"""Rules for storing an imported recommendation: new, changed (new version) or unchanged."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from contracts.events import FieldChange, RecommendationImportedV1

# A recommendation's id begins with its country and cycle (``KHM-4-110.23``, ``KHM-1-x0c13d35a59``).
_ID_PREFIX = re.compile(r"^([A-Z]{3})-(\d{1,2})-")


def cycle_of(recommendation_id: str) -> tuple[str, int] | None:
    """The (country, cycle) an id names, or ``None`` for an id of another shape."""
    match = _ID_PREFIX.match(recommendation_id)
    return (match.group(1), int(match.group(2))) if match else None


def id_mismatch(incoming: RecommendationImportedV1) -> str | None:
    """Why an imported row's id and its country or cycle disagree, if they do: the id is where
    the read models find a recommendation's cycle, so such a row is refused, never stored."""
    if cycle_of(incoming.recommendation_id) != (incoming.country, incoming.cycle):
        return (f"recommendation_id {incoming.recommendation_id!r} does not begin with its country and cycle "
                f"({incoming.country}-{incoming.cycle}-)")
    return None


# Fields whose change makes a new version. Provenance (file name, row, import id) does not.
VERSIONED_FIELDS = (
    "text",
    "text_km",
    "position",
    "recommending_states",
    "document_symbol",
    "paragraph",
    "session",
    "source_themes",
    "affected_persons",
    "sdgs",
    "action_category",
    "publication_date",
)
# Versioned too, but only sources of a later contract version carry them (OHCHR's annotation
# id: recommendation.imported v2). Absent from the content (and its hash) when empty, so
# recommendations stored before keep their hash and a re-import of their file changes nothing.
OPTIONAL_FIELDS = ("annotation_id",)
ALL_FIELDS = VERSIONED_FIELDS + OPTIONAL_FIELDS


def content_of(incoming: RecommendationImportedV1) -> dict[str, Any]:
    data = incoming.model_dump(mode="json")
    content = {name: data[name] for name in VERSIONED_FIELDS}
    content.update({name: data[name] for name in OPTIONAL_FIELDS if data.get(name)})
    return content


def stored_content(doc: dict[str, Any]) -> dict[str, Any]:
    """The versioned content of a stored recommendation, as :func:`content_of` gave it."""
    content = {name: _comparable(doc.get(name)) for name in VERSIONED_FIELDS}
    content.update({name: doc[name] for name in OPTIONAL_FIELDS if doc.get(name)})
    return content


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class ImportDecision:
    outcome: Literal["created", "updated", "unchanged"]
    version: int
    content: dict[str, Any]
    content_hash: str
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def text_changed(self) -> bool:
        return self.outcome == "created" or any(c.field in ("text", "source_themes", "sdgs") for c in self.changes)


def decide_import(existing: dict[str, Any] | None, incoming: RecommendationImportedV1) -> ImportDecision:
    """Compare an imported row with the stored recommendation (as a plain dict)."""
    content = content_of(incoming)
    digest = content_hash(content)
    if existing is None:
        return ImportDecision("created", 1, content, digest)
    if existing.get("content_hash") == digest:
        return ImportDecision("unchanged", int(existing.get("version", 1)), content, digest)
    changes = [
        FieldChange(field=name, before=_comparable(existing.get(name)), after=content[name])
        for name in ALL_FIELDS
        if _comparable(existing.get(name)) != content.get(name)
    ]
    return ImportDecision("updated", int(existing.get("version", 1)) + 1, content, digest, changes)


def _comparable(value: Any) -> Any:
    # Stored dates come back as strings or datetimes; compare in JSON form.
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return value

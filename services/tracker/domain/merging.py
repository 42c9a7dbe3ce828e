"""One recommendation, several sources: how an imported row updates the one we hold.

Pure rules, no I/O (the handler reads and writes). Every source (file format) keeps
what it said under ``sources.<format>``; the recommendation's own fields follow these
rules, field by field:

- a field last set by the same source takes the new value (a source correcting itself,
  e.g. a position that changed after the Working Group: a new version, as before);
- a field the stored recommendation lacks is filled from the other source (OHCHR's
  annotation id too, from a source of contract v2 that has it);
- lists (recommending states, UHRI themes, affected persons, SDGs) are united;
- a text in another source's wording keeps the stored wording (the other is kept in
  ``sources``); never a conflict, wordings differ by design;
- any other value two sources disagree on (position, session, document symbol, action
  category) keeps the stored value and becomes a visible *conflict*, listing what each
  source said, until the sources agree again.

The id is upgraded from a text-hash id (``KHM-1-x0c13d35a59``, a source without
paragraph numbers) to the paragraph-based one (``KHM-1-82.80``); the old id becomes an
alias that every lookup still resolves. An incoming text-hash id that matched a
recommendation becomes an alias too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from contracts.events import FieldChange, RecommendationImportedV1
from services.tracker.domain.matching import is_fallback_id
from services.tracker.domain.recommendations import (
    ALL_FIELDS,
    OPTIONAL_FIELDS,
    VERSIONED_FIELDS,
    content_hash,
    content_of,
)

LIST_FIELDS = ("recommending_states", "source_themes", "affected_persons", "sdgs")
WORDING_FIELDS = ("text", "text_km")
CONFLICT_FIELDS = ("position", "session", "document_symbol", "action_category", "annotation_id")


def source_key(incoming: RecommendationImportedV1) -> str:
    """Which source said it: the file format (UPR Info CSV, UHRI export, a CSO template ...)."""
    return incoming.source.format


def said_by(incoming: RecommendationImportedV1) -> dict[str, Any]:
    """What one source says about a recommendation (kept under ``sources.<format>``)."""
    return {"recommendation_id": incoming.recommendation_id, "file_name": incoming.source.file_name,
            **content_of(incoming)}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _comparable(value: Any) -> Any:
    if hasattr(value, "isoformat"):  # stored dates come back as datetimes
        return value.isoformat()[:10]
    return value


def _union(stored: list[Any], incoming: list[Any]) -> list[Any]:
    out = list(stored)
    keys = [_key(v) for v in stored]
    for value in incoming:
        if _key(value) not in keys:
            out.append(value)
            keys.append(_key(value))
    return out


def _key(value: Any) -> Any:
    # States are equal by code whatever their spelling ("Viet Nam" / "Vietnam").
    return str(value.get("code")).upper() if isinstance(value, dict) and "code" in value else value


def _said(entry: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (entry or {}).items() if k != "file_name"}


def conflicts_of(sources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Fields on which two sources said different things: field -> {source: value}."""
    out: dict[str, dict[str, Any]] = {}
    for name in CONFLICT_FIELDS:
        said = {src: _comparable(values.get(name)) for src, values in sorted(sources.items())
                if not _empty(values.get(name))}
        if len({repr(v) for v in said.values()}) > 1:
            out[name] = said
    return out


@dataclass(frozen=True)
class MergeDecision:
    outcome: str  # "updated" / "unchanged"
    recommendation_id: str  # the id it is stored under from now on
    retired_id: str | None  # the id it was stored under, when upgraded
    version: int
    content: dict[str, Any]
    content_hash: str
    meta: dict[str, Any]  # aliases, sources, field_sources, conflicts
    changes: list[FieldChange] = field(default_factory=list)
    new_aliases: list[str] = field(default_factory=list)


def _stored_sources(existing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if isinstance(existing.get("sources"), dict):
        return {k: dict(v) for k, v in existing["sources"].items()}
    return _implied_sources(existing)


def _implied_sources(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Without ``sources`` (one source, or stored before sources were recorded): the source
    named in ``source`` said what the recommendation holds, under its own id."""
    fmt = (doc.get("source") or {}).get("format") or "earlier import"
    return {fmt: {"recommendation_id": doc.get("_id") or doc.get("recommendation_id"),
                  "file_name": (doc.get("source") or {}).get("file_name"),
                  **{n: _comparable(doc.get(n)) for n in VERSIONED_FIELDS},
                  **{n: doc[n] for n in OPTIONAL_FIELDS if not _empty(doc.get(n))}}}


def _setters(existing: dict[str, Any]) -> dict[str, str]:
    if isinstance(existing.get("field_sources"), dict):
        return dict(existing["field_sources"])
    return _implied_setters(existing)


def _implied_setters(doc: dict[str, Any]) -> dict[str, str]:
    fmt = (doc.get("source") or {}).get("format") or "earlier import"
    return {n: fmt for n in ALL_FIELDS if not _empty(doc.get(n))}


def stored_meta(doc: dict[str, Any]) -> dict[str, Any]:
    """A recommendation to store, without ``sources`` and ``field_sources`` when they say no
    more than the document itself (one source, whose word it holds, the usual case): they
    copied its content, a third of what each import wrote. Reading them back
    (:func:`_stored_sources`, :func:`_setters`) gives the same values."""
    if doc.get("sources") == _implied_sources(doc) and doc.get("field_sources") == _implied_setters(doc):
        return {k: v for k, v in doc.items() if k not in ("sources", "field_sources")}
    return doc


def new_meta(incoming: RecommendationImportedV1) -> dict[str, Any]:
    """Merge bookkeeping of a recommendation created from one source."""
    src = source_key(incoming)
    content = content_of(incoming)
    return {"aliases": [], "sources": {src: said_by(incoming)}, "conflicts": {},
            "field_sources": {n: src for n, value in content.items() if not _empty(value)}}


def merge_import(existing: dict[str, Any], incoming: RecommendationImportedV1) -> MergeDecision:
    """``incoming`` is the stored recommendation ``existing`` (a plain dict): what to store now."""
    src = source_key(incoming)
    stored_id = str(existing.get("_id") or existing["recommendation_id"])
    new = content_of(incoming)
    setters = _setters(existing)
    content: dict[str, Any] = {}
    for name in ALL_FIELDS:
        before, after = _comparable(existing.get(name)), cast(Any, new.get(name))
        if setters.get(name) == src or (_empty(before) and not _empty(after)):
            content[name] = after
            if not _empty(after):
                setters[name] = src
        elif _empty(after) or before == after:
            content[name] = before
        elif name in LIST_FIELDS:
            content[name] = _union(list(before), list(after))
        else:  # another source's wording, or a conflict (recorded below): the stored value stays
            content[name] = before
    # The annotation id (v2 sources only) is left out while no source gave one: same hash as before.
    content = {k: v for k, v in content.items() if k not in OPTIONAL_FIELDS or not _empty(v)}
    sources = _stored_sources(existing)
    sources[src] = said_by(incoming)
    aliases = list(existing.get("aliases") or [])
    rec_id, retired = stored_id, None
    if is_fallback_id(stored_id) and not is_fallback_id(incoming.recommendation_id):
        rec_id, retired = incoming.recommendation_id, stored_id
    for alias in ([retired] if retired else []) + (
            [incoming.recommendation_id] if is_fallback_id(incoming.recommendation_id) else []):
        if alias != rec_id and alias not in aliases:
            aliases.append(alias)
    new_aliases = [a for a in aliases if a not in (existing.get("aliases") or [])]
    meta = {"aliases": aliases, "sources": sources, "field_sources": setters, "conflicts": conflicts_of(sources)}
    digest = content_hash(content)
    changes = [FieldChange(field=n, before=_comparable(existing.get(n)), after=content.get(n))
               for n in ALL_FIELDS if _comparable(existing.get(n)) != content.get(n)]
    if retired:
        changes.append(FieldChange(field="recommendation_id", before=retired, after=rec_id))
    if conflicts_of(sources) != (existing.get("conflicts") or {}):
        changes.append(FieldChange(field="conflicts", before=existing.get("conflicts") or {},
                                   after=meta["conflicts"]))
    # The same words from a copy of the file under another name change nothing.
    same_sources = _said(_stored_sources(existing).get(src)) == _said(sources[src])
    version = int(existing.get("version", 1))
    if not changes and not new_aliases and same_sources and existing.get("content_hash") == digest:
        return MergeDecision("unchanged", rec_id, None, version, content, digest, meta)
    return MergeDecision("updated", rec_id, retired, version + 1, content, digest, meta, changes, new_aliases)

"""A reviewer's word on an ambiguous import row: the ``import.match_decided`` command.

Kept apart from the batch import path (``handlers.recommendations_imported``): decisions are
rare, one at a time, and reuse its rules (:mod:`domain.merging`, :mod:`domain.match_reviews`)
and its way of storing a version (history first, then the recommendation, then the aliases,
then the retired id's document, then the audit entry).

Idempotent: the command's receipt skips a redelivery; a redelivery after the writes but before
the receipt finds the version this command stored (by its message id) and announces it again
with the same event ids.
"""

from __future__ import annotations

from typing import Any

from contracts.events import EventEnvelope, FieldChange, ImportMatchDecidedV1, RecommendationImportedV1
from contracts.messaging import Rejected
from services.tracker import handlers
from services.tracker.domain import status as rules
from services.tracker.domain.match_reviews import imported_row, with_alias
from services.tracker.domain.merging import merge_import, new_meta
from services.tracker.domain.recommendations import decide_import


async def match_decided(
    envelope: EventEnvelope, payload: ImportMatchDecidedV1, deps: handlers.Deps,
) -> handlers.Outcome:
    actor = handlers._permit(envelope, rules.CAN_REVIEW, "confirm or split an imported row")
    review = await deps.repo.match_review(payload.review_id)
    if review is None:
        raise Rejected(f"unknown match review {payload.review_id}")
    row = imported_row(review)
    event_id = str(envelope.event_id)
    if review.get("state") != "pending" and review.get("decided_by_event") != event_id:
        raise Rejected(f"row {review.get('row')} of {review.get('file_name')} ({row.recommendation_id}) was "
                       f"already decided: {review.get('state')} ({review.get('merged_into')})")
    if payload.decision == "same":
        outcome, rec_id = await _same(envelope, payload, review, row, deps)
    else:
        outcome, rec_id = await _separate(envelope, payload, row, deps)
    await deps.repo.decide_match_review(payload.review_id, {
        "state": payload.decision, "decided_by": actor.model_dump(mode="json"), "decided_at": envelope.occurred_at,
        "merged_into": rec_id, "decided_by_event": event_id, "comment": payload.comment,
    })
    return outcome


async def _again(deps: handlers.Deps, stored: dict[str, Any], version_doc: dict[str, Any],
                 row: RecommendationImportedV1) -> handlers.Outcome:
    """Announce a version this command stored before a crash, as it was announced then."""
    rec_id, version = str(stored["_id"]), int(version_doc["version"])
    tagged, _ = handlers.tag_recommendation(deps.tagger, await deps.examples(), rec_id, stored, str(stored["text"]),
                                            stored.get("source_themes", []), stored.get("sdgs", []))
    changes = [FieldChange(**c) for c in version_doc.get("changes", [])]
    return handlers._imported_outcome(rec_id, stored, version, version == 1, changes, tagged, row,
                                      stored.get("conflicts"), [])


async def _same(
    envelope: EventEnvelope, payload: ImportMatchDecidedV1, review: dict[str, Any],
    row: RecommendationImportedV1, deps: handlers.Deps,
) -> tuple[handlers.Outcome, str]:
    assert payload.recommendation_id is not None  # the contract requires it for "same"
    target = await deps.repo.recommendation(payload.recommendation_id)
    if target is None:
        raise Rejected(f"unknown recommendation {payload.recommendation_id}")
    candidates = [str(c["recommendation_id"]) for c in review.get("candidates", [])]
    if str(target["_id"]) not in set((await deps.repo.resolve_ids(candidates)).values()):
        raise Rejected(f"{payload.recommendation_id} is not one of the row's candidates ({', '.join(candidates)})")
    done = await deps.repo.version_from_event(str(target["_id"]), str(envelope.event_id))
    if done is not None:
        return await _again(deps, target, done, row), str(target["_id"])
    merged = merge_import(target, row)
    rec_id, old_id = merged.recommendation_id, merged.retired_id
    before_aliases = list(target.get("aliases") or [])
    meta = {**merged.meta, "aliases": with_alias(merged.meta["aliases"], row.recommendation_id, rec_id)}
    if merged.outcome == "unchanged" and meta["aliases"] == before_aliases:
        await _audit(envelope, deps, "recommendation.match_confirmed", rec_id, row, payload, None)
        return handlers.Outcome("unchanged", detail={"recommendation_id": rec_id}), rec_id
    changes = list(merged.changes)
    if meta["aliases"] != before_aliases:
        changes.append(FieldChange(field="aliases", before=before_aliases, after=meta["aliases"]))
    version = int(target.get("version", 1)) + 1
    # An id upgrade moves everything people added (tags, statuses, counts) to the new id.
    carried = {k: v for k, v in target.items() if k not in ("_id", "recommendation_id")} if old_id else {}
    content = merged.content
    tagged, tag_fields = handlers.tag_recommendation(deps.tagger, await deps.examples(), rec_id, target,
                                                     content["text"], content["source_themes"], content["sdgs"])
    base = {**carried, "country": row.country, "cycle": row.cycle, "last_import_id": row.import_id,
            "source": row.source.model_dump(mode="json"), **tag_fields, **meta}
    await deps.repo.save_versions([{
        "recommendation_id": rec_id, "base": base, "content": content, "version": version,
        "content_hash": merged.content_hash, "changes": [c.model_dump(mode="json") for c in changes],
        "event_id": str(envelope.event_id), "at": envelope.occurred_at, "new": old_id is not None,
        "retired": [old_id] if old_id else [], **handlers.follows(target),
    }])
    await deps.repo.save_aliases({alias: rec_id for alias in meta["aliases"]})
    if old_id:
        await deps.repo.retire([old_id])
    await _audit(envelope, deps, "recommendation.match_confirmed", rec_id, row, payload, changes)
    outcome = handlers._imported_outcome(rec_id, content, version, False, changes, tagged, row, meta["conflicts"],
                                         [])
    return outcome, rec_id


async def _separate(
    envelope: EventEnvelope, payload: ImportMatchDecidedV1, row: RecommendationImportedV1, deps: handlers.Deps,
) -> tuple[handlers.Outcome, str]:
    rec_id = row.recommendation_id
    existing = await deps.repo.recommendation(rec_id)
    if existing is not None:
        done = await deps.repo.version_from_event(str(existing["_id"]), str(envelope.event_id))
        if done is not None:
            return await _again(deps, existing, done, row), str(existing["_id"])
        raise Rejected(f"{rec_id} was stored meanwhile (as {existing['_id']}): import the file again")
    created = decide_import(None, row)
    meta = new_meta(row)
    tagged, tag_fields = handlers.tag_recommendation(deps.tagger, await deps.examples(), rec_id, {},
                                                     created.content["text"], created.content["source_themes"],
                                                     created.content["sdgs"])
    base = {"country": row.country, "cycle": row.cycle, "last_import_id": row.import_id,
            "source": row.source.model_dump(mode="json"), **tag_fields, **meta}
    await deps.repo.save_versions([{
        "recommendation_id": rec_id, "base": base, "content": created.content, "version": 1,
        "content_hash": created.content_hash, "changes": [], "event_id": str(envelope.event_id),
        "at": envelope.occurred_at, "new": True, "retired": [], **handlers.follows(None),
    }])
    await _audit(envelope, deps, "recommendation.match_split", rec_id, row, payload, [])
    return handlers._imported_outcome(rec_id, created.content, 1, True, [], tagged, row, {}, [rec_id]), rec_id


async def _audit(
    envelope: EventEnvelope, deps: handlers.Deps, action: str, rec_id: str, row: RecommendationImportedV1,
    payload: ImportMatchDecidedV1, changes: list[FieldChange] | None,
) -> None:
    after: dict[str, Any] = {"row": row.source.row, "file_name": row.source.file_name,
                             "row_id": row.recommendation_id, "comment": payload.comment}
    if changes:
        after["changes"] = {c.field: c.after for c in changes}
    await deps.repo.audit_many([handlers._audit_entry(envelope, 0, action, "recommendation", rec_id,
                                                      {c.field: c.before for c in changes} if changes else None,
                                                      after)])

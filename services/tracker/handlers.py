"""One function per message the tracker consumes.

Each handler gets the envelope, its validated payload and the dependencies, applies
the change idempotently and returns the outcome plus the events to announce. The app
publishes those events (with ids derived from the cause, so a redelivery republishes
the same ids) and only then records the message as processed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts.events import (
    SYSTEM_ACTOR,
    Actor,
    ApiKeyIssuedV1,
    ApiKeyRevokedV1,
    AssessmentSubmittedV1,
    Contract,
    CycleDeadlineSetV1,
    CyclePublicationSetV1,
    EventEnvelope,
    EvidenceAddedV1,
    EvidenceReviewedV2,
    EvidenceReviewRequestedV1,
    EvidenceSubmittedV1,
    FieldChange,
    ImplementationStatus,
    RecommendationImportedV1,
    RecommendationUpdatedV1,
    ReportDraftSavedV1,
    ReviewState,
    SafeguardingReviewRequestedV1,
    StatusChangedV1,
    ThemeCorrectionRequestedV1,
    ThemesTaggedV1,
    ThemeTag,
)
from contracts.messaging import Rejected
from contracts.sealed_text import is_sealed
from services.tracker.adapters.text_keys import TextKeys
from services.tracker.domain import status as rules
from services.tracker.domain.match_reviews import review_entry
from services.tracker.domain.matching import Match, base_paragraph, find_match
from services.tracker.domain.merging import merge_import, new_meta
from services.tracker.domain.recommendations import decide_import, stored_content
from services.tracker.domain.safeguarding import HELD_TEXT, all_reasons, decide, flagged_fields, redact
from services.tracker.domain.themes import effective_themes
from services.tracker.repository import TrackerRepository


class WaitingFor(Exception):
    """The message refers to recommendations not imported yet: park it until they are.

    Topics are read partition by partition, so a replay may see evidence before the
    recommendation it is about; parking keeps the outcome independent of that order."""

    def __init__(self, recommendation_ids: list[str]) -> None:
        super().__init__(f"waiting for recommendation(s) {', '.join(recommendation_ids)} to be imported")
        self.recommendation_ids = recommendation_ids


class TaggingResultLike(Protocol):
    @property
    def child_related(self) -> bool: ...

    @property
    def themes(self) -> Sequence[ThemeTag]: ...


class ThemeTagger(Protocol):
    @property
    def version(self) -> str: ...

    def tag_recommendation(
        self, text: str, *, source_themes: Sequence[str], sdgs: Sequence[str],
        examples: Sequence[dict[str, Any]], recommendation_id: str | None = None,
    ) -> TaggingResultLike: ...


@dataclass
class Outcome:
    outcome: str  # created / updated / unchanged / stored / ambiguous (an import row left to a reviewer)
    events: list[tuple[str, Contract]] = field(default_factory=list)  # (event type, payload)
    # Written on the receipt for `upr import` to report: the id a row was merged into,
    # conflicts between sources, an ambiguous match.
    detail: dict[str, Any] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)  # ids that now resolve: parked commands may go


@dataclass
class Deps:
    repo: TrackerRepository  # MongoDB in the service, in memory in the unit tests
    tagger: ThemeTagger | None
    examples: Callable[[], Awaitable[Sequence[dict[str, Any]]]]
    text_keys: TextKeys | None = None  # opens sealed command text; erasing held text deletes its keys


def _actor(envelope: EventEnvelope) -> Actor:
    return envelope.actor or SYSTEM_ACTOR


async def _audit(
    deps: Deps, envelope: EventEnvelope, n: int, action: str, subject_type: str, subject_id: str,
    before: dict[str, Any] | None, after: dict[str, Any] | None,
) -> None:
    await deps.repo.audit(_audit_entry(envelope, n, action, subject_type, subject_id, before, after))


def _audit_entry(
    envelope: EventEnvelope, n: int, action: str, subject_type: str, subject_id: str,
    before: dict[str, Any] | None, after: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "audit_id": f"{envelope.event_id}:{n}", "at": envelope.occurred_at,
        "actor": _actor(envelope).model_dump(mode="json"), "action": action,
        "subject_type": subject_type, "subject_id": subject_id, "before": before, "after": after,
    }


# --- recommendations -------------------------------------------------------------------


async def recommendation_imported(
    envelope: EventEnvelope, payload: RecommendationImportedV1, deps: Deps
) -> Outcome:
    """One import message: a batch of one (one implementation of the rules)."""
    (outcome,) = await recommendations_imported([Imported(envelope, payload)], deps)
    return outcome or Outcome("unchanged")


@dataclass(frozen=True)
class Imported:
    """One recommendation.imported message of a batch."""

    envelope: EventEnvelope
    payload: RecommendationImportedV1


async def recommendations_imported(batch: Sequence[Imported], deps: Deps) -> list[Outcome | None]:
    """A run of recommendation.imported messages, in order, with one read and one write per collection.

    The same as :func:`recommendation_imported` one message after the other: the state read
    at the start is updated in memory as the run goes, so two versions of one recommendation
    in one batch become versions n and n+1. ``None`` marks a message already processed.
    A message whose version is already stored and reached by the recommendation (a batch
    redelivered after a crash) is announced again with the stored version and changes,
    whatever came after it; one whose history was written but not the recommendation is
    applied again.

    A row whose id is not stored (nor an alias of a stored one) is matched against the
    recommendations of its country and cycle (:mod:`domain.matching`): the same one from
    another source is merged into it (:mod:`domain.merging`), an ambiguous one is stored
    nowhere and listed for a reviewer, and only a row matching nothing is created.
    """
    event_ids = [str(item.envelope.event_id) for item in batch]
    receipts = await deps.repo.processed_many(event_ids)
    stored_versions = await deps.repo.versions_from_events(event_ids)
    state = await deps.repo.recommendations(
        [item.payload.recommendation_id for item in batch]
        + [str(v["recommendation_id"]) for v in stored_versions.values()])
    pool = _Pool(state)
    unplaced = [item.payload for item, event_id in zip(batch, event_ids, strict=True)
                if pool.resolve(item.payload.recommendation_id) is None
                and (receipts.get(event_id) or {}).get("outcome") in (None, "parked")]
    if unplaced:
        wanted = _candidate_queries(unplaced)
        # Only where another import stored recommendations: a file's own rows are never its
        # candidates, and reading them (a whole cycle for a row without a paragraph) was what
        # made a large first import slow down as it went.
        sources = await deps.repo.import_sources([(w["country"], w["cycle"]) for w in wanted])
        wanted = [w for w in wanted if any(sources.get((w["country"], w["cycle"]), set()) - {import_id}
                                           for import_id in w["imports"])]
        if wanted:
            for doc in await deps.repo.match_candidates(wanted):
                pool.add(doc)
    examples = await deps.examples()
    outcomes: list[Outcome | None] = []
    writes = _ImportWrites()
    seen: set[str] = set()
    for item, event_id in zip(batch, event_ids, strict=True):
        receipt = receipts.get(event_id)
        if event_id in seen or (receipt is not None and receipt.get("outcome") != "parked"):
            outcomes.append(None)
            continue
        seen.add(event_id)
        replay = stored_versions.get(event_id)
        replay_id = str(replay["recommendation_id"]) if replay is not None else None
        stored = pool.docs.get(replay_id) if replay_id else None
        # Applied before (a redelivery) only if the recommendation itself reached that version:
        # a crash between the history insert and the recommendation write must be repaired.
        if replay is not None and replay_id and stored is not None \
                and int(stored.get("version", 0)) >= int(replay["version"]):
            outcomes.append(_replayed_import(item, replay, replay_id, stored, deps, examples, writes))
            continue
        outcomes.append(_apply_import(item, event_id, pool, deps, examples, writes))
    # One writer at a time: SQLite behind the embedded server serialises writes anyway.
    await deps.repo.save_versions(writes.versions)  # history first, then the recommendations
    await deps.repo.save_aliases(writes.aliases)  # then the old ids that lead to them
    await deps.repo.retire(writes.retired)  # then the documents of upgraded ids (their successors hold them)
    await deps.repo.audit_many(writes.audits)
    if writes.reviews:
        await deps.repo.save_match_reviews(writes.reviews)
    return outcomes


@dataclass
class _ImportWrites:
    """What a run of imports writes at its end, in this order."""

    versions: list[dict[str, Any]] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # old id -> current id
    retired: list[str] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)  # ambiguous rows, for a reviewer


def _replayed_import(
    item: Imported, replay: dict[str, Any], replay_id: str, stored: dict[str, Any], deps: Deps,
    examples: Sequence[dict[str, Any]], writes: _ImportWrites,
) -> Outcome:
    """A message applied before (a redelivery): announced again with the stored version and changes."""
    payload = item.payload
    version = int(replay["version"])
    changes = [FieldChange(**c) for c in replay.get("changes", [])]
    tagged, _ = tag_recommendation(deps.tagger, examples, replay_id, stored, str(stored.get("text")),
                                   stored.get("source_themes", []), stored.get("sdgs", []))
    # The crash may have come before the aliases or the removal of the old document.
    writes.retired.extend(replay.get("retired", []) or [])
    writes.aliases.update({alias: replay_id for alias in stored.get("aliases") or []})
    writes.audits.append(_audit_entry(
        item.envelope, 0, f"recommendation.{'created' if version == 1 else 'updated'}", "recommendation",
        replay_id, None if version == 1 else {c.field: c.before for c in changes},
        {c.field: c.after for c in changes} if changes else {"version": version},
    ))
    return _imported_outcome(replay_id, stored, version, version == 1, changes, tagged,
                             payload, stored.get("conflicts"), [])


def _apply_import(
    item: Imported, event_id: str, pool: _Pool, deps: Deps, examples: Sequence[dict[str, Any]],
    writes: _ImportWrites,
) -> Outcome:
    """A new message: matched, then created, merged into the recommendation it matches, or left
    for a reviewer when the match is ambiguous."""
    payload = item.payload
    target = pool.resolve(payload.recommendation_id)
    match: Match | None = None
    if target is None:
        match = find_match(payload.model_dump(mode="json"), pool.candidates(payload))
        if match.kind == "ambiguous":
            writes.reviews.append(review_entry(payload, match, event_id, item.envelope.occurred_at))
            return Outcome("ambiguous", detail={"ambiguous": _ambiguous(payload, match)})
        target = match.target
    existing = pool.docs.get(target) if target else None
    if existing is None:
        created = decide_import(None, payload)
        rec_id, old_id, version = payload.recommendation_id, None, created.version
        content, digest, changes = created.content, created.content_hash, created.changes
        meta, new_aliases, outcome = new_meta(payload), [], "created"
        carried: dict[str, Any] = {}
    else:
        merged = merge_import(existing, payload)
        if merged.outcome == "unchanged":
            return Outcome("unchanged", detail=_merge_detail(payload, merged.recommendation_id,
                                                             existing.get("conflicts")))
        rec_id, old_id, version = merged.recommendation_id, merged.retired_id, merged.version
        content, digest, changes = merged.content, merged.content_hash, merged.changes
        meta, new_aliases, outcome = merged.meta, merged.new_aliases, "updated"
        # An id upgrade moves everything people added (tags, statuses, counts) to the new id.
        carried = {k: v for k, v in existing.items() if k not in ("_id", "recommendation_id")} \
            if old_id else {}
    tagged, tag_fields = tag_recommendation(deps.tagger, examples, rec_id, existing or {}, content["text"],
                                            content["source_themes"], content["sdgs"])
    base = {**carried, "country": payload.country, "cycle": payload.cycle, "last_import_id": payload.import_id,
            "source": payload.source.model_dump(mode="json"), **tag_fields, **meta}
    writes.versions.append({
        "recommendation_id": rec_id, "base": base, "content": content, "version": version,
        "content_hash": digest, "changes": [c.model_dump(mode="json") for c in changes],
        "event_id": event_id, "at": item.envelope.occurred_at, "new": existing is None or old_id is not None,
        "retired": [old_id] if old_id else [],
        **follows(existing),
    })
    writes.audits.append(_audit_entry(
        item.envelope, 0, f"recommendation.{outcome}", "recommendation", rec_id,
        None if existing is None else {c.field: c.before for c in changes},
        {c.field: c.after for c in changes} if changes else {"version": version},
    ))
    if old_id:
        writes.retired.append(old_id)
    writes.aliases.update({alias: rec_id for alias in meta["aliases"]})
    pool.put(rec_id, {**(existing or {}), **base, **content, "_id": rec_id, "version": version,
                      "content_hash": digest}, old_id)
    released = [rec_id] if existing is None or old_id else []
    return _imported_outcome(rec_id, content, version, existing is None, changes, tagged, payload,
                             meta["conflicts"], released + new_aliases)


def follows(existing: dict[str, Any] | None) -> dict[str, Any]:
    """What a new version item says about the version before it (``repo.save_versions``). A
    recommendation's first version is stored without a copy of its content (``snapshot``): the
    recommendation holds it, and a third of what an import wrote was that copy. Its second
    version writes the content of the first there, before the recommendation changes."""
    if existing is None:
        return {"deferred_snapshot": True}
    if int(existing.get("version", 1)) == 1:
        return {"previous": {"_id": f"{existing['_id']}@1", "snapshot": stored_content(existing)}}
    return {}


class _Pool:
    """The recommendations a batch knows of: by id, by alias, and by (country, cycle, import)."""

    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.alias_of: dict[str, str] = {}
        self.places: dict[tuple[Any, Any, Any], set[str]] = {}
        for doc in docs.values():
            self.add(doc)

    def add(self, doc: dict[str, Any]) -> None:
        if str(doc["_id"]) not in self.docs:
            self.put(str(doc["_id"]), doc, None)

    def put(self, rec_id: str, doc: dict[str, Any], retired: str | None) -> None:
        for old in (retired, rec_id):
            if old and old in self.docs:
                self.places.get(_import_place(self.docs.pop(old)), set()).discard(old)
        self.docs[rec_id] = doc
        self.places.setdefault(_import_place(doc), set()).add(rec_id)
        for alias in doc.get("aliases") or []:
            self.alias_of[alias] = rec_id

    def resolve(self, rec_id: str) -> str | None:
        if rec_id in self.docs:
            return rec_id
        return self.alias_of.get(rec_id)

    def candidates(self, payload: RecommendationImportedV1) -> list[dict[str, Any]]:
        # Rows of one file are distinct recommendations by that file's own word: never merged together.
        return [self.docs[rec_id] for (country, cycle, import_id), ids in self.places.items()
                if country == payload.country and cycle == payload.cycle and import_id != payload.import_id
                for rec_id in sorted(ids)]


def _import_place(doc: dict[str, Any]) -> tuple[Any, Any, Any]:
    return doc.get("country"), doc.get("cycle"), doc.get("last_import_id")


def _candidate_queries(payloads: Sequence[RecommendationImportedV1]) -> list[dict[str, Any]]:
    """Per (country, cycle): the paragraphs asked for, or ``None`` when a row has none (any), and
    the imports the rows come from."""
    wanted: dict[tuple[str, int], dict[str, Any]] = {}
    for p in payloads:
        paragraph = base_paragraph(p.paragraph)
        want = wanted.setdefault((p.country, p.cycle), {"country": p.country, "cycle": p.cycle, "paragraphs": set(),
                                                        "imports": set()})
        want["imports"].add(p.import_id)
        if paragraph is None:
            want["paragraphs"] = None
        elif want["paragraphs"] is not None:
            want["paragraphs"].add(paragraph)
    return list(wanted.values())


def _ambiguous(payload: RecommendationImportedV1, match: Match) -> dict[str, Any]:
    """What a reviewer needs to confirm or split an ambiguous row."""
    return {"row": payload.source.row, "file_name": payload.source.file_name, "format": payload.source.format,
            "recommendation_id": payload.recommendation_id, "text": payload.text[:500],
            "recommending_states": [s.name for s in payload.recommending_states],
            "candidates": [c.as_dict() for c in match.candidates[:5]]}


def _merge_detail(payload: RecommendationImportedV1, rec_id: str, conflicts: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if rec_id != payload.recommendation_id or conflicts:
        detail["recommendation_id"] = rec_id
    if conflicts:
        detail["conflicts"] = conflicts
    return detail


def _imported_outcome(
    rec_id: str, content: dict[str, Any], version: int, created: bool, changes: list[FieldChange],
    tagged: ThemesTaggedV1, payload: RecommendationImportedV1, conflicts: Any, released: list[str],
) -> Outcome:
    return Outcome("created" if created else "updated", [
        ("recommendation.updated", RecommendationUpdatedV1(
            recommendation_id=rec_id, version=version, created=created, changes=changes,
            position=content["position"], cycle=payload.cycle, themes=[t.id for t in tagged.themes],
        )),
        ("themes.tagged", tagged),
    ], detail=_merge_detail(payload, rec_id, conflicts), released=released)


async def _retag(
    deps: Deps, rec_id: str, stored: dict[str, Any], text: str, source_themes: Sequence[str], sdgs: Sequence[str],
) -> ThemesTaggedV1:
    tagged, fields = await _tag(deps, rec_id, stored, text, source_themes, sdgs)
    await deps.repo.set_tags(rec_id, fields)
    return tagged


async def _tag(
    deps: Deps, rec_id: str, stored: dict[str, Any], text: str, source_themes: Sequence[str], sdgs: Sequence[str],
) -> tuple[ThemesTaggedV1, dict[str, Any]]:
    """Tag again; people's additions and removals (kept on the stored document) win."""
    return tag_recommendation(deps.tagger, await deps.examples(), rec_id, stored, text, source_themes, sdgs)


def tag_recommendation(
    tagger: ThemeTagger | None, examples: Sequence[dict[str, Any]], rec_id: str, stored: dict[str, Any],
    text: str, source_themes: Sequence[str], sdgs: Sequence[str],
) -> tuple[ThemesTaggedV1, dict[str, Any]]:
    """The tags to store and announce; people's additions and removals (on ``stored``) win."""
    assert tagger is not None, "the tagger is loaded at start-up"
    result = tagger.tag_recommendation(
        text, source_themes=source_themes, sdgs=sdgs, examples=examples, recommendation_id=rec_id
    )
    added = list(stored.get("themes_added_by_people", []))
    removed = list(stored.get("themes_removed_by_people", []))
    tags = list(result.themes)
    themes = effective_themes([t.id for t in tags], added, removed)
    tags = [t for t in tags if t.id in themes] + [
        ThemeTag(id=t, confidence=1.0, explanation="added by a person", source="human")
        for t in added if t not in {x.id for x in tags}
    ]
    child_related = result.child_related or bool(added)
    fields = {
        "child_related": child_related, "themes": themes,
        "theme_tags": [t.model_dump(mode="json") for t in tags], "tagger_version": tagger.version,
    }
    tagged = ThemesTaggedV1(recommendation_id=rec_id, child_related=child_related, themes=tags,
                            tagger_version=tagger.version, corrected=bool(added or removed))
    return tagged, fields


async def themes_correction_requested(
    envelope: EventEnvelope, payload: ThemeCorrectionRequestedV1, deps: Deps
) -> Outcome:
    actor = _permit(envelope, rules.CAN_CORRECT_THEMES, "correct themes")
    rec = await _require_recommendation(deps, payload.recommendation_id)
    rec_id = str(rec["_id"])  # the id it has now, when it was given by an old id (an alias)
    added = set(rec.get("themes_added_by_people", []))
    removed = set(rec.get("themes_removed_by_people", []))
    # A person's latest word on a theme wins over their earlier one and over the tagger.
    added = (added | set(payload.add)) - set(payload.remove)
    removed = (removed | set(payload.remove)) - set(payload.add)
    hold_id = f"correction_comment:{envelope.event_id}"
    shown, flagged = await _hold(
        deps, envelope, "correction_comment", str(envelope.event_id), [rec_id],
        rec_id, {"comment": payload.comment},
        lambda fields: [_audit_place(envelope, "after.comment", "comment"),
                        _place("recommendations", rec_id, {"last_correction.comment": "comment"},
                               guard={"last_correction.hold_id": hold_id})])
    await deps.repo.set_tags(rec_id, {
        "themes_added_by_people": sorted(added), "themes_removed_by_people": sorted(removed),
        "corrected": bool(added or removed),  # indexed: the tagger's confirmed examples
        "last_correction": {"by": actor.model_dump(mode="json"), "comment": shown["comment"],
                            "at": envelope.occurred_at, "hold_id": hold_id if flagged else None},
    })
    stored = {**rec, "themes_added_by_people": sorted(added), "themes_removed_by_people": sorted(removed)}
    tagged = await _retag(deps, rec_id, stored, rec["text"],
                          rec.get("source_themes", []), rec.get("sdgs", []))
    await _audit(deps, envelope, 0, "themes.corrected", "recommendation", rec_id,
                 {"themes": rec.get("themes", [])},
                 {"themes": [t.id for t in tagged.themes], "comment": shown["comment"]})
    return Outcome("updated", [("themes.tagged", tagged)])


# --- evidence --------------------------------------------------------------------------


async def evidence_submitted(envelope: EventEnvelope, payload: EvidenceSubmittedV1, deps: Deps) -> Outcome:
    actor = _permit(envelope, rules.CAN_SUBMIT_EVIDENCE, "submit evidence")
    current = await deps.repo.resolve_ids(payload.recommendation_ids)
    unknown = sorted(set(payload.recommendation_ids) - set(current))
    if unknown:
        raise WaitingFor(unknown)
    # Attached to the recommendation an old id (an alias) now is.
    payload = payload.model_copy(update={"recommendation_ids": list(dict.fromkeys(
        current[i] for i in payload.recommendation_ids))})
    existing = await deps.repo.evidence(payload.evidence_id)
    if existing is None:
        text = {"title": payload.title, "quote": payload.quote, "document_reference": payload.document_reference,
                "url": payload.url, "organisation": payload.organisation or actor.organisation}
        shown, flagged = await _hold(
            deps, envelope, "evidence", payload.evidence_id, payload.recommendation_ids, payload.evidence_id, text,
            lambda fields: [_place("evidence", payload.evidence_id, {f: f for f in fields},
                                   state="safeguarding_state")])
        flags = all_reasons(flagged)
        state = ReviewState.PENDING if rules.evidence_needs_review(actor, flags) else ReviewState.APPROVED
        doc = {
            **payload.model_dump(mode="json"), **shown, "submitted_by": actor.model_dump(mode="json"),
            "submitted_at": envelope.occurred_at, "review_state": state.value, "safeguarding_flags": flags,
            "safeguarding_state": "held" if flagged else None,
        }
        await deps.repo.insert_evidence(doc)
        existing = doc
    await deps.repo.recount_evidence(payload.recommendation_ids)
    await _audit(deps, envelope, 0, "evidence.added", "evidence", payload.evidence_id, None,
                 {"title": existing["title"], "recommendation_ids": payload.recommendation_ids,
                  "review_state": existing["review_state"]})
    added = EvidenceAddedV1(
        evidence_id=payload.evidence_id, recommendation_ids=payload.recommendation_ids,
        source_type=payload.source_type, title=existing["title"], published_on=payload.published_on,
        organisation=existing.get("organisation"), visibility=payload.visibility,
        review_state=ReviewState(existing["review_state"]),
        safeguarding_flags=list(existing.get("safeguarding_flags", [])),
    )
    return Outcome("created", [("evidence.added", added)])


async def evidence_review_requested(
    envelope: EventEnvelope, payload: EvidenceReviewRequestedV1, deps: Deps
) -> Outcome:
    actor = _permit(envelope, rules.CAN_REVIEW, "review evidence")
    before = await deps.repo.evidence(payload.evidence_id)
    if before is None:
        raise Rejected(f"unknown evidence {payload.evidence_id}")
    hold_id = f"review_comment:{envelope.event_id}"
    shown, flagged = await _hold(
        deps, envelope, "review_comment", str(envelope.event_id), list(before["recommendation_ids"]),
        payload.evidence_id, {"comment": payload.comment},
        lambda fields: [_place("evidence", payload.evidence_id, {"review_comment": "comment"},
                               guard={"review_hold_id": hold_id}),
                        _audit_place(envelope, "after.comment", "comment")])
    comment = str(shown["comment"] or "")
    # Approving held evidence releases it: the reviewer read it as written in the inbox.
    if payload.decision == "approved" and before.get("safeguarding_state") == "held":
        held = await deps.repo.hold(f"evidence:{payload.evidence_id}")
        if held is not None:
            await _resolve(deps, envelope, held, "release", {}, actor, n=1)
            before = {**before, **{k: v for k, v in held["original"].items()}}
    await deps.repo.update_evidence(payload.evidence_id, {
        "review_state": payload.decision, "reviewed_by": actor.model_dump(mode="json"),
        "review_comment": comment, "reviewed_at": envelope.occurred_at,
        "review_hold_id": hold_id if flagged else None,
    })
    await deps.repo.recount_evidence(list(before["recommendation_ids"]))
    await _audit(deps, envelope, 0, f"evidence.{payload.decision}", "evidence", payload.evidence_id,
                 {"review_state": before["review_state"]},
                 {"review_state": payload.decision, "comment": comment})
    reviewed = EvidenceReviewedV2(
        evidence_id=payload.evidence_id, decision=payload.decision, comment=comment,
        recommendation_ids=list(before["recommendation_ids"]), source_type=before["source_type"],
        title=before["title"], published_on=before.get("published_on"), organisation=before.get("organisation"),
        visibility=before["visibility"],
    )
    return Outcome("updated", [("evidence.reviewed", reviewed)])


# --- assessments -----------------------------------------------------------------------


async def assessment_submitted(
    envelope: EventEnvelope, payload: AssessmentSubmittedV1, deps: Deps
) -> Outcome:
    actor = _permit(envelope, rules.CAN_ASSESS[payload.assessor], f"give the {payload.assessor.value} assessment")
    rec = await _require_recommendation(deps, payload.recommendation_id)
    # Given by an old id (an alias): stored on the recommendation that id now is.
    payload = payload.model_copy(update={"recommendation_id": str(rec["_id"])})
    stored = await deps.repo.assessment(payload.assessment_id)
    if stored is None:
        for evidence_id in payload.evidence_ids:
            if await deps.repo.evidence(evidence_id) is None:
                raise Rejected(f"assessment cites unknown evidence {evidence_id}")
        before = rec.get(f"{payload.assessor.value}_status")
        who = payload.assessor.value
        shown, flagged = await _hold(
            deps, envelope, "assessment", payload.assessment_id, [payload.recommendation_id],
            payload.recommendation_id, {"rationale": payload.rationale},
            lambda fields: [
                _place("assessments", payload.assessment_id, {"rationale": "rationale"}, state="safeguarding_state"),
                _place("recommendations", payload.recommendation_id, {f"{who}_assessment.rationale": "rationale"},
                       guard={f"{who}_assessment.assessment_id": payload.assessment_id},
                       state=f"{who}_assessment.safeguarding_state"),
                _audit_place(envelope, "after.rationale", "rationale"),
            ])
        stored = {
            **payload.model_dump(mode="json"), "rationale": shown["rationale"], "by": actor.model_dump(mode="json"),
            "at": envelope.occurred_at, "status_before": before, "safeguarding_state": "held" if flagged else None,
        }
        await deps.repo.insert_assessment(stored)
        other = rec.get("cncc_status" if payload.assessor.value == "cso" else "cso_status")
        cso = payload.status.value if payload.assessor.value == "cso" else other
        cncc = payload.status.value if payload.assessor.value == "cncc" else other
        summary = {k: stored[k] for k in ("assessment_id", "status", "rationale", "evidence_ids", "by", "at",
                                          "safeguarding_state")}
        await deps.repo.set_tags(payload.recommendation_id, {
            f"{payload.assessor.value}_status": payload.status.value,
            f"{payload.assessor.value}_assessment": summary,
            "disagreement": rules.disagreement(_status(cso), _status(cncc)),
        })
        await _audit(deps, envelope, 0, f"assessment.{payload.assessor.value}", "recommendation",
                     payload.recommendation_id, {"status": before}, {"status": payload.status.value,
                     "rationale": shown["rationale"], "evidence_ids": payload.evidence_ids})
    rec = await deps.repo.recommendation(payload.recommendation_id) or rec
    if stored.get("status_before") == payload.status.value:
        return Outcome("stored")
    change = StatusChangedV1(
        recommendation_id=payload.recommendation_id, assessor=payload.assessor,
        before=stored.get("status_before"), after=payload.status, assessment_id=payload.assessment_id,
        disagreement=bool(rec.get("disagreement")),
    )
    return Outcome("updated", [("status.changed", change)])


# --- cycles and report drafts ----------------------------------------------------------


async def cycle_deadline_set(envelope: EventEnvelope, payload: CycleDeadlineSetV1, deps: Deps) -> Outcome:
    _permit(envelope, rules.CAN_SET_DEADLINES, "set a deadline")
    before = await deps.repo.set_milestone(payload.country, payload.cycle, payload.milestone,
                                           payload.due_on.isoformat())
    await _audit(deps, envelope, 0, "cycle.deadline_set", "cycle", f"{payload.country}-{payload.cycle}",
                 (before or {}).get("milestones"), {payload.milestone: payload.due_on.isoformat()})
    return Outcome("updated", [("cycle.deadline_set", payload)])


async def cycle_publication_set(envelope: EventEnvelope, payload: CyclePublicationSetV1, deps: Deps) -> Outcome:
    _permit(envelope, rules.CAN_PUBLISH, "publish a cycle")
    before = await deps.repo.set_cycle_publication(payload.country, payload.cycle, payload.published)
    if before is not None and bool(before.get("published")) == payload.published:
        return Outcome("unchanged", [])
    await _audit(deps, envelope, 0, "cycle.publication_set", "cycle", f"{payload.country}-{payload.cycle}",
                 {"published": bool((before or {}).get("published"))}, {"published": payload.published})
    return Outcome("updated", [("cycle.publication_set", payload)])


async def report_draft_saved(envelope: EventEnvelope, payload: ReportDraftSavedV1, deps: Deps) -> Outcome:
    actor = _permit(envelope, rules.CAN_EDIT_REPORT, "edit the report")
    draft_id = str(envelope.event_id)
    shown, flagged = await _hold(
        deps, envelope, "report_draft", draft_id, [], f"{payload.country}-{payload.cycle}", {"text": payload.text},
        lambda fields: [_place("report_drafts", draft_id, {"text": "text"}, state="safeguarding_state")])
    version = await deps.repo.save_report_draft(draft_id, {
        **payload.model_dump(mode="json"), "text": shown["text"], "author": actor.model_dump(mode="json"),
        "at": envelope.occurred_at, "safeguarding_state": "held" if flagged else None,
    })
    await _audit(deps, envelope, 0, "report.draft_saved", "report",
                 f"{payload.country}-{payload.cycle}:{payload.section}", None,
                 {"version": version, "language": payload.language})
    announced = payload if not flagged else payload.model_copy(update={"text": HELD_TEXT})
    return Outcome("stored", [("report.draft_saved", announced)])


# --- read API keys ---------------------------------------------------------------------


async def api_key_issued(envelope: EventEnvelope, payload: ApiKeyIssuedV1, deps: Deps) -> Outcome:
    """An admin made a key for a partner system (the UI made the secret and sent its hash)."""
    actor = _permit(envelope, rules.CAN_MANAGE_API_KEYS, "create an API key")
    stored = await deps.repo.issue_api_key({
        **payload.model_dump(mode="json"), "created_by": actor.model_dump(mode="json"),
        "created_at": envelope.occurred_at, "last_used_at": None, "revoked_at": None,
    })
    if not stored:
        return Outcome("unchanged")
    # No event: the hash stays in the tracker; the audit log says who made which key.
    await _audit(deps, envelope, 0, "api_key.issued", "api_key", payload.key_id, None,
                 {"name": payload.name, "role": payload.role.value})
    return Outcome("created")


async def api_key_revoked(envelope: EventEnvelope, payload: ApiKeyRevokedV1, deps: Deps) -> Outcome:
    actor = _permit(envelope, rules.CAN_MANAGE_API_KEYS, "revoke an API key")
    before = await deps.repo.revoke_api_key(payload.key_id, envelope.occurred_at, actor.model_dump(mode="json"))
    if before is None:
        raise Rejected(f"unknown API key {payload.key_id}")
    if before.get("revoked_at") is not None:
        return Outcome("unchanged")
    await _audit(deps, envelope, 0, "api_key.revoked", "api_key", payload.key_id,
                 {"revoked": False}, {"revoked": True, "name": before.get("name")})
    return Outcome("updated")


# --- safeguarding ----------------------------------------------------------------------


def _place(collection: str, doc_id: str, paths: dict[str, str], *, guard: dict[str, Any] | None = None,
           state: str | None = None) -> dict[str, Any]:
    """Where held text shows: a document, its field paths (path -> held field) and, optionally, a
    condition on it and the path of its safeguarding state. Stored as lists of small documents:
    keys may not contain "." and FerretDB stores no nested arrays."""
    return {"collection": collection, "id": doc_id, "paths": [{"path": p, "field": f} for p, f in paths.items()],
            "guard": [{"path": p, "value": v} for p, v in (guard or {}).items()], "state_path": state}


def _audit_place(envelope: EventEnvelope, path: str, name: str) -> dict[str, Any]:
    """The audit entry a command wrote (its first) as a place where held text shows."""
    return _place("audit_log", f"{envelope.event_id}:0", {path: name})


async def _hold(
    deps: Deps, envelope: EventEnvelope, kind: str, subject_id: str, recommendation_ids: list[str],
    command_key: str, text: dict[str, str | None], places: Callable[[list[str]], list[dict[str, Any]]],
) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """Check people's text; what may identify a child is kept, as written, only in a hold entry
    (reviewers and admins) and the documents get a placeholder. Returns (text to store, flagged fields)."""
    flagged = flagged_fields(text)
    if not flagged:
        return dict(text), {}
    await deps.repo.insert_hold({
        "hold_id": f"{kind}:{subject_id}", "kind": kind, "subject_id": subject_id,
        "recommendation_ids": recommendation_ids, "command_key": command_key,
        "original": {name: text[name] for name in flagged}, "flags": flagged, "places": places(sorted(flagged)),
        "state": "held", "submitted_by": _actor(envelope).model_dump(mode="json"), "submitted_at": envelope.occurred_at,
    })
    return redact(text, flagged), flagged


async def _resolve(
    deps: Deps, envelope: EventEnvelope, hold: dict[str, Any], decision: str, redacted: dict[str, str],
    actor: Actor, *, n: int = 0, comment: str = "",
) -> None:
    try:
        shown, state, keep = decide(decision, hold["original"], hold["flags"], hold["state"], redacted)
    except ValueError as exc:
        raise Rejected(str(exc)) from None
    await deps.repo.show_held_text(hold["places"], shown, state)
    await deps.repo.update_hold(hold["_id"], {
        "state": state, "original": keep, "resolved_by": actor.model_dump(mode="json"),
        "resolved_at": envelope.occurred_at, **({"redacted": redacted} if decision == "redact" else {}),
    })
    if hold["kind"] == "evidence":
        await deps.repo.recount_evidence(list(hold.get("recommendation_ids", [])))
    if decision == "erase" and deps.text_keys is not None:
        await deps.text_keys.erase(hold["_id"])  # the copies on Kafka and in dead-letter topics go too
    await _audit(deps, envelope, n, f"safeguarding.{decision}", "safeguarding", hold["_id"],
                 {"state": hold["state"]}, {"state": state, "fields": sorted(hold["flags"]), "comment": comment})


async def safeguarding_review_requested(
    envelope: EventEnvelope, payload: SafeguardingReviewRequestedV1, deps: Deps
) -> Outcome:
    """A reviewer releases, redacts or erases held text."""
    actor = _permit(envelope, rules.CAN_REVIEW, "review held text")
    hold = await deps.repo.hold(payload.hold_id)
    if hold is None:
        raise Rejected(f"unknown hold {payload.hold_id}")
    if flagged_fields({"comment": payload.comment}):
        raise Rejected("comment: it may identify a child; say why without naming anyone")
    await _resolve(deps, envelope, hold, payload.decision, dict(payload.redacted), actor, comment=payload.comment)
    return Outcome("updated")


# --- helpers ---------------------------------------------------------------------------


def _status(value: str | None) -> ImplementationStatus | None:
    return None if value is None else ImplementationStatus(value)


def _permit(envelope: EventEnvelope, allowed: set[Any], action: str) -> Actor:
    try:
        return rules.require(envelope.actor, allowed, action)
    except rules.NotAllowed as exc:
        raise Rejected(str(exc)) from None


async def _require_recommendation(deps: Deps, rec_id: str) -> dict[str, Any]:
    rec = await deps.repo.recommendation(rec_id)
    if rec is None:
        raise WaitingFor([rec_id])
    return rec


async def import_match_decided(envelope: EventEnvelope, payload: Any, deps: Deps) -> Outcome:
    """A reviewer confirms or splits an ambiguous import row (services/tracker/match_decisions.py)."""
    from services.tracker.match_decisions import match_decided  # it uses this module's helpers

    return await match_decided(envelope, payload, deps)


Handler = Callable[[EventEnvelope, Any, Deps], Awaitable[Outcome]]


# Command type -> the hold kind its text is held under and the payload field naming the item
# (None: the command itself, by its event id), as ``_hold`` names holds.
_TEXT_ITEMS: dict[str, tuple[str, str | None]] = {
    "evidence.submitted": ("evidence", "evidence_id"),
    "assessment.submitted": ("assessment", "assessment_id"),
    "evidence.review_requested": ("review_comment", None),
    "themes.correction_requested": ("correction_comment", None),
    "report.draft_saved": ("report_draft", None),
}


def text_item(envelope: EventEnvelope, payload: Contract) -> str:
    """The hold id a command's text is held (and erased) under: its keys are stored by it."""
    kind, field_name = _TEXT_ITEMS[envelope.type]
    return f"{kind}:{getattr(payload, field_name) if field_name else envelope.event_id}"


def _opening(handler: Handler) -> Handler:
    """A handler that also takes the sealed version of its command: the text is opened first."""

    async def run(envelope: EventEnvelope, payload: Any, deps: Deps) -> Outcome:
        if is_sealed(payload):
            if deps.text_keys is None:
                raise Rejected(f"{envelope.type} v{envelope.version}: this tracker has no text keys")
            payload = await deps.text_keys.open(payload, text_item(envelope, payload))
        return await handler(envelope, payload, deps)

    return run


HANDLERS: dict[str, Handler] = {
    "recommendation.imported": recommendation_imported,
    "themes.correction_requested": _opening(themes_correction_requested),
    "evidence.submitted": _opening(evidence_submitted),
    "evidence.review_requested": _opening(evidence_review_requested),
    "assessment.submitted": _opening(assessment_submitted),
    "cycle.deadline_set": cycle_deadline_set,
    "cycle.publication_set": cycle_publication_set,
    "report.draft_saved": _opening(report_draft_saved),
    "safeguarding.review_requested": safeguarding_review_requested,
    "api_key.issued": api_key_issued,
    "api_key.revoked": api_key_revoked,
    "import.match_decided": import_match_decided,
}

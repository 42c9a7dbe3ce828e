"""Shapes of the documents the tracker keeps in MongoDB (its read model).

The tracker writes them; the UI, the CLI and the report read them through these
models. Field names are stable: add fields with defaults, never rename.

Collections (database ``UPR_MONGODB_DB``, default ``upr``):

- ``recommendations``   one per recommendation id (``_id`` = recommendation_id)
- ``recommendation_versions``  every version of a recommendation (history)
- ``recommendation_aliases``  old id -> current id, after two sources were merged
                        (``_id`` = the old id; looked up by ``_id``, which is indexed)
- ``evidence``          one per evidence item (``_id`` = evidence_id)
- ``assessments``       every assessment ever submitted (history); the latest per
                        (recommendation, assessor) is copied onto the recommendation
- ``audit_log``         who changed what, when, before/after
- ``processed_messages`` one per consumed message id: outcome, for idempotency and
                        for ``upr import`` and the UI to wait on
- ``parked_messages``   commands waiting for a recommendation that is not imported yet
- ``cycles``            milestones and deadlines per (country, cycle)
- ``report_drafts``     every saved version of an editable report section
- ``users``             logins and roles (written by ``upr users`` and the admin page)
- ``match_reviews``     imported rows the tracker could not place for sure (ambiguous), with
                        their candidates, until a reviewer says "same" or "separate"
                        (``_id`` = "<source format>:<the row's id>")
- ``dashboard_summaries``  the Dashboard's figures, kept by the tracker: one document per
                        (country, cycle), one for evidence, one marker (``_id`` "meta") once
                        every cycle is summarised (services/tracker/projections.py)
- ``safeguarding_holds``  text that may identify a child, as written, while a reviewer decides
                        (access-controlled: only reviewers and admins read it); the documents
                        above show a placeholder instead until it is released or redacted
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import (
    Actor,
    Assessor,
    EvidenceSourceType,
    ImplementationStatus,
    Position,
    RecommendingState,
    ReviewState,
    Role,
    ThemeTag,
    Visibility,
)

# Collection names, one place.
RECOMMENDATIONS = "recommendations"
RECOMMENDATION_VERSIONS = "recommendation_versions"
RECOMMENDATION_ALIASES = "recommendation_aliases"
EVIDENCE = "evidence"
ASSESSMENTS = "assessments"
AUDIT_LOG = "audit_log"
PROCESSED_MESSAGES = "processed_messages"
PARKED_MESSAGES = "parked_messages"
CYCLES = "cycles"
REPORT_DRAFTS = "report_drafts"
MIGRATIONS = "migrations"  # one-off data migrations already applied
USERS = "users"
SAFEGUARDING_HOLDS = "safeguarding_holds"
# The tracker's data keys of sealed command text (contracts/sealed_text.py), by hold id; only
# the tracker reads it, and erasing held text deletes the keys.
TEXT_KEYS = "text_keys"
MATCH_REVIEWS = "match_reviews"
# Which imports stored recommendations in each (country, cycle): where the matcher must look.
IMPORT_SOURCES = "import_sources"
DASHBOARD_SUMMARIES = "dashboard_summaries"
# The public list's rows per (country, cycle), kept by the tracker (services/tracker/adapters/public_store.py).
PUBLIC_PROJECTION = "public_projection"
# The cycles each of those read models still has to recount (services/tracker/projections.py).
PROJECTION_MARKS = "projection_marks"
# The notifier's collections that others read (never write): the UI and `upr subscriptions`
# list subscriptions and wait for the notifier's receipts; the UI shows the bot's username.
NOTIFIER_SUBSCRIPTIONS = "notifier_subscriptions"
NOTIFIER_PROCESSED = "notifier_processed"
NOTIFIER_TELEGRAM_BOT = "notifier_telegram_bot"
# safeguarding_state of a document holding people's text: None (nothing flagged), "held" (a
# placeholder is shown), "released" (a reviewer found it harmless), "redacted", "erased".
HELD = "held"


def evidence_held(evidence: Mapping[str, Any]) -> bool:
    """Whether an evidence item (a stored document) is held by safeguarding. Stored before holds
    had a state: flagged means held (as it always did for the report). The one rule, for models
    (EvidenceDoc.held), the tracker's queries and counts, and the UI."""
    state = evidence.get("safeguarding_state")
    return state == HELD or (state is None and bool(evidence.get("safeguarding_flags")))


class Document(BaseModel):
    # Documents come back from MongoDB with extra fields (e.g. _id); tolerate them.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class AssessmentSummary(Document):
    assessment_id: str
    status: ImplementationStatus
    rationale: str = ""
    evidence_ids: list[str] = Field(default_factory=list)
    by: Actor
    at: datetime
    safeguarding_state: str | None = None

    @property
    def held(self) -> bool:
        return self.safeguarding_state == HELD


class RecommendationDoc(Document):
    recommendation_id: str
    country: str
    cycle: int
    session: int | None = None
    document_symbol: str | None = None
    paragraph: str | None = None
    text: str
    text_km: str | None = None
    recommending_states: list[RecommendingState] = Field(default_factory=list)
    position: Position
    source_themes: list[str] = Field(default_factory=list)
    affected_persons: list[str] = Field(default_factory=list)
    sdgs: list[str] = Field(default_factory=list)
    action_category: int | None = None
    publication_date: date | None = None
    annotation_id: str | None = None  # OHCHR's id in UHRI, from a source that has it
    version: int = 1
    content_hash: str = ""
    # Tagging: suggested by the tagger, corrected by people. ``themes`` is the effective
    # list (ids) used for filters; ``theme_tags`` carries confidence and explanation.
    child_related: bool = False
    themes: list[str] = Field(default_factory=list)
    theme_tags: list[ThemeTag] = Field(default_factory=list)
    tagger_version: str | None = None
    themes_added_by_people: list[str] = Field(default_factory=list)
    themes_removed_by_people: list[str] = Field(default_factory=list)
    # Latest assessment per assessor; ``disagreement`` when both exist and differ.
    cso_assessment: AssessmentSummary | None = None
    cncc_assessment: AssessmentSummary | None = None
    cso_status: ImplementationStatus | None = None
    cncc_status: ImplementationStatus | None = None
    disagreement: bool = False
    # Evidence counts by who may see them: every item not rejected (reviewers and admins),
    # approved and not held (coalition members), approved, public and not held (everyone).
    evidence_count: int = 0
    evidence_count_coalition: int = 0
    evidence_count_public: int = 0
    created_at: datetime
    updated_at: datetime
    # One recommendation from several sources (docs/imports.md): the ids it had before an
    # id upgrade (still resolved everywhere), what each source (file format) said, and the
    # fields two sources disagree on: field -> {source: value}.
    # ``sources`` and ``field_sources`` are left out while they would say no more than the document
    # itself: one source (named in ``source``), whose word it holds under its own id.
    aliases: list[str] = Field(default_factory=list)
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    conflicts: dict[str, dict[str, Any]] = Field(default_factory=dict)


class RecommendationVersionDoc(Document):
    recommendation_id: str
    version: int
    # The versioned content at this version. Absent (empty) on the first version of a recommendation
    # while the recommendation is still at it: its content is the recommendation's own, and storing
    # its second version writes it here (a copy on every import cost a third of its writes).
    snapshot: dict[str, Any] = Field(default_factory=dict)
    changes: list[dict[str, Any]] = Field(default_factory=list)
    source_event_id: str
    at: datetime


class EvidenceDoc(Document):
    evidence_id: str
    recommendation_ids: list[str]
    source_type: EvidenceSourceType
    title: str
    url: str | None = None
    document_reference: str | None = None
    published_on: date | None = None
    quote: str = ""
    organisation: str | None = None
    submitted_by: Actor
    submitted_at: datetime
    visibility: Visibility
    language: Literal["en", "km"] = "en"
    review_state: ReviewState
    safeguarding_flags: list[str] = Field(default_factory=list)
    safeguarding_state: str | None = None
    reviewed_by: Actor | None = None
    review_comment: str = ""

    @property
    def held(self) -> bool:
        return evidence_held({"safeguarding_state": self.safeguarding_state,
                              "safeguarding_flags": self.safeguarding_flags})


class AssessmentDoc(Document):
    assessment_id: str
    recommendation_id: str
    assessor: Assessor
    status: ImplementationStatus
    rationale: str = ""
    evidence_ids: list[str] = Field(default_factory=list)
    by: Actor
    at: datetime
    safeguarding_state: str | None = None

    @property
    def held(self) -> bool:
        return self.safeguarding_state == HELD


class AuditEntry(Document):
    audit_id: str  # the id of the message that caused the change, plus a suffix
    at: datetime
    actor: Actor
    action: str  # e.g. "recommendation.updated", "themes.corrected", "evidence.added"
    subject_type: Literal["recommendation", "evidence", "assessment", "cycle", "report", "user", "subscription",
                          "safeguarding"]
    subject_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class ProcessedMessage(Document):
    message_id: str  # the envelope's event_id
    consumer: str
    type: str
    correlation_id: str
    # "parked": refers to a recommendation not imported yet; applied when it arrives.
    # "ambiguous": an imported row that may be one of several stored recommendations (or
    # one only maybe): stored nowhere, listed for a reviewer (``match_reviews``, docs/imports.md).
    outcome: Literal["created", "updated", "unchanged", "stored", "rejected", "parked", "ambiguous"]
    error: str | None = None
    recommendation_id: str | None = None  # an imported row merged into another id, or in conflict
    ambiguous: dict[str, Any] | None = None  # the row and its candidates with their scores
    conflicts: dict[str, dict[str, Any]] | None = None  # field -> {source: value}
    at: datetime
    instance: str = ""  # which process handled it


class CycleDoc(Document):
    country: str
    cycle: int
    milestones: dict[str, date] = Field(default_factory=dict)  # e.g. {"mid_term_report_due": ...}
    # Shown on the public progress page and to anonymous callers of the read API only when
    # reviewers publish it (cycle.publication_set).
    published: bool = False


class ReportDraftDoc(Document):
    country: str
    cycle: int
    section: str  # "executive_summary", "priorities", "gaps:T06", "asks:T06", ...
    language: Literal["en", "km"] = "en"
    version: int
    text: str
    author: Actor
    at: datetime
    safeguarding_state: str | None = None

    @property
    def held(self) -> bool:
        return self.safeguarding_state == HELD


class UserDoc(Document):
    username: str
    display_name: str = ""
    email: str | None = None
    organisation: str | None = None
    role: Role
    password_hash: str
    active: bool = True
    created_at: datetime


class SafeguardingHoldDoc(Document):
    """Text held because it may identify a child: the original (only here), where it is shown
    (``places``: collection, document id, field paths), and the reviewer's decision."""

    hold_id: str  # "<kind>:<subject id>"
    kind: Literal["evidence", "assessment", "review_comment", "correction_comment", "report_draft"]
    subject_id: str
    recommendation_ids: list[str] = Field(default_factory=list)
    command_key: str = ""  # the Kafka key of the command that wrote it: decisions follow it in order
    original: dict[str, str | None]  # field -> text as written ("[erased]" once erased)
    flags: dict[str, list[str]]  # field -> reasons
    places: list[dict[str, Any]] = Field(default_factory=list)
    state: Literal["held", "released", "redacted", "erased"] = "held"
    submitted_by: Actor
    submitted_at: datetime
    resolved_by: Actor | None = None
    resolved_at: datetime | None = None
    redacted: dict[str, str] = Field(default_factory=dict)


class MatchReviewDoc(Document):
    """An imported row that may be a stored recommendation (several candidates, or one only
    maybe): nothing was stored for it until a reviewer decides (command import.match_decided)."""

    review_id: str
    state: Literal["pending", "same", "separate"] = "pending"
    country: str
    cycle: int
    row: int | None = None
    file_name: str = ""
    format: str = ""
    recommendation_id: str  # the row's id in its file
    text: str
    recommending_states: list[str] = Field(default_factory=list)
    candidates: list[dict[str, Any]] = Field(default_factory=list)  # recommendation_id, score
    at: datetime
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    merged_into: str | None = None  # the recommendation it was confirmed to be, or created as


class CycleSummaryDoc(Document):
    """The Dashboard's figures for one (country, cycle), recomputed by the tracker from the
    recommendations (never incremented: a recount cannot double anything)."""

    country: str
    cycle: int
    total: int = 0
    child_related: int = 0
    by_position: dict[str, int] = Field(default_factory=dict)
    by_status: dict[str, int] = Field(default_factory=dict)  # CNCC status, or "not_assessed"
    by_cso_status: dict[str, int] = Field(default_factory=dict)
    by_theme_status: dict[str, dict[str, int]] = Field(default_factory=dict)
    # "<recommendation id>|<CSO status>|<CNCC status>" each: strings, because the embedded
    # FerretDB reads an array of thousands of sub-documents ten times slower than of strings.
    disagreements: list[str] = Field(default_factory=list)
    computed_at: datetime

    def disagreement_rows(self) -> list[dict[str, Any]]:
        """The disagreements as ``recommendation_id``, ``cso_status``, ``cncc_status``."""
        rows = []
        for line in self.disagreements:
            rec_id, cso, cncc = [*line.split("|"), "", ""][:3]
            rows.append({"recommendation_id": rec_id, "cso_status": cso or None, "cncc_status": cncc or None})
        return rows


def disagreement_line(recommendation_id: str, cso_status: str | None, cncc_status: str | None) -> str:
    """One entry of CycleSummaryDoc.disagreements (ids never contain "|": see the contract's pattern)."""
    return f"{recommendation_id}|{cso_status or ''}|{cncc_status or ''}"


class EvidenceSummaryDoc(Document):
    """Evidence items by who may see them (the same audiences as RecommendationDoc's counts)."""

    all: int = 0  # not rejected: reviewers and admins
    coalition: int = 0  # approved and not held
    public: int = 0  # approved, public and not held
    pending: int = 0
    computed_at: datetime

"""Everything the UI reads, in one module: typed queries on the tracker's collections.

Reads go straight to MongoDB (sync PyMongo: Streamlit reruns scripts synchronously);
writes never happen here (see ``ui/commands.py``). Summaries are computed in Python,
since FerretDB has no $push/$avg in $group. Functions take the database as their first
argument so tests can call them on a fresh database.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import streamlit as st
from pydantic import BaseModel, ConfigDict
from pymongo import DESCENDING, MongoClient
from pymongo.database import Database

from contracts import documents as d
from contracts.api_keys import COLLECTION as API_KEYS
from contracts.api_keys import ApiKeyDoc
from contracts.dashboard import NOT_ASSESSED as NOT_ASSESSED  # the pages filter by it
from contracts.dashboard import RECOMMENDATION_FIELDS, summarise
from contracts.documents import (
    AssessmentDoc,
    AuditEntry,
    CycleDoc,
    CycleSummaryDoc,
    EvidenceDoc,
    EvidenceSummaryDoc,
    MatchReviewDoc,
    RecommendationDoc,
    RecommendationVersionDoc,
    ReportDraftDoc,
    SafeguardingHoldDoc,
)
from contracts.events import Actor, ImplementationStatus, ReviewState, Role, Visibility

SUBSCRIPTIONS = d.NOTIFIER_SUBSCRIPTIONS  # the notifier's collection, read-only here
TELEGRAM_BOT = d.NOTIFIER_TELEGRAM_BOT  # the notifier's bot: its username and last poll, read-only here

Db = Database[dict[str, Any]]


@st.cache_resource(show_spinner=False)
def _client(uri: str) -> MongoClient[dict[str, Any]]:
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000, appname="upr-ui")


def database() -> Db:
    """The configured database on one long-lived client per URI (cached across reruns)."""
    from ui.settings import get_settings

    settings = get_settings()
    return _client(settings.mongodb_uri)[settings.mongodb_db]


# --- recommendations -------------------------------------------------------------------


@dataclass(frozen=True)
class RecommendationFilter:
    cycles: tuple[int, ...] = ()
    themes: tuple[str, ...] = ()
    positions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # CNCC (official) status values, or NOT_ASSESSED
    recommending_state: str = ""
    search: str = ""
    disagreement_only: bool = False
    child_related_only: bool = False


def recommendation_query(f: RecommendationFilter) -> dict[str, Any]:
    """The MongoDB filter for ``f``. Free text is matched literally (re.escape), case-insensitively,
    in the English and Khmer texts and the id, so Khmer search works without a text index."""
    clauses: list[dict[str, Any]] = []
    if f.cycles:
        clauses.append({"cycle": {"$in": list(f.cycles)}})
    if f.themes:
        clauses.append({"themes": {"$in": list(f.themes)}})
    if f.positions:
        clauses.append({"position": {"$in": list(f.positions)}})
    if f.statuses:
        wanted: list[Any] = [s for s in f.statuses if s != NOT_ASSESSED]
        if NOT_ASSESSED in f.statuses:
            wanted.append(None)
        clauses.append({"cncc_status": {"$in": wanted}})
    if f.recommending_state.strip():
        state = {"$regex": re.escape(f.recommending_state.strip()), "$options": "i"}
        clauses.append({"recommending_states.name": state})
    if f.disagreement_only:
        clauses.append({"disagreement": True})
    if f.child_related_only:
        clauses.append({"child_related": True})
    text = f.search.strip()
    if text:
        pattern = {"$regex": re.escape(text), "$options": "i"}
        clauses.append({"$or": [{"text": pattern}, {"text_km": pattern}, {"_id": pattern}]})
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


CYCLES = (1, 2, 3, 4, 5)  # UPR cycles offered by the filters (Cambodia: 1-4 so far)


def page_of_recommendations(
    db: Db, f: RecommendationFilter, *, skip: int = 0, limit: int = 50
) -> tuple[list[RecommendationDoc], bool]:
    """One page of matching recommendations in stored (import) order, and whether more follow.

    No server-side sort and no count: on FerretDB both scan the whole collection, while a
    limited find stops after the page is full, so the first page of 10,000 draws at once."""
    cursor = db[d.RECOMMENDATIONS].find(recommendation_query(f)).skip(max(skip, 0)).limit(limit + 1)
    docs = [RecommendationDoc.model_validate(doc) for doc in cursor]
    return docs[:limit], len(docs) > limit


def list_recommendations(db: Db, f: RecommendationFilter) -> list[RecommendationDoc]:
    """Every matching recommendation (for exports), in stored order."""
    return [RecommendationDoc.model_validate(doc) for doc in db[d.RECOMMENDATIONS].find(recommendation_query(f))]


def count_recommendations(db: Db, f: RecommendationFilter) -> int:
    """How many match. Without a filter, the collection's own count (metadata on MongoDB, page
    statistics on the embedded server: no document is read). With one, counted over an _id-only
    cursor: on FerretDB about twice as fast as count_documents (an aggregation)."""
    query = recommendation_query(f)
    if not query:
        return int(db[d.RECOMMENDATIONS].estimated_document_count())
    summarised = count_from_summaries(db, f)
    if summarised is not None:
        return summarised
    cursor = db[d.RECOMMENDATIONS].find(query, {"_id": 1}, batch_size=5000)
    return sum(1 for _ in cursor)


def count_from_summaries(db: Db, f: RecommendationFilter) -> int | None:
    """The count of a filter the Dashboard's summaries answer (cycles, and one of positions,
    statuses, disagreement or child-related), without reading any recommendation; None when
    they cannot (other filters, or data not summarised yet)."""
    narrowing = [bool(f.positions), bool(f.statuses), f.disagreement_only, f.child_related_only]
    if f.themes or f.search.strip() or f.recommending_state.strip() or sum(narrowing) > 1:
        return None
    docs = list(db[d.DASHBOARD_SUMMARIES].find({}))
    if not any(doc["_id"] == "meta" for doc in docs):
        return None
    total = 0
    for doc in docs:
        if doc.get("kind") != "cycle" or (f.cycles and doc.get("cycle") not in f.cycles):
            continue
        part = CycleSummaryDoc.model_validate(doc)
        if f.positions:
            total += sum(part.by_position.get(p, 0) for p in f.positions)
        elif f.statuses:
            total += sum(part.by_status.get(s, 0) for s in f.statuses)
        elif f.disagreement_only:
            total += len(part.disagreements)
        elif f.child_related_only:
            total += part.child_related
        else:
            total += part.total
    return total


def recommendation(db: Db, recommendation_id: str) -> RecommendationDoc | None:
    """By id, or by an id it had before two sources were merged (links made earlier keep working)."""
    doc = _find(db, recommendation_id)
    return RecommendationDoc.model_validate(doc) if doc else None


def _find(db: Db, recommendation_id: str, projection: dict[str, int] | None = None) -> dict[str, Any] | None:
    doc = db[d.RECOMMENDATIONS].find_one({"_id": recommendation_id}, projection)
    if doc is None:  # an old id: lookups by _id only (indexed)
        alias = db[d.RECOMMENDATION_ALIASES].find_one({"_id": recommendation_id})
        if alias is not None:
            doc = db[d.RECOMMENDATIONS].find_one({"_id": alias["recommendation_id"]}, projection)
    return doc


def _names(db: Db, recommendation_id: str) -> list[str]:
    """Every id a recommendation was stored under: evidence and assessments may use an old one."""
    doc = _find(db, recommendation_id, {"aliases": 1})
    if doc is None:
        return [recommendation_id]
    return list(dict.fromkeys([str(doc["_id"]), recommendation_id, *(doc.get("aliases") or [])]))


def recommendation_ids(db: Db) -> list[str]:
    return sorted(str(doc["_id"]) for doc in db[d.RECOMMENDATIONS].find({}, {"_id": 1}))


def latest_cycle_with_data(db: Db) -> int | None:
    """The most recent UPR cycle that has recommendations (the useful default for the report).

    One indexed probe per known cycle, newest first: `distinct` decodes every document on
    the embedded server (16 s at 10,000 recommendations), a probe reads one index entry."""
    for cycle in sorted(CYCLES, reverse=True):
        if db[d.RECOMMENDATIONS].find_one({"cycle": cycle}, {"_id": 1}) is not None:
            return cycle
    return None


def recommendation_choices(db: Db) -> list[tuple[str, str]]:
    """(id, first words of the English text) of every recommendation, for a searchable picker."""
    docs = db[d.RECOMMENDATIONS].find({}, {"_id": 1, "text": 1})
    return sorted((str(doc["_id"]), " ".join(str(doc.get("text") or "").split()[:14])) for doc in docs)


def versions(db: Db, recommendation_id: str) -> list[RecommendationVersionDoc]:
    cursor = db[d.RECOMMENDATION_VERSIONS].find(
        {"recommendation_id": {"$in": _names(db, recommendation_id)}}).sort("version", 1)
    return [RecommendationVersionDoc.model_validate(doc) for doc in cursor]


# --- evidence --------------------------------------------------------------------------


def can_see_evidence(evidence: EvidenceDoc, user: Actor) -> bool:
    """Who sees which evidence. Reviewers and admins see everything; the submitter sees their
    own whatever its state; otherwise only approved evidence, and viewers only public evidence."""
    if user.role in (Role.REVIEWER, Role.ADMIN):
        return True
    if evidence.submitted_by.username == user.username:
        return True
    if evidence.review_state != ReviewState.APPROVED:
        return False
    return user.role == Role.CSO_MEMBER or evidence.visibility == Visibility.PUBLIC


def evidence_for(db: Db, recommendation_id: str, user: Actor) -> list[EvidenceDoc]:
    """The evidence timeline of one recommendation as ``user`` may see it, newest first."""
    cursor = db[d.EVIDENCE].find({"recommendation_ids": {"$in": _names(db, recommendation_id)}})
    items = [EvidenceDoc.model_validate(doc) for doc in cursor]
    visible = [e for e in items if can_see_evidence(e, user)]
    return sorted(visible, key=lambda e: (e.published_on or e.submitted_at.date(), e.submitted_at),
                  reverse=True)


def pending_evidence(db: Db) -> list[EvidenceDoc]:
    cursor = db[d.EVIDENCE].find({"review_state": ReviewState.PENDING.value}).sort("submitted_at", 1)
    return [EvidenceDoc.model_validate(doc) for doc in cursor]


def evidence_by_id(db: Db, evidence_id: str) -> EvidenceDoc | None:
    doc = db[d.EVIDENCE].find_one({"_id": evidence_id})
    return EvidenceDoc.model_validate(doc) if doc else None


# --- safeguarding holds (reviewers and admins only: they hold text as written) ----------


def holds(db: Db, user: Actor, states: tuple[str, ...] = ("held",)) -> list[SafeguardingHoldDoc]:
    """Held text as written, oldest first; nobody but reviewers and admins may read it."""
    if user.role not in (Role.REVIEWER, Role.ADMIN):
        return []
    cursor = db[d.SAFEGUARDING_HOLDS].find({"state": {"$in": list(states)}}).sort("submitted_at", 1)
    return [SafeguardingHoldDoc.model_validate(doc) for doc in cursor]


# --- imported rows waiting for a reviewer (issue 14: confirm or split) -----------------


def pending_match_reviews(db: Db, limit: int = 200) -> list[MatchReviewDoc]:
    """Imported rows that may be a stored recommendation, oldest first (indexed on state)."""
    cursor = db[d.MATCH_REVIEWS].find({"state": "pending"}).sort("at", 1).limit(limit)
    return [MatchReviewDoc.model_validate(doc) for doc in cursor]


# --- assessments, audit, cycles, drafts ------------------------------------------------


def assessments_for(db: Db, recommendation_id: str) -> list[AssessmentDoc]:
    cursor = db[d.ASSESSMENTS].find(
        {"recommendation_id": {"$in": _names(db, recommendation_id)}}).sort("at", DESCENDING)
    return [AssessmentDoc.model_validate(doc) for doc in cursor]


def audit_log(db: Db, *, subject_id: str | None = None, action: str | None = None,
              limit: int = 200) -> list[AuditEntry]:
    query: dict[str, Any] = {}
    if subject_id:
        query["subject_id"] = subject_id
    if action:
        query["action"] = action
    cursor = db[d.AUDIT_LOG].find(query).sort("at", DESCENDING).limit(limit)
    return [AuditEntry.model_validate(doc) for doc in cursor]


def recent_tag_corrections(db: Db, limit: int = 50) -> list[AuditEntry]:
    return audit_log(db, action="themes.corrected", limit=limit)


def cycle_published(db: Db, country: str, cycle: int) -> bool:
    doc = db[d.CYCLES].find_one({"_id": f"{country}-{cycle}"}, {"published": 1})
    return bool(doc and doc.get("published"))


def cycles(db: Db) -> list[CycleDoc]:
    return [CycleDoc.model_validate(doc) for doc in db[d.CYCLES].find().sort([("country", 1), ("cycle", 1)])]


def report_drafts(db: Db, country: str, cycle: int) -> list[ReportDraftDoc]:
    cursor = db[d.REPORT_DRAFTS].find({"country": country, "cycle": cycle}).sort(
        [("section", 1), ("language", 1), ("version", DESCENDING)])
    return [ReportDraftDoc.model_validate(doc) for doc in cursor]


def latest_drafts(drafts: list[ReportDraftDoc]) -> dict[tuple[str, str], ReportDraftDoc]:
    """The newest version per (section, language)."""
    latest: dict[tuple[str, str], ReportDraftDoc] = {}
    for draft in drafts:
        key = (draft.section, draft.language)
        if key not in latest or draft.version > latest[key].version:
            latest[key] = draft
    return latest


def api_keys(db: Db) -> list[ApiKeyDoc]:
    """The read API's keys, newest first (the tracker keeps them; never a secret, only its hash)."""
    return [ApiKeyDoc.model_validate(doc) for doc in db[API_KEYS].find().sort("created_at", DESCENDING)]


def receipts(db: Db, message_ids: Sequence[str], consumer: str = "tracker") -> dict[str, dict[str, Any]]:
    """The receipts the tracker (or the notifier) stored for these message ids, by id."""
    collection = d.NOTIFIER_PROCESSED if consumer == "notifier" else d.PROCESSED_MESSAGES
    return {doc["_id"]: doc for doc in db[collection].find({"_id": {"$in": list(message_ids)}},
                                                           {"outcome": 1, "error": 1})}


# --- subscriptions (the notifier's, read-only) -----------------------------------------


class SubscriptionView(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscription_id: str
    owner: str
    channel: str
    email: str | None = None
    webhook_url: str | None = None
    frequency: str = "immediate"
    event_kinds: list[str] = []
    themes: list[str] = []
    recommendation_ids: list[str] = []
    cycles: list[int] = []
    language: str = "en"
    active: bool = True
    status: str = "active"
    telegram_chat_id: int | None = None


def subscriptions(db: Db, owner: str) -> list[SubscriptionView]:
    cursor = db[SUBSCRIPTIONS].find({"owner": owner})
    views = [SubscriptionView.model_validate({"subscription_id": doc.get("_id"), **doc}) for doc in cursor]
    return [v for v in views if v.active and v.status != "cancelled"]


TELEGRAM_GROUP = "telegram-group:"  # owner of a group or channel an admin linked


def telegram_groups(db: Db) -> list[SubscriptionView]:
    """The Telegram groups and channels admins linked (their owner names the group)."""
    cursor = db[SUBSCRIPTIONS].find({"owner": {"$regex": f"^{TELEGRAM_GROUP}"}, "status": {"$ne": "cancelled"}})
    return [SubscriptionView.model_validate({"subscription_id": doc.get("_id"), **doc}) for doc in cursor]


# A bot that has not polled for this long is taken as stopped: the UI says Telegram is off.
TELEGRAM_BOT_SILENT_S = 300


def telegram_bot(db: Db, now: datetime | None = None) -> str | None:
    """The bot's username when the Telegram channel is on (the notifier's bot polls), else None."""
    doc = db[TELEGRAM_BOT].find_one({"_id": "bot"})
    seen = (doc or {}).get("seen_at")
    if not doc or not doc.get("username") or not isinstance(seen, datetime):
        return None
    if ((now or datetime.now(UTC)) - seen).total_seconds() > TELEGRAM_BOT_SILENT_S:
        return None
    return str(doc["username"])


# --- dashboard -------------------------------------------------------------------------


@dataclass
class DashboardSummary:
    total: int = 0
    child_related: int = 0
    by_position: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)  # CNCC status (or not_assessed)
    by_cso_status: dict[str, int] = field(default_factory=dict)
    by_theme_status: dict[str, dict[str, int]] = field(default_factory=dict)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    evidence_total: int = 0
    pending_evidence: int = 0


def dashboard(db: Db, cycle: int | None = None, role: Role = Role.VIEWER) -> DashboardSummary:
    """Progress by theme, position and status, and the CSO/CNCC disagreements, for one cycle or all.

    Read from the summaries the tracker keeps (one query on a small collection: a document per
    country and cycle); counted from every recommendation only where the tracker has not
    summarised the data yet (`upr dashboard rebuild`)."""
    docs = list(db[d.DASHBOARD_SUMMARIES].find({}))
    if not any(doc["_id"] == "meta" for doc in docs):
        return counted_dashboard(db, cycle, role)
    summary = DashboardSummary()
    parts = []
    for doc in docs:
        if doc.get("kind") == "evidence":
            evidence = EvidenceSummaryDoc.model_validate(doc)
            # As ``role`` may see evidence: a viewer's figure must not reveal coalition-only,
            # pending or held items (issue 13 row 15).
            summary.evidence_total = evidence.public if role == Role.VIEWER else evidence.coalition
            if role in (Role.REVIEWER, Role.ADMIN):
                summary.pending_evidence = evidence.pending
        elif doc.get("kind") == "cycle" and (cycle is None or doc.get("cycle") == cycle):
            parts.append(CycleSummaryDoc.model_validate(doc))
    return _add_cycles(summary, parts)


def _add_cycles(summary: DashboardSummary, parts: Iterable[CycleSummaryDoc]) -> DashboardSummary:
    """The figures of several (country, cycle) summaries added up."""
    positions: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    cso: Counter[str] = Counter()
    theme_status: dict[str, Counter[str]] = defaultdict(Counter)
    for part in parts:
        summary.total += part.total
        summary.child_related += part.child_related
        positions.update(part.by_position)
        statuses.update(part.by_status)
        cso.update(part.by_cso_status)
        for theme, counts in part.by_theme_status.items():
            theme_status[theme].update(counts)
        summary.disagreements.extend(part.disagreement_rows())
    summary.by_position = dict(positions)
    summary.by_status = dict(statuses)
    summary.by_cso_status = dict(cso)
    summary.by_theme_status = {k: dict(v) for k, v in sorted(theme_status.items())}
    summary.disagreements.sort(key=lambda row: str(row["recommendation_id"]))
    return summary


def counted_dashboard(db: Db, cycle: int | None = None, role: Role = Role.VIEWER) -> DashboardSummary:
    """The same figures counted from every recommendation (reads them all: slow on a large database),
    by the rule the tracker keeps its summaries with (contracts.dashboard)."""
    query: dict[str, Any] = {} if cycle is None else {"cycle": cycle}
    found = db[d.RECOMMENDATIONS].find(query, dict.fromkeys(RECOMMENDATION_FIELDS, 1))
    counted = CycleSummaryDoc.model_validate({**summarise("", cycle or 0, found), "computed_at": datetime.now(UTC)})
    summary = _add_cycles(DashboardSummary(), [counted])
    # Counted as ``role`` may see evidence: a viewer's figure must not reveal coalition-only,
    # pending or held items (issue 13 row 15).
    approved: dict[str, Any] = {"review_state": ReviewState.APPROVED.value}
    if role == Role.VIEWER:
        approved["visibility"] = Visibility.PUBLIC.value
    fields = {"safeguarding_flags": 1, "safeguarding_state": 1}
    summary.evidence_total = sum(1 for doc in db[d.EVIDENCE].find(approved, fields) if not d.evidence_held(doc))
    if role in (Role.REVIEWER, Role.ADMIN):
        summary.pending_evidence = db[d.EVIDENCE].count_documents({"review_state": ReviewState.PENDING.value})
    return summary


def evidence_count(rec: RecommendationDoc, role: Role) -> int:
    """A recommendation's evidence count as ``role`` may see it (the tracker keeps one per audience)."""
    if role in (Role.REVIEWER, Role.ADMIN):
        return rec.evidence_count
    return rec.evidence_count_coalition if role == Role.CSO_MEMBER else rec.evidence_count_public


def deadlines(db: Db, today: date) -> list[dict[str, Any]]:
    """Every milestone with the days left until it (negative when past), soonest first."""
    rows = []
    for c in cycles(db):
        for milestone, due in c.milestones.items():
            rows.append({"country": c.country, "cycle": c.cycle, "milestone": milestone,
                         "due_on": due, "days_left": (due - today).days})
    return sorted(rows, key=lambda r: r["due_on"])


STATUS_ORDER = [s.value for s in ImplementationStatus] + [NOT_ASSESSED]

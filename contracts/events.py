"""Event envelope and versioned payloads exchanged over Kafka.

Every message on every topic is an :class:`EventEnvelope`. Its ``type`` and
``version`` select the payload model from :data:`PAYLOADS`; a pair that is not
registered raises :class:`UnknownEventVersion`, which consumers route to their
dead-letter topic instead of crashing.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

# Largest accepted text field (a recommendation or a verbatim quote). Longer input is
# refused with a clear error rather than stored truncated.
MAX_TEXT_CHARS = 20_000
MAX_QUOTE_CHARS = 5_000
# Kafka's default max message size is 1 MB; stay well below it.
MAX_MESSAGE_BYTES = 512 * 1024


class ContractError(ValueError):
    """A message that can never be processed: it belongs in a dead-letter topic."""


class UnknownEventVersion(ContractError):
    pass


def _no_mongo_operator_keys(value: Any) -> Any:
    """Refuse keys MongoDB would treat as operators or paths (``$x``, ``a.b``)."""
    bad = _bad_key_path(value)
    if bad is not None:
        raise ValueError(f"key {bad!r} may not start with '$' or contain '.'")
    return value


def _bad_key_path(value: Any) -> str | None:
    # Runs on every message: the path is only built on the way out of an error.
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$") or "." in key or "\x00" in key:
                return str(key)
            if isinstance(item, dict | list):
                inner = _bad_key_path(item)
                if inner is not None:
                    return f"{key}.{inner}"
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict | list):
                inner = _bad_key_path(item)
                if inner is not None:
                    return f"{i}.{inner}"
    return None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (UTC)")
    return value.astimezone(UTC)


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f]")


def _clean_text(value: str) -> str:
    # Control characters other than newline/tab break exports and terminals.
    return _CONTROL_CHARS.sub("", value).strip()


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
CleanText = Annotated[str, AfterValidator(_clean_text)]
SafeDict = Annotated[dict[str, Any], AfterValidator(_no_mongo_operator_keys)]


class Contract(BaseModel):
    """Base of all contract models: strict about unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- vocabulary ------------------------------------------------------------------------


class Position(StrEnum):
    SUPPORTED = "Supported"
    NOTED = "Noted"


class ImplementationStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    PARTIALLY_IMPLEMENTED = "partially_implemented"
    FULLY_IMPLEMENTED = "fully_implemented"
    NOT_ASSESSABLE = "not_assessable"


class Assessor(StrEnum):
    """Whose assessment: the CSO coalition's or the official CNCC one."""

    CSO = "cso"
    CNCC = "cncc"


class Role(StrEnum):
    VIEWER = "viewer"
    CSO_MEMBER = "cso_member"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class EvidenceSourceType(StrEnum):
    LAW_DECREE = "law_decree"
    POLICY_PLAN = "policy_plan"
    BUDGET = "budget"
    STATISTICS = "statistics"
    COURT_CASE = "court_case"
    TRAINING = "training"
    MEDIA = "media"
    CSO_REPORT = "cso_report"
    UN_DOCUMENT = "un_document"


class Visibility(StrEnum):
    COALITION = "coalition"
    PUBLIC = "public"


class ReviewState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Actor(Contract):
    """Who caused a change; stored in the audit log."""

    username: str = Field(min_length=1, max_length=100)
    role: Role
    organisation: str | None = Field(default=None, max_length=200)


SYSTEM_ACTOR = Actor(username="system", role=Role.ADMIN, organisation=None)


# --- envelope --------------------------------------------------------------------------


class EventEnvelope(Contract):
    """What travels on Kafka: metadata plus a payload selected by (type, version)."""

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    occurred_at: UtcDatetime = Field(default_factory=lambda: datetime.now(UTC))
    source: str = Field(min_length=1, max_length=50, description="service or tool that emitted it")
    correlation_id: str = Field(
        default_factory=lambda: str(uuid.uuid4()),
        max_length=200,
        description="ties events of one import, command or request together",
    )
    actor: Actor | None = None
    payload: SafeDict
    # Added without a new version: optional, and left out of the JSON when absent, so an
    # unsigned envelope is byte for byte what it was before (contracts/signing.py).
    signature: str | None = Field(
        default=None, max_length=200,
        description="hmac-sha256:<hex> over event_id, type, version, source, actor and payload "
        "(required on commands and imported recommendations)",
    )

    @model_serializer(mode="wrap")
    def _omit_missing_signature(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("signature") is None:
            data.pop("signature", None)
        return data

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    def typed_payload(self) -> BaseModel:
        return payload_model(self.type, self.version).model_validate(self.payload)


# --- recommendation payloads -----------------------------------------------------------


class RecommendingState(Contract):
    code: str = Field(min_length=2, max_length=10, description="ISO 3166-1 alpha-3, or the raw name if unknown")
    name: str = Field(min_length=1, max_length=200)


class SourceRef(Contract):
    format: str = Field(max_length=50)
    file_name: str = Field(max_length=300)
    row: int | None = None


class RecommendationImportedV1(Contract):
    """A recommendation as read from a source file (one row)."""

    recommendation_id: str = Field(pattern=r"^[A-Z]{3}-\d{1,2}-[A-Za-z0-9.\-]{1,40}$")
    country: str = Field(pattern=r"^[A-Z]{3}$")
    cycle: int = Field(ge=1, le=20)
    session: int | None = Field(default=None, ge=1, le=200)
    document_symbol: str | None = Field(default=None, max_length=100)
    paragraph: str | None = Field(default=None, max_length=40)
    text: CleanText = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    text_km: CleanText | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    recommending_states: list[RecommendingState] = Field(default_factory=list)
    position: Position
    source_themes: list[str] = Field(default_factory=list, description="UHRI themes when the source has them")
    affected_persons: list[str] = Field(default_factory=list)
    sdgs: list[str] = Field(default_factory=list)
    action_category: int | None = Field(default=None, ge=1, le=5)
    publication_date: date | None = None
    source: SourceRef
    import_id: str = Field(max_length=100)

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("text is empty")
        return value


class RecommendationImportedV2(RecommendationImportedV1):
    """V1 plus OHCHR's annotation id (UHRI's "OHCHR Annotation Id"), when the source has it.
    The ingest sends V2 only for rows that carry one; the tracker accepts both."""

    annotation_id: str = Field(pattern=r"^[A-Za-z0-9._\-]{1,64}$",
                               description="OHCHR's id of the recommendation in UHRI")


class FieldChange(Contract):
    field: str
    before: Any = None
    after: Any = None


class RecommendationUpdatedV1(Contract):
    """The tracker stored a new version of a recommendation (version 1 = created)."""

    recommendation_id: str
    version: int = Field(ge=1)
    created: bool
    changes: list[FieldChange] = Field(default_factory=list)
    position: Position
    cycle: int
    themes: list[str] = Field(default_factory=list)


# --- themes ----------------------------------------------------------------------------


class ThemeTag(Contract):
    id: str = Field(pattern=r"^T\d{2}$")
    confidence: float = Field(ge=0.0, le=1.0)
    explanation: str = Field(default="", max_length=2000)
    source: Literal["tagger", "human"] = "tagger"


class ThemesTaggedV1(Contract):
    recommendation_id: str
    child_related: bool
    themes: list[ThemeTag]
    tagger_version: str
    corrected: bool = False


class ThemeCorrectionRequestedV1(Contract):
    """Command: a person adds or removes themes of one recommendation."""

    recommendation_id: str
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
    comment: CleanText = Field(default="", max_length=2000)


# --- evidence --------------------------------------------------------------------------


class EvidenceSubmittedV1(Contract):
    """Command: someone submits evidence of implementation."""

    evidence_id: str = Field(pattern=r"^[A-Za-z0-9_-]{6,64}$")
    recommendation_ids: list[str] = Field(min_length=1, max_length=200)
    source_type: EvidenceSourceType
    title: CleanText = Field(min_length=1, max_length=500)
    url: str | None = Field(default=None, max_length=2000)
    document_reference: CleanText | None = Field(default=None, max_length=500)
    published_on: date | None = None
    quote: CleanText = Field(default="", max_length=MAX_QUOTE_CHARS)
    organisation: CleanText | None = Field(default=None, max_length=200)
    visibility: Visibility = Visibility.COALITION
    language: Literal["en", "km"] = "en"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value


class EvidenceAddedV1(Contract):
    """The tracker stored evidence; ``review_state`` pending means it waits for a reviewer."""

    evidence_id: str
    recommendation_ids: list[str]
    source_type: EvidenceSourceType
    title: str
    published_on: date | None = None
    organisation: str | None = None
    visibility: Visibility
    review_state: ReviewState
    safeguarding_flags: list[str] = Field(default_factory=list)


class EvidenceReviewedV1(Contract):
    """Event: a reviewer approved or rejected evidence (superseded by V2 for announcements)."""

    evidence_id: str
    decision: Literal["approved", "rejected"]
    comment: CleanText = Field(default="", max_length=2000)


class EvidenceReviewRequestedV1(EvidenceReviewedV1):
    """Command: a reviewer approves or rejects evidence (same fields as the V1 event)."""


class EvidenceReviewedV2(Contract):
    """Event: a reviewer's decision, with what a partner needs to know what it is about."""

    evidence_id: str
    decision: Literal["approved", "rejected"]
    comment: CleanText = Field(default="", max_length=2000)
    recommendation_ids: list[str]
    source_type: EvidenceSourceType
    title: str
    published_on: date | None = None
    organisation: str | None = None
    visibility: Visibility


# --- assessments and status ------------------------------------------------------------


class AssessmentSubmittedV1(Contract):
    """Command and event: a CSO or CNCC assessment of one recommendation."""

    assessment_id: str = Field(pattern=r"^[A-Za-z0-9_-]{6,64}$")
    recommendation_id: str
    assessor: Assessor
    status: ImplementationStatus
    rationale: CleanText = Field(default="", max_length=5000)
    evidence_ids: list[str] = Field(default_factory=list, max_length=200)


class StatusChangedV1(Contract):
    recommendation_id: str
    assessor: Assessor
    before: ImplementationStatus | None
    after: ImplementationStatus
    assessment_id: str
    disagreement: bool = Field(description="CSO and CNCC statuses now differ")


class CycleDeadlineSetV1(Contract):
    """Command and event: a milestone of a cycle (e.g. the mid-term report due date)."""

    country: str = Field(pattern=r"^[A-Z]{3}$")
    cycle: int = Field(ge=1, le=20)
    milestone: str = Field(pattern=r"^[a-z][a-z0-9_]{0,60}$", description="e.g. mid_term_report_due")
    due_on: date


class CyclePublicationSetV1(Contract):
    """Command and event: reviewers publish a cycle on the public progress page and the read
    API (or withdraw it). Nothing of an unpublished cycle is shown to anonymous callers."""

    country: str = Field(pattern=r"^[A-Z]{3}$")
    cycle: int = Field(ge=1, le=20)
    published: bool


# --- notifications ---------------------------------------------------------------------


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    TELEGRAM = "telegram"  # added with SubscriptionRequestedV3: a chat linked by a one-time /start link


class NotificationRequestedV1(Contract):
    """One alert to send: a subscription matched an event (or a schedule fired)."""

    delivery_id: str
    subscription_id: str
    channel: Channel
    trigger_event_id: str
    trigger_type: str


class NotificationDeliveredV1(Contract):
    delivery_id: str
    subscription_id: str
    channel: Channel
    trigger_event_id: str
    attempts: int
    latency_ms: float


class NotificationFailedV1(Contract):
    delivery_id: str
    subscription_id: str
    channel: Channel
    trigger_event_id: str
    attempts: int
    error: str = Field(max_length=2000)
    dead_lettered: bool


# --- report drafts ---------------------------------------------------------------------


class ReportDraftSavedV1(Contract):
    """Command and event: a person saved an editable section of the mid-term report."""

    country: str = Field(pattern=r"^[A-Z]{3}$")
    cycle: int = Field(ge=1, le=20)
    section: str = Field(pattern=r"^[a-z_]{1,40}(:T\d{2})?$")
    language: Literal["en", "km"] = "en"
    text: CleanText = Field(default="", max_length=50_000)


# --- safeguarding ----------------------------------------------------------------------


class SafeguardingReviewRequestedV1(Contract):
    """Command: a reviewer decides on held text. ``release``: it does not identify a child, show
    it; ``redact``: show ``redacted`` (field -> new text) instead, keeping the original only in the
    hold entry; ``erase``: remove the original from the hold entry too."""

    hold_id: str = Field(min_length=3, max_length=200)
    decision: Literal["release", "redact", "erase"]
    redacted: dict[str, CleanText] = Field(default_factory=dict, max_length=10)
    comment: CleanText = Field(default="", max_length=2000)


# --- API keys --------------------------------------------------------------------------


class ApiKeyIssuedV1(Contract):
    """Command (admins only): a read API key for a partner system, bound to a role. It carries
    the hash of the secret, never the secret (contracts/api_keys.py)."""

    key_id: str = Field(pattern=r"^[a-f0-9]{12}$")
    name: CleanText = Field(min_length=1, max_length=100, description="who uses it, e.g. the partner's system")
    role: Role
    secret_hash: str = Field(pattern=r"^sha256:[a-f0-9]{64}$")


class ApiKeyRevokedV1(Contract):
    """Command (admins only): the key is refused from now on."""

    key_id: str = Field(pattern=r"^[a-f0-9]{12}$")


# --- people's text, sealed (contracts/sealed_text.py) --------------------------------------


class SealedText(Contract):
    """The free text of a command, encrypted with a data key of its own (AES-256-GCM); the data
    key travels wrapped to the tracker's key ``kek_id`` (HPKE, X25519). The tracker keeps the
    data key in ``text_keys`` and deletes it when the text is erased: the copies on Kafka and in
    the dead-letter topics can then no longer be read."""

    key_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    kek_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    wrapped_key: str = Field(max_length=200)
    nonce: str = Field(max_length=40)
    ciphertext: str = Field(max_length=200_000)


class EvidenceSubmittedV2(Contract):
    """evidence.submitted v1 with title, quote, reference, URL and organisation sealed."""

    evidence_id: str = Field(pattern=r"^[A-Za-z0-9_-]{6,64}$")
    recommendation_ids: list[str] = Field(min_length=1, max_length=200)
    source_type: EvidenceSourceType
    published_on: date | None = None
    visibility: Visibility = Visibility.COALITION
    language: Literal["en", "km"] = "en"
    sealed: SealedText


class EvidenceReviewRequestedV2(Contract):
    """evidence.review_requested v1 with the comment sealed."""

    evidence_id: str
    decision: Literal["approved", "rejected"]
    sealed: SealedText


class AssessmentSubmittedV2(Contract):
    """assessment.submitted v1 (the command) with the rationale sealed."""

    assessment_id: str = Field(pattern=r"^[A-Za-z0-9_-]{6,64}$")
    recommendation_id: str
    assessor: Assessor
    status: ImplementationStatus
    evidence_ids: list[str] = Field(default_factory=list, max_length=200)
    sealed: SealedText


class ThemeCorrectionRequestedV2(Contract):
    """themes.correction_requested v1 with the comment sealed."""

    recommendation_id: str
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
    sealed: SealedText


class ReportDraftSavedV2(Contract):
    """report.draft_saved v1 (the command) with the text sealed."""

    country: str = Field(pattern=r"^[A-Z]{3}$")
    cycle: int = Field(ge=1, le=20)
    section: str = Field(pattern=r"^[a-z_]{1,40}(:T\d{2})?$")
    language: Literal["en", "km"] = "en"
    sealed: SealedText
# --- imports: a reviewer's word on an ambiguous match ----------------------------------


class ImportMatchDecidedV1(Contract):
    """Command: a reviewer decides on an imported row the tracker could not place for sure
    (``review_id`` of its entry in ``match_reviews``). ``same``: it is the stored recommendation
    ``recommendation_id`` (one of its candidates): merged into it, its id kept as an alias;
    ``separate``: a recommendation of its own."""

    review_id: str = Field(min_length=3, max_length=200)
    decision: Literal["same", "separate"]
    recommendation_id: str | None = Field(default=None, max_length=60)
    comment: CleanText = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _target_when_same(self) -> ImportMatchDecidedV1:
        if self.decision == "same" and not self.recommendation_id:
            raise ValueError("recommendation_id: say which stored recommendation the row is")
        return self


# --- subscriptions ---------------------------------------------------------------------


class SubscriptionRequestedV1(Contract):
    """Command to the notifier: create or replace a subscription."""

    subscription_id: str = Field(pattern=r"^[A-Za-z0-9_-]{6,64}$")
    owner: str = Field(min_length=1, max_length=100, description="username, or a partner's name")
    channel: Channel
    email: str | None = Field(default=None, max_length=320)
    webhook_url: str | None = Field(default=None, max_length=2000)
    frequency: Literal["immediate", "daily", "weekly"] = "immediate"
    event_kinds: list[
        Literal[
            "new_evidence",
            "status_change",
            "disagreement",
            "tag_correction",
            "deadline",
            "stale",
            "new_recommendation",
        ]
    ] = Field(min_length=1)
    themes: list[str] = Field(default_factory=list, description="empty = all themes")
    recommendation_ids: list[str] = Field(default_factory=list, description="empty = all")
    cycles: list[int] = Field(default_factory=list, description="empty = all")
    language: Literal["en", "km"] = "en"
    stale_after_days: int = Field(default=90, ge=1, le=3650)


class SubscriptionRequestedV2(SubscriptionRequestedV1):
    """V1 plus what an admin says about a partner system: a webhook marked ``coalition_partner``
    receives coalition-only alerts too (unmarked partners get public data only)."""

    coalition_partner: bool = Field(default=False, description="webhooks only; admins only")


class SubscriptionRequestedV3(SubscriptionRequestedV2):
    """V2 plus Telegram: the subscription waits until a chat sends the bot ``/start <token>``;
    the command carries only the token's hash (``sha256:<hex>``), the UI shows the token once
    in the deep link. A person's own subscription links a private chat only; a group or
    channel is linked by an admin (an owner other than themselves)."""

    telegram_link_hash: str | None = Field(default=None, pattern=r"^sha256:[a-f0-9]{64}$")


class SubscriptionCancelledV1(Contract):
    subscription_id: str


# --- registry --------------------------------------------------------------------------

PAYLOADS: dict[tuple[str, int], type[Contract]] = {
    ("recommendation.imported", 1): RecommendationImportedV1,
    ("recommendation.imported", 2): RecommendationImportedV2,
    ("import.match_decided", 1): ImportMatchDecidedV1,
    ("recommendation.updated", 1): RecommendationUpdatedV1,
    ("themes.tagged", 1): ThemesTaggedV1,
    ("themes.correction_requested", 1): ThemeCorrectionRequestedV1,
    ("themes.correction_requested", 2): ThemeCorrectionRequestedV2,
    ("evidence.submitted", 1): EvidenceSubmittedV1,
    ("evidence.submitted", 2): EvidenceSubmittedV2,
    ("evidence.added", 1): EvidenceAddedV1,
    ("evidence.review_requested", 1): EvidenceReviewRequestedV1,
    ("evidence.review_requested", 2): EvidenceReviewRequestedV2,
    ("evidence.reviewed", 1): EvidenceReviewedV1,
    ("evidence.reviewed", 2): EvidenceReviewedV2,
    ("assessment.submitted", 1): AssessmentSubmittedV1,
    ("assessment.submitted", 2): AssessmentSubmittedV2,
    ("status.changed", 1): StatusChangedV1,
    ("cycle.deadline_set", 1): CycleDeadlineSetV1,
    ("cycle.publication_set", 1): CyclePublicationSetV1,
    ("notification.requested", 1): NotificationRequestedV1,
    ("notification.delivered", 1): NotificationDeliveredV1,
    ("notification.failed", 1): NotificationFailedV1,
    ("report.draft_saved", 1): ReportDraftSavedV1,
    ("report.draft_saved", 2): ReportDraftSavedV2,
    ("safeguarding.review_requested", 1): SafeguardingReviewRequestedV1,
    ("api_key.issued", 1): ApiKeyIssuedV1,
    ("api_key.revoked", 1): ApiKeyRevokedV1,
    ("subscription.requested", 1): SubscriptionRequestedV1,
    ("subscription.requested", 2): SubscriptionRequestedV2,
    ("subscription.requested", 3): SubscriptionRequestedV3,
    ("subscription.cancelled", 1): SubscriptionCancelledV1,
}

P = TypeVar("P", bound=Contract)


def payload_model(event_type: str, version: int) -> type[Contract]:
    try:
        return PAYLOADS[(event_type, version)]
    except KeyError:
        known = sorted(v for (t, v) in PAYLOADS if t == event_type)
        hint = f"known versions: {known}" if known else "unknown event type"
        raise UnknownEventVersion(f"no contract for {event_type!r} version {version} ({hint})") from None


def type_and_version(model: type[Contract]) -> tuple[str, int]:
    for key, value in PAYLOADS.items():
        if value is model:
            return key
    raise KeyError(model.__name__)


def make_event(
    payload: Contract,
    *,
    source: str,
    event_type: str | None = None,
    correlation_id: str | None = None,
    actor: Actor | None = None,
    event_id: uuid.UUID | None = None,
) -> EventEnvelope:
    """Wrap a payload in an envelope; type/version come from the registry."""
    if event_type is None:
        event_type, version = type_and_version(type(payload))
    else:
        version = next(v for (t, v), m in PAYLOADS.items() if t == event_type and m is type(payload))
    fields: dict[str, Any] = {
        "type": event_type,
        "version": version,
        "source": source,
        "actor": actor,
        "payload": payload.model_dump(mode="json"),
    }
    if correlation_id is not None:
        fields["correlation_id"] = correlation_id
    if event_id is not None:
        fields["event_id"] = event_id
    return EventEnvelope(**fields)


def parse_event(raw: bytes | str | dict[str, Any]) -> tuple[EventEnvelope, Contract]:
    """Decode and validate a message; raise ContractError with a readable reason."""
    if isinstance(raw, bytes | str):
        if len(raw) > MAX_MESSAGE_BYTES:
            raise ContractError(f"message of {len(raw)} bytes exceeds {MAX_MESSAGE_BYTES}")
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ContractError(f"not JSON: {exc}") from None
    else:
        data = raw
    if not isinstance(data, dict):
        raise ContractError("message is not a JSON object")
    try:
        envelope = EventEnvelope.model_validate(data)
    except ValidationError as exc:
        raise ContractError(f"invalid envelope: {describe(exc)}") from None
    model = payload_model(envelope.type, envelope.version)
    try:
        payload = model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise ContractError(f"invalid {envelope.type} v{envelope.version} payload: {describe(exc)}") from None
    return envelope, payload


def describe(exc: ValidationError) -> str:
    """One line per problem, naming the field: 'payload.text: String should have ...'."""
    parts = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def deterministic_event_id(cause: uuid.UUID | str, index: int) -> uuid.UUID:
    """Id of the index-th event caused by another: the same on every redelivery."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"upr-tracker:{cause}:{index}")

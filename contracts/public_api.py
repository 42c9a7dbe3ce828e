"""What the tracker's read API (``/api/v1``) answers: the public projection of the data.

Version 1 of the API is these models. Like events, they change by adding fields with
defaults or a new version, never by removing or retyping a field: partner systems parse them.
"""

from __future__ import annotations

from datetime import date
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import EvidenceSourceType, ImplementationStatus, Position, Visibility

T = TypeVar("T")


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class PublicEvidenceV1(_Public):
    """Approved evidence that its author marked public and that no safeguarding check holds."""

    evidence_id: str
    recommendation_ids: list[str]
    source_type: EvidenceSourceType
    title: str
    published_on: date | None = None
    url: str | None = None
    quote: str = ""
    language: str = "en"
    visibility: Visibility = Field(
        Visibility.PUBLIC, description="always public for anonymous callers; coalition-only evidence is "
        "shown to API keys of a coalition role (cso_member, reviewer, admin)")


# These models repeat fields of RecommendationDoc and EvidenceDoc (contracts/documents.py) on
# purpose: the stored documents change with the tracker (a field renamed, a new one added for a
# feature), a public contract must not. Deriving one from the other would let a change of the
# database shape reach partners' parsers; here, each field is a promise made once.
class PublicRecommendationV1(_Public):
    """A recommendation of a published cycle, with the government's (CNCC) status."""

    recommendation_id: str
    country: str
    cycle: int
    session: int | None = None
    document_symbol: str | None = None
    paragraph: str | None = None
    text: str
    text_km: str | None = None
    recommending_states: list[str] = Field(default_factory=list)
    position: Position
    themes: list[str] = Field(default_factory=list)
    cncc_status: ImplementationStatus | None = None
    evidence_count: int = Field(0, description="evidence the caller may see (anonymous: public evidence only)")


class PublicRecommendationDetailV1(PublicRecommendationV1):
    evidence: list[PublicEvidenceV1] = Field(default_factory=list)


class PublicThemeV1(_Public):
    id: str
    label_en: str
    label_km: str
    definition: str


class PublicStatusV1(_Public):
    id: ImplementationStatus
    label_en: str
    label_km: str


class PublicCycleV1(_Public):
    country: str
    cycle: int


class PageV1(_Public, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next (null: the last page)."""

    items: list[T]
    next_cursor: str | None = None


class ApiErrorV1(_Public):
    error: str

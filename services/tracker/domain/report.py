"""The mid-term UPR report, assembled from the tracker's documents.

Pure: no I/O, no clock. ``as_of`` is the cut-off date: only evidence published on or
before it and assessments made on or before it count. Every status statement cites at
least one evidence item or says "no evidence submitted"; nothing is invented. Text people
write (executive summary, gaps, asks, priorities) comes from the latest saved report
draft of each section; a missing draft shows as a clearly marked placeholder.

Exports (DOCX, Markdown, XLSX) live in ``services/tracker/adapters/report_*.py`` and
only render a :class:`MidTermReport`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from contracts.documents import (
    AssessmentDoc,
    AssessmentSummary,
    CycleDoc,
    EvidenceDoc,
    RecommendationDoc,
    ReportDraftDoc,
)
from contracts.events import Assessor, ImplementationStatus, Position, ReviewState, Visibility
from services.tracker.domain.report_labels import (
    COUNTRY_NAMES,
    LABELS,
    SOURCE_TYPE_LABELS,
    STATUS_LABELS,
    ReportLanguage,
    ThemeLabel,
    heading,
    pick,
    position_label,
    status_label,
    theme_heading,
)
from services.tracker.domain.status import disagreement

_T = TypeVar("_T")
OTHER_CHAPTER_ID = "other"
STATUS_KEYS: tuple[str, ...] = (*(s.value for s in ImplementationStatus), "not_assessed")
NO_EVIDENCE = "no evidence submitted"
# Heading keys of the statistics-by-theme table: the label, then StatsRow.counts().
STATS_COLUMNS: tuple[str, ...] = (
    "theme",
    "recommendations",
    "supported",
    "noted",
    "with_evidence",
    "evidence_items",
    "cncc_assessed",
    "cso_assessed",
    "statuses_differ",
)


class ReportModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class Citation(ReportModel):
    """One evidence item as cited in the report; ``number`` is its "[n]"."""

    number: int
    evidence_id: str
    title: str
    published_on: date | None
    source_type: str
    source_type_label: str
    organisation: str | None
    quote: str
    url: str | None
    document_reference: str | None
    language: str


class StatusStatement(ReportModel):
    """One assessor's view of one recommendation, with the evidence it rests on."""

    assessor: Assessor
    status: ImplementationStatus | None
    status_label: str
    assessed_on: date | None
    rationale: str
    citations: list[int]
    # True when the statement rests on the recommendation's evidence because the
    # assessment itself cited none of the items the report may show.
    citations_from_recommendation: bool = False

    @property
    def no_evidence(self) -> bool:
        return not self.citations

    @property
    def sentence(self) -> str:
        """E.g. "Partially implemented (assessed 2025-03-01) [3][4]"."""
        text = self.status_label
        if self.assessed_on is not None:
            text += f" (assessed {self.assessed_on.isoformat()})"
        if self.citations:
            marks = "".join(f"[{n}]" for n in self.citations)
            if self.citations_from_recommendation:
                return f"{text}; the assessment cites no evidence; evidence on this recommendation: {marks}"
            return f"{text} {marks}"
        return f"{text}; {NO_EVIDENCE}"


class RecommendationEntry(ReportModel):
    recommendation_id: str
    paragraph: str | None
    document_symbol: str | None
    text: str
    text_km: str | None
    recommending_states: list[str]
    position: Position
    position_label: str
    themes: list[str]
    child_related: bool
    chapter_id: str
    cncc: StatusStatement
    cso: StatusStatement
    statuses_differ: bool
    measures: list[int]

    @property
    def label(self) -> str:
        """What a reader calls it: "82.32b (Philippines)" (the id's paragraph part keeps the
        letter that tells apart states sharing one paragraph)."""
        short = self.recommendation_id.split("-", 2)[-1] if self.recommendation_id.count("-") >= 2 else None
        text = short or self.paragraph or self.recommendation_id
        if self.recommending_states:
            text += f" ({', '.join(self.recommending_states)})"
        return text

    @property
    def reference(self) -> str:
        """ "A/HRC/13/4, para. 82.5" or the recommendation id."""
        if self.paragraph and self.document_symbol:
            return f"{self.document_symbol}, para. {self.paragraph}"
        if self.paragraph:
            return f"para. {self.paragraph}"
        return self.recommendation_id


class EditableText(ReportModel):
    """A free-text section people write; ``is_placeholder`` when nobody has yet."""

    section: str
    language: str
    text: str
    version: int | None = None
    edited_at: datetime | None = None
    is_placeholder: bool = False


class ThemeChapter(ReportModel):
    chapter_id: str  # "T06" or "other"
    heading: str
    entries: list[RecommendationEntry]
    cross_references: list[RecommendationEntry]
    gaps: list[EditableText]
    asks: list[EditableText]
    citations: list[int]


class StatsRow(ReportModel):
    key: str
    label: str
    recommendations: int
    supported: int
    noted: int
    with_evidence: int
    evidence_items: int
    cncc_assessed: int
    cso_assessed: int
    statuses_differ: int
    cncc_statuses: dict[str, int] = Field(default_factory=dict)

    def counts(self) -> list[int]:
        """The numbers of a statistics-by-theme row, in :data:`STATS_COLUMNS` order."""
        return [
            self.recommendations,
            self.supported,
            self.noted,
            self.with_evidence,
            self.evidence_items,
            self.cncc_assessed,
            self.cso_assessed,
            self.statuses_differ,
        ]


class StatusCountRow(ReportModel):
    key: str
    label: str
    cncc: int
    cso: int


class Statistics(ReportModel):
    by_theme: list[StatsRow]
    by_position: list[StatsRow]
    by_status: list[StatusCountRow]
    total: StatsRow


class ExecutiveSummary(ReportModel):
    figures: list[str]
    texts: list[EditableText]


class MatrixRow(ReportModel):
    recommendation_id: str
    paragraph: str | None
    document_symbol: str | None
    text: str
    text_km: str | None
    recommending_states: list[str]
    position: str
    themes: list[str]
    theme_labels: list[str]
    cso_status: str | None
    cncc_status: str | None
    cso_status_label: str
    cncc_status_label: str
    disagreement: bool
    evidence_count: int


class Contributor(ReportModel):
    organisation: str
    evidence_items: int
    assessments: int
    report_sections: int


class ExcludedEvidence(ReportModel):
    """How many evidence items the report leaves out, and why (counts only)."""

    not_approved: int = 0
    coalition_only: int = 0
    safeguarding_hold: int = 0
    after_cut_off: int = 0
    other_recommendations: int = 0


class MidTermReport(ReportModel):
    country: str
    country_name: str
    cycle: int
    as_of: date
    language: ReportLanguage
    include_coalition_only: bool
    child_related_only: bool
    title: str
    subtitle: str
    headings: dict[str, str]
    theme_labels: dict[str, ThemeLabel]
    executive_summary: ExecutiveSummary
    method: list[str]
    statistics: Statistics
    chapters: list[ThemeChapter]
    noted_revisited: list[RecommendationEntry]
    priorities: list[EditableText]
    citations: list[Citation]
    matrix: list[MatrixRow]
    contributors: list[Contributor]
    individual_contributors: int
    excluded_evidence: ExcludedEvidence

    def citation(self, number: int) -> Citation:
        return self.citations[number - 1]

    def chapter(self, chapter_id: str) -> ThemeChapter | None:
        return next((c for c in self.chapters if c.chapter_id == chapter_id), None)

    def entry(self, recommendation_id: str) -> RecommendationEntry | None:
        for chapter in self.chapters:
            for entry in chapter.entries:
                if entry.recommendation_id == recommendation_id:
                    return entry
        return None


# --- helpers ---------------------------------------------------------------------------


def paragraph_sort_key(rec: RecommendationDoc) -> tuple[tuple[int, ...], str, str]:
    """Natural order of paragraphs: 82.2 < 82.10 < 82.32a; unknown paragraphs last."""
    if not rec.paragraph:
        return ((10**9,), "", rec.recommendation_id)
    match = re.match(r"^([\d.]+)(.*)$", rec.paragraph)
    if match is None:
        return ((10**9,), rec.paragraph, rec.recommendation_id)
    numbers = tuple(int(part) for part in match.group(1).split(".") if part)
    return (numbers, match.group(2), rec.recommendation_id)


def _evidence_date(item: EvidenceDoc) -> date:
    # Without a publication date, the day it reached the tracker is the latest it can date from.
    return item.published_on or item.submitted_at.date()


def evidence_exclusion(item: EvidenceDoc, *, as_of: date, include_coalition_only: bool) -> str | None:
    """Why an evidence item may not appear in the report, or None when it may."""
    if item.review_state != ReviewState.APPROVED:
        return "not_approved"
    if item.held:
        return "safeguarding_hold"
    if item.visibility != Visibility.PUBLIC and not include_coalition_only:
        return "coalition_only"
    if _evidence_date(item) > as_of:
        return "after_cut_off"
    return None


def _latest_assessments(
    recommendations: Sequence[RecommendationDoc],
    assessments: Sequence[AssessmentDoc] | None,
    as_of: date,
) -> dict[tuple[str, Assessor], AssessmentSummary]:
    latest: dict[tuple[str, Assessor], AssessmentSummary] = {}
    if assessments is not None:
        ordered = sorted(assessments, key=lambda a: (a.at, a.assessment_id))
        for item in ordered:
            if item.at.date() > as_of:
                continue
            latest[(item.recommendation_id, item.assessor)] = AssessmentSummary(
                assessment_id=item.assessment_id,
                status=item.status,
                rationale=item.rationale,
                evidence_ids=item.evidence_ids,
                by=item.by,
                at=item.at,
                safeguarding_state=item.safeguarding_state,
            )
        return latest
    # No history given: the latest copies on the recommendations, if made by the cut-off.
    for rec in recommendations:
        for assessor, summary in ((Assessor.CSO, rec.cso_assessment), (Assessor.CNCC, rec.cncc_assessment)):
            if summary is not None and summary.at.date() <= as_of:
                latest[(rec.recommendation_id, assessor)] = summary
    return latest


def _latest_drafts(drafts: Iterable[ReportDraftDoc], country: str, cycle: int) -> dict[tuple[str, str], ReportDraftDoc]:
    latest: dict[tuple[str, str], ReportDraftDoc] = {}
    for draft in drafts:
        if draft.country != country or draft.cycle != cycle:
            continue
        key = (draft.section, draft.language)
        current = latest.get(key)
        if current is None or (draft.version, draft.at) > (current.version, current.at):
            latest[key] = draft
    return latest


class _Citations:
    """Numbers evidence items in order of first citation."""

    def __init__(self, evidence: Mapping[str, EvidenceDoc]) -> None:
        self._evidence = evidence
        self.numbers: dict[str, int] = {}
        self.items: list[Citation] = []

    def cite(self, evidence_ids: Iterable[str]) -> list[int]:
        numbers: list[int] = []
        for evidence_id in evidence_ids:
            item = self._evidence.get(evidence_id)
            if item is None:
                continue
            number = self.numbers.get(evidence_id)
            if number is None:
                number = len(self.items) + 1
                self.numbers[evidence_id] = number
                self.items.append(
                    Citation(
                        number=number,
                        evidence_id=item.evidence_id,
                        title=item.title,
                        published_on=item.published_on,
                        source_type=item.source_type.value,
                        source_type_label=SOURCE_TYPE_LABELS.get(item.source_type.value, item.source_type),
                        organisation=item.organisation,
                        quote=item.quote,
                        url=item.url,
                        document_reference=item.document_reference,
                        language=item.language,
                    )
                )
            if number not in numbers:
                numbers.append(number)
        return numbers


# --- assembly --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """What the report covers: the cycle's recommendations, those in scope, the themes' names."""

    labels: dict[str, ThemeLabel]
    lang: ReportLanguage
    cycle_recs: list[RecommendationDoc]
    in_scope: list[RecommendationDoc]
    scope_ids: frozenset[str]

    def themes_of(self, rec: RecommendationDoc) -> list[str]:
        return sorted({t for t in rec.themes if t in self.labels})

    def chapter_of(self, rec: RecommendationDoc) -> str:
        themes = self.themes_of(rec)
        return themes[0] if themes else OTHER_CHAPTER_ID


@dataclass(frozen=True)
class _EvidenceSelection:
    """The evidence the report may show (by id and per recommendation) and what it leaves out."""

    shown: dict[str, EvidenceDoc]
    evidence_of: dict[str, list[EvidenceDoc]]
    excluded: Counter[str]


@dataclass(frozen=True)
class _Sources:
    """Everything the chapters cite or quote: evidence, latest assessments and drafts, citation numbers."""

    selection: _EvidenceSelection
    latest: dict[tuple[str, Assessor], AssessmentSummary]
    latest_drafts: dict[tuple[str, str], ReportDraftDoc]
    citations: _Citations


def _select_scope(
    recommendations: Sequence[RecommendationDoc], *, country: str, cycle: int, lang: ReportLanguage,
    theme_labels: Mapping[str, ThemeLabel], child_related_only: bool,
) -> _Scope:
    cycle_recs = sorted(
        (r for r in recommendations if r.country == country and r.cycle == cycle), key=paragraph_sort_key
    )
    in_scope = [r for r in cycle_recs if not child_related_only or r.child_related or r.themes]
    return _Scope(dict(theme_labels), lang, cycle_recs, in_scope, frozenset(r.recommendation_id for r in in_scope))


def _select_evidence(
    evidence: Sequence[EvidenceDoc], scope: _Scope, *, as_of: date, include_coalition_only: bool
) -> _EvidenceSelection:
    excluded: Counter[str] = Counter()
    shown: dict[str, EvidenceDoc] = {}
    evidence_of: dict[str, list[EvidenceDoc]] = {r.recommendation_id: [] for r in scope.in_scope}
    for item in evidence:
        targets = [rid for rid in item.recommendation_ids if rid in scope.scope_ids]
        if not targets:
            excluded["other_recommendations"] += 1
            continue
        reason = evidence_exclusion(item, as_of=as_of, include_coalition_only=include_coalition_only)
        if reason is not None:
            excluded[reason] += 1
            continue
        shown[item.evidence_id] = item
        for rid in targets:
            evidence_of[rid].append(item)
    for items in evidence_of.values():
        items.sort(key=lambda e: (_evidence_date(e), e.evidence_id))
    return _EvidenceSelection(shown, evidence_of, excluded)


def _statement(rec: RecommendationDoc, assessor: Assessor, sources: _Sources) -> StatusStatement:
    """One assessor's status of a recommendation, citing the evidence it rests on."""
    citations, shown = sources.citations, sources.selection.shown
    summary = sources.latest.get((rec.recommendation_id, assessor))
    own = [e.evidence_id for e in sources.selection.evidence_of[rec.recommendation_id]]
    if summary is None:
        return StatusStatement(
            assessor=assessor,
            status=None,
            status_label=status_label(None),
            assessed_on=None,
            rationale="",
            citations=citations.cite(own),
        )
    cited = citations.cite(e for e in summary.evidence_ids if e in shown)
    from_rec = False
    if not cited and own:
        cited, from_rec = citations.cite(own), True
    return StatusStatement(
        assessor=assessor,
        status=summary.status,
        status_label=status_label(summary.status.value),
        assessed_on=summary.at.date(),
        # Held text (it may identify a child) never reaches the report, whoever reads it.
        rationale="" if summary.held else summary.rationale,
        citations=cited,
        citations_from_recommendation=from_rec,
    )


def _draft_texts(
    section: str, lang: ReportLanguage, latest_drafts: Mapping[tuple[str, str], ReportDraftDoc]
) -> list[EditableText]:
    """The latest saved text of a section in the report's language(s), or a marked placeholder."""
    wanted = {"en": ["en", "km"], "km": ["km", "en"], "bilingual": ["en", "km"]}[lang]
    texts: list[EditableText] = []
    for draft_language in wanted:
        draft = latest_drafts.get((section, draft_language))
        if draft is None or not draft.text.strip():
            continue
        if draft.held:
            text = (
                f"[Held for safeguarding review: the latest text of the section '{section}' "
                "may identify a child and waits for a reviewer.]"
            )
        else:
            text = draft.text
        texts.append(
            EditableText(
                section=section, language=draft.language, text=text, version=draft.version,
                edited_at=draft.at, is_placeholder=draft.held,
            )
        )
        if lang != "bilingual":
            break
    if not texts:
        texts.append(
            EditableText(
                section=section,
                language="en",
                text=f"[To be written: no text has been saved yet for the section '{section}'.]",
                is_placeholder=True,
            )
        )
    return texts


def _entry(rec: RecommendationDoc, chapter_id: str, scope: _Scope, sources: _Sources) -> RecommendationEntry:
    cncc = _statement(rec, Assessor.CNCC, sources)
    cso = _statement(rec, Assessor.CSO, sources)
    return RecommendationEntry(
        recommendation_id=rec.recommendation_id,
        paragraph=rec.paragraph,
        document_symbol=rec.document_symbol,
        text=rec.text,
        text_km=rec.text_km or None,
        recommending_states=[s.name for s in rec.recommending_states],
        position=rec.position,
        position_label=position_label(rec.position.value, scope.lang),
        themes=scope.themes_of(rec),
        child_related=rec.child_related,
        chapter_id=chapter_id,
        cncc=cncc,
        cso=cso,
        statuses_differ=disagreement(cso.status, cncc.status),
        measures=sources.citations.cite(e.evidence_id for e in sources.selection.evidence_of[rec.recommendation_id]),
    )


def _chapter_ids(scope: _Scope) -> list[str]:
    """The chapters in theme order, then "Other recommendations" if any has no theme."""
    chapter_ids = [t for t in sorted(scope.labels) if any(t in r.themes for r in scope.in_scope)]
    if any(scope.chapter_of(r) == OTHER_CHAPTER_ID for r in scope.in_scope):
        chapter_ids.append(OTHER_CHAPTER_ID)
    return chapter_ids


def _entries(scope: _Scope, chapter_ids: Sequence[str], sources: _Sources) -> dict[str, RecommendationEntry]:
    """Each recommendation in full under its first theme (citations numbered in chapter order)."""
    entries: dict[str, RecommendationEntry] = {}
    for chapter_id in chapter_ids:
        for rec in scope.in_scope:
            if scope.chapter_of(rec) == chapter_id:
                entries[rec.recommendation_id] = _entry(rec, chapter_id, scope, sources)
    return entries


def _chapters(
    scope: _Scope, chapter_ids: Sequence[str], entries: Mapping[str, RecommendationEntry], sources: _Sources
) -> list[ThemeChapter]:
    by_chapter: dict[str, list[RecommendationEntry]] = {}
    cross: dict[str, list[RecommendationEntry]] = {}
    for entry in entries.values():
        by_chapter.setdefault(entry.chapter_id, []).append(entry)
    for rec in scope.in_scope:
        entry = entries[rec.recommendation_id]
        for theme in entry.themes[1:]:
            cross.setdefault(theme, []).append(entry)
    chapters: list[ThemeChapter] = []
    for chapter_id in chapter_ids:
        chapter_entries = by_chapter.get(chapter_id, [])
        numbers = {n for e in chapter_entries for n in (*e.cncc.citations, *e.cso.citations, *e.measures)}
        if chapter_id == OTHER_CHAPTER_ID:
            title, gaps, asks = heading("other_recommendations", scope.lang), [], []
        else:
            title = theme_heading(scope.labels[chapter_id], scope.lang)
            gaps = _draft_texts(f"gaps:{chapter_id}", scope.lang, sources.latest_drafts)
            asks = _draft_texts(f"asks:{chapter_id}", scope.lang, sources.latest_drafts)
        chapters.append(
            ThemeChapter(
                chapter_id=chapter_id,
                heading=title,
                entries=chapter_entries,
                cross_references=cross.get(chapter_id, []),
                gaps=gaps,
                asks=asks,
                citations=sorted(numbers),
            )
        )
    return chapters


def _stats_row(
    key: str, label: str, rows: Sequence[RecommendationEntry], evidence_of: Mapping[str, list[EvidenceDoc]]
) -> StatsRow:
    statuses = Counter((e.cncc.status.value if e.cncc.status else "not_assessed") for e in rows)
    items = {ev.evidence_id for e in rows for ev in evidence_of[e.recommendation_id]}
    return StatsRow(
        key=key,
        label=label,
        recommendations=len(rows),
        supported=sum(1 for e in rows if e.position == Position.SUPPORTED),
        noted=sum(1 for e in rows if e.position == Position.NOTED),
        with_evidence=sum(1 for e in rows if evidence_of[e.recommendation_id]),
        evidence_items=len(items),
        cncc_assessed=sum(1 for e in rows if e.cncc.status is not None),
        cso_assessed=sum(1 for e in rows if e.cso.status is not None),
        statuses_differ=sum(1 for e in rows if e.statuses_differ),
        cncc_statuses={k: statuses.get(k, 0) for k in STATUS_KEYS},
    )


def _statistics(
    scope: _Scope, chapter_ids: Sequence[str], ordered: Sequence[RecommendationEntry],
    evidence_of: Mapping[str, list[EvidenceDoc]],
) -> Statistics:
    lang = scope.lang
    by_theme = [
        _stats_row(t, theme_heading(scope.labels[t], lang), [e for e in ordered if t in e.themes], evidence_of)
        for t in chapter_ids
        if t != OTHER_CHAPTER_ID
    ]
    if OTHER_CHAPTER_ID in chapter_ids:
        others = [e for e in ordered if e.chapter_id == OTHER_CHAPTER_ID]
        by_theme.append(_stats_row(OTHER_CHAPTER_ID, heading("other_recommendations", lang), others, evidence_of))
    by_position = [
        _stats_row(p.value, position_label(p.value, lang), [e for e in ordered if e.position == p], evidence_of)
        for p in Position
    ]
    cncc_counts = Counter((e.cncc.status.value if e.cncc.status else "not_assessed") for e in ordered)
    cso_counts = Counter((e.cso.status.value if e.cso.status else "not_assessed") for e in ordered)
    by_status = [
        StatusCountRow(key=k, label=pick(STATUS_LABELS[k], lang), cncc=cncc_counts[k], cso=cso_counts[k])
        for k in STATUS_KEYS
    ]
    total = _stats_row("total", heading("total", lang), ordered, evidence_of)
    return Statistics(by_theme=by_theme, by_position=by_position, by_status=by_status, total=total)


def _contributors(scope: _Scope, sources: _Sources) -> tuple[list[Contributor], int]:
    """Organisations credited (evidence, assessments, report sections) and how many individuals:
    organisations only, never individuals' names."""
    contributions: dict[str, Counter[str]] = {}
    individuals: set[str] = set()

    def credit(organisation: str | None, username: str, kind: str) -> None:
        if organisation and organisation.strip():
            contributions.setdefault(organisation.strip(), Counter())[kind] += 1
        else:
            individuals.add(username)

    for item in sources.selection.shown.values():
        credit(item.submitted_by.organisation, item.submitted_by.username, "evidence")
    for (rid, _assessor), summary in sources.latest.items():
        if rid in scope.scope_ids:
            credit(summary.by.organisation, summary.by.username, "assessments")
    for draft in sources.latest_drafts.values():
        credit(draft.author.organisation, draft.author.username, "drafts")
    contributors = [
        Contributor(
            organisation=org,
            evidence_items=counts["evidence"],
            assessments=counts["assessments"],
            report_sections=counts["drafts"],
        )
        for org, counts in sorted(contributions.items(), key=lambda kv: kv[0].casefold())
    ]
    return contributors, len(individuals)


def _matrix(
    scope: _Scope, ordered: Sequence[RecommendationEntry], evidence_of: Mapping[str, list[EvidenceDoc]]
) -> list[MatrixRow]:
    """Annex A: every recommendation in scope, one row each."""
    language: ReportLanguage = "km" if scope.lang == "km" else "en"
    return [
        MatrixRow(
            recommendation_id=e.recommendation_id,
            paragraph=e.paragraph,
            document_symbol=e.document_symbol,
            text=e.text,
            text_km=e.text_km,
            recommending_states=e.recommending_states,
            position=e.position.value,
            themes=e.themes,
            theme_labels=[scope.labels[t].en for t in e.themes],
            cso_status=e.cso.status.value if e.cso.status else None,
            cncc_status=e.cncc.status.value if e.cncc.status else None,
            cso_status_label=status_label(e.cso.status.value if e.cso.status else None, language),
            cncc_status_label=status_label(e.cncc.status.value if e.cncc.status else None, language),
            disagreement=e.statuses_differ,
            evidence_count=len(evidence_of[e.recommendation_id]),
        )
        for e in ordered
    ]


def _most_common(values: Iterable[_T | None]) -> _T | None:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


@dataclass(frozen=True)
class _Narrative:
    """The generated words: subtitle, key figures and the method paragraphs."""

    country_name: str
    subtitle: str
    figures: list[str]
    method: list[str]


def _narrative(
    scope: _Scope, statistics: Statistics, sources: _Sources, *, country: str, cycle: int, as_of: date,
    child_related_only: bool, include_coalition_only: bool, cycle_doc: CycleDoc | None, assessment_history: bool,
) -> _Narrative:
    symbol = _most_common(r.document_symbol for r in scope.cycle_recs)
    session = _most_common(r.session for r in scope.cycle_recs)
    country_name = pick(COUNTRY_NAMES.get(country, (country, country)), scope.lang)
    figures = _summary_figures(
        total=statistics.total,
        received=len(scope.cycle_recs),
        cycle=cycle,
        as_of=as_of,
        by_status=statistics.by_status,
        by_theme=statistics.by_theme,
        cited=len(sources.citations.items),
    )
    method = _method_paragraphs(
        cycle=cycle,
        received=len(scope.cycle_recs),
        in_scope=len(scope.in_scope),
        symbol=symbol,
        session=session,
        as_of=as_of,
        child_related_only=child_related_only,
        include_coalition_only=include_coalition_only,
        excluded=sources.selection.excluded,
        cycle_doc=cycle_doc,
        assessment_history=assessment_history,
    )
    subtitle = f"{country_name} · UPR cycle {cycle}"
    if symbol:
        subtitle += f" ({symbol})"
    subtitle += f" · as of {as_of.isoformat()}"
    return _Narrative(country_name, subtitle, figures, method)


def assemble_report(
    recommendations: Sequence[RecommendationDoc],
    evidence: Sequence[EvidenceDoc],
    drafts: Sequence[ReportDraftDoc],
    *,
    country: str,
    cycle: int,
    as_of: date,
    language: ReportLanguage = "en",
    theme_labels: Mapping[str, ThemeLabel],
    assessments: Sequence[AssessmentDoc] | None = None,
    include_coalition_only: bool = False,
    child_related_only: bool = True,
    cycle_doc: CycleDoc | None = None,
) -> MidTermReport:
    """Build the mid-term report of ``country``'s ``cycle`` as it stood on ``as_of``.

    ``theme_labels``: the themes' names (``report_labels.theme_labels_from_taxonomy``).
    ``assessments`` is the assessment history; when omitted, the latest assessments
    copied onto each recommendation are used if they were made by ``as_of``.
    ``include_coalition_only`` lets coalition-only evidence appear (a report for the
    coalition); pending, rejected and safeguarding-held evidence never appears.
    With ``child_related_only`` (default) recommendations that are neither child-related
    nor tagged with a theme are left out; otherwise they form "Other recommendations".
    """
    lang = language
    scope = _select_scope(recommendations, country=country, cycle=cycle, lang=lang, theme_labels=theme_labels,
                          child_related_only=child_related_only)
    selection = _select_evidence(evidence, scope, as_of=as_of, include_coalition_only=include_coalition_only)
    sources = _Sources(
        selection=selection,
        latest=_latest_assessments(scope.in_scope, assessments, as_of),
        latest_drafts=_latest_drafts(drafts, country, cycle),
        citations=_Citations(selection.shown),
    )
    chapter_ids = _chapter_ids(scope)
    entries = _entries(scope, chapter_ids, sources)
    chapters = _chapters(scope, chapter_ids, entries, sources)
    ordered = [entries[r.recommendation_id] for r in scope.in_scope]
    statistics = _statistics(scope, chapter_ids, ordered, selection.evidence_of)
    narrative = _narrative(
        scope, statistics, sources, country=country, cycle=cycle, as_of=as_of, child_related_only=child_related_only,
        include_coalition_only=include_coalition_only, cycle_doc=cycle_doc, assessment_history=assessments is not None,
    )
    contributors, individuals = _contributors(scope, sources)
    return MidTermReport(
        country=country,
        country_name=narrative.country_name,
        cycle=cycle,
        as_of=as_of,
        language=lang,
        include_coalition_only=include_coalition_only,
        child_related_only=child_related_only,
        title=heading("title", lang),
        subtitle=narrative.subtitle,
        headings={key: pick(pair, lang) for key, pair in LABELS.items()},
        theme_labels=scope.labels,
        executive_summary=ExecutiveSummary(
            figures=narrative.figures, texts=_draft_texts("executive_summary", lang, sources.latest_drafts)
        ),
        method=narrative.method,
        statistics=statistics,
        chapters=chapters,
        noted_revisited=[e for e in ordered if e.position == Position.NOTED],
        priorities=_draft_texts("priorities", lang, sources.latest_drafts),
        citations=sources.citations.items,
        matrix=_matrix(scope, ordered, selection.evidence_of),
        contributors=contributors,
        individual_contributors=individuals,
        excluded_evidence=ExcludedEvidence(**selection.excluded),
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _summary_figures(
    *,
    total: StatsRow,
    received: int,
    cycle: int,
    as_of: date,
    by_status: Sequence[StatusCountRow],
    by_theme: Sequence[StatsRow],
    cited: int,
) -> list[str]:
    n = total.recommendations
    figures = [
        f"This report covers {_plural(n, 'recommendation')} of the {received} received in UPR cycle {cycle}: "
        f"{total.supported} supported and {total.noted} noted.",
    ]
    cncc = {row.key: row.cncc for row in by_status}
    parts = [f"{cncc[k]} {STATUS_LABELS[k][0].lower()}" for k in STATUS_KEYS if k != "not_assessed" and cncc[k]]
    figures.append(
        f"By {as_of.isoformat()}, CNCC had assessed {total.cncc_assessed} of {n}"
        + (f" ({', '.join(parts)})" if parts else "")
        + f"; {cncc['not_assessed']} not yet assessed."
    )
    figures.append(
        f"The CSO coalition had assessed {total.cso_assessed}; CNCC and CSO statuses differ on "
        f"{_plural(total.statuses_differ, 'recommendation')}."
    )
    figures.append(
        f"{_plural(cited, 'evidence item')} (approved, published by {as_of.isoformat()}) document measures "
        f"on "
        f"{total.with_evidence} recommendations; {n - total.with_evidence} have no evidence submitted."
    )
    busiest = sorted((r for r in by_theme if r.key != OTHER_CHAPTER_ID), key=lambda r: -r.recommendations)[:3]
    if busiest:
        figures.append(
            "Themes with the most recommendations: "
            + "; ".join(f"{r.label} ({r.recommendations})" for r in busiest)
            + "."
        )
    return figures


def _method_paragraphs(
    *,
    cycle: int,
    received: int,
    in_scope: int,
    symbol: str | None,
    session: int | None,
    as_of: date,
    child_related_only: bool,
    include_coalition_only: bool,
    excluded: Counter[str],
    cycle_doc: CycleDoc | None,
    assessment_history: bool,
) -> list[str]:
    source = f"UPR cycle {cycle}"
    if session:
        source += f", Working Group session {session}"
    if symbol:
        source += f", report of the Working Group {symbol}"
    paragraphs = [
        f"Recommendations: the {received} recommendations of {source}, as recorded in UPR Tracker "
        "(text, recommending states and position from the UN documents).",
    ]
    if child_related_only:
        paragraphs.append(
            f"Scope: only child-related recommendations are covered ({in_scope} of {received}); "
            f"the other {received - in_scope} are left out of this report."
        )
    else:
        paragraphs.append(
            f"Scope: all {received} recommendations; those without a child-rights theme are presented "
            "under 'Other recommendations'."
        )
    paragraphs.append(
        "Themes: each recommendation is tagged with the project's child-rights themes (T01-T19), "
        "suggested automatically and corrected by coalition members. A recommendation with several "
        "themes is presented in full under its first theme and cross-referenced under the others; "
        "statistics by theme count it under each of its themes."
    )
    visibility = "public or coalition-only" if include_coalition_only else "public"
    left_out = sum(excluded[k] for k in ("not_approved", "coalition_only", "safeguarding_hold", "after_cut_off"))
    paragraphs.append(
        f"Evidence: items submitted by coalition members and reviewers. The report cites only items "
        f"approved by a reviewer, {visibility}, not held for safeguarding review, and published on or "
        f"before {as_of.isoformat()} (or submitted by then when no publication date is known); "
        f"{_plural(left_out, 'item')} did not meet these conditions and are not cited."
    )
    paragraphs.append(
        "Status: for each recommendation the latest assessment by CNCC (official status) and by the CSO "
        f"coalition made on or before {as_of.isoformat()}"
        + ("" if assessment_history else " (as recorded on the recommendation)")
        + ". Each status statement cites the evidence it rests on, or says that no evidence was "
        "submitted. Differences between the two views are marked."
    )
    paragraphs.append(
        "Citations: numbers in square brackets, e.g. [1], refer to the numbered list of sources; each "
        "entry gives the title, date, type of source, organisation and a verbatim quote."
    )
    paragraphs.append("Contributors are listed by organisation only; individuals are not named.")
    if cycle_doc is not None and cycle_doc.milestones:
        dates = "; ".join(
            f"{name.replace('_', ' ')}: {day.isoformat()}" for name, day in sorted(cycle_doc.milestones.items())
        )
        paragraphs.append(f"Milestones of the cycle: {dates}.")
    return paragraphs

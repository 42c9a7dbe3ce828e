"""The report assembled from the real cycle-1 sample: what it says, and what it must never say."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date

from contracts.events import Assessor, ImplementationStatus, Position, Visibility
from services.tracker.domain.report import NO_EVIDENCE, OTHER_CHAPTER_ID, MidTermReport, assemble_report
from services.tracker.domain.report_labels import ThemeLabel
from tests.unit.report.sample import (
    AS_OF,
    BIRTH_KM,
    BIRTH_REC,
    COALITION,
    DATA,
    LONE_MEMBER,
    SECRET_TITLES,
    THEME_LABELS,
    sample_drafts,
)


def _labels_csv() -> list[dict[str, str]]:
    with (DATA / "labels_khm_cycle1_2009.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _all_statements(report: MidTermReport):
    for chapter in report.chapters:
        for entry in chapter.entries:
            yield entry, entry.cncc
            yield entry, entry.cso


def test_statistics_by_theme_equal_counts_from_the_labelled_sample(report):
    rows = _labels_csv()
    expected_per_theme = Counter(t for row in rows for t in row["themes"].split(";") if t)
    in_scope = [row for row in rows if row["child_related"] == "1" or row["themes"]]
    got = {row.key: row.recommendations for row in report.statistics.by_theme}
    assert got == dict(expected_per_theme)
    assert report.statistics.total.recommendations == len(in_scope) == 33
    assert report.statistics.total.supported == 33  # cycle 1: everything was accepted
    assert sum(r.cncc for r in report.statistics.by_status) == len(in_scope)


def test_known_recommendation_is_presented_under_its_first_theme_with_numbered_citations(report):
    entry = report.entry(BIRTH_REC)
    assert entry is not None and entry.chapter_id == "T05"
    assert entry.themes == ["T05", "T19"]
    assert entry.text_km == BIRTH_KM
    cited = {report.citation(n).evidence_id for n in entry.measures}
    assert cited == {"ev-birth-subdecree", "ev-birth-km"}
    cncc_sources = [report.citation(n) for n in entry.cncc.citations]
    assert [c.evidence_id for c in cncc_sources] == ["ev-birth-subdecree"]
    assert cncc_sources[0].organisation == "Ministry of Interior"
    assert cncc_sources[0].published_on == date(2019, 5, 10)
    assert "free of charge" in cncc_sources[0].quote
    # Cross-referenced, not repeated, under its second theme.
    t19 = report.chapter("T19")
    assert t19 is not None and BIRTH_REC in [e.recommendation_id for e in t19.cross_references]
    assert BIRTH_REC not in [e.recommendation_id for e in t19.entries]


def test_citation_numbers_run_from_one_in_order_of_first_use(report):
    assert [c.number for c in report.citations] == list(range(1, len(report.citations) + 1))
    first_use: list[int] = []
    for chapter in report.chapters:
        for entry in chapter.entries:
            for n in (*entry.cncc.citations, *entry.cso.citations, *entry.measures):
                if n not in first_use:
                    first_use.append(n)
    assert first_use == list(range(1, len(report.citations) + 1))


def test_every_status_statement_cites_evidence_or_says_none_was_submitted(report):
    for _entry, statement in _all_statements(report):
        assert statement.citations or NO_EVIDENCE in statement.sentence
        for n in statement.citations:
            assert f"[{n}]" in statement.sentence


def test_cncc_and_cso_disagreement_is_flagged(report):
    entry = report.entry(BIRTH_REC)
    assert entry.cncc.status == ImplementationStatus.FULLY_IMPLEMENTED
    assert entry.cso.status == ImplementationStatus.PARTIALLY_IMPLEMENTED
    assert entry.statuses_differ
    flagged = sum(1 for row in report.matrix if row.disagreement)
    assert flagged == report.statistics.total.statuses_differ > 0


def test_assessment_made_after_the_cut_off_does_not_count(report, recs, evidence, drafts, assessments):
    # The sample has a CSO "not started" on 2025-09-01, after AS_OF: the April view stands.
    assert report.entry(BIRTH_REC).cso.assessed_on == date(2025, 4, 1)
    later = assemble_report(
        recs, evidence, drafts, country="KHM", cycle=1, as_of=date(2025, 12, 31), assessments=assessments,
            theme_labels=THEME_LABELS
    )
    assert later.entry(BIRTH_REC).cso.status == ImplementationStatus.NOT_STARTED


def test_evidence_published_after_the_cut_off_is_left_out(report, recs, evidence, drafts, assessments):
    titles = {c.title for c in report.citations}
    assert SECRET_TITLES["future"] not in titles
    assert report.excluded_evidence.after_cut_off == 1
    later = assemble_report(
        recs, evidence, drafts, country="KHM", cycle=1, as_of=date(2025, 7, 1), assessments=assessments,
            theme_labels=THEME_LABELS
    )
    assert SECRET_TITLES["future"] in {c.title for c in later.citations}


def test_pending_rejected_held_and_coalition_evidence_is_never_cited(report):
    titles = {c.title for c in report.citations}
    for kind in ("pending", "rejected", "held", "coalition"):
        assert SECRET_TITLES[kind] not in titles
    # The CNCC assessment cites a pending item too: only the approved one shows.
    assert [report.citation(n).evidence_id for n in report.entry(BIRTH_REC).cncc.citations] == ["ev-birth-subdecree"]
    assert report.excluded_evidence.not_approved == 2
    assert report.excluded_evidence.safeguarding_hold == 1


def test_coalition_only_evidence_appears_only_in_a_report_for_the_coalition(recs, evidence, drafts):
    for_coalition = assemble_report(
        recs, evidence, drafts, country="KHM", cycle=1, as_of=AS_OF, include_coalition_only=True,
            theme_labels=THEME_LABELS
    )
    titles = {c.title for c in for_coalition.citations}
    assert SECRET_TITLES["coalition"] in titles
    assert SECRET_TITLES["held"] not in titles and SECRET_TITLES["pending"] not in titles
    assert any("coalition-only" in p for p in for_coalition.method)


def test_without_assessment_history_the_recommendations_latest_copies_are_used(recs, evidence, drafts):
    from contracts.documents import AssessmentSummary
    from tests.unit.report.sample import REVIEWER

    summary = AssessmentSummary(
        assessment_id="as-x", status=ImplementationStatus.IN_PROGRESS, by=REVIEWER,
        at=date(2025, 1, 1).isoformat() + "T00:00:00Z", evidence_ids=["ev-birth-subdecree"],
    )  # fmt: skip
    late = summary.model_copy(update={"at": summary.at.replace(year=2026)})
    changed = [
        r.model_copy(update={"cncc_assessment": summary if r.recommendation_id == BIRTH_REC else late}) for r in recs
    ]
    report = assemble_report(changed, evidence, drafts, country="KHM", cycle=1, as_of=AS_OF, theme_labels=THEME_LABELS)
    assert report.entry(BIRTH_REC).cncc.status == ImplementationStatus.IN_PROGRESS
    assert report.entry("KHM-1-82.9").cncc.status is None  # assessed after the cut-off


def test_latest_draft_version_is_used_and_missing_sections_are_marked_to_be_written(report):
    summary = report.executive_summary.texts
    assert [t.text for t in summary] == ["Cambodia has made progress on birth registration and education."]
    assert summary[0].version == 2
    t05 = report.chapter("T05")
    assert [t.language for t in t05.gaps] == ["en", "km"]  # bilingual: both languages
    t06 = report.chapter("T17")
    assert t06.gaps[0].is_placeholder and "To be written" in t06.gaps[0].text


def test_khmer_report_prefers_khmer_drafts_and_khmer_headings(recs, evidence):
    report = assemble_report(recs, evidence, sample_drafts(), country="KHM", cycle=1, as_of=AS_OF, language="km",
        theme_labels=THEME_LABELS)
    assert report.headings["executive_summary"] == "សេចក្តីសង្ខេបប្រតិបត្តិ"
    assert report.chapter("T05").gaps[0].language == "km"
    assert report.executive_summary.texts[0].language == "en"  # no Khmer summary yet: English shown


def test_bilingual_headings_give_english_then_khmer(report):
    assert report.headings["method"] == "Method and sources / វិធីសាស្ត្រ និងប្រភព"


def test_theme_labels_can_be_given_and_name_the_chapters(recs, evidence, drafts):
    labels = {**THEME_LABELS, "T05": ThemeLabel(id="T05", en="Birth registration", km="ការចុះបញ្ជីកំណើត")}
    report = assemble_report(
        recs, evidence, drafts, country="KHM", cycle=1, as_of=AS_OF, theme_labels=labels, language="bilingual"
    )
    assert report.chapter("T05").heading == "T05 Birth registration / ការចុះបញ្ជីកំណើត"


def test_recommendations_outside_child_rights_are_left_out_by_default_and_method_says_so(report):
    assert report.chapter(OTHER_CHAPTER_ID) is None
    assert any("only child-related recommendations" in p and "33 of 138" in p for p in report.method)


def test_all_recommendations_can_be_reported_with_an_other_chapter(recs, evidence, drafts):
    report = assemble_report(recs, evidence, drafts, country="KHM", cycle=1, as_of=AS_OF, child_related_only=False,
        theme_labels=THEME_LABELS)
    other = report.chapter(OTHER_CHAPTER_ID)
    assert other is not None and len(other.entries) == 138 - 33
    assert report.statistics.total.recommendations == 138


def test_noted_recommendations_are_revisited(recs, evidence, drafts):
    changed = [
        r.model_copy(update={"position": Position.NOTED}) if r.recommendation_id == BIRTH_REC else r for r in recs
    ]
    report = assemble_report(changed, evidence, drafts, country="KHM", cycle=1, as_of=AS_OF, theme_labels=THEME_LABELS)
    assert [e.recommendation_id for e in report.noted_revisited] == [BIRTH_REC]
    assert report.statistics.total.noted == 1


def test_contributors_are_organisations_never_individuals(report):
    organisations = [c.organisation for c in report.contributors]
    assert COALITION in organisations
    dump = report.model_dump_json()
    for username in ("sokha.chan", "vanna.reviewer", LONE_MEMBER.username):
        assert username not in dump
    assert report.individual_contributors == 1


def test_other_cycles_and_countries_are_ignored(recs, evidence, drafts):
    other = [r.model_copy(update={"cycle": 2, "recommendation_id": r.recommendation_id.replace("-1-", "-2-")})
             for r in recs]  # fmt: skip
    report = assemble_report([*recs, *other], evidence, drafts, country="KHM", cycle=1, as_of=AS_OF,
        theme_labels=THEME_LABELS)
    assert report.statistics.total.recommendations == 33


def test_assembly_is_deterministic(recs, evidence, drafts, assessments, report):
    again = assemble_report(
        recs, evidence, drafts, country="KHM", cycle=1, as_of=AS_OF, assessments=assessments, language="bilingual",
            theme_labels=THEME_LABELS
    )
    assert again == report


def test_the_default_report_is_for_the_public(report, evidence):
    assert not report.include_coalition_only
    cited = {c.evidence_id for c in report.citations}
    assert all(e.visibility == Visibility.PUBLIC for e in evidence if e.evidence_id in cited)
    assert all(s.assessor in (Assessor.CNCC, Assessor.CSO) for _e, s in _all_statements(report))

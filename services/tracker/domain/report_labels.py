"""Words the mid-term report prints: headings, statuses, positions, theme names.

English first; every heading also has a Khmer form so a report can be produced with
English, Khmer or bilingual ("English / ខ្មែរ") headings. Generated sentences stay in
English; people write Khmer text in the editable sections.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from contracts.events import EvidenceSourceType, ImplementationStatus, Position

if TYPE_CHECKING:
    from contracts.taxonomy import Theme

ReportLanguage = Literal["en", "km", "bilingual"]


class ThemeLabel(BaseModel):
    """A child-rights theme's id and its names."""

    model_config = ConfigDict(frozen=True)

    id: str
    en: str
    km: str | None = None


def theme_labels_from_taxonomy(themes: Iterable[Theme]) -> dict[str, ThemeLabel]:
    """The report's theme names, from the taxonomy's themes (``taxonomy.yaml``, the one source;
    an adapter loads it and passes it in)."""
    return {theme.id: ThemeLabel(id=theme.id, en=theme.label_en, km=theme.label_km) for theme in themes}


# --- headings and labels (English, Khmer) ----------------------------------------------

LABELS: dict[str, tuple[str, str]] = {
    "title": (
        "Mid-term report on the implementation of UPR recommendations on child rights",
        "របាយការណ៍ពាក់កណ្តាលអាណត្តិស្តីពីការអនុវត្តអនុសាសន៍ UPR ស្តីពីសិទ្ធិកុមារ",
    ),
    "contents": ("Contents", "មាតិកា"),
    "executive_summary": ("Executive summary", "សេចក្តីសង្ខេបប្រតិបត្តិ"),
    "key_figures": ("Key figures", "តួលេខសំខាន់ៗ"),
    "method": ("Method and sources", "វិធីសាស្ត្រ និងប្រភព"),
    "statistics": ("Statistics", "ស្ថិតិ"),
    "statistics_by_theme": ("Statistics by theme", "ស្ថិតិតាមប្រធានបទ"),
    "position_and_status": ("Position and status", "ជំហរ និងស្ថានភាព"),
    "chapters": ("Progress by theme", "វឌ្ឍនភាពតាមប្រធានបទ"),
    "other_recommendations": ("Other recommendations", "អនុសាសន៍ផ្សេងទៀត"),
    "measures_taken": ("Measures taken", "វិធានការដែលបានអនុវត្ត"),
    "gaps": ("Gaps", "គម្លាត"),
    "asks": ("CSO asks", "សំណើរបស់អង្គការសង្គមស៊ីវិល"),
    "also_in_theme": ("Also concerning this theme", "ពាក់ព័ន្ធនឹងប្រធានបទនេះផងដែរ"),
    "noted_revisited": ("Noted recommendations revisited", "ការពិនិត្យឡើងវិញលើអនុសាសន៍ដែលបានកត់សម្គាល់"),
    "priorities": ("Priorities ahead", "អាទិភាពបន្ទាប់"),
    "sources": ("Sources", "ប្រភព"),
    "annex_matrix": ("Annex A: full matrix of recommendations", "ឧបសម្ព័ន្ធ ក៖ តារាងអនុសាសន៍ពេញលេញ"),
    "annex_contributors": ("Annex B: contributors", "ឧបសម្ព័ន្ធ ខ៖ អ្នករួមចំណែក"),
    "recommendation": ("Recommendation", "អនុសាសន៍"),
    "recommendations": ("Recommendations", "អនុសាសន៍"),
    "paragraph": ("Paragraph", "កថាខណ្ឌ"),
    "text": ("Text", "អត្ថបទ"),
    "text_km": ("Text (Khmer)", "អត្ថបទ (ខ្មែរ)"),
    "recommending_states": ("Recommending states", "រដ្ឋផ្តល់អនុសាសន៍"),
    "position": ("Position", "ជំហរ"),
    "themes": ("Themes", "ប្រធានបទ"),
    "theme": ("Theme", "ប្រធានបទ"),
    "cncc_status": ("CNCC status", "ស្ថានភាពយោងតាម ក.ជ.ក"),
    "cso_status": ("CSO status", "ស្ថានភាពយោងតាមអង្គការសង្គមស៊ីវិល"),
    "statuses_differ": ("Statuses differ", "ស្ថានភាពខុសគ្នា"),
    "status": ("Status", "ស្ថានភាព"),
    "evidence_items": ("Evidence items", "ភស្តុតាង"),
    "with_evidence": ("With evidence", "មានភស្តុតាង"),
    "supported": ("Supported", "គាំទ្រ"),
    "noted": ("Noted", "កត់សម្គាល់"),
    "total": ("Total", "សរុប"),
    "cncc_assessed": ("Assessed by CNCC", "បានវាយតម្លៃដោយ ក.ជ.ក"),
    "cso_assessed": ("Assessed by CSOs", "បានវាយតម្លៃដោយអង្គការសង្គមស៊ីវិល"),
    "organisation": ("Organisation", "អង្គការ"),
    "assessments": ("Assessments", "ការវាយតម្លៃ"),
    "report_sections": ("Report sections edited", "ផ្នែករបាយការណ៍ដែលបានកែសម្រួល"),
    "no_evidence": ("no evidence submitted", "មិនមានភស្តុតាងបានដាក់ស្នើ"),
    "chart_by_theme": (
        "Recommendations by theme and CNCC status",
        "អនុសាសន៍តាមប្រធានបទ និងស្ថានភាពយោងតាម ក.ជ.ក",
    ),
    "chart_status": ("CNCC and CSO views of status", "ស្ថានភាពយោងតាម ក.ជ.ក និងអង្គការសង្គមស៊ីវិល"),
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    ImplementationStatus.NOT_STARTED.value: ("Not started", "មិនទាន់ចាប់ផ្តើម"),
    ImplementationStatus.IN_PROGRESS.value: ("In progress", "កំពុងដំណើរការ"),
    ImplementationStatus.PARTIALLY_IMPLEMENTED.value: ("Partially implemented", "បានអនុវត្តមួយផ្នែក"),
    ImplementationStatus.FULLY_IMPLEMENTED.value: ("Fully implemented", "បានអនុវត្តពេញលេញ"),
    ImplementationStatus.NOT_ASSESSABLE.value: ("Not assessable", "មិនអាចវាយតម្លៃបាន"),
    "not_assessed": ("Not yet assessed", "មិនទាន់បានវាយតម្លៃ"),
}

POSITION_LABELS: dict[str, tuple[str, str]] = {
    Position.SUPPORTED.value: ("Supported", "គាំទ្រ"),
    Position.NOTED.value: ("Noted", "កត់សម្គាល់"),
}

SOURCE_TYPE_LABELS: dict[str, str] = {
    EvidenceSourceType.LAW_DECREE.value: "Law or decree",
    EvidenceSourceType.POLICY_PLAN.value: "Policy or plan",
    EvidenceSourceType.BUDGET.value: "Budget",
    EvidenceSourceType.STATISTICS.value: "Statistics",
    EvidenceSourceType.COURT_CASE.value: "Court case",
    EvidenceSourceType.TRAINING.value: "Training",
    EvidenceSourceType.MEDIA.value: "Media",
    EvidenceSourceType.CSO_REPORT.value: "CSO report",
    EvidenceSourceType.UN_DOCUMENT.value: "UN document",
}

COUNTRY_NAMES: dict[str, tuple[str, str]] = {"KHM": ("Cambodia", "កម្ពុជា")}


def pick(pair: tuple[str, str], language: ReportLanguage) -> str:
    """One label in the report's language; bilingual gives "English / ខ្មែរ"."""
    english, khmer = pair
    if language == "en":
        return english
    if language == "km":
        return khmer
    return f"{english} / {khmer}"


def heading(key: str, language: ReportLanguage) -> str:
    return pick(LABELS[key], language)


def status_label(status: str | None, language: ReportLanguage = "en") -> str:
    return pick(STATUS_LABELS[status or "not_assessed"], language)


def position_label(position: str, language: ReportLanguage = "en") -> str:
    pair = POSITION_LABELS.get(position, (position, position))
    return pick(pair, language)


def theme_heading(label: ThemeLabel, language: ReportLanguage) -> str:
    khmer = label.km or label.en
    return f"{label.id} " + pick((label.en, khmer), language if label.km else "en")

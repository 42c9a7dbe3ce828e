"""Small pieces several pages share: labels, escaping, page styling, navigation state."""

from __future__ import annotations

from functools import lru_cache

import streamlit as st

from contracts import ui_addresses
from contracts.documents import EvidenceDoc
from contracts.events import ImplementationStatus
from contracts.markdown import md_escape

__all__ = ["md_escape"]  # the one escaping helper (contracts/markdown.py), for every page

# Static CSS only (no user data): a Khmer-capable font stack for the whole page.
PAGE_CSS = """
<style>
html, body, .stApp, .stMarkdown, p, li, label, input, textarea, button, td, th {
  font-family: "Source Sans Pro", "Source Sans 3", "Noto Sans Khmer", "Khmer OS", "Khmer OS System",
               "Khmer OS Content", sans-serif;
}
.upr-khmer { line-height: 1.9; }
</style>
"""

STATUS_LABELS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "partially_implemented": "Partially implemented",
    "fully_implemented": "Fully implemented",
    "not_assessable": "Not assessable",
    "not_assessed": "Not assessed yet",
}

SELECTED = "selected_recommendation"
# Query parameters of stable addresses (contracts/ui_addresses.py): /detail?id=<recommendation id>
# [&evidence=<evidence id>], /report?cycle=<n>&section=<section>, /review?item=<id>;
# /?recommendation=<id> is the older shape alert emails used, still accepted (it opens the detail page).
DETAIL_PARAM = ui_addresses.RECOMMENDATION_PARAM
EVIDENCE_PARAM = ui_addresses.EVIDENCE_PARAM
LEGACY_RECOMMENDATION_PARAM = "recommendation"


def status_label(status: ImplementationStatus | str | None) -> str:
    if status is None:
        return STATUS_LABELS["not_assessed"]
    value = status.value if isinstance(status, ImplementationStatus) else str(status)
    return STATUS_LABELS.get(value, value)


@lru_cache(maxsize=1)
def _taxonomy_labels() -> dict[str, tuple[str, str]]:
    try:
        from contracts.taxonomy import load_taxonomy

        taxonomy = load_taxonomy()
        return {theme.id: (theme.label_en, theme.label_km) for theme in taxonomy.themes}
    except Exception:  # taxonomy not available: show ids only
        return {f"T{n:02d}": (f"T{n:02d}", f"T{n:02d}") for n in range(1, 20)}


def theme_ids() -> list[str]:
    return sorted(_taxonomy_labels())


def theme_label(theme_id: str, language: str = "en") -> str:
    en, km = _taxonomy_labels().get(theme_id, (theme_id, theme_id))
    label = km if language == "km" else en
    return f"{theme_id} {label}" if label != theme_id else theme_id


def select_recommendation(recommendation_id: str) -> None:
    st.session_state[SELECTED] = recommendation_id


def selected_recommendation() -> str | None:
    from_url = st.query_params.get(DETAIL_PARAM)
    if from_url:
        st.session_state[SELECTED] = from_url
    value = st.session_state.get(SELECTED)
    return str(value) if value else None


def go_to(page_key: str, query_params: dict[str, str] | None = None) -> None:
    """Open another page of the app (by its registry key), with these query parameters."""
    from pathlib import Path

    from ui.pages_registry import PAGES

    spec = next(p for p in PAGES if p.key == page_key)
    st.switch_page(str(Path(__file__).parent / spec.file), query_params=query_params)


def open_recommendation(recommendation_id: str) -> None:
    """The detail page of one recommendation, at its stable address /detail?id=<id>."""
    select_recommendation(recommendation_id)
    go_to("detail", {DETAIL_PARAM: recommendation_id})


def address_link(label: str, address: str) -> str:
    """Markdown for a link to one of the app's own addresses (built by contracts/ui_addresses.py, so
    URL-encoded: no character of it can end the Markdown link early)."""
    return f"[{md_escape(label)}]({address})"


def evidence_body(item: EvidenceDoc) -> None:
    """What an evidence item says and where it comes from: the quote, the document and a link
    to the source (the Detail page and the Review inbox show it the same way)."""
    if item.quote:
        st.markdown("> " + md_escape(item.quote))
    if item.document_reference:
        st.caption(md_escape(item.document_reference))
    if item.url:
        st.link_button("Open source", item.url)

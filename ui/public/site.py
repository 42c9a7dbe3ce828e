"""UPR Tracker's public progress page (no login): ``streamlit run ui/public/site.py``, 8502.

What Cambodia was recommended and supported, per cycle and theme, with the government's
(CNCC) status and the public evidence of what was done. Everything comes from the
tracker's read API as an anonymous caller, so only what reviewers published and what is
approved and public can appear; a withdrawal or a redaction shows within 5 s (the cache).
Every view has its own address: ``/?cycle=4&theme=T05``, ``/recommendation?id=KHM-4-110.23``,
``/theme?id=T05``.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import quote

import pandas as pd
import streamlit as st

from ui.components import md_escape
from ui.public.client import ApiUnavailable, ReadApi
from ui.settings import get_settings

st.set_page_config(page_title="Cambodia's UPR commitments on child rights", page_icon=":material/child_care:",
                   layout="wide")
# Printing gives the content only (no menu, no toolbar).
st.markdown("<style>@media print { header, [data-testid='stSidebar'], [data-testid='stToolbar'] "
            "{ display: none !important; } }</style>", unsafe_allow_html=True)  # static CSS

WORDS = {
    "title": ("Cambodia's UPR commitments on child rights", "ការប្តេជ្ញាចិត្ត UPR របស់កម្ពុជាលើសិទ្ធិកុមារ"),
    "intro": ("Recommendations Cambodia supported at the UN Universal Periodic Review, the government's "
              "implementation status (CNCC) and public evidence of what was done.",
              "អនុសាសន៍ដែលកម្ពុជាបានគាំទ្រនៅក្នុងការត្រួតពិនិត្យតាមកាលកំណត់ជាសកល ស្ថានភាពនៃការអនុវត្ត (ក.ជ.ក) "
              "និងភស្តុតាងសាធារណៈ។"),
    "overview": ("Progress", "វឌ្ឍនភាព"),
    "themes": ("Themes", "ប្រធានបទ"),
    "theme": ("Theme", "ប្រធានបទ"),
    "recommendation": ("Recommendation", "អនុសាសន៍"),
    "cycle": ("UPR cycle", "វដ្ត UPR"),
    "status": ("CNCC status", "ស្ថានភាពយោងតាម ក.ជ.ក"),
    "search": ("Search (English or Khmer)", "ស្វែងរក (អង់គ្លេស ឬ ខ្មែរ)"),
    "all": ("All", "ទាំងអស់"),
    "not_assessed": ("Not yet assessed", "មិនទាន់បានវាយតម្លៃ"),
    "nothing_published": ("Nothing has been published yet.", "មិនទាន់មានការផ្សព្វផ្សាយនៅឡើយទេ។"),
    "no_match": ("No recommendation matches.", "គ្មានអនុសាសន៍ត្រូវគ្នាទេ។"),
    "matches": ("{n} recommendation(s)", "អនុសាសន៍ {n}"),
    "evidence": ("Public evidence", "ភស្តុតាងសាធារណៈ"),
    "no_evidence": ("No public evidence yet.", "មិនទាន់មានភស្តុតាងសាធារណៈទេ។"),
    "states": ("Recommended by", "ផ្តល់អនុសាសន៍ដោយ"),
    "unavailable": ("The data cannot be read right now; please try again later.",
                    "មិនអាចអានទិន្នន័យបានទេ សូមព្យាយាមម្តងទៀត។"),
    "not_public": ("This recommendation is not on the public page.", "អនុសាសន៍នេះមិនមាននៅលើទំព័រសាធារណៈទេ។"),
    "open": ("Open", "បើក"),
    "more": ("Only the first {n} are shown: narrow the search.", "បង្ហាញតែ {n} ដំបូង៖ សូមបង្រួមការស្វែងរក។"),
}

lang = st.sidebar.segmented_control("Language / ភាសា", ["en", "km"], default="en", key="lang",
                                    format_func={"en": "English", "km": "ខ្មែរ"}.__getitem__,
                                    bind="query-params") or "en"


def w(key: str, **values: object) -> str:
    english, khmer = WORDS[key]
    text = khmer if lang == "km" else english
    return text.format(**values) if values else text


@st.cache_resource
def _api(tracker_url: str) -> ReadApi:
    return ReadApi(tracker_url)


api = _api(get_settings().tracker_url)


@st.cache_data(ttl=5, show_spinner=False)
def _lists(_url: str) -> tuple[list[int], dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    cycles = sorted({c.cycle for c in api.cycles()})
    themes = {t.id: (t.label_en, t.label_km) for t in api.themes()}
    statuses = {s.id.value: (s.label_en, s.label_km) for s in api.statuses()}
    return cycles, themes, statuses


@st.cache_data(ttl=5, show_spinner=False)
def _recommendations(_url: str, cycle: int | None, theme: str | None, status: str | None,
                     q: str | None) -> tuple[list[dict[str, object]], bool]:
    items, more = api.recommendations(cycle=cycle, theme=theme, status=status, q=q)
    return [i.model_dump(mode="json") for i in items], more


def label(pair: tuple[str, str] | None, fallback: str) -> str:
    if pair is None:
        return fallback
    return pair[1] if lang == "km" else pair[0]


def status_name(status: str | None, statuses: dict[str, tuple[str, str]]) -> str:
    return label(statuses.get(status or ""), w("not_assessed")) if status else w("not_assessed")


def recommendations_table(items: list[dict[str, object]], statuses: dict[str, tuple[str, str]]) -> None:
    table = pd.DataFrame([{
        "open": f"/recommendation?id={quote(str(r['recommendation_id']))}",
        w("recommendation"): r["paragraph"] or r["recommendation_id"],
        "text": (r["text_km"] if lang == "km" and r["text_km"] else r["text"]),
        w("states"): ", ".join(str(s) for s in r["recommending_states"] or []),  # type: ignore[attr-defined]
        w("status"): status_name(r["cncc_status"], statuses),  # type: ignore[arg-type]
        w("evidence"): r["evidence_count"],
    } for r in items])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "open": st.column_config.LinkColumn(w("open"), display_text=w("open"), width="small"),
    })


def status_chart(items: list[dict[str, object]], statuses: dict[str, tuple[str, str]]) -> None:
    counts = Counter(status_name(r["cncc_status"], statuses) for r in items)  # type: ignore[arg-type]
    order = [status_name(s, statuses) for s in statuses] + [w("not_assessed")]
    frame = pd.DataFrame({w("status"): list(counts), "n": list(counts.values())})
    frame[w("status")] = pd.Categorical(frame[w("status")], categories=order, ordered=True)
    st.bar_chart(frame.sort_values(w("status")), x=w("status"), y="n", horizontal=True, height=220)


def overview() -> None:
    st.title(w("title"))
    st.caption(w("intro"))
    try:
        cycles, themes, statuses = _lists(api.base)
    except ApiUnavailable:
        st.error(w("unavailable"))
        return
    if not cycles:
        st.info(w("nothing_published"))
        return
    c1, c2, c3 = st.columns(3)
    cycle = c1.selectbox(w("cycle"), cycles, index=len(cycles) - 1, key="cycle", bind="query-params")
    theme = c2.selectbox(w("theme"), [None, *themes], key="theme", bind="query-params",
                         format_func=lambda t: w("all") if t is None else f"{t} {label(themes.get(t), t)}")
    status = c3.selectbox(w("status"), [None, *statuses], key="status", bind="query-params",
                          format_func=lambda s: w("all") if s is None else status_name(s, statuses))
    q = st.text_input(w("search"), key="q", bind="query-params")
    try:
        items, more = _recommendations(api.base, cycle, theme, status, q.strip() or None)
    except ApiUnavailable:
        st.error(w("unavailable"))
        return
    st.subheader(w("matches", n=len(items)))
    if not items:
        st.info(w("no_match"))
        return
    status_chart(items, statuses)
    recommendations_table(items, statuses)
    if more:
        st.caption(w("more", n=len(items)))


def recommendation() -> None:
    rec_id = str(st.query_params.get("id") or "")
    try:
        _, themes, statuses = _lists(api.base)
        detail = api.recommendation(rec_id) if rec_id else None
    except ApiUnavailable:
        st.error(w("unavailable"))
        return
    if detail is None:
        st.info(w("not_public"))
        return
    st.title(f"{w('recommendation')} {detail.paragraph or detail.recommendation_id}")
    st.caption(f"{w('cycle')} {detail.cycle} · {md_escape(detail.document_symbol or '')}")
    st.markdown(md_escape(detail.text))
    if detail.text_km:
        st.markdown(md_escape(detail.text_km))
    st.markdown(f"**{w('states')}:** {md_escape(', '.join(detail.recommending_states))}")
    st.markdown(f"**{w('status')}:** {md_escape(status_name(detail.cncc_status, statuses))}")
    st.markdown(f"**{w('themes')}:** " + md_escape(", ".join(
        f"{t} {label(themes.get(t), t)}" for t in detail.themes)))
    st.subheader(w("evidence"))
    if not detail.evidence:
        st.caption(w("no_evidence"))
    for item in detail.evidence:
        with st.container(border=True):
            st.markdown(f"**{md_escape(item.title)}**")
            if item.published_on:
                st.caption(item.published_on.isoformat())
            if item.quote:
                st.markdown("> " + md_escape(item.quote))
            if item.url and item.url.startswith(("https://", "http://")):
                st.link_button(item.url[:80], item.url)


def theme_page() -> None:
    try:
        cycles, themes, statuses = _lists(api.base)
    except ApiUnavailable:
        st.error(w("unavailable"))
        return
    theme = st.selectbox(w("theme"), list(themes), key="id", bind="query-params",
                         format_func=lambda t: f"{t} {label(themes.get(t), t)}")
    st.title(f"{theme} {label(themes.get(theme), theme)}")
    for cycle in reversed(cycles):
        items, _ = _recommendations(api.base, cycle, theme, None, None)
        st.subheader(f"{w('cycle')} {cycle}: {w('matches', n=len(items))}")
        if items:
            status_chart(items, statuses)
            recommendations_table(items, statuses)


st.navigation([
    st.Page(overview, title=w("overview"), icon=":material/monitoring:", default=True),
    st.Page(theme_page, title=w("themes"), icon=":material/category:", url_path="theme"),
    st.Page(recommendation, title=w("recommendation"), icon=":material/description:", url_path="recommendation",
            visibility="hidden"),
], position="top").run()

"""Recommendations: filter, page through, open one, export the filtered list."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from contracts.events import ImplementationStatus, Position
from ui import exports
from ui import read_model as rm
from ui.auth import language, require_role
from ui.components import open_recommendation, status_label, theme_ids, theme_label
from ui.i18n import t
from ui.pages_registry import roles_for
from ui.settings import get_settings

user = require_role(*roles_for("recommendations"))
lang = language()
db = rm.database()
page_size = get_settings().page_size
st.title(t("recommendations", lang))


@st.cache_data(ttl=60, show_spinner=False)
def _count(db_name: str, flt: rm.RecommendationFilter) -> int:
    return rm.count_recommendations(db, flt)


# Every filter is bound to the address (?rec_cycles=4&rec_positions=Noted ...): a filtered
# list is shared by copying the URL, and opening it logged out lands on it after the login.
search = st.text_input(t("search", lang), key="rec_search", bind="query-params",
                       placeholder="e.g. birth registration / កុមារ")
c1, c2, c3, c4 = st.columns(4)
cycles = c1.multiselect(t("cycle", lang), list(rm.CYCLES), key="rec_cycles", bind="query-params")
themes = c2.multiselect(t("themes", lang), theme_ids(), format_func=lambda x: theme_label(x, lang),
                        key="rec_themes", bind="query-params")
positions = c3.multiselect(t("position", lang), [p.value for p in Position], key="rec_positions", bind="query-params")
statuses = c4.multiselect(t("status", lang) + " (CNCC)", [s.value for s in ImplementationStatus] + [rm.NOT_ASSESSED],
                          format_func=status_label, key="rec_statuses", bind="query-params")
c5, c6, c7 = st.columns([2, 1, 1])
state = c5.text_input(t("recommending_state", lang), key="rec_state", bind="query-params", placeholder="e.g. Sweden")
disagreement_only = c6.checkbox(t("disagreement", lang), key="rec_disagreement", bind="query-params")
child_only = c7.checkbox("Child-related only", key="rec_child", bind="query-params")

flt = rm.RecommendationFilter(
    cycles=tuple(int(str(c)) for c in cycles), themes=tuple(themes), positions=tuple(positions),
    statuses=tuple(statuses), recommending_state=state, search=search,
    disagreement_only=disagreement_only, child_related_only=child_only,
)
# Back to page 1 whenever the filters change.
if st.session_state.get("rec_last_filter") != flt:
    st.session_state["rec_last_filter"] = flt
    st.session_state["rec_page"] = 1
page = int(st.session_state.get("rec_page", 1))
items, more = rm.page_of_recommendations(db, flt, skip=(page - 1) * page_size, limit=page_size)

if not items:
    st.info(t("no_results", lang))
else:
    table = pd.DataFrame([{
        "id": r.recommendation_id, "cycle": r.cycle, "paragraph": r.paragraph or "",
        "text": r.text if len(r.text) <= 220 else r.text[:217] + "...",
        "recommending states": ", ".join(s.name for s in r.recommending_states),
        "position": r.position.value, "themes": ", ".join(r.themes),
        "CNCC status": status_label(r.cncc_status), "CSO status": status_label(r.cso_status),
        "evidence": rm.evidence_count(r, user.role),
    } for r in items])
    picked = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                          key=f"rec_table_{page}", width="stretch")
    chosen = picked.selection.rows if hasattr(picked, "selection") else []
    if chosen:
        open_recommendation(str(table.iloc[chosen[0]]["id"]))
    st.caption("Select a row to open the recommendation.")

first = (page - 1) * page_size
previous, position_note, following = st.columns([1, 3, 1])
if previous.button("← Previous", key="rec_previous", disabled=page <= 1):
    st.session_state["rec_page"] = page - 1
    st.rerun()
if following.button("Next →", key="rec_next", disabled=not more):
    st.session_state["rec_page"] = page + 1
    st.rerun()
# Counted after the table is on screen. From the tracker's summaries where they answer (a few
# small documents, not cached: they follow the tracker within seconds); otherwise counted,
# which reads every match, and cached. Never fewer than the rows shown (a summary a moment behind).
summarised = rm.count_from_summaries(db, flt)
total = max(summarised if summarised is not None else _count(db.name, flt), first + len(items) + int(more))
position_note.caption(f"{total} recommendation(s) match; showing {first + 1 if items else 0}-{first + len(items)}"
                      f" (page {page} of {max(1, -(-total // page_size))}).")

name = f"recommendations-{total}"
left, right = st.columns(2)
left.download_button("Export CSV", data=lambda: exports.to_csv(rm.list_recommendations(db, flt), user.role),
                     file_name=f"{name}.csv", mime="text/csv", key="export_csv", disabled=total == 0)
right.download_button("Export XLSX", data=lambda: exports.to_xlsx(rm.list_recommendations(db, flt), user.role),
                      file_name=f"{name}.xlsx", key="export_xlsx", disabled=total == 0,
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

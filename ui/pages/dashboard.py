"""Dashboard: progress by theme, position and status; CSO vs CNCC disagreement; deadlines."""

from __future__ import annotations

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from contracts.events import Role
from ui import read_model as rm
from ui.auth import language, require_role
from ui.components import STATUS_LABELS, open_recommendation, status_label, theme_label
from ui.i18n import t
from ui.pages_registry import roles_for

user = require_role(*roles_for("dashboard"))
lang = language()
db = rm.database()
st.title(t("dashboard", lang))



# Read from the tracker's summaries (a handful of small documents): cached briefly, so a
# change shows within seconds.
@st.cache_data(ttl=5, show_spinner="Counting ...")
def _summary(db_name: str, cycle: int | None, role: str) -> rm.DashboardSummary:
    return rm.dashboard(db, cycle, Role(role))


cycle = st.selectbox(t("cycle", lang), [None, *rm.CYCLES],
                     format_func=lambda c: "All cycles" if c is None else f"Cycle {c}", key="dash_cycle")
summary = _summary(db.name, cycle, user.role.value)

cols = st.columns(5)
cols[0].metric(t("recommendations", lang), summary.total)
cols[1].metric("Child-related", summary.child_related)
cols[2].metric("Supported", summary.by_position.get("Supported", 0))
cols[3].metric("Evidence (approved)" if user.role != Role.VIEWER else "Evidence (public)", summary.evidence_total)
cols[4].metric(t("disagreement", lang), len(summary.disagreements))

st.subheader(t("deadline", lang))
deadlines = rm.deadlines(db, datetime.now(UTC).date())
if not deadlines:
    st.caption("No milestones set yet (reviewers set them on the Report page).")
for row in deadlines:
    days = row["days_left"]
    when = f"in {days} days" if days >= 0 else f"{-days} days ago"
    st.write(f"**{row['milestone'].replace('_', ' ')}** (KHM cycle {row['cycle']}): "
             f"{row['due_on'].isoformat()}, {when}")

status_colors = alt.Scale(domain=list(STATUS_LABELS.values()),
                          range=["#d62728", "#ff7f0e", "#bcbd22", "#2ca02c", "#7f7f7f", "#c7c7c7"])
left, right = st.columns(2)
with left:
    st.subheader("Official (CNCC) status")
    frame = pd.DataFrame([{"status": status_label(k), "count": v} for k, v in summary.by_status.items()])
    if not frame.empty:
        st.altair_chart(alt.Chart(frame).mark_bar().encode(
            x=alt.X("count:Q", title="Recommendations"), y=alt.Y("status:N", sort="-x", title=None),
            color=alt.Color("status:N", scale=status_colors, legend=None)), width="stretch")
with right:
    st.subheader(t("position", lang))
    frame = pd.DataFrame([{"position": k, "count": v} for k, v in summary.by_position.items()])
    if not frame.empty:
        st.altair_chart(alt.Chart(frame).mark_arc().encode(
            theta="count:Q", color=alt.Color("position:N", title=None)), width="stretch")

st.subheader("Progress by theme")
rows = [{"theme": theme_label(theme, lang), "status": status_label(status), "count": n}
        for theme, counts in summary.by_theme_status.items() for status, n in counts.items()]
if rows:
    st.altair_chart(alt.Chart(pd.DataFrame(rows)).mark_bar().encode(
        x=alt.X("count:Q", stack="normalize", title="Share of recommendations"),
        y=alt.Y("theme:N", title=None),
        color=alt.Color("status:N", scale=status_colors, title=t("status", lang)),
        tooltip=["theme", "status", "count"]), width="stretch")
else:
    st.caption("No tagged recommendations yet.")

st.subheader(t("disagreement", lang))
if summary.disagreements:
    table = pd.DataFrame([{"recommendation": d["recommendation_id"], "CSO": status_label(d["cso_status"]),
                           "CNCC": status_label(d["cncc_status"])} for d in summary.disagreements])
    picked = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                          key="dash_disagreements")
    chosen = picked.selection.rows if hasattr(picked, "selection") else []
    if chosen:
        open_recommendation(str(table.iloc[chosen[0]]["recommendation"]))
else:
    st.caption("No disagreement between the CSO and CNCC assessments.")

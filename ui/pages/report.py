"""Mid-term report (reviewers, admins): preview, edit sections, export, draft versions, milestones,
and whether the cycle is published on the public page and the read API."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import streamlit as st

from contracts.events import CycleDeadlineSetV1, CyclePublicationSetV1, ReportDraftSavedV1
from contracts.ui_addresses import CYCLE_PARAM, SECTION_PARAM, report_section_address
from ui import commands, http_client
from ui import read_model as rm
from ui.auth import language, require_role
from ui.components import address_link, md_escape, theme_ids, theme_label
from ui.i18n import t
from ui.pages_registry import roles_for
from ui.settings import get_settings

user = require_role(*roles_for("report"))
lang = language()
db = rm.database()
settings = get_settings()
st.title(t("report", lang))

COUNTRY = "KHM"
SECTIONS = ["executive_summary", "priorities"] + [f"{kind}:{theme}" for theme in theme_ids()
                                                 for kind in ("gaps", "asks")]


def _param(name: str) -> str:
    return str(st.query_params.get(name) or "")


def _linked_section(value: str) -> str | None:
    """A section named in the address: its key (gaps:T01), or a theme id (T01: that theme's gaps)."""
    if value in SECTIONS:
        return value
    return f"gaps:{value}" if f"gaps:{value}" in SECTIONS else None


def _keep_in_address(name: str, key: str) -> None:
    # on_change: the address follows the choice, so what is on screen can be linked to as it is.
    st.query_params[name] = str(st.session_state[key])


# /report?cycle=4&section=T01 opens that cycle, on that section's editor; without a cycle, the
# latest cycle with recommendations.
linked_cycle = int(_param(CYCLE_PARAM)) if _param(CYCLE_PARAM).isdigit() else None
linked_section = _linked_section(_param(SECTION_PARAM))
if _param(SECTION_PARAM) and linked_section is None:
    st.warning(f"No report section “{md_escape(_param(SECTION_PARAM)[:100])}”.")
default_cycle = linked_cycle if linked_cycle in rm.CYCLES else rm.latest_cycle_with_data(db) or 4
c1, c2, c3 = st.columns(3)
cycle = int(c1.selectbox(t("cycle", lang), list(rm.CYCLES), index=rm.CYCLES.index(default_cycle)
                         if default_cycle in rm.CYCLES else len(rm.CYCLES) - 1, key="report_cycle",
                         on_change=_keep_in_address, args=(CYCLE_PARAM, "report_cycle")))
as_of = c2.date_input("As of", value=datetime.now(UTC).date(), key="report_as_of")
report_language = c3.selectbox(t("language", lang), ["en", "km", "bilingual"], key="report_language")
as_of_text = as_of.isoformat() if isinstance(as_of, date) else datetime.now(UTC).date().isoformat()

preview_tab, edit_tab, export_tab, milestones_tab, publish_tab = st.tabs(
    ["Preview", "Edit sections", "Export", "Milestones", "Publish"],
    default="Edit sections" if linked_section else None)

with preview_tab:
    if st.button("Show preview", key="report_preview", type="primary"):
        result = http_client.report(settings.tracker_url, COUNTRY, cycle, format="md", as_of=as_of_text,
                                    language=report_language, actor=user.actor)
        if result.ok:
            st.session_state["report_md"] = result.content.decode("utf-8", "replace")
        else:
            st.error(f"The report could not be built: {md_escape(result.error)}")
    if st.session_state.get("report_md"):
        with st.container(border=True, height=700):
            st.markdown(st.session_state["report_md"])  # Markdown only; HTML is never rendered

with edit_tab:
    def _section_label(section: str) -> str:
        if ":" in section:
            kind, theme = section.split(":")
            return f"{'Gaps' if kind == 'gaps' else 'CSO asks'}: {theme_label(theme, lang)}"
        return section.replace("_", " ").capitalize()

    section = st.selectbox("Section", SECTIONS, format_func=_section_label, key="report_section",
                           index=SECTIONS.index(linked_section) if linked_section else 0,
                           on_change=_keep_in_address, args=(SECTION_PARAM, "report_section"))
    st.caption(address_link("Link to this section", report_section_address("", cycle, section)))
    draft_language = st.radio("Text language", ["en", "km"], horizontal=True, key="report_draft_language")
    drafts = rm.report_drafts(db, COUNTRY, cycle)
    latest = rm.latest_drafts(drafts).get((section, draft_language))
    if latest is not None and latest.held:
        st.warning("The latest version of this section may identify a child and is held: the report shows a "
                   "placeholder until a reviewer releases or redacts it (Review inbox).")
    with st.form("report_draft"):
        text = st.text_area("Text", value=latest.text if latest else "", height=300,
                            key=f"report_text_{section}_{draft_language}_{latest.version if latest else 0}")
        if st.form_submit_button("Save draft", type="primary"):
            saved = commands.send(ReportDraftSavedV1(country=COUNTRY, cycle=cycle, section=section,
                                                     language=draft_language, text=text), user.actor,
                                  key=f"{COUNTRY}-{cycle}")
            commands.show_result(saved, "Draft saved as a new version.")
    if drafts:
        st.subheader("Draft versions")
        st.dataframe(pd.DataFrame([{"section": d.section, "language": d.language, "version": d.version,
                                    "author": d.author.username, "at": d.at.strftime("%Y-%m-%d %H:%M"),
                                    "characters": len(d.text)} for d in drafts]),
                     hide_index=True, width="stretch")

with export_tab:
    kinds = {"docx": ("Word (DOCX)", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
             "md": ("Markdown", "text/markdown"),
             "xlsx": ("Matrix (XLSX)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    for fmt, (label, mime) in kinds.items():
        if st.button(f"Build {label}", key=f"report_build_{fmt}"):
            result = http_client.report(settings.tracker_url, COUNTRY, cycle, format=fmt, as_of=as_of_text,
                                        language=report_language, actor=user.actor)
            if result.ok:
                st.download_button(f"Save {label}", data=result.content, mime=mime, key=f"report_save_{fmt}",
                                   file_name=f"upr-midterm-{COUNTRY}-{cycle}-{as_of_text}.{fmt}")
            else:
                st.error(f"The report could not be built: {md_escape(result.error)}")

with milestones_tab:
    for row in rm.deadlines(db, datetime.now(UTC).date()):
        st.write(f"{row['milestone'].replace('_', ' ')} (cycle {row['cycle']}): {row['due_on'].isoformat()}")
    with st.form("milestone"):
        milestone = st.text_input("Milestone", value="mid_term_report_due", key="milestone_name")
        due_on = st.date_input("Due on", key="milestone_due")
        if st.form_submit_button("Set milestone"):
            try:
                payload = CycleDeadlineSetV1(country=COUNTRY, cycle=cycle, milestone=milestone.strip(),
                                             due_on=due_on)
            except ValueError:
                st.error("Milestone: lower-case letters, digits and _ (e.g. mid_term_report_due).")
            else:
                commands.show_result(commands.send(payload, user.actor, key=f"{COUNTRY}-{cycle}"),
                                     "Milestone set.")

with publish_tab:
    published = rm.cycle_published(db, COUNTRY, cycle)
    st.write(f"Cycle {cycle} is **{'published' if published else 'not published'}** on the public page "
             "and the read API (`/api/v1`).")
    st.caption("Published: anyone sees the recommendations Cambodia supported in this cycle, their CNCC "
               "status and the approved evidence marked public. Never pending, held, rejected or "
               "coalition-only evidence, never reviewer notes, rationales or the CSO status.")
    label = f"Withdraw cycle {cycle} from the public page" if published else f"Publish cycle {cycle}"
    if st.button(label, key="publish_cycle"):
        commands.show_result(
            commands.send(CyclePublicationSetV1(country=COUNTRY, cycle=cycle, published=not published), user.actor,
                          key=f"{COUNTRY}-{cycle}"),
            "Withdrawn from the public page." if published else "Published.")

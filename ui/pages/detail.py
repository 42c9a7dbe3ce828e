"""One recommendation: text (English and Khmer), themes, evidence timeline, assessments, history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from contracts.documents import EvidenceDoc
from contracts.events import ReviewState, ThemeCorrectionRequestedV1
from contracts.ui_addresses import recommendation_address, review_item_address
from ui import commands
from ui import read_model as rm
from ui.auth import language, require_role
from ui.components import (
    DETAIL_PARAM,
    EVIDENCE_PARAM,
    address_link,
    evidence_body,
    go_to,
    md_escape,
    select_recommendation,
    selected_recommendation,
    status_label,
    theme_ids,
    theme_label,
)
from ui.i18n import t
from ui.pages_registry import CONTRIBUTORS, REVIEWERS, roles_for

user = require_role(*roles_for("detail"))
lang = language()
db = rm.database()
st.title(t("detail", lang))

# A searchable picker (type part of the id or of the text); the choice lives in the address,
# /detail?id=<id>, so the page can be bookmarked, reloaded and sent to a colleague.
choices = dict(rm.recommendation_choices(db))
wanted_id = selected_recommendation()
if wanted_id and wanted_id not in choices:  # an id it had before two sources were merged (an alias)?
    found = rm.recommendation(db, wanted_id)
    wanted_id = found.recommendation_id if found is not None else wanted_id
if wanted_id and wanted_id not in choices:
    # The id comes from the address: shown as literal text, never as Markdown (a crafted link).
    st.warning(f"No recommendation “{md_escape(wanted_id[:100])}”. Pick one below.")
    wanted_id = None
if st.session_state.get("detail_pick_for") != wanted_id or "detail_pick" not in st.session_state:
    st.session_state["detail_pick"] = wanted_id  # arrived with another id: the picker shows it
    st.session_state["detail_pick_for"] = wanted_id
chosen = st.selectbox(
    "Recommendation", list(choices), key="detail_pick",
    format_func=lambda rid: f"{rid} · {choices[rid]}",
    placeholder="Type an id (e.g. KHM-4-110.23) or words of its text",
)
if chosen != wanted_id:  # another recommendation picked: an evidence item in the address was the first one's
    st.query_params.pop(EVIDENCE_PARAM, None)
if not chosen:
    st.query_params.pop(DETAIL_PARAM, None)
    st.info("Pick a recommendation above, or open one from the Recommendations page.")
    st.stop()
rec = rm.recommendation(db, chosen)
if rec is None:
    st.warning(f"No recommendation “{md_escape(chosen[:100])}”.")
    st.stop()
assert rec is not None
select_recommendation(rec.recommendation_id)
st.session_state["detail_pick_for"] = rec.recommendation_id
if st.query_params.get(DETAIL_PARAM) != rec.recommendation_id:
    st.query_params[DETAIL_PARAM] = rec.recommendation_id

st.subheader(rec.recommendation_id)
facts = [f"Cycle {rec.cycle}"]
if rec.session:
    facts.append(f"session {rec.session}")
if rec.document_symbol:
    facts.append(rec.document_symbol + (f" para. {rec.paragraph}" if rec.paragraph else ""))
if rec.annotation_id:
    facts.append(f"OHCHR annotation {rec.annotation_id}")
facts.append(rec.position.value)
st.caption(" · ".join(md_escape(f) for f in facts))
st.markdown(md_escape(rec.text))
if rec.text_km:
    st.markdown(md_escape(rec.text_km))
if rec.recommending_states:
    st.write(t("recommending_state", lang) + ": " + ", ".join(md_escape(s.name) for s in rec.recommending_states))
if rec.conflicts:  # two import sources disagree: the stored value is kept, both are shown (docs/imports.md)
    st.warning("Sources disagree: " + "; ".join(
        f"{md_escape(name)}: " + ", ".join(f"{md_escape(src)} says {md_escape(str(value))}"
                                           for src, value in said.items())
        for name, said in rec.conflicts.items()))
if rec.aliases:  # ids it had before two sources were merged: links using them still open it
    st.caption("Also imported as: " + ", ".join(md_escape(a) for a in rec.aliases))
if rec.disagreement:
    st.warning(t("disagreement", lang) + f": CSO {status_label(rec.cso_status)} / "
               f"CNCC {status_label(rec.cncc_status)}")

# /detail?id=<rec>&evidence=<evidence id> (alert emails link here): the timeline opens with that item first.
items = rm.evidence_for(db, rec.recommendation_id, user.actor)
linked_id = st.query_params.get(EVIDENCE_PARAM) or None
linked = next((e for e in items if e.evidence_id == linked_id), None)
if linked_id and linked is None:
    stored = rm.evidence_by_id(db, linked_id)
    if stored is not None and not rm.can_see_evidence(stored, user.actor):
        st.error(t("evidence_not_allowed", lang, role=user.role.value))
        st.caption("Evidence awaiting review, and evidence shared with the coalition only, is not shown to "
                   "every role. Ask a coalition member or a reviewer if you need it.")
    else:
        st.warning(f"No evidence item “{md_escape(linked_id[:100])}” on this recommendation.")

themes_tab, evidence_tab, assess_tab, history_tab = st.tabs(
    [t("themes", lang), t("evidence_timeline", lang), t("assessments", lang), t("history", lang)],
    default=t("evidence_timeline", lang) if linked is not None else None)

with themes_tab:
    if not rec.theme_tags:
        st.caption("Not tagged as child-related." if not rec.child_related else "No themes.")
    for tag in rec.theme_tags:
        who = "added by a person" if tag.source == "human" else f"tagger, confidence {tag.confidence:.0%}"
        st.markdown(f"**{md_escape(theme_label(tag.id, lang))}** ({who})")
        if tag.explanation:
            st.caption(md_escape(tag.explanation))
    if user.role in CONTRIBUTORS:
        with st.form("correct_tags"):
            st.write("Correct the themes")
            wanted = st.multiselect(t("themes", lang), theme_ids(), default=[x for x in rec.themes if x in theme_ids()],
                                    format_func=lambda x: theme_label(x, lang), key="correct_themes")
            comment = st.text_area("Why (optional)", key="correct_comment", max_chars=2000)
            if st.form_submit_button("Save themes"):
                add = sorted(set(wanted) - set(rec.themes))
                remove = sorted(set(rec.themes) - set(wanted))
                if not add and not remove:
                    st.info("No change.")
                else:
                    result = commands.send(ThemeCorrectionRequestedV1(
                        recommendation_id=rec.recommendation_id, add=add, remove=remove, comment=comment),
                        user.actor)
                    commands.show_result(result, "Themes corrected.")

shown_id = rec.recommendation_id


def evidence_card(item: EvidenceDoc, is_linked: bool) -> None:
    # A key per item: its container carries the CSS class st-key-evidence_<id> (the e2e tests find it by that).
    with st.container(border=True, key=f"evidence_{item.evidence_id}"):
        if is_linked:
            st.markdown(":blue-badge[" + t("linked_item", lang) + "]")
        when = (item.published_on or item.submitted_at.date()).isoformat()
        badge = ""
        if item.review_state == ReviewState.PENDING:
            badge = ":orange-badge[" + t("pending_review", lang) + "]"
            if item.held:
                badge += " :red-badge[held: safeguarding]"
        elif item.review_state == ReviewState.REJECTED:
            badge = ":red-badge[rejected]"
        st.markdown(f"**{when}** · {md_escape(item.title)} {badge}")
        st.caption(f"{item.source_type.value.replace('_', ' ')} · "
                   f"{md_escape(item.organisation or item.submitted_by.organisation or '')} · "
                   f"{item.visibility.value} · submitted by {md_escape(item.submitted_by.username)}")
        evidence_body(item)
        if item.review_comment:
            st.caption("Reviewer: " + md_escape(item.review_comment))
        links = [address_link(t("link_to_this", lang),
                              recommendation_address("", shown_id, item.evidence_id))]
        if item.review_state == ReviewState.PENDING and user.role in REVIEWERS:
            links.append(address_link("Review it", review_item_address("", item.evidence_id)))
        st.caption(" · ".join(links))


with evidence_tab:
    if user.role in CONTRIBUTORS and st.button(t("add_evidence", lang), key="detail_add_evidence"):
        st.session_state["evidence_preset"] = [rec.recommendation_id]
        go_to("add_evidence")
    if not items:
        st.caption("No evidence yet.")
    if linked is not None:
        evidence_card(linked, True)
    for item in items:
        if item is not linked:
            evidence_card(item, False)

with assess_tab:
    left, right = st.columns(2)
    for column, name, summary in ((left, "CSO coalition", rec.cso_assessment),
                                  (right, "CNCC (official)", rec.cncc_assessment)):
        with column:
            st.markdown(f"**{name}**")
            if summary is None:
                st.caption(status_label(None))
            else:
                st.write(status_label(summary.status))
                st.caption(f"{summary.at:%Y-%m-%d} by {md_escape(summary.by.username)}")
                if summary.rationale:
                    st.markdown(md_escape(summary.rationale))
    history = rm.assessments_for(db, rec.recommendation_id)
    if history:
        st.dataframe(pd.DataFrame([{"at": a.at.strftime("%Y-%m-%d %H:%M"), "by": a.by.username,
                                    "assessor": a.assessor.value.upper(), "status": status_label(a.status),
                                    "rationale": a.rationale} for a in history]),
                     hide_index=True, width="stretch")

with history_tab:
    for version in rm.versions(db, rec.recommendation_id):
        changes = ", ".join(f"{c.get('field')}: {c.get('before')} → {c.get('after')}" for c in version.changes)
        st.write(f"Version {version.version} ({version.at:%Y-%m-%d})" + (f": {md_escape(changes)}" if changes else ""))
    entries = rm.audit_log(db, subject_id=rec.recommendation_id, limit=100)
    if entries:
        st.dataframe(pd.DataFrame([{"at": e.at.strftime("%Y-%m-%d %H:%M"), "who": e.actor.username,
                                    "action": e.action, "after": str(e.after or "")} for e in entries]),
                     hide_index=True, width="stretch")

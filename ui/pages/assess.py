"""Assess: the CSO coalition's assessment (cso members) or the official CNCC status (reviewers)."""

from __future__ import annotations

import uuid

import streamlit as st

from contracts.events import AssessmentSubmittedV1, Assessor, ImplementationStatus, Role
from ui import commands
from ui import read_model as rm
from ui.auth import language, require_role
from ui.components import md_escape, select_recommendation, selected_recommendation, status_label
from ui.i18n import t
from ui.pages_registry import roles_for

user = require_role(*roles_for("assess"))
lang = language()
db = rm.database()
st.title(t("assess", lang))

# Which assessment this role gives; admins may give either.
assessors = {Role.CSO_MEMBER: [Assessor.CSO], Role.REVIEWER: [Assessor.CNCC],
             Role.ADMIN: [Assessor.CNCC, Assessor.CSO]}[user.role]
assessor = Assessor(st.radio("Assessment", [a.value for a in assessors],
                             format_func=lambda v: {"cso": "CSO coalition", "cncc": "CNCC (official status)"}[v],
                             horizontal=True, key="assess_assessor"))

rec_id = st.text_input("Recommendation id", value=selected_recommendation() or "", key="assess_id").strip()
rec = rm.recommendation(db, rec_id) if rec_id else None
if rec is None:
    st.info("Type a recommendation id (or open one from the Recommendations page)." if not rec_id
            else f"No recommendation “{md_escape(rec_id[:100])}”.")
    st.stop()
assert rec is not None
select_recommendation(rec.recommendation_id)
st.markdown(md_escape(rec.text))
current = rec.cso_status if assessor == Assessor.CSO else rec.cncc_status
st.caption(f"Current {assessor.value.upper()} status: {status_label(current)}")

evidence = [e for e in rm.evidence_for(db, rec.recommendation_id, user.actor) if e.review_state.value == "approved"]
with st.form("assessment"):
    status = st.selectbox(t("status", lang), [s.value for s in ImplementationStatus], format_func=status_label,
                          key="assess_status")
    rationale = st.text_area("Rationale", key="assess_rationale", max_chars=5000)
    cited = st.multiselect("Evidence cited", [e.evidence_id for e in evidence],
                           format_func=lambda i: next(e.title for e in evidence if e.evidence_id == i),
                           key="assess_evidence")
    if st.form_submit_button(t("submit", lang), type="primary"):
        result = commands.send(AssessmentSubmittedV1(
            assessment_id=f"as-{uuid.uuid4().hex[:16]}", recommendation_id=rec.recommendation_id,
            assessor=assessor, status=ImplementationStatus(status), rationale=rationale, evidence_ids=cited,
        ), user.actor)
        commands.show_result(result, "Assessment saved.")

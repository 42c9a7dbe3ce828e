"""Add evidence of implementation, with its provenance, for one or several recommendations."""

from __future__ import annotations

import uuid
from datetime import date

import streamlit as st
from pydantic import ValidationError

from contracts.events import EvidenceSourceType, EvidenceSubmittedV1, Visibility, describe
from ui import commands
from ui import read_model as rm
from ui.auth import language, require_role
from ui.i18n import t
from ui.pages_registry import roles_for

# Cambodia ratified the Convention on the Rights of the Child in 1992: older sources are not evidence here.
EARLIEST_SOURCE = date(1990, 1, 1)

# Who reads what, as the code decides it: say it plainly, never "coalition only" (issue 13 row 7).
VISIBILITY_NOTE = (
    "Who reads it: CNCC reviewers and admins read and review every item, coalition-only or public, "
    "from the moment it is submitted; you always see your own. Once a reviewer approves it, "
    "coalition-only evidence is shown to coalition (CSO) members and cited only in reports made for "
    "the coalition; public evidence is shown to everyone, including viewers, and cited in the public "
    "report. Until then (and while text is held for safeguarding) nobody else sees it."
)

user = require_role(*roles_for("add_evidence"))
lang = language()
db = rm.database()
st.title(t("add_evidence", lang))
st.warning(t("safeguarding", lang), icon=":material/shield_person:")


@st.cache_data(ttl=60, show_spinner=False)
def _ids(db_name: str) -> list[str]:
    return rm.recommendation_ids(db)


all_ids = _ids(db.name)
preset = [i for i in st.session_state.get("evidence_preset", []) if i in set(all_ids)]

with st.form("evidence", clear_on_submit=False):
    recommendation_ids = st.multiselect(t("recommendations", lang), all_ids, default=preset, key="ev_recs",
                                        placeholder="Choose one or more recommendations")
    source_type = st.selectbox("Kind of source", [s.value for s in EvidenceSourceType],
                               format_func=lambda v: v.replace("_", " ").capitalize(), key="ev_source_type")
    title = st.text_input("Title (what happened)", key="ev_title", max_chars=500)
    url = st.text_input("Link (http:// or https://)", key="ev_url", max_chars=2000)
    reference = st.text_input("Document reference (e.g. law number, page)", key="ev_reference", max_chars=500)
    # Streamlit's default accepts only the last ten years; evidence on the 2009 and 2014 cycles is older.
    published_on = st.date_input("Date of the source", value=None, min_value=EARLIEST_SOURCE, key="ev_published_on")
    quote = st.text_area("Verbatim quote from the source", key="ev_quote", max_chars=5000)
    organisation = st.text_input("Organisation", value=user.organisation or "", key="ev_organisation",
                                 max_chars=200)
    # Worded after the real rules (ui/read_model.can_see_evidence, the report's evidence_exclusion):
    # CNCC reviewers and admins read and review every item, whatever its visibility.
    visibility = st.radio("Who may see it", [Visibility.COALITION.value, Visibility.PUBLIC.value],
                          format_func=lambda v: {"coalition": "Coalition and CNCC reviewers",
                                                 "public": "Everyone (public)"}[v],
                          horizontal=True, key="ev_visibility")
    st.caption(VISIBILITY_NOTE)
    ev_language = st.radio("Language of the quote", ["en", "km"],
                           format_func=lambda v: {"en": "English", "km": "ខ្មែរ (Khmer)"}[v],
                           horizontal=True, key="ev_language")
    submitted = st.form_submit_button(t("submit", lang), type="primary")

if submitted:
    try:
        payload = EvidenceSubmittedV1(
            evidence_id=f"ev-{uuid.uuid4().hex[:16]}", recommendation_ids=recommendation_ids,
            source_type=EvidenceSourceType(source_type), title=title, url=url.strip() or None,
            document_reference=reference.strip() or None, published_on=published_on, quote=quote,
            organisation=organisation.strip() or None, visibility=Visibility(visibility),
            language=ev_language,
        )
    except ValidationError as exc:
        st.error("Please check the form: " + describe(exc).replace("recommendation_ids", "recommendations"))
    else:
        result = commands.send(payload, user.actor)
        if result.ok:
            stored = rm.evidence_by_id(db, payload.evidence_id)
            if stored is not None and stored.safeguarding_flags:
                st.warning("Held for a reviewer: the text may identify a child ("
                           + ", ".join(f.replace("_", " ") for f in stored.safeguarding_flags)
                           + "). Please remove identifying details if you can.")
            elif stored is not None and stored.review_state.value == "pending":
                st.success("Evidence added. It is pending review by a CNCC reviewer; "
                           "you can already see it in the recommendation's timeline.")
            else:
                st.success("Evidence added and published.")
            st.session_state.pop("evidence_preset", None)
        else:
            commands.show_result(result, "Evidence added.")

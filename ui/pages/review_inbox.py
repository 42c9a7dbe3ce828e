"""Review inbox (CNCC reviewers): evidence awaiting review, and recent tag corrections."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from contracts.events import EvidenceReviewRequestedV1
from ui import commands
from ui import read_model as rm
from ui.auth import language, require_role
from ui.components import md_escape
from ui.i18n import t
from ui.pages_registry import roles_for

user = require_role(*roles_for("review_inbox"))
lang = language()
db = rm.database()
st.title(t("review_inbox", lang))

pending = rm.pending_evidence(db)
st.subheader(f"Evidence awaiting review ({len(pending)})")
if not pending:
    st.caption("Nothing to review.")
for item in pending:
    with st.container(border=True):
        st.markdown(f"**{md_escape(item.title)}**")
        st.caption(f"{md_escape(', '.join(item.recommendation_ids))} · {item.source_type.value.replace('_', ' ')}"
                   f" · by {md_escape(item.submitted_by.username)} ({md_escape(item.organisation or '')})"
                   f" · {item.submitted_at:%Y-%m-%d} · {item.visibility.value}")
        if item.safeguarding_flags:
            st.error("Safeguarding: may identify a child (" + ", ".join(item.safeguarding_flags) + ")")
        if item.quote:
            st.markdown("> " + md_escape(item.quote))
        if item.document_reference:
            st.caption(md_escape(item.document_reference))
        if item.url:
            st.link_button("Open source", item.url)
        comment = st.text_input("Comment", key=f"review_comment_{item.evidence_id}", max_chars=2000)
        approve, reject, _ = st.columns([1, 1, 4])
        decision = None
        if approve.button("Approve", key=f"approve_{item.evidence_id}", type="primary"):
            decision = "approved"
        if reject.button("Reject", key=f"reject_{item.evidence_id}"):
            decision = "rejected"
        if decision is not None:
            result = commands.send(EvidenceReviewRequestedV1(evidence_id=item.evidence_id, decision=decision,
                                                      comment=comment), user.actor)
            commands.show_result(result, f"Evidence {decision}.")
            if result.ok:
                st.rerun()

st.subheader("Recent tag corrections")
corrections = rm.recent_tag_corrections(db)
if corrections:
    st.dataframe(pd.DataFrame([{
        "at": c.at.strftime("%Y-%m-%d %H:%M"), "recommendation": c.subject_id, "by": c.actor.username,
        "before": ", ".join((c.before or {}).get("themes", [])), "after": ", ".join((c.after or {}).get("themes", [])),
        "comment": (c.after or {}).get("comment", ""),
    } for c in corrections]), hide_index=True, width="stretch")
else:
    st.caption("No tag corrections yet.")

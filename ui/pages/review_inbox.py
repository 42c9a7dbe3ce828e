"""Review inbox (CNCC reviewers): evidence awaiting review, and recent tag corrections."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import streamlit as st

from contracts.events import EvidenceReviewRequestedV1, ImportMatchDecidedV1, SafeguardingReviewRequestedV1
from contracts.ui_addresses import REVIEW_ITEM_PARAM, recommendation_address, review_item_address
from ui import commands
from ui import read_model as rm
from ui.auth import language, require_role
from ui.components import address_link, evidence_body, md_escape
from ui.i18n import t
from ui.pages_registry import roles_for

user = require_role(*roles_for("review_inbox"))
lang = language()
db = rm.database()
st.title(t("review_inbox", lang))

# What waits for this reviewer comes first, oldest first; an item opened by its address
# (/review?item=<evidence id or hold id>, e.g. from a colleague) leads its list.
linked_id = st.query_params.get(REVIEW_ITEM_PARAM) or None
pending = sorted(rm.pending_evidence(db), key=lambda e: e.evidence_id != linked_id)
held = sorted(rm.holds(db, user.actor), key=lambda h: linked_id not in (h.hold_id, h.subject_id))
st.caption(f"Waiting for your decision: {len(pending)} evidence item(s), {len(held)} held text(s).")
if linked_id and not any(e.evidence_id == linked_id for e in pending) \
        and not any(linked_id in (h.hold_id, h.subject_id) for h in held):
    decided = rm.evidence_by_id(db, linked_id)
    if decided is not None:  # decided meanwhile (by this reviewer a moment ago, or by another)
        opens = [address_link(rec_id, recommendation_address("", rec_id, decided.evidence_id))
                 for rec_id in decided.recommendation_ids]
        st.info(f"“{md_escape(decided.title)}” is no longer waiting: {decided.review_state.value}. "
                + " · ".join(opens))
    else:
        st.warning(f"No review item “{md_escape(linked_id[:100])}” is waiting.")


def linked_badge(is_linked: bool) -> None:
    if is_linked:
        st.markdown(":blue-badge[" + t("linked_item", lang) + "]")


st.subheader(f"Evidence awaiting review ({len(pending)})")
if not pending:
    st.caption("Nothing to review.")
for item in pending:
    with st.container(border=True, key=f"review_evidence_{item.evidence_id}"):
        linked_badge(item.evidence_id == linked_id)
        st.markdown(f"**{md_escape(item.title)}**")
        st.caption(f"{md_escape(', '.join(item.recommendation_ids))} · {item.source_type.value.replace('_', ' ')}"
                   f" · by {md_escape(item.submitted_by.username)} ({md_escape(item.organisation or '')})"
                   f" · {item.submitted_at:%Y-%m-%d} · {item.visibility.value}")
        if item.safeguarding_flags:
            st.error("Safeguarding: may identify a child (" + ", ".join(item.safeguarding_flags) + ")"
                     + (". The text as written is under 'Held text' below; approving releases it."
                        if item.held else ""))
        evidence_body(item)
        st.caption(" · ".join([address_link(t("link_to_this", lang), review_item_address("", item.evidence_id))]
                              + [address_link(rec_id, recommendation_address("", rec_id, item.evidence_id))
                                 for rec_id in item.recommendation_ids]))
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

matches = rm.pending_match_reviews(db)
st.subheader(f"Imported rows to confirm ({len(matches)})")
st.caption("Rows of an import that may be a recommendation already held (from another source): nothing was "
           "stored for them. Same: it is that recommendation (merged into it, its id in the file kept as an "
           "alias). Keep separate: it is a recommendation of its own.")
if not matches:
    st.caption("Nothing to confirm.")
for entry in matches:
    with st.container(border=True):
        st.markdown(f"**Row {entry.row} of {md_escape(entry.file_name)}** · {md_escape(entry.recommendation_id)}"
                    f" · {md_escape(', '.join(entry.recommending_states))}")
        st.text(entry.text)  # as imported, never rendered as Markdown
        verdict: tuple[Literal["same", "separate"], str | None] | None = None
        for candidate in entry.candidates:
            rec = rm.recommendation(db, str(candidate["recommendation_id"]))
            if rec is None:
                continue
            cols = st.columns([5, 1])
            cols[0].caption(f"{rec.recommendation_id} (similarity {candidate.get('score')}) · "
                            f"{md_escape(', '.join(s.name for s in rec.recommending_states))}")
            cols[0].text(rec.text)
            if cols[1].button("Same", key=f"match_same_{entry.review_id}_{rec.recommendation_id}"):
                verdict = ("same", rec.recommendation_id)
        if st.button("Keep separate", key=f"match_separate_{entry.review_id}"):
            verdict = ("separate", None)
        if verdict is not None:
            result = commands.send(ImportMatchDecidedV1(review_id=entry.review_id, decision=verdict[0],
                                                        recommendation_id=verdict[1]), user.actor,
                                   key=verdict[1] or entry.recommendation_id)
            commands.show_result(result, "Merged." if verdict[0] == "same" else "Kept as a recommendation of its own.")
            if result.ok:
                st.rerun()

KINDS = {"evidence": "Evidence", "assessment": "Assessment rationale", "review_comment": "Review comment",
         "correction_comment": "Tag correction comment", "report_draft": "Report draft"}

st.subheader(f"Held text ({len(held)})")
st.caption("Text that may identify a child. Until you decide, everyone else (viewers, exports, reports, "
           "alerts) sees a placeholder. Release: it does not identify a child. Redact: replace it with your "
           "text (the original is kept only here, for reviewers and admins). Erase: remove the original "
           "from here too.")
if not held:
    st.caption("Nothing held.")
for hold in held:
    with st.container(border=True, key=f"review_hold_{hold.hold_id}"):
        linked_badge(linked_id in (hold.hold_id, hold.subject_id))
        where = ", ".join(hold.recommendation_ids) or hold.subject_id
        st.markdown(f"**{KINDS.get(hold.kind, hold.kind)}** · {md_escape(where)} · by "
                    f"{md_escape(hold.submitted_by.username)} · {hold.submitted_at:%Y-%m-%d}")
        redacted: dict[str, str] = {}
        for name, text in hold.original.items():
            st.error(f"{md_escape(name)}: " + ", ".join(hold.flags.get(name, [])))
            st.text(text or "")  # as written, never rendered as Markdown
            redacted[name] = st.text_area(f"Redacted {name}", key=f"redact_{hold.hold_id}_{name}",
                                          max_chars=5000)
        release, redact, erase, _ = st.columns([1, 1, 1, 3])
        decision = None
        if release.button("Release", key=f"release_{hold.hold_id}"):
            decision = "release"
        if redact.button("Redact", key=f"redact_{hold.hold_id}", type="primary"):
            decision = "redact"
        if erase.button("Erase", key=f"erase_{hold.hold_id}"):
            decision = "erase"
        if decision is not None:
            result = commands.send(SafeguardingReviewRequestedV1(
                hold_id=hold.hold_id, decision=decision,
                redacted={k: v for k, v in redacted.items() if v.strip()} if decision == "redact" else {},
            ), user.actor, key=hold.command_key or None)
            commands.show_result(result, f"Held text: {decision} done.")
            if result.ok:
                st.rerun()

resolved = rm.holds(db, user.actor, ("redacted", "released"))
if resolved:
    with st.expander(f"Released or redacted originals ({len(resolved)})"):
        for hold in resolved:
            cols = st.columns([5, 1])
            cols[0].caption(f"{KINDS.get(hold.kind, hold.kind)} · {md_escape(hold.subject_id)} · {hold.state}")
            if cols[1].button("Erase original", key=f"erase_done_{hold.hold_id}"):
                commands.show_result(commands.send(SafeguardingReviewRequestedV1(
                    hold_id=hold.hold_id, decision="erase"), user.actor, key=hold.command_key or None),
                    "Original erased.")

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

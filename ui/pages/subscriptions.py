"""Subscriptions: the signed-in user's own alerts (kept by the notifier)."""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from contracts.events import Channel, SubscriptionCancelledV1, SubscriptionRequestedV1, describe
from ui import commands
from ui import read_model as rm
from ui.auth import get_user, language, require_role
from ui.components import md_escape, theme_ids, theme_label
from ui.i18n import t
from ui.pages_registry import roles_for

user = require_role(*roles_for("subscriptions"))
lang = language()
db = rm.database()
st.title(t("subscriptions", lang))

EVENT_KINDS = {
    "new_evidence": "New evidence", "status_change": "Status change", "disagreement": "CSO/CNCC disagreement",
    "tag_correction": "Tag correction", "deadline": "Deadline approaching", "stale": "No progress for a while",
    "new_recommendation": "New recommendation",
}

mine = rm.subscriptions(db, user.username)
if mine:
    st.dataframe(pd.DataFrame([{
        "id": s.subscription_id, "channel": s.channel, "to": s.email or s.webhook_url or "",
        "frequency": s.frequency, "events": ", ".join(s.event_kinds), "themes": ", ".join(s.themes) or "all",
    } for s in mine]), hide_index=True, width="stretch")
    cancel = st.selectbox("Cancel a subscription", ["", *[s.subscription_id for s in mine]], key="sub_cancel")
    if cancel and st.button("Cancel it", key="sub_cancel_button"):
        result = commands.send(SubscriptionCancelledV1(subscription_id=cancel), user.actor, to="notifier")
        commands.show_result(result, "Subscription cancelled.")
else:
    st.caption("You have no alerts yet.")

profile = get_user(db, user.username)
st.subheader("New alert")
with st.form("subscription"):
    channel = st.radio("Send by", [c.value for c in Channel], horizontal=True, key="sub_channel")
    email = st.text_input("Email", value=(profile.email if profile else None) or "", key="sub_email")
    webhook = st.text_input("Webhook URL (https://...)", key="sub_webhook")
    kinds = st.multiselect("When", list(EVENT_KINDS), default=["new_evidence", "status_change"],
                           format_func=EVENT_KINDS.__getitem__, key="sub_kinds")
    themes = st.multiselect(t("themes", lang) + " (empty = all)", theme_ids(),
                            format_func=lambda x: theme_label(x, lang), key="sub_themes")
    frequency = st.radio("How often", ["immediate", "daily", "weekly"], horizontal=True, key="sub_frequency")
    alert_language = st.radio(t("language", lang), ["en", "km"], horizontal=True, key="sub_language")
    if st.form_submit_button(t("submit", lang), type="primary"):
        try:
            payload = SubscriptionRequestedV1(
                subscription_id=f"sub-{uuid.uuid4().hex[:16]}", owner=user.username, channel=Channel(channel),
                email=email.strip() or None if channel == "email" else None,
                webhook_url=webhook.strip() or None if channel == "webhook" else None,
                frequency=frequency, event_kinds=kinds, themes=themes, language=alert_language,
            )
        except ValidationError as exc:
            st.error("Please check the form: " + md_escape(describe(exc)))
        else:
            if channel == "email" and not payload.email:
                st.error("Please give an email address.")
            elif channel == "webhook" and not (payload.webhook_url or "").startswith(("https://", "http://")):
                st.error("Please give a webhook URL starting with https://")
            else:
                result = commands.send(payload, user.actor, to="notifier")
                commands.show_result(result, "Subscription saved.")

"""Subscriptions: the signed-in user's own alerts (kept by the notifier): email, webhook, or
Telegram (a one-time link to the notifier's bot; admins also link groups and channels)."""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from contracts.events import (
    Channel,
    Role,
    SubscriptionCancelledV1,
    SubscriptionRequestedV1,
    SubscriptionRequestedV3,
    describe,
)
from contracts.telegram import deep_link, link_hash, new_link_token
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

bot = rm.telegram_bot(db)


def _to(s: rm.SubscriptionView) -> str:
    if s.channel == Channel.TELEGRAM.value:
        return "Telegram chat linked" if s.telegram_chat_id is not None else "waiting for /start in Telegram"
    return s.email or s.webhook_url or ""


mine = rm.subscriptions(db, user.username)
if user.role == Role.ADMIN:
    mine += rm.telegram_groups(db)
if mine:
    st.dataframe(pd.DataFrame([{
        "id": s.subscription_id, "channel": s.channel, "to": _to(s),
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
# Outside the form: what the form asks depends on it.
channel = st.radio("Send by", [c.value for c in Channel], horizontal=True, key="sub_channel")
with st.form("subscription"):
    email = st.text_input("Email", value=(profile.email if profile else None) or "", key="sub_email")
    webhook = st.text_input("Webhook URL (https://...)", key="sub_webhook")
    kinds = st.multiselect("When", list(EVENT_KINDS), default=["new_evidence", "status_change"],
                           format_func=EVENT_KINDS.__getitem__, key="sub_kinds")
    themes = st.multiselect(t("themes", lang) + " (empty = all)", theme_ids(),
                            format_func=lambda x: theme_label(x, lang), key="sub_themes")
    frequency = st.radio("How often", ["immediate", "daily", "weekly"], horizontal=True, key="sub_frequency")
    alert_language = st.radio(t("language", lang), ["en", "km"], horizontal=True, key="sub_language")
    if channel == Channel.TELEGRAM.value:
        if bot is None:
            st.warning("Telegram alerts are off: the administrator has not set a bot token "
                       "(UPR_TELEGRAM_BOT_TOKEN) or the bot is not running.")
        else:
            st.caption(f"Telegram: alerts come one by one from @{bot}, in both languages. After saving, open "
                       "the link shown and press Start; send /stop to the bot to end them.")
            if user.role == Role.ADMIN:
                group = st.text_input("For a Telegram group or channel (its name; empty: my own chat)",
                                      key="sub_tg_group")
                coalition_group = st.checkbox("The group is the coalition's (it may see coalition-only news)",
                                              key="sub_tg_coalition")
    if st.form_submit_button(t("submit", lang), type="primary"):
        if channel == Channel.TELEGRAM.value:
            if bot is None:
                st.error("Telegram alerts are off: choose email instead, or ask the administrator.")
                st.stop()
            group_name = (st.session_state.get("sub_tg_group") or "").strip() if user.role == Role.ADMIN else ""
            token = new_link_token()
            try:
                request = SubscriptionRequestedV3(
                    subscription_id=f"sub-{uuid.uuid4().hex[:16]}", channel=Channel.TELEGRAM,
                    owner=f"{rm.TELEGRAM_GROUP}{group_name}"[:100] if group_name else user.username,
                    event_kinds=[k for k in kinds if k != "stale"] or ["new_evidence"], themes=themes,
                    language=alert_language, telegram_link_hash=link_hash(token),
                    coalition_partner=bool(group_name and st.session_state.get("sub_tg_coalition")),
                )
            except ValidationError as exc:
                st.error("Please check the form: " + md_escape(describe(exc)))
                st.stop()
            result = commands.send(request, user.actor, to="notifier")
            commands.show_result(result, "Saved. Now link your Telegram:")
            if not result.error:
                if group_name:
                    st.markdown(f"Add @{bot} to the group with this link, or for a channel make @{bot} an "
                                f"administrator and post `/start {token}` in it:")
                    st.code(deep_link(bot, token, group=True), language=None)
                else:
                    st.markdown("Open this link on the phone or computer where you use Telegram and press "
                                "**Start** (it works once, for 24 hours):")
                    st.code(deep_link(bot, token), language=None)
            st.stop()
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

"""Admin: users and roles, the theme taxonomy, the audit log."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from contracts.events import Role
from ui import auth, sessions
from ui import read_model as rm
from ui.auth import language, require_role
from ui.components import md_escape, theme_ids, theme_label
from ui.i18n import t
from ui.pages_registry import roles_for
from ui.settings import get_settings

user = require_role(*roles_for("admin"))
lang = language()
db = rm.database()
st.title(t("admin", lang))

users_tab, taxonomy_tab, audit_tab = st.tabs(["Users", "Taxonomy", "Audit log"])

with users_tab:
    people = auth.list_users(db)
    live = sessions.live_session_counts(db, sessions.SessionPolicy.from_settings(get_settings()))
    st.dataframe(pd.DataFrame([{
        "username": u.username, "name": u.display_name, "role": u.role.value, "organisation": u.organisation or "",
        "email": u.email or "", "active": u.active, "since": u.created_at.strftime("%Y-%m-%d"),
        "signed in (sessions)": live.get(u.username, 0),
    } for u in people]), hide_index=True, width="stretch")

    with st.form("add_user", clear_on_submit=True):
        st.write("Add a user")
        c1, c2 = st.columns(2)
        username = c1.text_input(t("username", lang), key="new_username")
        role = c2.selectbox("Role", [r.value for r in Role], key="new_role")
        organisation = c1.text_input("Organisation", key="new_organisation")
        email = c2.text_input("Email", key="new_email")
        password = st.text_input(t("password", lang) + f" (at least {auth.MIN_PASSWORD} characters)",
                                 type="password", key="new_password")
        if st.form_submit_button("Add user", type="primary"):
            try:
                auth.add_user(db, username.strip(), role, password, organisation=organisation.strip() or None,
                              email=email.strip() or None)
            except auth.UserError as exc:
                st.error(md_escape(str(exc)))
            else:
                st.success(f"User {md_escape(username.strip())} added.")
                st.rerun()

    with st.form("change_user"):
        st.write("Change a user")
        who = st.selectbox(t("username", lang), [u.username for u in people], key="change_username")
        new_role = st.selectbox("Role", ["(unchanged)", *[r.value for r in Role]], key="change_role")
        active = st.radio("Access", ["(unchanged)", "active", "disabled"], horizontal=True, key="change_active")
        if st.form_submit_button("Apply"):
            if who == user.username and (active == "disabled" or new_role not in ("(unchanged)", "admin")):
                st.error("You cannot remove your own admin access.")
            else:
                auth.update_user(db, who, role=None if new_role == "(unchanged)" else Role(new_role),
                                 active=None if active == "(unchanged)" else active == "active")
                st.success(f"User {md_escape(who)} updated.")

    with st.form("sign_out"):
        st.write(t("sign_out_everywhere", lang))
        st.caption("Ends the sessions on every browser and device; the person must log in again at their next "
                   "click. A new password or role does this by itself.")
        everyone = "(everyone except me)"
        target = st.selectbox(t("username", lang), [everyone, *[u.username for u in people]], key="sign_out_who")
        if st.form_submit_button(t("sign_out_everywhere", lang)):
            if target == everyone:
                ended = sessions.revoke_all_sessions(db, f"signed out by {user.username}",
                                                     except_session=st.session_state.get(auth.SESSION_KEY))
            else:
                ended = sessions.revoke_user_sessions(db, target, f"signed out by {user.username}")
            st.success(f"{ended} session(s) ended.")

with taxonomy_tab:
    st.dataframe(pd.DataFrame([{"id": i, "English": theme_label(i, "en"), "ខ្មែរ": theme_label(i, "km")}
                               for i in theme_ids()]), hide_index=True, width="stretch")

with audit_tab:
    c1, c2 = st.columns(2)
    subject = c1.text_input("Subject id (recommendation, evidence ...)", key="audit_subject").strip()
    action = c2.text_input("Action (e.g. evidence.added)", key="audit_action").strip()
    entries = rm.audit_log(db, subject_id=subject or None, action=action or None, limit=500)
    if entries:
        st.dataframe(pd.DataFrame([{
            "at": e.at.strftime("%Y-%m-%d %H:%M:%S"), "who": e.actor.username, "role": e.actor.role.value,
            "action": e.action, "subject": f"{e.subject_type} {e.subject_id}",
            "before": str(e.before or ""), "after": str(e.after or ""),
        } for e in entries]), hide_index=True, width="stretch")
    else:
        st.caption("No audit entries match.")

"""Admin: users and roles, the read API's keys, the theme taxonomy, the audit log."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from contracts.api_keys import new_api_key
from contracts.events import ApiKeyIssuedV1, ApiKeyRevokedV1, Role
from ui import auth, commands, sessions
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

users_tab, keys_tab, taxonomy_tab, audit_tab = st.tabs(["Users", "API keys", "Taxonomy", "Audit log"])

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

with keys_tab:
    st.caption("Keys let a partner system read the API (/api/v1) as a role reads: every recommendation, and "
               "coalition-only evidence for cso_member, reviewer and admin keys. Anonymous callers see the "
               "public page's data only. A key is shown once, when it is made; only its hash is kept.")
    keys = rm.api_keys(db)
    if keys:
        st.dataframe(pd.DataFrame([{
            "id": k.key_id, "name": k.name, "role": k.role.value, "created by": k.created_by.username,
            "created": k.created_at.strftime("%Y-%m-%d %H:%M"),
            "last used": k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "never",
            "revoked": k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
        } for k in keys]), hide_index=True, width="stretch")
    else:
        st.caption("No API keys yet.")

    with st.form("new_api_key", clear_on_submit=True):
        st.write("Make an API key")
        c1, c2 = st.columns(2)
        key_name = c1.text_input("Name (who uses it, e.g. the partner's system)", key="api_key_name")
        key_role = c2.selectbox("Role", [r.value for r in Role], key="api_key_role")
        if st.form_submit_button("Make key", type="primary"):
            if not key_name.strip():
                st.error("Give the key a name, so you know whose it is when you revoke it.")
            else:
                made = new_api_key()
                result = commands.send(ApiKeyIssuedV1(key_id=made.key_id, name=key_name.strip(),
                                                      role=Role(key_role), secret_hash=made.secret_hash), user.actor)
                commands.show_result(result, f"Key {made.key_id} made.")
                if not result.error:
                    st.warning("Copy the key now: it is not shown again. The partner sends it as "
                               "'Authorization: Bearer <key>' or 'X-API-Key: <key>'.")
                    st.code(made.key, language=None)

    live_keys = [k for k in keys if not k.revoked]
    with st.form("revoke_api_key"):
        st.write("Revoke an API key")
        to_revoke = st.selectbox("Key", [f"{k.key_id} ({k.name}, {k.role.value})" for k in live_keys],
                                 key="api_key_revoke")
        if st.form_submit_button("Revoke", disabled=not live_keys) and to_revoke:
            result = commands.send(ApiKeyRevokedV1(key_id=to_revoke.split(" ", 1)[0]), user.actor)
            commands.show_result(result, "Key revoked: it is refused from now on.")

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

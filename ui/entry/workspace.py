"""UPR Tracker's workspace, the Streamlit script that ``ui/app.py`` serves.

It lives in a folder of its own on purpose: next to a ``pages/`` folder, Streamlit would treat
it as an old-style multipage app and, when the first request after a start is a page's address
(``/detail``), run that page file directly, without this script.

Every page has a stable address (``/recommendations``, ``/detail?id=KHM-4-110.23`` ...) and
every page is registered for everyone: the sidebar lists only the pages the user's role may
open, and each page checks the role itself at its top (``require_role``). So an address opened
logged out shows the login form and, after the login, that same page with its query; a role
that may not open a page gets a clear message instead of Streamlit's "Page not found".
"""

from __future__ import annotations

from pathlib import Path

import pandas  # noqa: F401  # loaded with the app, not on the first table a user opens (~0.4 s)
import streamlit as st

from ui.auth import RETURN_TO, current_user, language, logout, return_address, send_cookie_action
from ui.components import LEGACY_RECOMMENDATION_PARAM, PAGE_CSS, md_escape, theme_ids
from ui.i18n import LANGUAGES, t
from ui.pages_registry import PAGES

UI = Path(__file__).resolve().parents[1]
theme_ids()  # the taxonomy's labels, read once per process at the login, not on the first filtered page (~0.5 s)

st.set_page_config(page_title="UPR Tracker", page_icon=":material/fact_check:", layout="wide")
st.markdown(PAGE_CSS, unsafe_allow_html=True)  # static CSS, no user data

with st.sidebar:
    st.selectbox(t("language", language()), list(LANGUAGES), format_func=LANGUAGES.__getitem__,
                 key="language")

lang = language()
user = current_user()

# The default page (Dashboard) is served at "/", whatever its url_path; its own address
# (/dashboard) is a hidden page that opens it, so links to /dashboard land too.
DEFAULT_PAGE_PATH = "home"
pages = {
    spec.key: st.Page(str(UI / spec.file), title=t(spec.key, lang), icon=spec.icon,
                      url_path=DEFAULT_PAGE_PATH if spec.key == "dashboard" else spec.url_path,
                      default=spec.key == "dashboard",
                      visibility="visible" if user is not None and user.role in spec.roles else "hidden")
    for spec in PAGES
}


def _dashboard_address() -> None:
    st.switch_page(pages["dashboard"])


dashboard_alias = st.Page(_dashboard_address, title=t("dashboard", lang), url_path="dashboard", visibility="hidden")
# Anonymous visitors get no menu at all: whatever address they opened shows the login form.
navigation = st.navigation([*pages.values(), dashboard_alias], position="sidebar" if user is not None else "hidden")

# After a single sign-on (the provider sends the browser back to "/"): the address the login form was
# shown at. The switch comes before the cookie is sent, which the next run (on that page) does.
return_to = return_address(str(st.session_state.pop(RETURN_TO, "") or ""))
if user is not None and return_to is not None:
    st.switch_page(pages[return_to[0]], query_params=return_to[1])
send_cookie_action()  # after a login or a logout: set or clear the session cookie

# The address alert emails have used so far (/?recommendation=<id>) opens the detail page.
legacy_id = st.query_params.get(LEGACY_RECOMMENDATION_PARAM)
if user is not None and legacy_id and navigation.url_path == pages["dashboard"].url_path:
    st.switch_page(pages["detail"], query_params={"id": legacy_id})

if user is not None:
    with st.sidebar:
        st.caption(f"{t('signed_in_as', lang)}: {md_escape(user.display_name)} ({user.role.value})")
        if st.button(t("logout", lang), key="logout"):
            logout()
            st.rerun()
navigation.run()

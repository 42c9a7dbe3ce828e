"""UPR Tracker's workspace: `streamlit run ui/app.py`.

Anonymous visitors get the login form and nothing else; a logged-in user gets the
pages their role may open (each page checks the role again on the server).
"""

from __future__ import annotations

from pathlib import Path

import pandas  # noqa: F401  # loaded with the app, not on the first table a user opens (~0.4 s)
import streamlit as st

from ui.auth import current_user, language, login_form, logout
from ui.components import PAGE_CSS, md_escape
from ui.i18n import LANGUAGES, t
from ui.pages_registry import pages_for

HERE = Path(__file__).parent

st.set_page_config(page_title="UPR Tracker", page_icon=":material/fact_check:", layout="wide")
st.markdown(PAGE_CSS, unsafe_allow_html=True)  # static CSS, no user data

with st.sidebar:
    st.selectbox(t("language", language()), list(LANGUAGES), format_func=LANGUAGES.__getitem__,
                 key="language")

lang = language()
user = current_user()
if user is None:
    # Anonymous: the login form is the only page (this also stops Streamlit from listing ui/pages/).
    st.navigation([st.Page(login_form, title=t("login", lang), url_path="login")], position="hidden").run()
    st.stop()
assert user is not None

pages = [
    st.Page(str(HERE / spec.file), title=t(spec.key, lang), icon=spec.icon, url_path=spec.url_path,
            default=spec.key == "dashboard")
    for spec in pages_for(user.role)
]
navigation = st.navigation(pages)
with st.sidebar:
    st.caption(f"{t('signed_in_as', lang)}: {md_escape(user.display_name)} ({user.role.value})")
    if st.button(t("logout", lang), key="logout"):
        logout()
        st.rerun()
navigation.run()

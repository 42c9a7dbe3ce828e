"""Import: upload a file of recommendations or evidence to the ingest service, see the per-row report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import http_client
from ui.auth import language, require_role
from ui.components import md_escape
from ui.i18n import t
from ui.pages_registry import roles_for
from ui.settings import get_settings

user = require_role(*roles_for("import"))
lang = language()
settings = get_settings()
st.title(t("import", lang))

limit_mb = int(st.get_option("server.maxUploadSize"))
st.write("Accepted: UPR Info CSV, UHRI export (XLSX/CSV), OHCHR matrix, or the project's templates. "
         f"Largest file: {limit_mb} MB (split bigger files, or use `upr import` on the command line).")



def _report_or_none(result: http_client.HttpResult) -> dict[str, object] | None:
    try:
        body = result.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and "errors" in body else None


with st.expander("Download a template"):
    for name, label in (("recommendations.xlsx", "Recommendations template"),
                        ("evidence.xlsx", "Evidence template")):
        if st.button(f"Get the {label.lower()}", key=f"tpl_{name}"):
            result = http_client.template(settings.ingest_url, name)
            if result.ok:
                st.download_button(f"Save {name}", data=result.content, file_name=name, key=f"tpl_save_{name}",
                                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            else:
                st.error(f"Could not get the template: {md_escape(result.error)}")

with st.form("import"):
    upload = st.file_uploader("File", type=["csv", "xlsx", "docx", "txt"], key="import_file")
    c1, c2, c3 = st.columns(3)
    # The ingest service's format names (it detects the format when none is given).
    fmt = c1.selectbox("Format", ["", "upr_info_csv", "upr_info_clean_csv", "uhri_csv", "uhri_xlsx",
                                  "ohchr_matrix_docx", "template_xlsx", "evidence_template_xlsx"],
                       format_func=lambda f: f or "Detect automatically", key="import_format")
    cycle = c2.number_input(t("cycle", lang) + " (if the file does not say)", min_value=0, max_value=20, value=0,
                            key="import_cycle")
    country = c3.text_input("Country (ISO alpha-3)", value="KHM", max_chars=3, key="import_country")
    submitted = st.form_submit_button(t("import", lang), type="primary")

if submitted:
    if upload is None:
        st.error("Choose a file first.")
    else:
        data = upload.getvalue()
        if len(data) > limit_mb * 1024 * 1024:
            st.error(f"This file is larger than {limit_mb} MB.")
        else:
            with st.spinner(f"Importing {md_escape(upload.name)} ..."):
                result = http_client.upload_import(
                    settings.ingest_url, data, upload.name, user.actor, format=fmt or None,
                    cycle=int(cycle) or None, country=country.strip().upper() or None)
            body = _report_or_none(result)
            if result.status is None:
                st.error(f"The import service is not reachable: {md_escape(result.error)}")
            elif body is None:
                st.error(f"The import failed: {md_escape(result.error)}")
            else:  # a report, also when the whole file was refused (its errors say why)
                st.session_state["last_import_report"] = body

report = st.session_state.get("last_import_report")
if report:
    st.subheader("Import report")
    cols = st.columns(5)
    for column, key in zip(cols, ("rows", "imported", "updated", "unchanged", "rejected"), strict=True):
        column.metric(key.capitalize(), report.get(key, 0))
    st.caption(f"Format: {md_escape(report.get('format', '?'))}")
    errors = report.get("errors") or []
    if errors:
        st.error(f"{len(errors)} row(s) need attention:")
        st.dataframe(pd.DataFrame(errors, columns=["row", "field", "message"]), hide_index=True,
                     width="stretch")
    else:
        st.success("Every row was read without error.")
    # Issue 14: rows that may be a recommendation already held (from another source), and
    # recommendations on which two sources disagree. Listed for a reviewer, never guessed.
    ambiguous = report.get("ambiguous") or []
    if ambiguous:
        st.warning(f"{len(ambiguous)} row(s) may be a recommendation already held; "
                   "nothing was stored for them until a reviewer decides:")
        st.dataframe(pd.DataFrame([{
            "row": a.get("row"), "id in this file": a.get("recommendation_id"), "text": a.get("text"),
            "candidates": ", ".join(f"{c['recommendation_id']} ({c['score']})" for c in a.get("candidates", [])),
        } for a in ambiguous]), hide_index=True, width="stretch")
    conflicts = report.get("conflicts") or []
    if conflicts:
        st.warning(f"{len(conflicts)} recommendation(s) where this file and an earlier source disagree "
                   "(the stored value was kept):")
        st.dataframe(pd.DataFrame([{
            "recommendation": c.get("recommendation_id"),
            "disagreement": "; ".join(f"{field}: " + ", ".join(f"{src} says {value}" for src, value in said.items())
                                      for field, said in (c.get("fields") or {}).items()),
        } for c in conflicts]), hide_index=True, width="stretch")

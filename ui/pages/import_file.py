"""Import: upload a file of recommendations or evidence to the ingest service. First a preview
(what the import would do: new, updated, unchanged, ambiguous, rejected with reasons), then an
explicit Import. A file of unknown layout gets a mapping step whose mapping is saved as a named
profile (by the ingest service), reused for the same header next time."""

from __future__ import annotations

import hashlib
from typing import Any

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
st.write("Accepted: UPR Info CSV, UHRI export (XLSX/CSV), OHCHR matrix, the project's templates, or a "
         "spreadsheet of your own layout (you map its columns once). "
         f"Largest file: {limit_mb} MB (split bigger files, or use `upr import` on the command line).")


def _report_or_none(result: http_client.HttpResult) -> dict[str, Any] | None:
    try:
        body = result.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and "errors" in body else None


def _json_or_none(result: http_client.HttpResult) -> dict[str, Any] | None:
    try:
        body = result.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


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

upload = st.file_uploader("File", type=["csv", "xlsx", "docx", "txt"], key="import_file")
c1, c2, c3 = st.columns(3)
# The ingest service's format names (it detects the format when none is given).
fmt = c1.selectbox("Format", ["", "upr_info_csv", "upr_info_clean_csv", "uhri_csv", "uhri_xlsx",
                              "ohchr_matrix_docx", "template_xlsx", "evidence_template_xlsx"],
                   format_func=lambda f: f or "Detect automatically", key="import_format")
cycle = c2.number_input(t("cycle", lang) + " (if the file does not say)", min_value=0, max_value=20, value=0,
                        key="import_cycle")
country = c3.text_input("Country (ISO alpha-3)", value="KHM", max_chars=3, key="import_country")
options: dict[str, Any] = {"format": fmt or None, "cycle": int(cycle) or None,
                           "country": country.strip().upper() or None}

# What this page knows about the chosen file: a new file (or new options) starts again.
data = upload.getvalue() if upload is not None else b""
digest = hashlib.sha256(data + repr(sorted(options.items())).encode()).hexdigest() if upload is not None else ""
if st.session_state.get("import_digest") != digest:
    for stale in ("import_columns", "import_preview", "import_profile"):
        st.session_state.pop(stale, None)
    st.session_state["import_digest"] = digest


def _preview(profile: str | None) -> None:
    assert upload is not None
    with st.spinner(f"Reading {md_escape(upload.name)} ..."):
        result = http_client.upload_import(settings.ingest_url, data, upload.name, user.actor, dry_run=True,
                                           profile=profile, **options)
    body = _report_or_none(result)
    if result.status is None:
        st.error(f"The import service is not reachable: {md_escape(result.error)}")
    elif body is None:
        st.error(f"The preview failed: {md_escape(result.error)}")
    else:
        st.session_state["import_preview"] = body
        st.session_state["import_profile"] = profile or body.get("profile")


if upload is not None and st.button("Preview", type="primary", key="import_preview_button"):
    if len(data) > limit_mb * 1024 * 1024:
        st.error(f"This file is larger than {limit_mb} MB.")
    elif options["format"]:
        _preview(None)
    else:
        found = http_client.import_columns(settings.ingest_url, data, upload.name, user.actor)
        described = _json_or_none(found)
        if found.status is None:
            st.error(f"The import service is not reachable: {md_escape(found.error)}")
        elif not found.ok or described is None:
            body = _report_or_none(found)
            st.session_state["import_preview"] = body if body else None
            if body is None:
                st.error(f"The file could not be read: {md_escape(found.error)}")
        elif described.get("format") or described.get("profile"):
            _preview((described.get("profile") or {}).get("name"))
        else:  # a layout no format has, and no profile saved for its header: the mapping step
            st.session_state["import_columns"] = described

described = st.session_state.get("import_columns")
if described and upload is not None and not st.session_state.get("import_preview"):
    st.subheader("Map the columns")
    st.write("This file's columns are not a known format. Say which column holds each field, name the "
             "mapping and save it: files with the same columns will be read with it from then on "
             "(here, and by `upr import --profile NAME`).")
    columns = [c["name"] for c in described["columns"]]
    st.dataframe(pd.DataFrame({c["name"]: pd.Series(c["samples"], dtype="object") for c in described["columns"]}),
                 hide_index=True, width="stretch")
    required = set(described.get("required", []))
    mapping: dict[str, str] = {}
    fields = list(described.get("fields", {}).items())
    grid = st.columns(3)
    for n, (name, what) in enumerate(fields):
        needed = name in required and not (name == "country" and options["country"])
        label = f"{name}{' (required)' if needed else ''}: {what}"
        chosen = grid[n % 3].selectbox(label, ["", *columns], key=f"import_map_{name}",
                                       format_func=lambda c: c or "(not in this file)")
        if chosen:
            mapping[name] = chosen
    profile_name = st.text_input("Profile name", key="import_profile_name", max_chars=80,
                                 placeholder="e.g. Coalition tracking sheet")
    if st.button("Save profile and preview", type="primary", key="import_save_profile"):
        if not profile_name.strip():
            st.error("Name the profile first.")
        else:
            saved = http_client.save_profile(settings.ingest_url, profile_name.strip(), mapping, columns,
                                             options["country"], user.actor)
            answer = _json_or_none(saved) or {}
            if saved.ok:
                st.success(f"Profile {md_escape(profile_name.strip())} saved.")
                _preview(profile_name.strip())
                st.rerun()
            else:
                st.error(f"The profile was not saved: {md_escape(str(answer.get('error') or saved.error))}")


def _show(report: dict[str, Any], *, preview: bool) -> None:
    if report.get("profile"):
        st.info(f"Read with the mapping profile {md_escape(str(report['profile']))}.")
    labels = (("rows", "Rows read"), ("imported", "Would create" if preview else "Imported"),
              ("updated", "Would update" if preview else "Updated"), ("unchanged", "Unchanged"),
              ("rejected", "Rejected"))
    cols = st.columns(len(labels) + 1)
    for column, (key, label) in zip(cols, labels, strict=False):
        column.metric(label, report.get(key, 0))
    cols[-1].metric("Ambiguous", len(report.get("ambiguous") or []))
    st.caption(f"Format: {md_escape(report.get('format') or '?')}")
    if preview and report.get("sample"):
        st.write("The first rows as they would be stored:")
        st.dataframe(pd.DataFrame(report["sample"]), hide_index=True, width="stretch")
    if preview and any("could not preview" in str(e.get("message")) for e in report.get("errors") or []):
        st.caption("The tracker could not be asked: the counts are of rows read (see the warning).")
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
        st.warning(f"{len(ambiguous)} row(s) may be a recommendation already held; nothing "
                   f"{'would be' if preview else 'was'} stored for them until a reviewer decides "
                   "(Review inbox → Imported rows to confirm):")
        st.dataframe(pd.DataFrame([{
            "row": a.get("row"), "id in this file": a.get("recommendation_id"), "text": a.get("text"),
            "candidates": ", ".join(f"{c['recommendation_id']} ({c['score']})" for c in a.get("candidates", [])),
        } for a in ambiguous]), hide_index=True, width="stretch")
    conflicts = report.get("conflicts") or []
    if conflicts:
        st.warning(f"{len(conflicts)} recommendation(s) where this file and an earlier source disagree "
                   "(the stored value is kept):")
        st.dataframe(pd.DataFrame([{
            "recommendation": c.get("recommendation_id"),
            "disagreement": "; ".join(f"{field}: " + ", ".join(f"{src} says {value}" for src, value in said.items())
                                      for field, said in (c.get("fields") or {}).items()),
        } for c in conflicts]), hide_index=True, width="stretch")


preview = st.session_state.get("import_preview")
if preview and upload is not None:
    st.subheader("Preview: nothing is stored yet")
    _show(preview, preview=True)
    refused = any(e.get("row") is None and not str(e.get("message", "")).startswith("warning: ")
                  for e in preview.get("errors") or [])
    if not refused and st.button(t("import", lang), type="primary", key="import_commit"):
        with st.spinner(f"Importing {md_escape(upload.name)} ..."):
            result = http_client.upload_import(settings.ingest_url, data, upload.name, user.actor,
                                               profile=st.session_state.get("import_profile"), **options)
        body = _report_or_none(result)
        if result.status is None:
            st.error(f"The import service is not reachable: {md_escape(result.error)}")
        elif body is None:
            st.error(f"The import failed: {md_escape(result.error)}")
        else:  # a report, also when the whole file was refused (its errors say why)
            st.session_state["last_import_report"] = body
            st.session_state.pop("import_preview", None)
            st.rerun()

report = st.session_state.get("last_import_report")
if report and not st.session_state.get("import_preview"):
    st.subheader("Import report")
    _show(report, preview=False)

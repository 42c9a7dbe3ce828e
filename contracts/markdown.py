"""Escaping people's text for Markdown: the one helper for the report and every Streamlit element.

Every ASCII punctuation character that Markdown, GitHub's extensions or Streamlit's own
directives give a meaning to is backslash-escaped (CommonMark allows an escape before any ASCII
punctuation), so user text renders as the literal characters typed: no link, image, HTML tag,
emphasis, heading, list, table cell, math, ``:color[...]`` directive or emoji shortcode, and no
bare URL or e-mail address turned into a link (``http\\://``, ``www\\.`` and ``a\\@b`` are not
autolinked).
"""

from __future__ import annotations

import re

# Meaningful anywhere in a line.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()!|<>~&$@]|:(?=[\w/+-]))")
# Meaningful only at the start of a line (headings, lists, quotes, rules, setext underlines),
# so "Sub-decree" and "3.5 million" stay readable in the Markdown source.
_LINE_START = re.compile(r"^(\s*)([-+=#])", re.MULTILINE)
_ORDERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)


def md_escape(text: object) -> str:
    """``text`` as literal Markdown (None and empty give ""); newlines are kept."""
    if text is None or text == "":
        return ""
    out = _SPECIAL.sub(r"\\\1", str(text))
    out = _LINE_START.sub(r"\1\\\2", out)
    out = _ORDERED.sub(r"\1\\\2", out)
    return _WWW.sub(r"\1\\.", out)

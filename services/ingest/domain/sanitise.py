"""Cleaning cell values before they become contract fields.

Spreadsheet formulas: a cell whose value looks like a formula (``=HYPERLINK(...)``,
``+cmd|...``, ``@SUM(...)``, ``-1+2``) is REJECTED with a row error naming the column,
never stored. Plain text that happens to start with ``-`` (UHRI's ``- item`` lists,
"- ratify ...") is not a formula. The export side escapes too, but nothing that looks
like a formula is ever stored by the importers.

HTML: tags are removed with ``nh3`` (script/style content dropped) and a warning is
recorded; the text survives.
"""

from __future__ import annotations

import html
import re
import unicodedata

import nh3

_FORMULA = re.compile(
    r"""^\s*(?:
        =                                   # anything starting with '=' is a formula to Excel
      | [+\-@][ \t]*[A-Za-z_][A-Za-z0-9_.]*\(      # +SUM(  -HYPERLINK(  @IMPORTXML(
      | [+\-@][ \t]*[A-Za-z]+\|                  # DDE: +cmd|' /C calc'!A0
      | [+\-@][ \t]*[\d.]+[ \t]*[+\-*/^][ \t]*[\d.(]  # +1+1  -2*3 (one line)
      | @[A-Za-z_]                            # @SUM  @foo
    )""",
    re.VERBOSE,
)
# Every formula starts (after spaces) with one of these: most cells are refused by a
# character test, without running the regex.
FORMULA_START = frozenset("=+-@")
_TAG = re.compile(r"<\s*[A-Za-z!/?][^>]*>")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_NOT_WORD = re.compile(r"[^\w\s]", re.UNICODE)
_LINE_BREAKS = re.compile(r"[\n\r]+")
_BULLETS = re.compile(r"^(?:[-•*][ \t]*)+")
_BULLET_START = frozenset("-•*")


def looks_like_formula(value: str) -> bool:
    first = value[:1]
    if first.isspace():
        first = value.lstrip()[:1]
    if first not in FORMULA_START:  # also "" (empty or blank value)
        return False
    return bool(_FORMULA.match(value))


def has_html(value: str) -> bool:
    return "<" in value and bool(_TAG.search(value))


def strip_html(value: str) -> str:
    """Remove every tag (and script/style content); keep the words."""
    cleaned = nh3.clean(value, tags=set(), attributes={}, strip_comments=True)
    return html.unescape(cleaned)


def clean_cell(value: str) -> str:
    """Trim, drop control characters (except newline/tab), normalise to NFC."""
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    if not value.isprintable():  # a printable text has no control character (faster test than the regex)
        value = _CONTROL.sub("", value)
    return value.replace("\u00a0", " ").strip()


def one_line(value: str) -> str:
    return _SPACE.sub(" ", value).strip()


def normalised_for_identity(text: str) -> str:
    """The form of a text used for fallback ids: case, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NOT_WORD.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def split_multi(value: str) -> list[str]:
    """Split a multi-valued cell. UHRI style (one "- item" per line): lines only, since
    UHRI theme names contain ';'. Otherwise items separated by ';'."""
    value = value.strip()
    if "\n" in value or "\r" in value or value.startswith(("- ", "• ")):
        parts = _LINE_BREAKS.split(value)
    else:
        parts = value.split(";")
    items: list[str] = []
    for part in parts:
        item = part.strip()
        if item[:1] in _BULLET_START:
            item = _BULLETS.sub("", item).strip()
        if item:
            items.append(item)
    return items

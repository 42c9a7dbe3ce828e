"""Cleaning cell values before they become contract fields.

Spreadsheet formulas: a cell whose value looks like a formula (``=HYPERLINK(...)``,
``+cmd|...``, ``@SUM(...)``, ``-1+2``) is REJECTED with a row error naming the column,
never stored. Plain text that happens to start with ``-`` (UHRI's ``- item`` lists,
"- ratify ...") is not a formula. The export side escapes too, but nothing that looks
like a formula is ever stored by the importers.

HTML: tags are removed with ``nh3`` (script/style content dropped) and a warning is
recorded; the text survives. The result is NOT un-escaped: ``&lt;script&gt;`` in a cell
stays those characters, never becomes a live tag. The formula check runs after the
stripping (``<b></b>=HYPERLINK(...)`` is a formula once the tags are gone).

Bullets: OHCHR's UHRI export writes every cell as a list (``- Cambodia``, ``- 18``);
:func:`single_value` reads the one value of such a cell.
"""

from __future__ import annotations

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
# A list bullet before a single value: "- 18", "• Noted", "* Cambodia" ("-18" is a number).
_VALUE_BULLET = re.compile(r"^(?:[-*\u2010\u2013\u2014][ \t]+|[•·▪◦‣][ \t]*)+")
_VALUE_BULLET_START = frozenset("-*\u2010\u2013\u2014•·▪◦‣")


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
    """Remove every tag (and script/style content); keep the words, as nh3 gives them
    (escaped: un-escaping would turn ``&lt;script&gt;`` into a live tag)."""
    return nh3.clean(value, tags=set(), attributes={}, strip_comments=True)


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


def strip_bullet(line: str) -> str:
    """``"- Noted"`` / ``"• Noted"`` -> ``"Noted"`` (one line, stripped)."""
    line = line.strip()
    if line[:1] in _VALUE_BULLET_START:
        line = _VALUE_BULLET.sub("", line).strip()
    return line


def strip_leading_bullet(text: str) -> str:
    """A free text written as a one-item list (``"- 82.1 Ratify ..."``) without its bullet;
    the rest of the text (its other lines) as it is."""
    if text[:1] in _VALUE_BULLET_START:
        return _VALUE_BULLET.sub("", text, count=1).strip()
    return text


_NOT_PLAIN_START = FORMULA_START | _VALUE_BULLET_START | {" "}


def is_plain(value: str) -> bool:
    """A cell no cleaning changes and no check refuses: printable ASCII, no spaces around it,
    no tag, not starting like a formula or a bullet. A cheap test, so that cells unique to
    their row (ids, annotation ids) need neither cleaning nor a cache slot."""
    return (
        value != ""
        and value.isascii()
        and value.isprintable()
        and value[0] not in _NOT_PLAIN_START
        and value[-1] != " "
        and "<" not in value
    )


def single_value(value: str) -> tuple[str, str | None]:
    """The one value of a cleaned single-valued cell, and the problem (None when fine).

    UHRI bullets and line breaks are removed; a cell of several lines is that value when
    its lines agree (case and spacing aside), a problem when they do not."""
    if "\n" not in value and "\r" not in value:
        return strip_bullet(value), None
    lines = [line for line in (strip_bullet(part) for part in _LINE_BREAKS.split(value)) if line]
    distinct: dict[str, str] = {}
    for line in lines:
        distinct.setdefault(one_line(line).casefold(), line)
    if len(distinct) > 1:
        shown = ", ".join(repr(v) for v in list(distinct.values())[:5])
        return "", f"one value expected, the cell holds several: {shown}"
    return (lines[0] if lines else ""), None

"""Which text encoding a CSV file uses: UTF-8 (with or without BOM), UTF-16 with BOM,
Windows cp1252 or Mac Roman.

UTF-8 is tried first and strictly over the whole file (a streaming check, fast). When
that fails, a file that still holds valid UTF-8 multi-byte sequences is *mixed*: it is
read as UTF-8 with the bad bytes replaced, and the rows that contain them are
reported. Otherwise the legacy 8-bit encoding whose decoding looks most like text wins.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

SAMPLE_BYTES = 1024 * 1024

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_PUNCTUATION = set("’‘“”–—…€°«»")


class Encoding:
    UTF8 = "utf-8"
    UTF8_BOM = "utf-8-sig"
    UTF16 = "utf-16"
    CP1252 = "cp1252"
    MAC_ROMAN = "mac_roman"
    MIXED_UTF8 = "utf-8-mixed"


def _valid_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    with path.open("rb") as handle:
        while chunk := handle.read(SAMPLE_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _legacy_score(sample: bytes, encoding: str) -> float:
    """How much the decoding looks like text: lower-case accented letters and typographic
    punctuation score; capitals or symbols glued inside lower-case words cost."""
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError:
        return float("-inf")
    score = 0.0
    for i, ch in enumerate(text):
        if ord(ch) < 128:
            if ord(ch) < 32 and ch not in "\r\n\t":
                score -= 5
            continue
        before = text[i - 1] if i > 0 else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if ch in _PUNCTUATION or (ch.isalpha() and ch.islower()):
            score += 1
        elif ch.isalpha() and ch.isupper():
            score += -2 if before.islower() else 0.5
        elif before.isalpha() and after.isalpha():
            score -= 2
        else:
            score -= 1
    return score


def detect_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return Encoding.UTF8_BOM if _valid_utf8(path) else Encoding.MIXED_UTF8
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding.UTF16
    if _valid_utf8(path):
        return Encoding.UTF8
    if _UTF8_MULTIBYTE.search(sample):
        return Encoding.MIXED_UTF8
    scores = {enc: _legacy_score(sample, enc) for enc in (Encoding.CP1252, Encoding.MAC_ROMAN)}
    return max(scores, key=lambda enc: scores[enc])


def python_codec(encoding: str) -> tuple[str, str]:
    """(codec, errors) to open a file detected as ``encoding``."""
    if encoding == Encoding.MIXED_UTF8:
        return "utf-8-sig", "replace"
    return encoding, "strict"

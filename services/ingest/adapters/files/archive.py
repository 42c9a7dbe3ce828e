"""Untrusted XLSX/DOCX files (issue 13, "untrusted archives"), checked before any parser
opens them.

1. The zip directory (``infolist``: the central directory, nothing decompressed) must
   declare a total uncompressed size and a compression ratio within the limits: a 1 MB
   zip bomb declares a gigabyte and is refused at once. A part can not inflate beyond
   what the directory declares: :mod:`zipfile` stops each part at its declared size
   and checks its CRC, so the declared sizes bound what the parsers will read.
2. No XML part may hold a DTD (``<!DOCTYPE``, and so no entity declaration): Office
   never writes one, and entities are how XML expands (billion laughs) or reads local
   files (external entities). Only each part's prolog is read (a DTD can only come
   before the root element), through defusedxml's parser with DTDs forbidden.
3. Malformed XML in a prolog, a damaged zip: a :class:`FileProblem` (a file error in
   the import report), never an exception out of the service.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from services.ingest.domain.model import FileProblem

ZIP_MAGIC = b"PK\x03\x04"
_XML_SUFFIXES = (".xml", ".rels", ".vml")
# Parts smaller than this are not held to the ratio (tiny XML compresses very well).
_RATIO_FLOOR_BYTES = 1024 * 1024
_PROLOG_CHUNK = 4096
# A prolog longer than this (before the root element) is not something Office writes.
_PROLOG_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Settings ``UPR_MAX_ARCHIVE_UNCOMPRESSED_BYTES``, ``UPR_MAX_ARCHIVE_RATIO``,
    ``UPR_MAX_ARCHIVE_PARTS``."""

    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    max_ratio: float = 100.0
    max_parts: int = 10_000


DEFAULT_LIMITS = ArchiveLimits()


def is_zip(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == ZIP_MAGIC
    except OSError:
        return False


def _mb(size: float) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.0f} MB"


def check_directory(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    """Refuse what the zip directory declares beyond the limits (nothing is decompressed)."""
    if len(infos) > limits.max_parts:
        raise FileProblem(f"the file holds {len(infos)} parts; at most {limits.max_parts} are accepted")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > _RATIO_FLOOR_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise FileProblem(
                    f"part {info.filename!r} would expand {ratio:.0f} times (to {_mb(info.file_size)}); "
                    f"at most {limits.max_ratio:.0f} times is accepted: refused as a possible zip bomb"
                )
    if total > limits.max_uncompressed_bytes:
        raise FileProblem(
            f"the file would expand to {_mb(total)}; at most {_mb(limits.max_uncompressed_bytes)} "
            "is accepted: refused as a possible zip bomb"
        )


class _RootReached(Exception):
    """The prolog is over: no DTD can come after the root element."""


class _StopAtRoot:
    def start(self, tag: str, attrs: dict[str, str]) -> None:
        raise _RootReached

    def close(self) -> None:
        return None


def check_prolog(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse a part whose prolog declares a DTD or entities, or is not XML."""
    parser = DefusedXMLParser(target=_StopAtRoot(), forbid_dtd=True, forbid_entities=True,
                              forbid_external=True)
    read = 0
    with archive.open(info) as part:
        try:
            while read < _PROLOG_MAX_BYTES:
                chunk = part.read(_PROLOG_CHUNK)
                if not chunk:
                    parser.close()
                    return
                read += len(chunk)
                parser.feed(chunk)
        except _RootReached:
            return
        except DefusedXmlException as exc:
            raise FileProblem(
                f"part {info.filename!r} declares a DTD or entities ({type(exc).__name__}); Office files "
                "never do: refused"
            ) from None
        except ParseError as exc:
            raise FileProblem(f"part {info.filename!r} is not well-formed XML: {exc}") from None
    raise FileProblem(f"part {info.filename!r} has no root element in its first {_PROLOG_MAX_BYTES} bytes")


def check_archive(path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
    """Raise :class:`FileProblem` for an XLSX/DOCX file no parser should open."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            check_directory(infos, limits)
            for info in infos:
                if info.filename.endswith(_XML_SUFFIXES) and not info.is_dir():
                    check_prolog(archive, info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise FileProblem(f"damaged ZIP (XLSX/DOCX) file: {exc}") from None
    except RuntimeError as exc:  # an encrypted part
        raise FileProblem(f"unreadable ZIP (XLSX/DOCX) file: {exc}") from None

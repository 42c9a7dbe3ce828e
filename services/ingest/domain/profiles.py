"""Mapping profiles (issue 14, "unknown layouts"): a person maps the columns of a file no
known format has to the fields of a recommendation once, names the mapping, and the same
header is read with it from then on (Import page, or ``upr import --profile NAME``).

Pure rules, no I/O: the header's signature (the profile a header reuses automatically) and
what a profile must hold. Reading a file's columns is ``services.ingest.adapters.files.columns``.
"""

from __future__ import annotations

import hashlib
import re

from services.ingest.domain.columns import MAPPABLE_FIELDS, header_key, mapped_layout

_NAME = re.compile(r"^[^\x00-\x1f$]{1,80}$")


def header_signature(columns: list[str]) -> str:
    """The same header (case, spacing and order aside) gives the same signature."""
    keys = sorted({header_key(c) for c in columns if header_key(c)})
    return hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()[:32]


class ProfileProblem(ValueError):
    """A profile that cannot be saved; the message says why, naming the field or column."""


def check_profile(name: str, mapping: dict[str, str], columns: list[str], country: str | None) -> str:
    """The profile's name, cleaned; raises :class:`ProfileProblem` for one that cannot be used."""
    name = name.strip()
    if not _NAME.match(name):
        raise ProfileProblem("name: 1 to 80 characters, no control characters, not starting with '$'")
    if country is not None and not re.fullmatch(r"[A-Z]{3}", country):
        raise ProfileProblem(f"country: {country!r} is not an ISO3 code such as KHM")
    mapping = {field: column for field, column in mapping.items() if column}
    try:
        mapped_layout(mapping, country_given=country is not None)
    except ValueError as exc:
        raise ProfileProblem(str(exc)) from None
    known = {header_key(c) for c in columns}
    absent = [column for column in mapping.values() if header_key(column) not in known]
    if absent:
        raise ProfileProblem(f"column(s) {', '.join(map(repr, absent))} not in the file's header")
    return name


__all__ = ["MAPPABLE_FIELDS", "ProfileProblem", "check_profile", "header_signature"]

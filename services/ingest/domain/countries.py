"""Country names as the UN and UPR Info write them -> ISO 3166-1 alpha-3."""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# Names pycountry does not resolve by itself (UN short names, UPR Info spellings).
ALIASES: dict[str, str] = {
    "bolivia (plurinational state of)": "BOL",
    "bolivia": "BOL",
    "iran (islamic republic of)": "IRN",
    "iran": "IRN",
    "republic of korea": "KOR",
    "south korea": "KOR",
    "democratic people's republic of korea": "PRK",
    "north korea": "PRK",
    "viet nam": "VNM",
    "vietnam": "VNM",
    "cote d'ivoire": "CIV",
    "côte d'ivoire": "CIV",
    "côte d’ivoire": "CIV",
    "ivory coast": "CIV",
    "türkiye": "TUR",
    "turkiye": "TUR",
    "turkey": "TUR",
    "holy see": "VAT",
    "state of palestine": "PSE",
    "palestine": "PSE",
    "lao people's democratic republic": "LAO",
    "lao pdr": "LAO",
    "laos": "LAO",
    "bosnia & herzegovina": "BIH",
    "bosnia and herzegovina": "BIH",
    "republic of congo": "COG",
    "republic of the congo": "COG",
    "congo": "COG",
    "democratic republic of the congo": "COD",
    "dr congo": "COD",
    "venezuela (bolivarian republic of)": "VEN",
    "venezuela": "VEN",
    "united states": "USA",
    "united states of america": "USA",
    "usa": "USA",
    "united kingdom": "GBR",
    "united kingdom of great britain and northern ireland": "GBR",
    "uk": "GBR",
    "russia": "RUS",
    "russian federation": "RUS",
    "republic of moldova": "MDA",
    "moldova": "MDA",
    "united republic of tanzania": "TZA",
    "tanzania": "TZA",
    "syrian arab republic": "SYR",
    "syria": "SYR",
    "micronesia (federated states of)": "FSM",
    "czechia": "CZE",
    "czech republic": "CZE",
    "north macedonia": "MKD",
    "the former yugoslav republic of macedonia": "MKD",
    "swaziland": "SWZ",
    "eswatini": "SWZ",
    "cape verde": "CPV",
    "cabo verde": "CPV",
    "timor-leste": "TLS",
    "east timor": "TLS",
    "brunei darussalam": "BRN",
    "brunei": "BRN",
    "myanmar": "MMR",
    "burma": "MMR",
    "kyrgyzstan": "KGZ",
    "netherlands (kingdom of the)": "NLD",
    "netherlands": "NLD",
    "libyan arab jamahiriya": "LBY",
}


_SPACES = re.compile(r"\s+")
_STATE_SEPARATORS = re.compile(r"[\n\r;]+")
_BULLETS = re.compile(r"^(?:[-•*][ \t]*)+")
_BULLET_START = frozenset("-•*")


def _key(name: str) -> str:
    name = name.replace("’", "'").replace("\u00a0", " ")
    return _SPACES.sub(" ", name).strip().casefold()


@lru_cache(maxsize=4096)
def iso3(name: str) -> str | None:
    """ISO3 code of a country name, or ``None`` when it is not a known country."""
    key = _key(name)
    if not key:
        return None
    if key in ALIASES:
        return ALIASES[key]
    if len(key) == 3 and key.isalpha():
        found = pycountry.countries.get(alpha_3=key.upper())
        if found is not None:
            return str(found.alpha_3)
    try:
        return str(pycountry.countries.lookup(name.strip()).alpha_3)
    except LookupError:
        return None


@lru_cache(maxsize=1024)
def display_name(code: str) -> str:
    found = pycountry.countries.get(alpha_3=code)
    if found is None:
        return code
    return str(getattr(found, "common_name", None) or found.name)


def split_states(value: str) -> list[str]:
    """Names in one "recommending states" cell: one per line or ';'-separated.

    Commas split too, but only when every part is a known country and the whole is not
    (so "Korea, Republic of" stays one name).
    """
    names: list[str] = []
    for part in _STATE_SEPARATORS.split(value):
        item = part.strip()
        if item[:1] in _BULLET_START:
            item = _BULLETS.sub("", item).strip()
        if not item:
            continue
        if "," in item and iso3(item) is None:
            parts = [p.strip() for p in item.split(",") if p.strip()]
            if parts and all(iso3(p) is not None for p in parts):
                names.extend(parts)
                continue
        names.append(item)
    return names

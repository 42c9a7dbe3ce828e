"""The child-rights taxonomy (T01-T19) and its crosswalks, read from ``taxonomy.yaml``.

The YAML beside this module is the single source: labels in English and Khmer, short
definitions, and crosswalks from UHRI themes, SDG targets and the national plans'
priorities to themes. :func:`load_taxonomy` parses it once and returns typed, frozen models.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

TAXONOMY_FILE = Path(__file__).with_name("taxonomy.yaml")
THEME_ID = r"^T\d{2}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Theme(_Frozen):
    id: str = Field(pattern=THEME_ID)
    key: str = Field(pattern=r"^[a-z_]+$")
    label_en: str = Field(min_length=1)
    label_km: str = Field(min_length=1)
    definition: str = Field(min_length=1)

    def label(self, language: str = "en") -> str:
        return self.label_km if language == "km" else self.label_en


class Crosswalk(_Frozen):
    """A source label (UHRI theme or SDG target) and the themes it points to."""

    themes: tuple[str, ...] = Field(min_length=1)
    child_specific: bool = Field(description="the source label alone makes a recommendation child-related")


class UhriCrosswalk(Crosswalk):
    name: str = Field(min_length=1)


class SdgCrosswalk(Crosswalk):
    target: str = Field(pattern=r"^\d{1,2}(\.[0-9a-z]{1,2})?$")


class PlanPriority(_Frozen):
    id: str
    label_en: str
    themes: tuple[str, ...] = Field(min_length=1)


class NationalPlan(_Frozen):
    id: str
    name_en: str
    name_km: str
    priorities: tuple[PlanPriority, ...]


_UHRI_CODE = re.compile(r"^(?:-\s*)?(?:[A-Z]\d{1,3}\s+)?")
_SDG_NUMBER = re.compile(r"(?:sdg\s*|goal\s*)?(\d{1,2})(?:\.([0-9a-z]{1,2}))?\b", re.IGNORECASE)


def normalise_uhri_theme(name: str) -> str:
    """'- F33 Children: protection against exploitation' -> 'children: protection against exploitation'."""
    return " ".join(_UHRI_CODE.sub("", name.strip()).lower().split())


def normalise_sdg(value: str) -> str | None:
    """'16.2 End abuse ...', 'SDG 16.2', '- 4 - Quality education' -> '16.2' / '4'; None if no number."""
    match = _SDG_NUMBER.search(value.strip().lstrip("-").strip())
    if match is None:
        return None
    goal, target = match.groups()
    return f"{int(goal)}.{target.lower()}" if target else str(int(goal))


class Taxonomy(_Frozen):
    version: str
    themes: tuple[Theme, ...]
    uhri_themes: tuple[UhriCrosswalk, ...]
    sdg_targets: tuple[SdgCrosswalk, ...]
    national_plans: tuple[NationalPlan, ...]

    @model_validator(mode="after")
    def _known_theme_ids(self) -> Taxonomy:
        ids = [t.id for t in self.themes]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate theme id")
        known = set(ids)
        referenced: list[str] = []
        for entry in (*self.uhri_themes, *self.sdg_targets):
            referenced.extend(entry.themes)
        for plan in self.national_plans:
            for priority in plan.priorities:
                referenced.extend(priority.themes)
        unknown = sorted(set(referenced) - known)
        if unknown:
            raise ValueError(f"crosswalk names unknown themes: {unknown}")
        return self

    @property
    def theme_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.themes)

    def theme(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(theme_id)

    def uhri(self, name: str) -> UhriCrosswalk | None:
        wanted = normalise_uhri_theme(name)
        for entry in self.uhri_themes:
            if normalise_uhri_theme(entry.name) == wanted:
                return entry
        return None

    def sdg(self, value: str) -> SdgCrosswalk | None:
        """The crosswalk of an SDG target, falling back to its goal ('4.3' -> goal '4')."""
        target = normalise_sdg(value)
        if target is None:
            return None
        by_target = {entry.target: entry for entry in self.sdg_targets}
        return by_target.get(target) or by_target.get(target.split(".")[0])

    def plan_priorities_for(self, theme_id: str) -> list[tuple[NationalPlan, PlanPriority]]:
        """Which national-plan priorities a theme's recommendations serve."""
        return [(plan, p) for plan in self.national_plans for p in plan.priorities if theme_id in p.themes]


def parse_taxonomy(data: dict[str, Any]) -> Taxonomy:
    return Taxonomy.model_validate(data)


@lru_cache(maxsize=4)
def load_taxonomy(path: Path = TAXONOMY_FILE) -> Taxonomy:
    """Read and validate the taxonomy YAML (cached per path)."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return parse_taxonomy(data)

"""The taxonomy is data: 19 themes in English and Khmer, crosswalks to UHRI, SDGs and national plans."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.taxonomy import load_taxonomy, parse_taxonomy


def test_taxonomy_has_nineteen_themes_with_khmer_labels() -> None:
    taxonomy = load_taxonomy()
    assert taxonomy.theme_ids == tuple(f"T{i:02d}" for i in range(1, 20))
    for theme in taxonomy.themes:
        assert any("\u1780" <= ch <= "\u17ff" for ch in theme.label_km), theme.id
        assert theme.definition
    assert taxonomy.theme("T07").label("km") == "ការរំលោភបំពាន និងការកេងប្រវ័ញ្ចផ្លូវភេទ"


@pytest.mark.parametrize(
    ("sdg", "themes"),
    [("16.9", {"T05"}), ("5.3", {"T10"}), ("8.7", {"T17", "T18"}), ("16.2", {"T06", "T07", "T18"}), ("4.3", {"T15"})],
)
def test_sdg_targets_map_to_themes(sdg: str, themes: set[str]) -> None:
    entry = load_taxonomy().sdg(sdg)
    assert entry is not None
    assert set(entry.themes) == themes


def test_uhri_theme_names_match_with_or_without_code() -> None:
    taxonomy = load_taxonomy()
    a = taxonomy.uhri("- F34 Children: Juvenile justice")
    b = taxonomy.uhri("children: juvenile justice")
    assert a is not None and a == b and a.themes == ("T16",)


def test_ocse_action_plan_has_its_six_priorities() -> None:
    plans = {p.id: p for p in load_taxonomy().national_plans}
    assert len(plans["nap_ocse_2021_2025"].priorities) == 6
    assert "nap_vac_2025_2030" in plans
    linked = load_taxonomy().plan_priorities_for("T08")
    assert any(plan.id == "nap_ocse_2021_2025" for plan, _ in linked)


def test_a_crosswalk_to_an_unknown_theme_is_refused() -> None:
    data = load_taxonomy().model_dump(mode="json")
    data["sdg_targets"].append({"target": "9.9", "themes": ["T99"], "child_specific": False})
    with pytest.raises(ValidationError, match="unknown themes"):
        parse_taxonomy(data)

"""Rule layer: each theme on invented UPR-style sentences, and the guide's exclusions."""

from __future__ import annotations

import pytest

from contracts.taxonomy import load_taxonomy
from services.tracker.domain.tagging import Tagger


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_taxonomy())


# Invented sentences in general UPR wording (not taken from the labelled sample).
THEME_SENTENCES = [
    ("T01", "Allocate adequate budgetary resources to the implementation of the rights of children"),
    ("T01", "Submit its overdue periodic report to the Committee on the Rights of the Child"),
    ("T02", "Expedite the adoption of the Child Protection Law and train social workers in case management"),
    ("T03", "Raise the minimum age of criminal responsibility in line with international standards"),
    ("T04", "Ensure that the best interests of the child are a primary consideration in all decisions"),
    ("T05", "Guarantee free birth registration for every child, including in remote provinces"),
    ("T06", "Explicitly prohibit corporal punishment in all settings, including the home"),
    ("T07", "Step up prosecution of those responsible for the sexual exploitation of children"),
    ("T08", "Require internet service providers to block online child sexual abuse material"),
    ("T09", "Strengthen measures to prevent gender-based violence against women and girls"),
    ("T10", "Eliminate child, early and forced marriage through awareness campaigns"),
    ("T11", "Regulate orphanages and promote family-based alternative care for children"),
    ("T12", "Reduce child malnutrition and stunting and improve maternal health services"),
    ("T13", "Provide mental health and psychosocial support to adolescents affected by online bullying"),
    ("T14", "Guarantee inclusive education for children with disabilities"),
    ("T15", "Reduce school dropout rates and improve the quality of primary education"),
    ("T16", "Ensure that juveniles in detention are held separately from adults"),
    ("T17", "Eradicate the worst forms of child labour, notably in brick kilns"),
    ("T18", "Intensify efforts to combat trafficking in persons and protect its victims"),
    ("T19", "Ensure that street children and children of migrant workers have access to services"),
]


@pytest.mark.parametrize(
    ("theme", "text"), THEME_SENTENCES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(THEME_SENTENCES)]
)
def test_rule_layer_finds_the_theme_a_sentence_is_about(tagger: Tagger, theme: str, text: str) -> None:
    result = tagger.tag(text)
    assert result.child_related
    assert theme in result.theme_ids


def test_explanation_names_the_matched_terms(tagger: Tagger) -> None:
    result = tagger.tag("Explicitly prohibit corporal punishment of children in schools")
    t06 = next(t for t in result.themes if t.id == "T06")
    assert "corporal punishment" in t06.explanation
    assert 0.5 <= t06.confidence <= 1.0
    assert t06.source == "tagger"


@pytest.mark.parametrize(
    "text",
    [
        "Ratify the Convention on the Rights of Persons with Disabilities",  # CRPD alone
        "Increase the participation of women in political life and decision-making",  # women alone
        "Combat violence against women and ensure perpetrators are prosecuted",  # women alone
        "Strengthen cooperation with neighbouring countries to fight drug trafficking",  # not persons
        "Provide human rights education and training for police officers and judges",  # officials' training
        "Ensure the independence of the judiciary and fight corruption",
        "Guarantee freedom of expression and of the press",
        "Resolve land disputes in a fair and transparent manner",
    ],
)
def test_not_child_related_per_the_guide(tagger: Tagger, text: str) -> None:
    result = tagger.tag(text)
    assert not result.child_related
    assert result.themes == []


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("Ratify the Optional Protocol to the CRC on a communications procedure", "T01"),
        ("Consider ratifying OPAC", "T01"),
        ("Ratify ILO Convention No. 182 on the worst forms of child labour", "T17"),
        ("Ratify ILO Convention No. 138 concerning minimum age for admission to employment", "T17"),
        ("Accede to the Hague Convention on intercountry adoption", "T11"),
        ("Adopt a comprehensive strategy against human trafficking", "T18"),
    ],
)
def test_child_treaties_and_unspecified_trafficking_are_child_related(tagger: Tagger, text: str, theme: str) -> None:
    result = tagger.tag(text)
    assert result.child_related
    assert theme in result.theme_ids


def test_negated_mention_of_children_does_not_make_it_child_related(tagger: Tagger) -> None:
    result = tagger.tag("Extend social security to all workers other than children and students")
    assert not result.child_related


def test_crpd_with_children_named_is_tagged_disability(tagger: Tagger) -> None:
    result = tagger.tag("Implement the CRPD, paying attention to children with disabilities")
    assert result.child_related
    assert "T14" in result.theme_ids


def test_women_and_girls_together_is_gender_based_violence(tagger: Tagger) -> None:
    result = tagger.tag("Combat domestic violence against women and girls")
    assert result.child_related
    assert "T09" in result.theme_ids


def test_generic_health_is_not_a_child_health_theme(tagger: Tagger) -> None:
    result = tagger.tag("Increase public spending on health and education")
    assert result.child_related  # general education is child-related
    assert result.theme_ids == ["T15"]


def test_sr_on_sale_of_children_title_is_not_online_exploitation(tagger: Tagger) -> None:
    result = tagger.tag(
        "Invite the Special Rapporteur on the sale of children, child prostitution and child pornography"
    )
    assert {"T07", "T18"} <= set(result.theme_ids)
    assert "T08" not in result.theme_ids


def test_child_related_without_specific_theme_falls_back_to_general_measures(tagger: Tagger) -> None:
    result = tagger.tag("Give particular attention to vulnerable groups such as women, children and the elderly")
    assert result.child_related
    assert result.theme_ids == ["T01"]


def test_uhri_theme_from_the_source_tags_and_marks_child_related(tagger: Tagger) -> None:
    result = tagger.tag(
        "Take measures to improve the situation described in paragraph 12",
        source_themes=["- D51 Children: juvenile justice"],
    )
    assert result.child_related
    assert "T16" in result.theme_ids
    assert "UHRI" in next(t for t in result.themes if t.id == "T16").explanation


def test_sdg_targets_from_the_source_are_crosswalked(tagger: Tagger) -> None:
    result = tagger.tag(
        "Strengthen efforts in this area", sdgs=["5.3 Eliminate all harmful practices, such as child marriage"]
    )
    assert result.child_related
    assert "T10" in result.theme_ids


def test_a_general_sdg_alone_does_not_make_it_child_related(tagger: Tagger) -> None:
    result = tagger.tag("Strengthen the rule of law", sdgs=["16.3"])
    assert not result.child_related


def test_khmer_text_is_handled(tagger: Tagger) -> None:
    result = tagger.tag("ពង្រឹងការការពារកុមារ")
    assert result.child_related
    assert result.tagger_version

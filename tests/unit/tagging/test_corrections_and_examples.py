"""People's corrections win over re-tagging; confirmed examples improve later suggestions."""

from __future__ import annotations

from contracts.taxonomy import load_taxonomy
from services.tracker.domain.tagging import (
    ConfirmedExample,
    Tagger,
    apply_corrections,
    confirmed_example,
    merge_correction,
    tagger_version,
)

TEXT = "Prohibit corporal punishment of children in schools and in the family"


def test_removed_theme_stays_removed_when_retagging_suggests_it_again() -> None:
    suggestion = Tagger(load_taxonomy()).tag(TEXT)
    assert "T06" in suggestion.theme_ids
    again = Tagger(load_taxonomy()).tag(TEXT)
    themes = apply_corrections(again, added=set(), removed={"T06"})
    assert "T06" not in [t.id for t in themes]


def test_added_theme_stays_even_when_the_tagger_does_not_suggest_it() -> None:
    suggestion = Tagger(load_taxonomy()).tag(TEXT)
    assert "T16" not in suggestion.theme_ids
    themes = apply_corrections(suggestion, added={"T16"}, removed=set())
    added = next(t for t in themes if t.id == "T16")
    assert added.source == "human"
    assert added.confidence == 1.0


def test_a_theme_both_added_and_suggested_is_shown_once_as_human() -> None:
    suggestion = Tagger(load_taxonomy()).tag(TEXT)
    themes = apply_corrections(suggestion, added={"T06"}, removed=set())
    assert [t.id for t in themes].count("T06") == 1
    assert next(t for t in themes if t.id == "T06").source == "human"


def test_latest_correction_on_a_theme_wins() -> None:
    added, removed = merge_correction({"T06"}, set(), add=[], remove=["T06"])
    assert (added, removed) == (set(), {"T06"})
    added, removed = merge_correction(added, removed, add=["T06"], remove=[])
    assert (added, removed) == ({"T06"}, set())


def test_confirmed_examples_add_a_theme_the_rules_miss() -> None:
    text = "Strengthen programmes for the reintegration of children returning from neighbouring countries"
    without = Tagger(load_taxonomy()).tag(text)
    assert "T19" not in without.theme_ids
    examples = [
        confirmed_example(
            "X-1", "Support the reintegration of children returning from neighbouring countries", ["T19"]
        ),
        confirmed_example("X-2", "Programmes for the reintegration of returning children from abroad", ["T19"]),
        confirmed_example("X-3", "Ratify the convention against torture", []),
    ]
    with_examples = Tagger(load_taxonomy()).tag(text, examples=examples)
    t19 = next(t for t in with_examples.themes if t.id == "T19")
    assert "X-1" in t19.explanation
    assert 0 < t19.confidence <= 1


def test_a_corrected_near_duplicate_overrides_the_rules() -> None:
    text = "Take measures to protect the health of children living near mining sites"
    assert "T12" in Tagger(load_taxonomy()).tag(text).theme_ids
    corrected = ConfirmedExample("X-9", text, True, frozenset({"T19"}))
    result = Tagger(load_taxonomy()).tag(text, examples=[corrected])
    assert "T12" not in result.theme_ids
    assert "T19" in result.theme_ids


def test_unrelated_examples_change_nothing() -> None:
    examples = [confirmed_example("X-1", "Abolish the death penalty", [])]
    assert Tagger(load_taxonomy()).tag(TEXT, examples=examples).theme_ids == Tagger(load_taxonomy()).tag(TEXT).theme_ids


def test_tagger_version_is_reported() -> None:
    assert Tagger(load_taxonomy()).tag(TEXT).tagger_version == tagger_version(load_taxonomy())
    assert tagger_version(load_taxonomy()).startswith("rules-")

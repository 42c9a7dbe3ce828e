"""Binds the domain tagger to the handlers' ThemeTagger interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.taxonomy import load_taxonomy
from services.tracker.domain.tagging import ConfirmedExample, Tagger, TaggingResult


class TaggerAdapter:
    def __init__(self, tagger: Tagger) -> None:
        self._tagger = tagger
        self.version = tagger.version

    def tag_recommendation(
        self, text: str, *, source_themes: Sequence[str], sdgs: Sequence[str],
        examples: Sequence[dict[str, Any]], recommendation_id: str | None = None,
    ) -> TaggingResult:
        # A recommendation is never its own example: its corrections apply directly.
        confirmed = [
            ConfirmedExample(recommendation_id=str(e["_id"]), text=e["text"],
                             child_related=bool(e.get("child_related")), themes=frozenset(e.get("themes", [])))
            for e in examples if e.get("text") and e["_id"] != recommendation_id
        ]
        return self._tagger.tag(text, source_themes=source_themes, sdgs=sdgs, examples=confirmed)


def load_tagger() -> TaggerAdapter:
    tagger = Tagger(load_taxonomy())
    # Warm up: the first use of the examples index imports scikit-learn (seconds); pay it at start-up.
    tagger.tag("warm-up", examples=[ConfirmedExample("warm-up", "protect children", True, frozenset({"T02"}))])
    return TaggerAdapter(tagger)

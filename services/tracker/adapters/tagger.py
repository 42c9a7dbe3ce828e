"""Binds the domain tagger to the handler's ThemeTagger interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any



class TaggerAdapter:
    def __init__(self, tagger: Any) -> None:
        from services.tracker.domain import tagging

        self._tagging = tagging
        self._tagger = tagger
        self.version = tagging.TAGGER_VERSION

    def tag_recommendation(
        self, text: str, *, source_themes: Sequence[str], sdgs: Sequence[str],
        examples: Sequence[dict[str, Any]],
    ) -> Any:
        confirmed = [
            self._tagging.ConfirmedExample(text=e["text"], themes=tuple(e.get("themes", [])),
                                     child_related=bool(e.get("child_related", bool(e.get("themes")))))
            for e in examples if e.get("text")
        ]
        return self._tagger.tag(text, source_themes=list(source_themes), sdgs=list(sdgs), examples=confirmed)


def load_tagger() -> TaggerAdapter:
    from services.tracker.domain import tagging

    return TaggerAdapter(tagging.Tagger())

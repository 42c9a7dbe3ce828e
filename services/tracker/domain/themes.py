"""How people's corrections combine with the tagger's suggestions."""

from __future__ import annotations

from collections.abc import Iterable


def effective_themes(suggested: Iterable[str], added: Iterable[str], removed: Iterable[str]) -> list[str]:
    """People's additions and removals always win over (re-)tagging."""
    removed_set = set(removed)
    themes = {t for t in suggested if t not in removed_set} | set(added)
    return sorted(themes)

"""Measuring the tagger against careful labels: P/R/F1 of child_related, per theme, micro.

Pure: rows come in as :class:`LabelledRecommendation`; :func:`evaluate_rules` runs the rule
layer on every row (it was written from the guide, not fitted to the rows), and
:func:`evaluate_cross_validated` gives the examples signal only the training folds'
labels as confirmed examples, so no row is ever its own example.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from services.tracker.domain.tagging import ConfirmedExample, Tagger, TaggingResult


@dataclass(frozen=True)
class LabelledRecommendation:
    recommendation_id: str
    text: str
    child_related: bool
    themes: frozenset[str]


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass
class Report:
    mode: str
    rows: int
    child_related: Counts = field(default_factory=Counts)
    per_theme: dict[str, Counts] = field(default_factory=dict)
    micro: Counts = field(default_factory=Counts)
    child_false_positives: list[str] = field(default_factory=list)
    child_false_negatives: list[str] = field(default_factory=list)
    theme_false_positives: dict[str, list[str]] = field(default_factory=dict)
    theme_false_negatives: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "rows": self.rows,
            "child_related": self.child_related.as_dict(),
            "micro": self.micro.as_dict(),
            "per_theme": {tid: c.as_dict() for tid, c in sorted(self.per_theme.items())},
            "confusion": {
                "child_false_positives": self.child_false_positives,
                "child_false_negatives": self.child_false_negatives,
                "theme_false_positives": dict(sorted(self.theme_false_positives.items())),
                "theme_false_negatives": dict(sorted(self.theme_false_negatives.items())),
            },
        }


def score(mode: str, pairs: Sequence[tuple[LabelledRecommendation, TaggingResult]]) -> Report:
    report = Report(mode=mode, rows=len(pairs))
    for gold, got in pairs:
        rid = gold.recommendation_id
        if got.child_related and gold.child_related:
            report.child_related.tp += 1
        elif got.child_related:
            report.child_related.fp += 1
            report.child_false_positives.append(rid)
        elif gold.child_related:
            report.child_related.fn += 1
            report.child_false_negatives.append(rid)
        predicted = set(got.theme_ids) if got.child_related else set()
        for tid in predicted | gold.themes:
            counts = report.per_theme.setdefault(tid, Counts())
            if tid in predicted and tid in gold.themes:
                counts.tp += 1
                report.micro.tp += 1
            elif tid in predicted:
                counts.fp += 1
                report.micro.fp += 1
                report.theme_false_positives.setdefault(tid, []).append(rid)
            else:
                counts.fn += 1
                report.micro.fn += 1
                report.theme_false_negatives.setdefault(tid, []).append(rid)
    return report


def as_example(row: LabelledRecommendation) -> ConfirmedExample:
    return ConfirmedExample(row.recommendation_id, row.text, row.child_related, row.themes)


def evaluate_rules(rows: Sequence[LabelledRecommendation], tagger: Tagger) -> Report:
    """``tagger``: the rules alone (``Tagger(taxonomy, use_examples=False)``)."""
    return score("rules", [(row, tagger.tag(row.text)) for row in rows])


def folds(rows: Sequence[LabelledRecommendation], k: int, seed: int) -> list[list[int]]:
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


def evaluate_cross_validated(
    rows: Sequence[LabelledRecommendation],
    tagger: Tagger,
    *,
    mode: str,
    k: int = 5,
    seed: int = 13,
) -> Report:
    """k-fold: each row is tagged with examples drawn only from the other folds."""
    pairs: list[tuple[LabelledRecommendation, TaggingResult]] = []
    for test_idx in folds(rows, k, seed):
        test = set(test_idx)
        examples = [as_example(r) for i, r in enumerate(rows) if i not in test]
        for i in test_idx:
            pairs.append((rows[i], tagger.tag(rows[i].text, examples=examples)))
    pairs.sort(key=lambda p: rows.index(p[0]))
    return score(mode, pairs)

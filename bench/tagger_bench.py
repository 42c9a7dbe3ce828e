"""Child-rights tagger throughput (one process, one core) on the real sample texts.

    .venv/bin/python bench/tagger_bench.py [--texts 5000] [--rounds 3]

The 138 recommendations of ../shared/data/upr_info_khm_cycle1_2009.csv, repeated to
``--texts``, each tagged with ``Tagger(load_taxonomy()).tag(text)`` (the rule layer and the result,
no confirmed examples). Baselines measured in the same run on the same texts:

- ``tagger_baseline_normalise_recs_per_s``: only ``normalise`` (lower case, punctuation),
  the floor every tagging pays;
- ``tagger_baseline_regex_scan_recs_per_s``: every rule regex run over the whole text
  once, which is what the tagger did before issue 12 (and so its ceiling then).

``run()`` returns the figures (recommendations per second, best of ``--rounds``) for
`make bench`. Goal (issue 12): tagger_recs_per_s >= 5,000.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.taxonomy import load_taxonomy
from services.tracker.domain import tagging_rules as rules
from services.tracker.domain.tagging import Tagger, normalise

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "upr_info_khm_cycle1_2009.csv"


def sample_texts(n: int, path: Path = SAMPLE) -> list[str]:
    if not path.exists():
        raise FileNotFoundError(f"sample recommendations not found: {path.resolve()}")
    with path.open(encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    return (texts * (n // len(texts) + 1))[:n]


def rate(work: Callable[[str], object], texts: Sequence[str], rounds: int) -> float:
    """Texts per second, best of ``rounds`` passes."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            work(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def run(n_texts: int = 5000, rounds: int = 3) -> dict[str, float]:
    texts = sample_texts(n_texts)
    tagger = Tagger(load_taxonomy())
    for text in texts[:200]:  # warm-up
        tagger.tag(text)

    all_patterns = [t.pattern for t in rules.CHILD_TERMS] + [c.pattern for c in rules.CUES]
    regexes = [rules.compile_pattern(p) for p in all_patterns]

    def regex_scan(text: str) -> None:
        norm = normalise(text)
        for regex in regexes:
            for _ in regex.finditer(norm):
                pass

    return {
        "tagger_recs_per_s": rate(tagger.tag, texts, rounds),
        "tagger_baseline_normalise_recs_per_s": rate(normalise, texts, rounds),
        "tagger_baseline_regex_scan_recs_per_s": rate(regex_scan, texts[: max(1, n_texts // 5)], rounds),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.texts, args.rounds), indent=2))

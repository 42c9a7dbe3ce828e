"""Precision/recall of the recommendation matcher on Cambodia's 1st cycle (docs/imports.md).

    PYTHONPATH=$PWD .venv/bin/python scripts/match_eval.py
"""

from __future__ import annotations

import csv
import itertools
import random
import re
from collections.abc import Callable
from pathlib import Path

from services.tracker.domain.matching import GREY, SAME, similarity

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ACRONYMS = re.compile(r"\b(CED|CRPD|ICCPR|ICESCR|OP-CEDAW|OPICCPR|CEDAW|ILO)\b")


def main() -> None:
    with (DATA / "upr_info_khm_cycle1_2009.csv").open(encoding="utf-8", newline="") as handle:
        clean = list(csv.DictReader(handle))
    with (DATA / "upr_info_raw_khm_2009.csv").open(encoding="utf-8", newline="") as handle:
        raw = {(r["Text"].strip(), r["From"]): r["Text"] for r in csv.DictReader(handle)}
    rng = random.Random(14)

    def drop(text: str) -> str:
        words = text.split()
        i = rng.randrange(len(words))
        return " ".join(words[:i] + words[i + 1:])

    def un(row: dict[str, str]) -> str:
        text = ACRONYMS.sub(r"(\1)", row["text"].strip().replace(" - ", "; "))
        return f"{row['paragraph']}. {text} ({row['recommending_state']});"

    positives: dict[str, Callable[[dict[str, str]], str]] = {
        "raw vs cleaned": lambda r: raw[(r["text"].strip(), r["recommending_state"])],
        "UN wording": un,
        "one word dropped": lambda r: drop(r["text"]),
        "two words dropped": lambda r: drop(drop(r["text"])),
    }
    for name, make in positives.items():
        scores = [similarity(r["text"], make(r)) for r in clean]
        same = sum(s >= SAME for s in scores)
        grey = sum(GREY <= s < SAME for s in scores)
        print(f"{name:20} {len(scores)} pairs: {same} same, {grey} to a reviewer, {len(scores) - same - grey} missed")
    pairs = [(a, b) for a, b in itertools.combinations(clean, 2) if a["recommending_state"] == b["recommending_state"]]
    scores = [similarity(a["text"], b["text"]) for a, b in pairs]
    print(f"{'same state, different':20} {len(pairs)} pairs: {sum(s >= SAME for s in scores)} merged, "
          f"{sum(GREY <= s < SAME for s in scores)} to a reviewer, highest {max(scores):.1f}")


if __name__ == "__main__":
    main()

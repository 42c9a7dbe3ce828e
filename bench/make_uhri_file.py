"""Generate a UHRI-shaped export for the import benchmark (deterministic).

    .venv/bin/python bench/make_uhri_file.py            # 267,000-row CSV + 20,000-row XLSX
    .venv/bin/python bench/make_uhri_file.py --rows 1000

Rows cycle through the 1st-cycle Cambodia texts (UN document A/HRC/13/4) with a
distinct paragraph per row, rotating countries, states, themes and sessions, in the
16 UHRI columns (misspellings included), dates as Excel serial numbers and
newline-separated "- " multi-values, like a real UHRI export.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from services.ingest.domain.columns import UHRI_EXPORT_COLUMNS

OUT = Path(__file__).resolve().parent / "out"
HEADER = list(UHRI_EXPORT_COLUMNS)
COUNTRIES = [
    "Cambodia",
    "Viet Nam",
    "Thailand",
    "Lao People's Democratic Republic",
    "Myanmar",
    "Indonesia",
    "Philippines",
    "Malaysia",
    "Bolivia (Plurinational State of)",
    "Iran (Islamic Republic of)",
]
STATES = [
    "France",
    "Brazil",
    "Republic of Korea",
    "Türkiye",
    "Holy See",
    "State of Palestine",
    "Côte d'Ivoire",
    "Maldives",
    "Chile",
    "Norway",
    "Japan",
    "Canada",
    "Mexico",
    "Egypt",
]
THEMES = [
    "Children: definition; general principles; protection",
    "Trafficking in persons",
    "Acceptance of international norms",
    "Right to education",
    "Administration of justice & fair trial",
]
PERSONS = ["Children", "Women & girls", "Persons with disabilities", "General"]
SDGS = ["16.2", "8.7", "5.3", "16.9", "4.1"]
TEXT_SOURCE = Path("/work/shared/data/upr_info_khm_cycle1_2009.csv")


def _texts() -> list[str]:
    if TEXT_SOURCE.exists():
        with TEXT_SOURCE.open(encoding="utf-8", newline="") as handle:
            return [row["text"] for row in csv.DictReader(handle)]
    return ["Take further measures to protect children from sexual exploitation"]


def rows(count: int, seed: int = 46) -> list[list[object]]:
    rng = random.Random(seed)
    texts = _texts()
    out: list[list[object]] = []
    for i in range(count):
        session = rng.randint(1, 54)
        paragraph = f"{100 + i // 1000}.{i % 1000 + 1}"
        states = rng.sample(STATES, rng.randint(1, 3))
        out.append(
            [
                f"{paragraph} {texts[i % len(texts)]}",
                COUNTRIES[i % len(COUNTRIES)],
                "UPR",
                f"A/HRC/{10 + session // 3}/{i % 60 + 1}",
                "\n".join(f"- {t}" for t in rng.sample(THEMES, 2)),
                "\n".join(f"- {p}" for p in rng.sample(PERSONS, 1)),
                "\n".join(f"- {s}" for s in rng.sample(SDGS, rng.randint(0, 2))),
                40000 + rng.randint(0, 5000),
                "\n".join(f"- {s}" for s in states),
                "Supported" if rng.random() < 0.8 else "Noted",
                "Recommendation",
                str(2_000_000 + i),
                str(session),
                "Asia-Pacific States",
                "- WEOG",
                43000 + rng.randint(0, 2000),
            ]
        )
    return out


def write_csv(path: Path, count: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows(count))
    return path


def write_xlsx(path: Path, count: int) -> Path:
    import openpyxl

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Export")
    sheet.append(HEADER)
    for row in rows(count):
        sheet.append(row)
    workbook.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=267_000)
    parser.add_argument("--xlsx-rows", type=int, default=20_000)
    args = parser.parse_args()
    print(write_csv(OUT / f"uhri_{args.rows}.csv", args.rows))
    print(write_xlsx(OUT / f"uhri_{args.xlsx_rows}.xlsx", args.xlsx_rows))


if __name__ == "__main__":
    main()

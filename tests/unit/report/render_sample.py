"""Render the sample report DOCX to PDF (LibreOffice) and PNG (pdftoppm).

`python -m tests.unit.report.render_sample` writes docs/report-page-1.png, the page image
kept in the repository to show what the current output looks like.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from services.tracker.adapters.report_docx import export_docx
from services.tracker.domain.report import MidTermReport, assemble_report
from tests.unit.report.sample import (
    AS_OF,
    THEME_LABELS,
    sample_assessments,
    sample_drafts,
    sample_evidence,
    sample_recommendations,
)

ROOT = Path(__file__).resolve().parents[3]
PAGE_IMAGE = ROOT / "docs" / "report-page-1.png"


def tools_available() -> bool:
    return bool(shutil.which("libreoffice") or shutil.which("soffice")) and bool(shutil.which("pdftoppm"))


def sample_report() -> MidTermReport:
    recs = sample_recommendations()
    return assemble_report(
        recs,
        sample_evidence(recs),
        sample_drafts(),
        country="KHM",
        cycle=1,
        as_of=AS_OF,
        assessments=sample_assessments(recs),
        language="bilingual", theme_labels=THEME_LABELS,
    )


def docx_to_pdf(docx: Path, out_dir: Path) -> Path:
    office = shutil.which("libreoffice") or shutil.which("soffice") or "libreoffice"
    # A private profile so a running LibreOffice (or a parallel test) does not block us.
    profile = out_dir / "lo-profile"
    subprocess.run(
        [office, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(out_dir), str(docx)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return out_dir / (docx.stem + ".pdf")


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True, timeout=60).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def pdf_page_to_png(pdf: Path, page: int, out_png: Path, dpi: int = 80) -> Path:
    stem = out_png.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", str(pdf), str(stem)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return out_png


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        docx = work / "report.docx"
        docx.write_bytes(export_docx(sample_report()))
        pdf = docx_to_pdf(docx, work)
        PAGE_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        pdf_page_to_png(pdf, 1, PAGE_IMAGE)
        print(f"{PAGE_IMAGE} written ({pdf_pages(pdf)} pages in the PDF)")


if __name__ == "__main__":
    main()

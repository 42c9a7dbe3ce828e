"""The DOCX opens and renders in LibreOffice: PDF with several pages, a non-blank page image."""

from __future__ import annotations

import pytest

from tests.unit.report.render_sample import docx_to_pdf, pdf_page_to_png, pdf_pages, tools_available

pytestmark = pytest.mark.skipif(not tools_available(), reason="libreoffice and pdftoppm are not installed")


def test_docx_renders_to_a_multi_page_pdf_and_a_non_trivial_page_image(docx_bytes, tmp_path):
    from PIL import Image

    docx = tmp_path / "report.docx"
    docx.write_bytes(docx_bytes)
    pdf = docx_to_pdf(docx, tmp_path)
    assert pdf_pages(pdf) > 3
    png = pdf_page_to_png(pdf, 1, tmp_path / "page-1.png")
    assert png.stat().st_size > 10_000
    with Image.open(png) as image:
        grey = image.convert("L")
        dark = grey.histogram()[:128]
        dark = sum(dark)
        assert image.width > 500 and image.height > 600
        assert dark > 0.002 * image.width * image.height  # text on the page, not a blank sheet

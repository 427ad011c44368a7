"""Requests as PDF and DOCX: text extracted, or refused with the reason and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.compose.requirements import extract_requirements
from masthead.document_input import read_request_file
from masthead.errors import InputError


def _docx(path: Path) -> Path:
    from docx import Document

    document = Document()
    document.add_heading("Requirements", level=2)
    document.add_paragraph("The consultant must run two workshops.", style="List Bullet")
    document.add_paragraph("Drafts shall be editable.", style="List Bullet")
    document.save(str(path))
    return path


def _pdf(path: Path, text: str) -> Path:
    from weasyprint import HTML

    path.write_bytes(HTML(string=f"<h2>Requirements</h2><ul><li>{text}</li></ul>").write_pdf())
    return path


def test_a_docx_request_keeps_headings_and_lists(tmp_path: Path) -> None:
    text = read_request_file(_docx(tmp_path / "rfp.docx"), 1_000_000)
    assert "## Requirements" in text and "- The consultant must run two workshops." in text
    assert [r.text for r in extract_requirements(text)] == ["The consultant must run two workshops.",
                                                            "Drafts shall be editable."]


def test_a_pdf_request_is_read_as_text(tmp_path: Path) -> None:
    text = read_request_file(_pdf(tmp_path / "rfp.pdf", "The consultant must run two workshops."), 1_000_000)
    assert "The consultant must run two workshops." in " ".join(text.split())


@pytest.mark.parametrize(("name", "data", "message"), [
    ("old.doc", b"\xd0\xcf\x11\xe0", "old binary Word file"),
    ("broken.pdf", b"%PDF-1.4 not really", "not a readable PDF"),
    ("broken.docx", b"PK not a zip", "not a readable DOCX"),
])
def test_unreadable_requests_are_refused(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_request_file(path, 1_000_000)
    assert message in str(caught.value) and caught.value.fix


def test_a_pdf_without_text_is_refused(tmp_path: Path) -> None:
    from weasyprint import HTML

    path = tmp_path / "scan.pdf"
    path.write_bytes(HTML(string="<div style='width:10cm;height:10cm;background:#000'></div>").write_pdf())
    with pytest.raises(InputError) as caught:
        read_request_file(path, 1_000_000)
    assert "no text to read" in str(caught.value) and "OCR" in (caught.value.fix or "")


def test_an_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    plain = _pdf(tmp_path / "plain.pdf", "The consultant must run two workshops.")
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(InputError) as caught:
        read_request_file(locked, 1_000_000)
    assert "encrypted" in str(caught.value)


def test_a_long_pdf_reports_its_pages(tmp_path: Path) -> None:
    from weasyprint import HTML

    path = tmp_path / "long.pdf"
    body = "".join(f"<p style='page-break-after: always'>Page {n}: the consultant must attend.</p>" for n in range(30))
    path.write_bytes(HTML(string=body).write_pdf())
    seen: list[tuple[int, int]] = []
    text = read_request_file(path, 1_000_000, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (30, 30) and len(seen) == 30
    assert len(extract_requirements(text)) == 30


def test_a_past_proposal_as_docx_is_imported_as_text(tmp_path: Path) -> None:
    from masthead.memory.importer import read_paths

    [found] = read_paths([_docx(tmp_path / "won.docx")])
    assert found.relative == "won.docx" and "two workshops" in found.chunks[0]

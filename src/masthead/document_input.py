"""A client's request as a PDF or DOCX file, read as text (pypdf, python-docx), or refused with
the reason and the fix: encrypted, scanned (no text layer), damaged, or an old binary .doc.

The bytes are read through `text_input.read_capped` (the same cap and file-type checks as any
user file); the extracted text is capped again, since a small compressed PDF can hold a lot.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from masthead.errors import InputError
from masthead.text_input import read_capped, read_text_file

MAX_DOCUMENT_BYTES = 50_000_000
DOCUMENT_SUFFIXES = (".pdf", ".docx")
PageProgress = Callable[[int, int], None]  # (pages read, pages in all): a 200-page RFP takes a while


def read_request_file(path: Path, max_text_bytes: int, *, option: str = "--file",
                      progress: PageProgress | None = None) -> str:
    """The text of a .pdf, .docx or UTF-8 text file."""
    suffix = path.suffix.lower()
    label = f"request file {path} (from {option})"
    if suffix == ".doc":
        raise InputError(f"{label} is an old binary Word file", fix="save it as .docx or PDF and pass that")
    if suffix not in DOCUMENT_SUFFIXES:
        return read_text_file(path, "signal", max_text_bytes, option=option)
    raw = read_capped(path, label, MAX_DOCUMENT_BYTES, allow_stdin=False)
    text = _pdf_text(raw, label, progress) if suffix == ".pdf" else _docx_text(raw, label)
    if not text.strip():
        raise InputError(f"{label} has no text to read (a scanned document?)",
                         fix="run OCR on it first (e.g. ocrmypdf) or paste its text into a .md file")
    if len(text.encode("utf-8")) > max_text_bytes:
        raise InputError(f"the text of {label} is over {max_text_bytes:,} bytes", fix="pass the relevant pages")
    return text


def _pdf_text(raw: bytes, label: str, progress: PageProgress | None) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise InputError(f"{label} is encrypted", fix="save an unprotected copy (print to PDF) and pass that")
        pages = []
        for number, page in enumerate(reader.pages, start=1):
            pages.append(page.extract_text() or "")
            if progress is not None:
                progress(number, len(reader.pages))
    except (PdfReadError, ValueError, KeyError) as exc:
        raise InputError(f"{label} is not a readable PDF ({exc})", fix="open and save it again, or pass its text") from None
    return "\n\n".join(page.strip() for page in pages if page.strip())


def _docx_text(raw: bytes, label: str) -> str:
    import zipfile

    from docx import Document

    try:
        document = Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(f"{label} is not a readable DOCX file ({exc})", fix="open and save it again, or pass its text") \
            from None
    lines = []
    for paragraph in document.paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        text = paragraph.text.strip()
        if not text:
            continue
        # Headings and list items keep their Markdown shape: requirement extraction reads them.
        if style.startswith("Heading"):
            level = style.removeprefix("Heading").strip()
            text = "#" * (int(level) if level.isdigit() else 2) + " " + text
        elif "List" in style:
            text = "- " + text
        lines.append(text)
    for table in document.tables:
        lines += [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
    return "\n".join(lines)

"""A document (a proposal's Markdown) as HTML, PDF (WeasyPrint) and DOCX (python-docx), with
its version, approver and approval date in each file's own properties.

The Markdown is parsed once (markdown-it, raw HTML off: the text is not trusted to carry
markup); HTML and DOCX are built from the same tokens, so the three files say the same thing.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

_CSS = """
@page { size: A4; margin: 2cm; @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; line-height: 1.45; color: #222; }
h1 { font-size: 20pt; margin-bottom: 0.2em; } h2 { font-size: 13pt; margin-top: 1.4em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; margin: 0.6em 0; }
td, th { border: 1px solid #bbb; padding: 4px 8px; text-align: left; } td:last-child { text-align: right; }
.properties { font-size: 8pt; color: #666; margin-top: 2em; }
"""


@dataclass(frozen=True)
class DocumentProperties:
    title: str
    version: int
    approver: str | None
    approved_at: str | None  # ISO time of the approval
    project: str
    piece_id: str

    @property
    def approved_line(self) -> str:
        who = self.approver.removeprefix("human:") if self.approver else "no person"
        when = (self.approved_at or "")[:10] or "not approved"
        return f"Version {self.version}, approved by {who} on {when} (piece {self.piece_id}, project {self.project})"


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def title_of(markdown: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return "Proposal"


def to_html(markdown: str, props: DocumentProperties) -> str:
    body = _parser().render(markdown)
    meta = {"author": props.approver or "", "description": props.approved_line,
            "keywords": f"proposal, version {props.version}, {props.project}",
            "generator": "Masthead", "dcterms.created": props.approved_at or ""}
    metas = "\n".join(f'<meta name="{name}" content="{html.escape(value)}">' for name, value in meta.items())
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(props.title)}</title>\n'
            f"{metas}\n<style>{_CSS}</style></head><body>\n{body}"
            f'<p class="properties">{html.escape(props.approved_line)}</p>\n</body></html>\n')


def to_pdf(markdown: str, props: DocumentProperties) -> bytes:
    from weasyprint import HTML  # heavy (Pango): only the proposal export loads it

    pdf: bytes = HTML(string=to_html(markdown, props)).write_pdf()
    return pdf


def to_docx(markdown: str, props: DocumentProperties) -> bytes:
    from docx import Document  # only the proposal export loads it

    document = Document()
    core = document.core_properties
    core.title = props.title
    core.author = props.approver or ""
    core.last_modified_by = props.approver or ""
    core.version = f"v{props.version}"
    core.revision = max(1, props.version)
    core.subject = props.project
    core.comments = props.approved_line
    core.keywords = f"proposal, version {props.version}"
    if props.approved_at:
        core.created = datetime.fromisoformat(props.approved_at.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
    _DocxWriter(document).write(_parser().parse(markdown))
    document.add_paragraph(props.approved_line).runs[0].italic = True
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


class _DocxWriter:
    """Markdown tokens into a python-docx Document: headings, paragraphs, bullet and numbered
    lists, tables, bold and italic runs."""

    def __init__(self, document: Any):
        self.document = document
        self.lists: list[str] = []

    def write(self, tokens: list[Token]) -> None:
        index = 0
        while index < len(tokens):
            index = self._block(tokens, index)

    def _block(self, tokens: list[Token], index: int) -> int:
        token = tokens[index]
        if token.type == "heading_open":
            self.document.add_heading(_plain(tokens[index + 1]), level=min(int(token.tag[1]) - 1, 3))
            return index + 3
        if token.type in ("bullet_list_open", "ordered_list_open"):
            self.lists.append("List Bullet" if token.type == "bullet_list_open" else "List Number")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
        elif token.type == "paragraph_open":
            paragraph = self.document.add_paragraph(style=self.lists[-1] if self.lists else None)
            _runs(paragraph, tokens[index + 1])
            return index + 3
        elif token.type == "table_open":
            return self._table(tokens, index)
        return index + 1

    def _table(self, tokens: list[Token], index: int) -> int:
        rows: list[list[Token]] = []
        while tokens[index].type != "table_close":
            if tokens[index].type == "tr_open":
                rows.append([])
            elif tokens[index].type == "inline":
                rows[-1].append(tokens[index])
            index += 1
        table = self.document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
        table.style = "Table Grid"
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                _runs(table.cell(r, c).paragraphs[0], cell)
        return index + 1


def _plain(inline: Token) -> str:
    return "".join(child.content for child in inline.children or [] if child.type in ("text", "code_inline"))


def _runs(paragraph: Any, inline: Token) -> None:
    bold = italic = False
    for child in inline.children or []:
        if child.type in ("strong_open", "strong_close"):
            bold = child.type == "strong_open"
        elif child.type in ("em_open", "em_close"):
            italic = child.type == "em_open"
        elif child.type in ("text", "code_inline"):
            run = paragraph.add_run(child.content)
            run.bold, run.italic = bold, italic
        elif child.type in ("softbreak", "hardbreak"):
            paragraph.add_run(" ")

"""The `proposal` publisher: an approved proposal exported to out/proposal/ as Markdown, PDF
and DOCX, each carrying its version, approver and approval date in its properties.

Files are named after the piece and version and written to a temporary name, then renamed;
the Markdown, written last, carries the idempotency key in its front matter and is the mark
that the export is whole, so a repeated delivery of the same key is a no-op (SAFE_RETRY).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from masthead.channels.documents import DocumentProperties, title_of, to_docx, to_pdf
from masthead.channels.file_publisher import _key_of
from masthead.channels.publisher import (
    SAFE_RETRY,
    Capabilities,
    Delivery,
    Limits,
    PublicationRejected,
    PublisherContext,
    Receipt,
)

Format = Literal["pdf", "docx"]
ALL_FORMATS: tuple[Format, ...] = ("pdf", "docx")


class ProposalPublisherSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["proposal"] = "proposal"
    formats: list[Format] = Field(default_factory=lambda: list(ALL_FORMATS),
                                  description="besides the Markdown: pdf, docx or both")
    folder: str = Field("proposal", pattern=r"^[A-Za-z0-9_\-]+$", description="the folder under out/")


class ProposalPublisher:
    kind: ClassVar[str] = "proposal"
    capabilities: ClassVar[Capabilities] = Capabilities(exactly_once=SAFE_RETRY, retract=False)
    settings_model: ClassVar[type[ProposalPublisherSection]] = ProposalPublisherSection

    def __init__(self, out_dir: Path, name: str = "proposal", settings: ProposalPublisherSection | None = None):
        self.settings = settings or ProposalPublisherSection()
        self.folder = out_dir / self.settings.folder
        self.name = name

    @classmethod
    def from_settings(cls, settings: ProposalPublisherSection, context: PublisherContext) -> ProposalPublisher:
        return cls(context.out_dir, context.name, settings)

    def paths(self, delivery: Delivery) -> dict[str, Path]:
        stem = f"{delivery.piece_id}-v{delivery.version}"
        return {fmt: self.folder / f"{stem}.{fmt}" for fmt in ("md", *self.settings.formats)}

    def publish(self, delivery: Delivery) -> Receipt:
        paths = self.paths(delivery)
        if paths["md"].exists() and _key_of(paths["md"]) == delivery.key:
            return Receipt(location=str(paths["md"]))
        props = DocumentProperties(title=title_of(delivery.text), version=delivery.version, approver=delivery.approver,
                                   approved_at=delivery.approved_at, project=delivery.project,
                                   piece_id=delivery.piece_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        builders = {"pdf": to_pdf, "docx": to_docx}
        for fmt in self.settings.formats:
            _write(paths[fmt], builders[fmt](delivery.text, props))
        front = {"piece_id": delivery.piece_id, "version": delivery.version, "project": delivery.project,
                 "approver": delivery.approver, "approved_at": delivery.approved_at, "title": props.title,
                 "published_at": delivery.at, "idempotency_key": delivery.key}
        markdown = "---\n" + yaml.safe_dump(front, sort_keys=True, allow_unicode=True) + "---\n\n" + delivery.text.rstrip() + "\n"
        _write(paths["md"], markdown.encode("utf-8"))
        return Receipt(location=str(paths["md"]))

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        target = self.paths(delivery)["md"]
        return Receipt(location=str(target)) if target.exists() and _key_of(target) == delivery.key else None

    def retract(self, receipt: Receipt) -> None:
        raise PublicationRejected("the proposal publisher does not retract; delete the files by hand")

    def limits(self) -> Limits:
        return Limits()

    def check(self) -> str:
        return f"writes Markdown, {' and '.join(f.upper() for f in self.settings.formats) or 'nothing else'} to {self.folder}"


def _write(target: Path, data: bytes) -> None:
    tmp = target.parent / f".exporting-{target.name}.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
